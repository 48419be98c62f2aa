//! The profiles on hand-made outputs: a clean channel passes every rule it can see, and each
//! hand-broken playlist, EPG or measure fails with its rule named.

use onair_domain::{Ticks, Timestamp};

use crate::{
    AudioProbe, EpgEntry, EpgObservation, FINDINGS_PER_RULE, LoudnessMeasure, Observation,
    PlaylistText, ProfileName, Report, SegmentProbe, Severity, Snapshot, TsScte35, VideoProbe,
    check,
};

/// 2026-09-21T14:00:00Z, on the hour.
const ORIGIN: Timestamp = Timestamp::from_unix_secs(1_790_000_000 - 1_790_000_000 % 3600);

#[derive(Clone, Debug)]
enum Cue {
    None,
    /// CUE-OUT with its duration (s).
    Out(&'static str),
    /// CONT with ElapsedTime and Duration (s).
    Cont(String, &'static str),
    In,
    /// DATERANGE SCTE35-OUT, id and planned duration.
    DateOut(u32, &'static str),
    DateIn(u32),
}

#[derive(Clone, Debug)]
struct Seg {
    millis: i64,
    cue: Cue,
    discontinuity: bool,
}

fn seg(millis: i64) -> Seg {
    Seg {
        millis,
        cue: Cue::None,
        discontinuity: false,
    }
}

/// A channel of `seconds` of 5 s segments with a 30 s break (CUE-OUT/CONT/IN) every 10 minutes,
/// starting at minute 5: 3 minutes of breaks an hour.
fn channel(seconds: i64) -> Vec<Seg> {
    let mut segs: Vec<Seg> = (0..seconds / 5).map(|_| seg(5000)).collect();
    let mut at = 60; // segment 60: minute 5
    while at + 7 < segs.len() {
        cue_break(&mut segs, at, 6, "30");
        at += 120;
    }
    segs
}

/// Marks `n` segments from `at` as a break of `duration` seconds, the one after it with CUE-IN,
/// each run boundary a discontinuity.
fn cue_break(segs: &mut [Seg], at: usize, n: usize, duration: &'static str) {
    segs[at].cue = Cue::Out(duration);
    segs[at].discontinuity = true;
    let mut elapsed = 0;
    for index in at + 1..at + n {
        elapsed += segs[index - 1].millis;
        segs[index].cue = Cue::Cont(
            format!("{}.{:03}", elapsed / 1000, elapsed % 1000),
            duration,
        );
    }
    segs[at + n].cue = Cue::In;
    segs[at + n].discontinuity = true;
}

const RUNGS: [(&str, u32, u32, u64, &str); 5] = [
    ("1080p", 1920, 1080, 6_000_000, "avc1.640028"),
    ("720p", 1280, 720, 3_500_000, "avc1.64001f"),
    ("540p", 960, 540, 2_200_000, "avc1.64001f"),
    ("360p", 640, 360, 1_000_000, "avc1.64001f"),
    ("216p", 384, 216, 600_000, "avc1.64001f"),
];

fn multivariant() -> String {
    let mut text = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n".to_owned();
    for (name, width, height, bandwidth, codec) in RUNGS {
        text.push_str(&format!(
            "#EXT-X-STREAM-INF:BANDWIDTH={bandwidth},AVERAGE-BANDWIDTH={},CODECS=\"{codec},mp4a.40.2\",RESOLUTION={width}x{height},FRAME-RATE=30.000\n{name}/ts.m3u8\n",
            bandwidth * 9 / 10
        ));
    }
    text
}

fn start_of(segs: &[Seg], index: usize) -> Timestamp {
    ORIGIN + Ticks::from_millis(segs[..index].iter().map(|seg| seg.millis).sum())
}

/// The media playlist of `rung` listing `segs[first..first + window]`.
fn media(segs: &[Seg], rung: &str, first: usize, window: usize) -> String {
    // The first segment's own tag is not written: the sequence counts it (as onair's do).
    let discontinuities = segs[..=first]
        .iter()
        .filter(|seg| seg.discontinuity)
        .count();
    let mut text = format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:5\n#EXT-X-MEDIA-SEQUENCE:{first}\n#EXT-X-DISCONTINUITY-SEQUENCE:{discontinuities}\n#EXT-X-PROGRAM-DATE-TIME:{}\n",
        start_of(segs, first)
    );
    let end = (first + window).min(segs.len());
    for (index, seg) in segs.iter().enumerate().take(end).skip(first) {
        if seg.discontinuity && index > first {
            text.push_str(&format!(
                "#EXT-X-DISCONTINUITY\n#EXT-X-PROGRAM-DATE-TIME:{}\n",
                start_of(segs, index)
            ));
        }
        match &seg.cue {
            Cue::None => {}
            Cue::Out(duration) => text.push_str(&format!(
                "#EXT-OATCLS-SCTE35:/DAl\n#EXT-X-CUE-OUT:{duration}\n"
            )),
            Cue::Cont(elapsed, duration) => text.push_str(&format!(
                "#EXT-X-CUE-OUT-CONT:ElapsedTime={elapsed},Duration={duration},SCTE35=/DAl\n"
            )),
            Cue::In => text.push_str("#EXT-X-CUE-IN\n"),
            Cue::DateOut(id, duration) => text.push_str(&format!(
                "#EXT-X-DATERANGE:ID=\"break-{id}\",START-DATE=\"{}\",PLANNED-DURATION={duration},SCTE35-OUT=0xFC\n",
                start_of(segs, index)
            )),
            Cue::DateIn(id) => text.push_str(&format!(
                "#EXT-X-DATERANGE:ID=\"break-{id}\",START-DATE=\"{}\",SCTE35-IN=0xFC\n",
                start_of(segs, index)
            )),
        }
        text.push_str(&format!(
            "#EXTINF:{}.{:03},\n/media/{rung}/{index:05}.ts\n",
            seg.millis / 1000,
            seg.millis % 1000
        ));
    }
    text
}

/// Every rung's playlists, a 10-segment window every 5 segments.
fn observe(segs: &[Seg]) -> Observation {
    let window = 10;
    let snapshots = (0..=segs.len().saturating_sub(window))
        .step_by(5)
        .map(|first| Snapshot {
            taken_at: start_of(segs, first + window),
            multivariant: Some(PlaylistText {
                uri: "master.m3u8".into(),
                text: multivariant(),
            }),
            media: RUNGS
                .iter()
                .map(|(name, ..)| PlaylistText {
                    uri: format!("{name}/ts.m3u8"),
                    text: media(segs, name, first, window),
                })
                .collect(),
        })
        .collect();
    Observation {
        subject: "channel test".into(),
        snapshots,
        ..Observation::default()
    }
}

fn clean_probe() -> SegmentProbe {
    SegmentProbe {
        playlist: "720p/ts.m3u8".into(),
        segment: "/media/720p/00000.ts".into(),
        video: Some(VideoProbe {
            codec: "h264".into(),
            profile: Some("high".into()),
            level: Some("3.1".into()),
            width: 1280,
            height: 720,
            frame_rate: (30, 1),
        }),
        audio: Some(AudioProbe {
            codec: "aac".into(),
            profile: Some("lc".into()),
            channels: 2,
            sample_rate: 48_000,
            bitrate: Some(96_000),
        }),
        duration: Some(Ticks::from_millis(5000)),
        scte35: None,
    }
}

fn clean_loudness() -> LoudnessMeasure {
    LoudnessMeasure {
        what: "asset 1, 0–30 s".into(),
        span: Ticks::from_secs(30),
        integrated_lufs: -23.3,
        true_peak_dbtp: -2.1,
    }
}

/// Half-hour programmes from the window's start for `days`.
fn epg(days: i64) -> EpgObservation {
    let half_hour = Ticks::from_secs(1800);
    let programmes = (0..days * 48)
        .map(|index| EpgEntry {
            start: ORIGIN + Ticks(half_hour.0 * index),
            end: ORIGIN + Ticks(half_hour.0 * (index + 1)),
            title: format!("Programme {index}"),
        })
        .collect();
    EpgObservation {
        format: "xmltv".into(),
        from: ORIGIN,
        horizon: Ticks::from_secs(days * 86_400),
        programmes,
    }
}

/// The first break's first segment (at minute 5) as served: a splice_insert in the stream.
fn cued_probe() -> SegmentProbe {
    SegmentProbe {
        segment: "/media/720p/00060.ts".into(),
        scte35: Some(TsScte35 {
            pids: vec![0x01F0],
            commands: vec![5],
        }),
        ..clean_probe()
    }
}

fn clean_observation(seconds: i64, epg_days: i64) -> Observation {
    Observation {
        probes: vec![clean_probe(), cued_probe()],
        loudness: vec![clean_loudness()],
        epg: Some(epg(epg_days)),
        ..observe(&channel(seconds))
    }
}

fn rules_named(report: &Report, rule: &str) -> Vec<String> {
    report
        .findings
        .iter()
        .filter(|finding| finding.rule == rule)
        .map(|finding| finding.to_string())
        .collect()
}

fn assert_clean(report: &Report) {
    assert!(report.findings.is_empty(), "{}", report.human());
    assert!(report.passed);
}

#[test]
fn a_clean_channel_passes_every_profile_on_every_rule_it_could_see() {
    // Just over an hour and a quarter: a whole clock hour for Roku, several breaks seen whole.
    let observation = clean_observation(4600, 14);
    for name in ProfileName::ALL {
        let report = check(name, &observation);
        assert_clean(&report);
        assert!(report.skipped.is_empty(), "{name}: {:?}", report.skipped);
    }
    let report = check(ProfileName::Pluto, &observation);
    assert!(report.checked.contains(&"pluto.cue-out-closed"));
    assert!(report.observed.breaks >= 7, "{:?}", report.observed);
    assert_eq!(report.observed.segments_probed, 2);
    assert!(report.checked.contains(&"pluto.scte35-in-segments"));
}

#[test]
fn a_cue_out_never_closed_is_a_finding() {
    let mut segs = channel(1200);
    // The first break's CUE-IN is lost: the programme after it carries no tag.
    segs[66].cue = Cue::None;
    let report = check(ProfileName::Pluto, &observe(&segs));
    assert!(!report.passed);
    let found = rules_named(&report, "pluto.cue-out-closed");
    assert_eq!(
        found[0],
        "✗ pluto.cue-out-closed  1080p/ts.m3u8 seq 60: CUE-OUT (30 s) never closed: 30 s aired and seq 66 follows without EXT-X-CUE-IN. Fix: Write EXT-X-CUE-IN before the first segment after the break's declared duration.",
        "{}",
        report.human()
    );
    // Once per rendition.
    assert_eq!(found.len(), 5, "{}", report.human());
    // The baseline names it too.
    assert!(
        !rules_named(
            &check(ProfileName::Hls, &observe(&segs)),
            "hls.cue-out-closed"
        )
        .is_empty()
    );
}

#[test]
fn a_second_cue_out_before_the_cue_in_leaves_the_first_unclosed() {
    let mut segs = channel(1200);
    segs[66].cue = Cue::None;
    cue_break(&mut segs, 70, 6, "30");
    let report = check(ProfileName::Wurl, &observe(&segs));
    let found = rules_named(&report, "wurl.cue-out-closed");
    assert!(
        found
            .iter()
            .any(|line| line.contains("seq 60") && line.contains("seq 66 follows")),
        "{found:?}"
    );
}

#[test]
fn a_duration_that_changes_within_a_break_is_a_finding() {
    let mut segs = channel(1200);
    segs[63].cue = Cue::Cont("15.000".into(), "32");
    let report = check(ProfileName::Pluto, &observe(&segs));
    assert!(!report.passed);
    let found = rules_named(&report, "pluto.break-duration-fixed");
    assert_eq!(found.len(), 5, "one per rendition, five listed: {found:?}");
    assert_eq!(
        found[0],
        "✗ pluto.break-duration-fixed  1080p/ts.m3u8 seq 63: Duration changed 30 → 32 s. Fix: Keep the Duration of EXT-X-CUE-OUT and every EXT-X-CUE-OUT-CONT of a break the one declared at CUE-OUT, in every playlist that lists it."
    );
}

#[test]
fn a_duration_that_changes_between_two_playlists_is_a_finding() {
    let segs = channel(1200);
    let mut observation = observe(&segs);
    // A later playlist lists segment 62 again with another Duration than the first did.
    let later = observation
        .snapshots
        .iter_mut()
        .find(|snapshot| {
            snapshot.media[0]
                .text
                .contains("#EXT-X-MEDIA-SEQUENCE:60\n")
        })
        .unwrap();
    let text = &mut later.media[0].text;
    assert!(text.contains("ElapsedTime=10.000,Duration=30,"));
    *text = text.replace(
        "ElapsedTime=10.000,Duration=30,",
        "ElapsedTime=10.000,Duration=32,",
    );
    let report = check(ProfileName::Roku, &observation);
    let found = rules_named(&report, "roku.break-duration-fixed");
    assert_eq!(found.len(), 1, "{}", report.human());
    assert!(
        found[0].contains("1080p/ts.m3u8 seq 62: Duration changed 30 → 32 s."),
        "{found:?}"
    );
}

#[test]
fn an_elapsed_time_past_the_duration_is_a_finding() {
    let mut segs = channel(1200);
    segs[65].cue = Cue::Cont("35.000".into(), "30");
    let report = check(ProfileName::Pluto, &observe(&segs));
    let found = rules_named(&report, "pluto.cue-elapsed-within-duration");
    assert!(
        found[0].contains("seq 65: ElapsedTime 35 s is past Duration 30 s."),
        "{found:?}"
    );
}

#[test]
fn a_3_s_segment_among_5_s_ones_is_a_finding() {
    let mut segs = channel(1200);
    segs[30].millis = 3000;
    let report = check(ProfileName::Pluto, &observe(&segs));
    assert!(!report.passed);
    let found = rules_named(&report, "pluto.segment-duration-constant");
    assert!(
        found[0].starts_with("✗ pluto.segment-duration-constant  1080p/ts.m3u8 seq 30: a 3 s segment where every segment should be 5 s (the profile's); 1 of 240 segments differ."),
        "{found:?}"
    );
    // The baseline warns (constant against most segments) but passes.
    let baseline = check(ProfileName::Hls, &observe(&segs));
    let warned = rules_named(&baseline, "hls.segment-duration-constant");
    assert!(warned[0].starts_with("! hls.segment-duration-constant  1080p/ts.m3u8 seq 30: a 3 s segment where every segment should be 5 s (most segments')"), "{warned:?}");
    assert!(baseline.passed, "{}", baseline.human());
}

#[test]
fn two_second_segments_fail_pluto_but_not_the_baseline() {
    let segs: Vec<Seg> = (0..200).map(|_| seg(2000)).collect();
    let pluto = check(ProfileName::Pluto, &observe(&segs));
    let found = rules_named(&pluto, "pluto.segment-duration-constant");
    assert!(
        found[0].contains("a 2 s segment where every segment should be 5 s"),
        "{found:?}"
    );
    // One finding per rendition, at its first segment, however many segments are wrong.
    assert_eq!(found.len(), 5, "{found:?}");
    assert!(found[0].contains("seq 0: a 2 s segment where every segment should be 5 s (the profile's); 200 of 200 segments differ (200 of 2 s)."), "{found:?}");
    let baseline = check(ProfileName::Hls, &observe(&segs));
    assert!(rules_named(&baseline, "hls.segment-duration-constant").is_empty());
}

#[test]
fn a_segment_that_changes_once_listed_is_a_finding() {
    let segs = channel(600);
    let mut observation = observe(&segs);
    let text = &mut observation.snapshots[2].media[0].text;
    *text = text.replace("/media/1080p/00012.ts", "/media/1080p/other.ts");
    let report = check(ProfileName::Pluto, &observation);
    let found = rules_named(&report, "pluto.segments-stable");
    assert!(found[0].contains("1080p/ts.m3u8 seq 12: the segment changed between playlists: /media/1080p/00012.ts (5 s) then /media/1080p/other.ts (5 s)."), "{found:?}");
}

#[test]
fn a_rule_broken_everywhere_lists_five_findings_and_counts_the_rest() {
    let segs: Vec<Seg> = (0..100).map(|_| seg(6000)).collect();
    let report = check(ProfileName::Hls, &observe(&segs));
    let found = rules_named(&report, "hls.target-duration");
    assert_eq!(found.len(), FINDINGS_PER_RULE + 1, "{found:?}");
    assert!(
        found[5].contains("elsewhere: and 495 more finding(s) of this rule, not listed."),
        "{found:?}"
    );
}

#[test]
fn a_segment_longer_than_the_target_duration_is_a_finding() {
    let mut segs = channel(600);
    segs[10].millis = 6000;
    let report = check(ProfileName::Hls, &observe(&segs));
    let found = rules_named(&report, "hls.target-duration");
    assert!(
        found[0].contains("seq 10: a 6 s segment is longer than EXT-X-TARGETDURATION 5 s."),
        "{found:?}"
    );
}

#[test]
fn a_wrong_discontinuity_sequence_is_a_finding() {
    let segs = channel(1200);
    let mut observation = observe(&segs);
    // A window that starts at the break's first segment drops its tag, and one playlist does
    // not count it.
    for snapshot in &mut observation.snapshots {
        let text = &mut snapshot.media[1].text;
        if text.contains("#EXT-X-MEDIA-SEQUENCE:65\n") {
            *text = text.replace(
                "#EXT-X-DISCONTINUITY-SEQUENCE:1\n",
                "#EXT-X-DISCONTINUITY-SEQUENCE:0\n",
            );
        }
    }
    let report = check(ProfileName::Hls, &observation);
    let found = rules_named(&report, "hls.discontinuity-sequence");
    assert!(found.iter().any(|line| line.contains("720p/ts.m3u8 seq 65: EXT-X-DISCONTINUITY-SEQUENCE 0 puts this segment in discontinuity 0; an earlier playlist put it in 1.")), "{found:?}");
}

#[test]
fn variants_out_of_step_are_a_finding() {
    let segs = channel(600);
    let mut observation = observe(&segs);
    let snapshot = &mut observation.snapshots[3];
    snapshot.media[4].text = media(&segs, "216p", 16, 10);
    let report = check(ProfileName::Wurl, &observation);
    let found = rules_named(&report, "wurl.media-sequence-aligned");
    assert!(
        found[0].contains("216p/ts.m3u8 lists seq 16+10"),
        "{found:?}"
    );
}

#[test]
fn too_many_ad_minutes_in_an_hour_fail_roku() {
    // A 60 s break every 3 minutes, as the demo: 20 minutes an hour.
    let mut segs: Vec<Seg> = (0..4000 / 5).map(|_| seg(5000)).collect();
    let mut at = 24;
    while at + 13 < segs.len() {
        cue_break(&mut segs, at, 12, "60");
        at += 36;
    }
    let report = check(ProfileName::Roku, &observe(&segs));
    let found = rules_named(&report, "roku.ad-minutes-per-hour");
    assert!(
        found[0].contains("20 min of breaks in the hour, more than 8 min."),
        "{found:?}"
    );
    assert!(
        found[0].contains("the hour from 2026-09-21T14:00:00.000Z"),
        "{found:?}"
    );
    // Pluto takes 60 s breaks.
    assert!(
        rules_named(
            &check(ProfileName::Pluto, &observe(&segs)),
            "pluto.break-length"
        )
        .is_empty()
    );
}

#[test]
fn short_breaks_of_few_segments_fail_pluto() {
    let mut segs: Vec<Seg> = (0..200).map(|_| seg(5000)).collect();
    cue_break(&mut segs, 50, 2, "10");
    let report = check(ProfileName::Pluto, &observe(&segs));
    assert!(
        rules_named(&report, "pluto.break-length")[0]
            .contains("seq 50: a 10 s break: breaks must last 30 to 300 s.")
    );
    assert!(
        rules_named(&report, "pluto.break-segments")[0]
            .contains("2 segment(s) between CUE-OUT and CUE-IN, fewer than 4.")
    );
}

#[test]
fn breaks_marked_with_daterange_only_fail_pluto_which_reads_cue_out() {
    let mut segs: Vec<Seg> = (0..200).map(|_| seg(5000)).collect();
    segs[50].cue = Cue::DateOut(1, "30");
    segs[56].cue = Cue::DateIn(1);
    let report = check(ProfileName::Pluto, &observe(&segs));
    assert_eq!(
        rules_named(&report, "pluto.cue-out-in-playlist").len(),
        1,
        "{}",
        report.human()
    );
    let skipped = report
        .skipped
        .iter()
        .find(|skipped| skipped.rule == "pluto.cue-out-closed")
        .unwrap();
    assert!(
        skipped.reason.contains("EXT-X-DATERANGE only"),
        "{skipped:?}"
    );
}

#[test]
fn an_epg_with_a_gap_is_a_finding() {
    let mut observation = clean_observation(600, 8);
    let programmes = &mut observation.epg.as_mut().unwrap().programmes;
    programmes.remove(10);
    let report = check(ProfileName::Wurl, &observation);
    assert!(!report.passed);
    assert_eq!(
        rules_named(&report, "wurl.epg-continuous"),
        vec![
            "✗ wurl.epg-continuous  programme \"Programme 11\" at 2026-09-21T19:30:00.000Z: a gap of 30 min after \"Programme 9\", which ends at 2026-09-21T19:00:00.000Z. Fix: Fill the gap in the schedule (or let the guide fold filler into the programme before it)."
        ]
    );
}

#[test]
fn an_epg_with_an_overlap_a_short_programme_and_a_short_horizon_fails_wurl() {
    let mut observation = clean_observation(600, 7);
    let programmes = &mut observation.epg.as_mut().unwrap().programmes;
    programmes[3].end = programmes[3].end + Ticks::from_secs(60);
    programmes[5].end = programmes[5].start + Ticks::from_secs(120);
    let report = check(ProfileName::Wurl, &observation);
    assert!(
        rules_named(&report, "wurl.epg-continuous")
            .iter()
            .any(|line| line.contains("overlaps \"Programme 3\" by 1 min"))
    );
    assert!(
        rules_named(&report, "wurl.epg-programme-length")
            .iter()
            .any(|line| line.contains("lasts 2 min: programmes must last 3 min to 6 h 0 min."))
    );
    assert!(
        rules_named(&report, "wurl.epg-horizon")[0].contains("1 day")
            || rules_named(&report, "wurl.epg-horizon")[0]
                .contains("24 h 0 min short of 8 days ahead")
    );
}

#[test]
fn a_ladder_below_the_minimum_fails_wurl_and_pluto() {
    let segs = channel(600);
    let mut observation = observe(&segs);
    for snapshot in &mut observation.snapshots {
        let text = snapshot.multivariant.as_mut().unwrap();
        text.text = "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=896000,AVERAGE-BANDWIDTH=896000,CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=25.000\n360p/ts.m3u8\n".into();
    }
    let wurl = check(ProfileName::Wurl, &observation);
    let found = rules_named(&wurl, "wurl.ladder-minimum");
    assert_eq!(found.len(), 4, "{found:?}");
    assert!(
        found[2].contains("the 360p variant has 896 kbit/s, below 900 kbit/s."),
        "{found:?}"
    );
    let pluto = check(ProfileName::Pluto, &observation);
    assert!(rules_named(&pluto, "pluto.ladder")[0].contains("no variant of 1080p at 5000–10000 kbit/s or 720p at 3000–10000 kbit/s (the ladder has 360p)."));
    assert!(
        rules_named(&pluto, "pluto.video-codec")[0]
            .contains("H.264 level 3.0 (avc1.64001e), below 3.1.")
    );
    assert!(rules_named(&pluto, "pluto.frame-rate")[0].contains("25 fps, not 30 or 29.97."));
}

#[test]
fn media_that_are_not_what_the_playlist_says_fail() {
    let mut observation = clean_observation(600, 14);
    let probe = &mut observation.probes[0];
    probe.video.as_mut().unwrap().level = Some("4.0".into());
    probe.audio.as_mut().unwrap().sample_rate = 44_100;
    probe.audio.as_mut().unwrap().channels = 6;
    probe.duration = Some(Ticks::from_millis(5400));
    observation.loudness[0].integrated_lufs = -16.2;
    observation.loudness[0].true_peak_dbtp = 0.3;
    let pluto = check(ProfileName::Pluto, &observation);
    assert!(rules_named(&pluto, "pluto.audio")[0].contains(
        "the audio is 6 channel(s), 44100 Hz, not AAC-LC, 2 channels at 48000 Hz, 96 kbit/s."
    ));
    let loudness = rules_named(&pluto, "pluto.loudness");
    assert!(
        loudness[0].contains("integrated loudness -16.2 LUFS, outside EBU R128's -23 LUFS ±1 LU."),
        "{loudness:?}"
    );
    assert!(
        loudness[1].contains("true peak 0.3 dBTP, above -1 dBTP."),
        "{loudness:?}"
    );
    let baseline = check(ProfileName::Hls, &observation);
    assert!(
        rules_named(&baseline, "hls.codecs-match-media")[0]
            .contains("level 4.0 in the media, 3.1 in CODECS")
    );
    assert!(
        rules_named(&baseline, "hls.segment-duration-measured")[0]
            .contains("measures 5.4 s but EXTINF says 5 s.")
    );
    // Loudness is a warning in the baseline, an error for Pluto.
    assert_eq!(
        baseline
            .findings
            .iter()
            .find(|finding| finding.rule == "hls.loudness")
            .unwrap()
            .severity,
        Severity::Warning
    );
}

#[test]
fn a_rule_with_nothing_to_look_at_is_skipped_with_its_reason_never_passed() {
    // Ten minutes without a break, nothing probed or measured, no EPG.
    let segs: Vec<Seg> = (0..120).map(|_| seg(5000)).collect();
    let report = check(ProfileName::Pluto, &observe(&segs));
    let reason = |rule: &str| {
        report
            .skipped
            .iter()
            .find(|skipped| skipped.rule == rule)
            .map(|skipped| skipped.reason.clone())
            .unwrap_or_else(|| panic!("{rule} is not skipped: {}", report.human()))
    };
    assert_eq!(
        reason("pluto.cue-out-closed"),
        "no break was marked in the observed playlists"
    );
    assert_eq!(reason("pluto.loudness"), "no loudness was measured");
    assert_eq!(reason("pluto.epg-continuous"), "no EPG was observed");
    assert!(!report.checked.contains(&"pluto.cue-out-closed"));
    assert!(
        report
            .human()
            .contains("- pluto.loudness  skipped: no loudness was measured")
    );
    // Roku's hour is not whole in ten minutes.
    let roku = check(ProfileName::Roku, &observe(&segs));
    assert!(
        roku.skipped
            .iter()
            .any(|skipped| skipped.rule == "roku.ad-minutes-per-hour")
    );
    // Nothing at all: every rule skipped, nothing passed.
    let nothing = check(ProfileName::Wurl, &Observation::default());
    assert!(nothing.checked.is_empty(), "{:?}", nothing.checked);
}

#[test]
fn profiles_parse_by_name_and_their_rule_ids_are_unique_and_prefixed() {
    assert_eq!(ProfileName::parse("Pluto"), Some(ProfileName::Pluto));
    assert_eq!(ProfileName::parse("netflix"), None);
    for name in ProfileName::ALL {
        let profile = crate::profile(name);
        let mut ids: Vec<&str> = profile.rules.iter().map(|rule| rule.id).collect();
        assert!(
            ids.iter().all(|id| id.starts_with(&format!("{name}."))),
            "{ids:?}"
        );
        let count = ids.len();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), count, "{name}: duplicate rule ids");
    }
}

#[test]
fn a_break_whose_first_ts_segment_carries_no_scte35_fails_pluto_by_rule() {
    let mut observation = clean_observation(4600, 14);
    let no_stream = TsScte35::default();
    observation.probes[1].scte35 = Some(no_stream);
    let report = check(ProfileName::Pluto, &observation);
    assert!(!report.passed);
    let found = rules_named(&report, "pluto.scte35-in-segments");
    assert_eq!(found.len(), 1, "{}", report.human());
    assert!(
        found[0].contains("720p/ts.m3u8 seq 60 /media/720p/00060.ts: the break's first segment carries no SCTE-35 in the stream: its PMT declares no SCTE-35 stream"),
        "{found:?}"
    );
    // Where: the playlist, the sequence, the segment, and when it starts (minute 5).
    let finding = report
        .findings
        .iter()
        .find(|finding| finding.rule == "pluto.scte35-in-segments")
        .unwrap();
    assert_eq!(
        finding.where_seen.at,
        Some((ORIGIN + Ticks::from_secs(300)).to_rfc3339_millis())
    );
    // Declared but empty: the same rule, saying so.
    observation.probes[1].scte35 = Some(TsScte35 {
        pids: vec![0x01F0],
        commands: Vec::new(),
    });
    let report = check(ProfileName::Pluto, &observation);
    let found = rules_named(&report, "pluto.scte35-in-segments");
    assert!(
        found[0].contains("on PID 0x01f0 but no splice_info_section"),
        "{found:?}"
    );
}

#[test]
fn scte35_in_segments_is_skipped_when_no_ts_segment_opening_a_break_was_probed() {
    let mut observation = clean_observation(4600, 14);
    // A segment inside a programme, and the break's first not looked at as MPEG-TS.
    observation.probes[1].scte35 = None;
    let report = check(ProfileName::Pluto, &observation);
    let skipped = report
        .skipped
        .iter()
        .find(|skipped| skipped.rule == "pluto.scte35-in-segments")
        .unwrap_or_else(|| panic!("not skipped: {}", report.human()));
    assert_eq!(
        skipped.reason,
        "no MPEG-TS segment that opens a break was probed"
    );
    assert!(report.passed, "{}", report.human());
}
