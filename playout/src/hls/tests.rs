//! Snapshots of the demo channel's manifests at fixed instants, and properties over random
//! timelines: a segment never changes once listed, numbers never go back, dates add up.

use std::collections::HashMap;
use std::sync::Arc;

use insta::assert_snapshot;
use onair_domain::timeline::SegmentTrack;
use onair_domain::{
    AssetId, Ladder, OutputFormat, Packaging, Run, RunKind, Ticks, Timeline, Timestamp,
};
use proptest::prelude::*;

use super::*;
use crate::fixtures::{self, ORIGIN, at_millis};

fn ts_360p(playout: &ChannelPlayout, now: Timestamp) -> String {
    render_media_playlist(playout, "360p", now).expect("the demo channel publishes 360p in HLS-TS")
}

#[test]
fn multivariant_lists_every_rung_with_measured_or_nominal_bandwidth() {
    assert_snapshot!(render_multivariant(&fixtures::demo_playout(true)), @r#"
    #EXTM3U
    #EXT-X-VERSION:3
    #EXT-X-INDEPENDENT-SEGMENTS
    #EXT-X-STREAM-INF:BANDWIDTH=1250000,AVERAGE-BANDWIDTH=850000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000
    360p/ts.m3u8
    #EXT-X-STREAM-INF:BANDWIDTH=464000,AVERAGE-BANDWIDTH=464000,CODECS="avc1.640015,mp4a.40.2",RESOLUTION=426x240,FRAME-RATE=25.000
    240p/ts.m3u8
    "#);
}

#[test]
fn multivariant_parses_back_with_its_attributes() {
    let text = render_multivariant(&fixtures::demo_playout(true));
    let parsed = m3u8_rs::parse_master_playlist_res(text.as_bytes()).unwrap();
    assert!(parsed.independent_segments);
    let low = &parsed.variants[1];
    assert_eq!(
        (low.uri.as_str(), low.bandwidth, low.average_bandwidth),
        ("240p/ts.m3u8", 464_000, Some(464_000))
    );
    assert_eq!(low.codecs.as_deref(), Some("avc1.640015,mp4a.40.2"));
    assert_eq!(low.frame_rate, Some(25.0));
}

#[test]
fn multivariant_frame_rate_is_rounded_to_three_decimals() {
    let (channel, mut ladder, timeline, assets) = fixtures::demo_parts(true);
    (ladder.frame_rate_num, ladder.frame_rate_den) = (30_000, 1001);
    let playout = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap();
    assert!(render_multivariant(&playout).contains(",FRAME-RATE=29.970\n"));
}

#[test]
fn media_playlist_marks_the_discontinuity_between_two_runs() {
    assert_snapshot!(ts_360p(&fixtures::demo_playout(true), at_millis(8_000)), @r"
    #EXTM3U
    #EXT-X-VERSION:3
    #EXT-X-TARGETDURATION:2
    #EXT-X-MEDIA-SEQUENCE:1
    #EXT-X-DISCONTINUITY-SEQUENCE:0
    #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:22.000Z
    #EXTINF:2.000,
    /media/assets/1/360p/ts/00001.ts
    #EXTINF:2.000,
    /media/assets/1/360p/ts/00002.ts
    #EXT-X-DISCONTINUITY
    #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:26.000Z
    #EXTINF:2.000,
    /media/assets/2/360p/ts/00000.ts
    ");
}

#[test]
fn media_playlist_keeps_counting_across_the_repeat_boundary() {
    // One pass lasts 9.52 s; 13.52 s in, the window is the filler's last segment, then the
    // programme again.
    assert_snapshot!(ts_360p(&fixtures::demo_playout(true), at_millis(13_520)), @r"
    #EXTM3U
    #EXT-X-VERSION:3
    #EXT-X-TARGETDURATION:2
    #EXT-X-MEDIA-SEQUENCE:4
    #EXT-X-DISCONTINUITY-SEQUENCE:1
    #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:28.000Z
    #EXTINF:1.520,
    /media/assets/2/360p/ts/00001.ts
    #EXT-X-DISCONTINUITY
    #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:29.520Z
    #EXTINF:2.000,
    /media/assets/1/360p/ts/00000.ts
    #EXTINF:2.000,
    /media/assets/1/360p/ts/00001.ts
    ");
}

#[test]
fn a_discontinuity_sliding_out_of_the_window_leaves_the_numbering_exact() {
    let playout = fixtures::demo_playout(true);
    let text = ts_360p(&playout, at_millis(15_520));
    assert!(
        text.contains("#EXT-X-MEDIA-SEQUENCE:5\n#EXT-X-DISCONTINUITY-SEQUENCE:2\n"),
        "{text}"
    );
    assert!(!text.contains("#EXT-X-DISCONTINUITY\n"), "{text}");
}

#[test]
fn before_the_first_segment_ends_the_playlist_is_empty_but_numbered() {
    let playout = fixtures::demo_playout(true);
    let text = ts_360p(&playout, at_millis(1_999));
    assert_snapshot!(text, @r"
    #EXTM3U
    #EXT-X-VERSION:3
    #EXT-X-TARGETDURATION:2
    #EXT-X-MEDIA-SEQUENCE:0
    #EXT-X-DISCONTINUITY-SEQUENCE:0
    ");
    assert_eq!(ts_360p(&playout, ORIGIN - Ticks::from_secs(3600)), text);
    let parsed = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
    assert!(parsed.segments.is_empty());
}

/// Was `a_finished_timeline_keeps_its_last_window_without_endlist`: a timeline that ends now
/// loops the channel's slate (the fixture's tail) instead of freezing its last window.
#[test]
fn a_finished_timeline_slides_into_its_slate_tail_without_endlist() {
    let playout = fixtures::demo_playout(false);
    assert_snapshot!(ts_360p(&playout, at_millis(13_520)), @r"
    #EXTM3U
    #EXT-X-VERSION:3
    #EXT-X-TARGETDURATION:2
    #EXT-X-MEDIA-SEQUENCE:4
    #EXT-X-DISCONTINUITY-SEQUENCE:1
    #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:28.000Z
    #EXTINF:1.520,
    /media/assets/2/360p/ts/00001.ts
    #EXT-X-DISCONTINUITY
    #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:29.520Z
    #EXTINF:2.000,
    /media/assets/3/360p/ts/00000.ts
    #EXTINF:2.000,
    /media/assets/3/360p/ts/00001.ts
    ");
    // A day later the slate still loops, numbered on: 21 600 passes of 4 s, 2 segments each,
    // after the 5 planned segments; the window ends with the last one that has ended.
    let later = parse(&ts_360p(&playout, at_millis(86_409_520)));
    assert_eq!(later.media_sequence, 5 + 2 * 21_600 - 3);
    assert_eq!(later.discontinuity_sequence, 2 + 21_600 - 2);
    assert!(
        later
            .segments
            .iter()
            .all(|s| s.uri.starts_with("/media/assets/3/"))
    );
    let text = ts_360p(&playout, at_millis(86_409_520));
    assert!(!text.contains("ENDLIST"));
}

#[test]
fn cmaf_playlist_maps_each_run_to_its_init_segment() {
    let options = MediaPlaylistOptions::fmp4();
    let text = render_media_playlist_with(
        &fixtures::demo_playout(true),
        "240p",
        at_millis(8_000),
        &options,
    )
    .unwrap();
    assert_snapshot!(text, @r#"
    #EXTM3U
    #EXT-X-VERSION:6
    #EXT-X-TARGETDURATION:2
    #EXT-X-MEDIA-SEQUENCE:1
    #EXT-X-DISCONTINUITY-SEQUENCE:0
    #EXT-X-MAP:URI="/media/assets/1/240p/cmaf/init.mp4"
    #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:22.000Z
    #EXTINF:2.000,
    /media/assets/1/240p/cmaf/00001.m4s
    #EXTINF:2.000,
    /media/assets/1/240p/cmaf/00002.m4s
    #EXT-X-DISCONTINUITY
    #EXT-X-MAP:URI="/media/assets/2/240p/cmaf/init.mp4"
    #EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:26.000Z
    #EXTINF:2.000,
    /media/assets/2/240p/cmaf/00000.m4s
    "#);
    let parsed = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
    assert_eq!(
        parsed.segments[2].map.as_ref().unwrap().uri,
        "/media/assets/2/240p/cmaf/init.mp4"
    );
}

#[test]
fn there_is_no_playlist_for_an_unknown_rung_or_an_unpublished_output() {
    let playout = fixtures::demo_playout(true);
    assert_eq!(
        render_media_playlist(&playout, "1080p", at_millis(8_000)),
        None
    );
    let (mut channel, ladder, timeline, assets) = fixtures::demo_parts(true);
    channel.outputs = vec![OutputFormat::HlsTs];
    let ts_only = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap();
    let cmaf = MediaPlaylistOptions::fmp4();
    assert_eq!(
        render_media_playlist_with(&ts_only, "360p", at_millis(8_000), &cmaf),
        None
    );
}

#[test]
fn segment_urls_are_percent_encoded() {
    let (channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
    let rendition = &mut assets.get_mut(&fixtures::PROGRAMME).unwrap().renditions[0];
    Arc::make_mut(&mut rendition.segments)[0].path = "/assets/1/360p/ts/a b#?.ts".into();
    let playout = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap();
    assert!(
        ts_360p(&playout, at_millis(4_000)).contains("\n/media/assets/1/360p/ts/a%20b%23%3F.ts\n")
    );
}

#[test]
fn extinf_adds_up_to_the_next_program_date_time_when_segments_are_not_whole_milliseconds() {
    // 7 frames at 29.97 fps: 21021 ticks, 233.567 ms.
    let frames = Ticks(21_021);
    let track = Arc::new(SegmentTrack::new(vec![frames; 4]));
    let ladder = Ladder::demo();
    let asset = fixtures::asset(AssetId(9), &[frames; 4], &ladder, |_| (0, 0));
    let runs = vec![
        Run::whole(RunKind::Programme, AssetId(9), "a", Arc::clone(&track)),
        Run::whole(RunKind::Programme, AssetId(9), "b", track),
    ];
    let timeline = Timeline::new(ORIGIN + Ticks(45), runs, true, 0, 0).unwrap();
    let playout = ChannelPlayout::new(
        fixtures::channel("odd", 8),
        ladder,
        timeline,
        HashMap::from([(AssetId(9), asset)]),
    )
    .unwrap();
    let text = ts_360p(&playout, ORIGIN + Ticks(45 + 8 * 21_021));
    let extinfs: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("#EXTINF:"))
        .collect();
    // Boundaries at 0.5, 234.07, 467.63, 701.2, 934.77, ... ms, truncated: 0, 234, 467, 701, 934, ...
    let expected = [
        "0.234", "0.233", "0.234", "0.233", "0.234", "0.233", "0.234", "0.234",
    ]
    .map(|d| format!("#EXTINF:{d},"));
    assert_eq!(extinfs, expected);
    assert!(
        text.contains("#EXT-X-PROGRAM-DATE-TIME:2026-09-21T14:13:20.934Z\n"),
        "{text}"
    );
    parse(&text);
}

// ---- ad-break markers ----

/// The channel's own HLS-TS playlist, as the origin serves it: cues in the segments too.
fn breaks_ts(now_millis: i64) -> String {
    render_media_playlist_with(
        &fixtures::break_playout(),
        "360p",
        at_millis(now_millis),
        &MediaPlaylistOptions::ts_with_cues_in_segments(),
    )
    .unwrap()
}

#[test]
fn a_break_is_marked_out_continued_and_back_in() {
    // Window of 4 at 14 s: ad A (6-10 s), ad B (10-12 s), the programme again (12-14 s).
    let text = breaks_ts(14_000);
    insta::assert_snapshot!("break_ts_at_14s", text);
    let playlist = crate::testing::parse_hls(&text);
    crate::testing::check_hls_cues(&fixtures::break_playout(), &playlist);
    // m3u8-rs reads it too (it keeps one DATERANGE per segment).
    parse(&text);
    // Without cues in the segments (sessions, partners' own URLs) every URL is the file's.
    let direct = render_media_playlist(&fixtures::break_playout(), "360p", at_millis(14_000));
    let direct = direct.unwrap();
    assert!(!direct.contains("scte35/"), "{direct}");
    let cued: Vec<&str> = text
        .lines()
        .filter(|line| line.starts_with("scte35/"))
        .collect();
    assert_eq!(
        cued,
        [
            "scte35/1/out/4367201632/540000/assets/4/360p/ts/00000.ts",
            "scte35/1/in/4367741632/540000/assets/1/360p/ts/00001.ts",
        ]
    );
    assert_eq!(
        text.replace("scte35/1/out/4367201632/540000/", "/media/")
            .replace("scte35/1/in/4367741632/540000/", "/media/"),
        direct,
        "only those two URLs differ"
    );
}

#[test]
fn a_window_that_starts_inside_a_break_still_declares_it() {
    let text = breaks_ts(16_000);
    insta::assert_snapshot!("break_ts_at_16s", text);
    let playlist = crate::testing::parse_hls(&text);
    assert_eq!(playlist.leading_dateranges.len(), 1);
    assert!(
        playlist.segments[0].cues[0]
            .starts_with("#EXT-X-CUE-OUT-CONT:ElapsedTime=2.000,Duration=6.000,")
    );
    crate::testing::check_hls_cues(&fixtures::break_playout(), &playlist);
}

#[test]
fn the_fmp4_playlist_marks_breaks_and_maps_every_run() {
    let text = render_media_playlist_with(
        &fixtures::break_playout(),
        "240p",
        at_millis(14_000),
        &MediaPlaylistOptions::fmp4(),
    )
    .unwrap();
    insta::assert_snapshot!("break_fmp4_at_14s", text);
    let playlist = crate::testing::parse_hls(&text);
    assert_eq!(
        playlist
            .segments
            .iter()
            .map(|s| s.map.as_deref().unwrap())
            .collect::<Vec<_>>(),
        [
            "/media/assets/4/240p/cmaf/init.mp4",
            "/media/assets/4/240p/cmaf/init.mp4",
            "/media/assets/5/240p/cmaf/init.mp4",
            "/media/assets/1/240p/cmaf/init.mp4",
        ]
    );
}

#[test]
fn the_fmp4_multivariant_lists_an_audio_rendition_per_audio_track_and_video_variants_that_name_it()
{
    let text = render_multivariant_with(&fixtures::demo_playout(true), Packaging::Cmaf);
    assert_snapshot!(text, @r#"
    #EXTM3U
    #EXT-X-VERSION:6
    #EXT-X-INDEPENDENT-SEGMENTS
    #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-96k",NAME="audio-96k",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio-96k/fmp4.m3u8"
    #EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="audio-64k",NAME="audio-64k",DEFAULT=YES,AUTOSELECT=YES,CHANNELS="2",URI="audio-64k/fmp4.m3u8"
    #EXT-X-STREAM-INF:BANDWIDTH=896000,AVERAGE-BANDWIDTH=896000,CODECS="avc1.64001e,mp4a.40.2",RESOLUTION=640x360,FRAME-RATE=25.000,AUDIO="audio-96k"
    360p/fmp4.m3u8
    #EXT-X-STREAM-INF:BANDWIDTH=464000,AVERAGE-BANDWIDTH=464000,CODECS="avc1.640015,mp4a.40.2",RESOLUTION=426x240,FRAME-RATE=25.000,AUDIO="audio-64k"
    240p/fmp4.m3u8
    "#);
    let parsed = m3u8_rs::parse_master_playlist_res(text.as_bytes()).unwrap();
    let groups: Vec<(&str, &str, Option<&str>, bool, bool)> = parsed
        .alternatives
        .iter()
        .map(|media| {
            assert_eq!(media.media_type, m3u8_rs::AlternativeMediaType::Audio);
            (
                media.group_id.as_str(),
                media.name.as_str(),
                media.uri.as_deref(),
                media.default,
                media.autoselect,
            )
        })
        .collect();
    assert_eq!(
        groups,
        [
            (
                "audio-96k",
                "audio-96k",
                Some("audio-96k/fmp4.m3u8"),
                true,
                true
            ),
            (
                "audio-64k",
                "audio-64k",
                Some("audio-64k/fmp4.m3u8"),
                true,
                true
            ),
        ]
    );
    let audio: Vec<Option<&str>> = parsed
        .variants
        .iter()
        .map(|variant| variant.audio.as_deref())
        .collect();
    assert_eq!(audio, [Some("audio-96k"), Some("audio-64k")]);
}

#[test]
fn a_cmaf_variant_bandwidth_adds_its_measured_video_and_audio() {
    let (channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
    for asset in assets.values_mut() {
        for rendition in &mut asset.renditions {
            (rendition.peak_bandwidth, rendition.average_bandwidth) =
                match (rendition.rung.as_str(), rendition.packaging) {
                    ("360p", Packaging::Cmaf) => (900_000, 780_000),
                    ("audio-96k", Packaging::CmafAudio) => (101_000, 98_000),
                    _ => (0, 0),
                };
        }
    }
    let playout = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap();
    let text = render_multivariant_with(&playout, Packaging::Cmaf);
    assert!(
        text.contains("BANDWIDTH=1001000,AVERAGE-BANDWIDTH=878000,"),
        "{text}"
    );
    // Nothing measured for 240p and audio-64k: nominal 400 + 64 kbit/s.
    assert!(
        text.contains("BANDWIDTH=464000,AVERAGE-BANDWIDTH=464000,"),
        "{text}"
    );
}

#[test]
fn an_audio_playlist_lists_the_video_playlist_segments_with_the_audio_files() {
    let playout = fixtures::break_playout();
    let now = at_millis(14_000);
    let options = MediaPlaylistOptions::fmp4();
    let audio = render_media_playlist_with(&playout, "audio-96k", now, &options).unwrap();
    insta::assert_snapshot!("break_fmp4_audio_at_14s", audio);
    let video = render_media_playlist_with(&playout, "360p", now, &options).unwrap();
    assert_eq!(
        audio.replace("/audio-96k/cmaf-audio/", "/360p/cmaf/"),
        video,
        "the same tags and numbers, other files"
    );
    let playlist = crate::testing::parse_hls(&audio);
    crate::testing::check_hls_cues(&playout, &playlist);
    parse(&audio);
    // An audio track has no MPEG-TS playlist: TS segments carry the audio with the video.
    assert_eq!(
        render_media_playlist_with(&playout, "audio-96k", now, &MediaPlaylistOptions::ts()),
        None
    );
    assert_eq!(
        render_media_playlist_with(&playout, "audio-128k", now, &options),
        None
    );
}

#[test]
fn a_time_signal_cue_carries_a_placement_opportunity() {
    let options = MediaPlaylistOptions {
        cue: CueCommand::TimeSignal,
        ..MediaPlaylistOptions::ts()
    };
    let text = render_media_playlist_with(
        &fixtures::break_playout(),
        "360p",
        at_millis(14_000),
        &options,
    )
    .unwrap();
    let oatcls = text
        .lines()
        .find_map(|line| line.strip_prefix("#EXT-OATCLS-SCTE35:"))
        .unwrap();
    let cue = crate::testing::decode_base64_cue(oatcls);
    assert_eq!(cue.command, 0x06);
    assert_eq!((cue.event_id, cue.duration), (1, Some(6 * 90_000)));
}

#[test]
fn a_session_fill_replaces_the_break_and_keeps_the_numbering() {
    let playout = fixtures::break_playout();
    let fill = fixtures::slate_fill(&playout);
    let now = at_millis(14_000);
    let options = MediaPlaylistOptions::ts();
    let channel = render_media_playlist(&playout, "360p", now).unwrap();
    let session = render_session_media_playlist(&playout, "360p", now, &options, &fill).unwrap();
    let (channel, session) = (
        crate::testing::parse_hls(&channel),
        crate::testing::parse_hls(&session),
    );
    assert_eq!(
        session
            .segments
            .iter()
            .map(|s| s.uri.as_str())
            .collect::<Vec<_>>(),
        [
            "/media/assets/3/360p/ts/00000.ts",
            "/media/assets/3/360p/ts/00001.ts",
            "/media/assets/2/360p/ts/00000.ts",
            "/media/assets/1/360p/ts/00001.ts",
        ]
    );
    for (ours, theirs) in session.segments.iter().zip(&channel.segments) {
        assert_eq!(
            (
                ours.media_sequence,
                ours.discontinuity_sequence,
                ours.start_millis,
                &ours.cues
            ),
            (
                theirs.media_sequence,
                theirs.discontinuity_sequence,
                theirs.start_millis,
                &theirs.cues
            )
        );
    }
    // A fill with the wrong shape is ignored: the session gets the channel's break.
    let misfit = fixtures::SlateFill {
        runs: fill.runs[..1].to_vec(),
        assets: fill.assets.clone(),
    };
    assert_eq!(
        render_session_media_playlist(&playout, "360p", now, &options, &misfit),
        render_media_playlist(&playout, "360p", now)
    );
}

/// The lines of a playlist that mark breaks.
fn cue_lines(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|line| {
            ["#EXT-X-CUE", "#EXT-X-DATERANGE", "#EXT-OATCLS-SCTE35"]
                .iter()
                .any(|tag| line.starts_with(tag))
        })
        .collect()
}

#[test]
fn a_session_that_omits_filled_cues_marks_only_the_breaks_its_fill_does_not_air() {
    let playout = fixtures::break_playout();
    let fill = fixtures::slate_fill(&playout);
    let now = at_millis(14_000);
    let marked = MediaPlaylistOptions::ts();
    let unmarked = MediaPlaylistOptions {
        omit_filled_cues: true,
        ..marked
    };
    let with_cues = render_session_media_playlist(&playout, "360p", now, &marked, &fill).unwrap();
    assert!(
        cue_lines(&with_cues).len() >= 3,
        "the break is marked out, continued and back in:\n{with_cues}"
    );
    let others = |text: &str| -> Vec<String> {
        text.lines()
            .filter(|line| cue_lines(line).is_empty())
            .map(str::to_owned)
            .collect()
    };
    // Windows that open before, inside (whose first segment declares the break it is in) and
    // after the break (6–12 s).
    for millis in (8_000..=18_000).step_by(2_000) {
        let now = at_millis(millis);
        let with_cues =
            render_session_media_playlist(&playout, "360p", now, &marked, &fill).unwrap();
        let without =
            render_session_media_playlist(&playout, "360p", now, &unmarked, &fill).unwrap();
        assert_eq!(
            cue_lines(&without),
            Vec::<&str>::new(),
            "at {millis}: {without}"
        );
        assert_eq!(others(&without), others(&with_cues), "only the cue tags go");
    }
    // A break the fill does not fit airs as planned, and keeps its cues.
    let misfit = fixtures::SlateFill {
        runs: fill.runs[..1].to_vec(),
        assets: fill.assets.clone(),
    };
    assert_eq!(
        render_session_media_playlist(&playout, "360p", now, &unmarked, &misfit),
        render_media_playlist(&playout, "360p", now)
    );
}

// ---- properties over random timelines ----

/// One listed segment, with the numbers a player derives for it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    media_sequence: u64,
    discontinuity_sequence: u64,
    start_millis: i64,
    duration_millis: i64,
    uri: String,
}

#[derive(Debug)]
struct Parsed {
    target_duration: u64,
    media_sequence: u64,
    discontinuity_sequence: u64,
    segments: Vec<Listed>,
}

/// Parses with m3u8-rs, reads EXTINF exactly (m3u8-rs keeps an `f32`), derives each segment's
/// numbers as a player does, and checks on the way that every PROGRAM-DATE-TIME equals the
/// previous one plus the durations in between.
fn parse(text: &str) -> Parsed {
    let playlist =
        m3u8_rs::parse_media_playlist_res(text.as_bytes()).expect("a valid media playlist");
    assert!(!playlist.end_list);
    let durations: Vec<i64> = text
        .lines()
        .filter_map(|line| line.strip_prefix("#EXTINF:"))
        .map(|value| {
            let (secs, millis) = value
                .trim_end_matches(',')
                .split_once('.')
                .expect("three decimals");
            assert_eq!(millis.len(), 3, "{value}");
            secs.parse::<i64>().unwrap() * 1000 + millis.parse::<i64>().unwrap()
        })
        .collect();
    assert_eq!(durations.len(), playlist.segments.len());
    let mut discontinuity_sequence = playlist.discontinuity_sequence;
    let mut next_start: Option<i64> = None;
    let mut segments = Vec::new();
    for (position, (segment, duration_millis)) in
        playlist.segments.iter().zip(durations).enumerate()
    {
        if segment.discontinuity {
            assert!(
                position > 0,
                "a discontinuity before the first segment would count twice"
            );
            assert!(
                segment.program_date_time.is_some(),
                "a discontinuity comes with a date"
            );
            discontinuity_sequence += 1;
        }
        let start_millis = match segment.program_date_time {
            Some(date) => {
                let millis = date.timestamp_millis();
                if let Some(expected) = next_start {
                    assert_eq!(
                        millis, expected,
                        "PDT(i + 1) = PDT(i) + EXTINF(i) in\n{text}"
                    );
                }
                millis
            }
            None => next_start.expect("the first segment has a date"),
        };
        next_start = Some(start_millis + duration_millis);
        segments.push(Listed {
            media_sequence: playlist.media_sequence + position as u64,
            discontinuity_sequence,
            start_millis,
            duration_millis,
            uri: segment.uri.clone(),
        });
    }
    Parsed {
        target_duration: playlist.target_duration,
        media_sequence: playlist.media_sequence,
        discontinuity_sequence: playlist.discontinuity_sequence,
        segments,
    }
}

#[derive(Debug, Clone)]
struct Case {
    /// Segment durations of each asset, in ticks.
    assets: Vec<Vec<i64>>,
    /// (asset, in point, segment count, break) before reduction to what the asset has; break
    /// 0 is none, and consecutive runs with the same other number are one break.
    runs: Vec<(usize, u32, u32, u8)>,
    repeat: bool,
    /// Without repeat: loop the last asset after the end.
    tail: bool,
    origin: Timestamp,
    first_media_sequence: u64,
    first_discontinuity_sequence: u64,
    window_segments: u32,
}

impl Case {
    fn playout(&self) -> ChannelPlayout {
        let ladder = Ladder::demo();
        let mut assets = HashMap::new();
        let mut tracks = Vec::new();
        for (index, durations) in self.assets.iter().enumerate() {
            let durations: Vec<Ticks> = durations.iter().map(|ticks| Ticks(*ticks)).collect();
            let id = AssetId(index as i64 + 1);
            assets.insert(id, fixtures::asset(id, &durations, &ladder, |_| (0, 0)));
            tracks.push((id, Arc::new(SegmentTrack::new(durations))));
        }
        let runs = self
            .runs
            .iter()
            .map(|(pick, in_point, count, slot)| {
                let (asset_id, track) = &tracks[pick % tracks.len()];
                let first_segment = in_point % track.len();
                let n_segments = 1 + count % (track.len() - first_segment);
                let kind = if *slot == 0 {
                    RunKind::Programme
                } else {
                    RunKind::AdBreak
                };
                Run {
                    first_segment,
                    n_segments,
                    ad_break: (*slot != 0).then_some(onair_domain::BreakSlot {
                        number: u32::from(*slot),
                        duration: Ticks::ZERO,
                    }),
                    ..Run::whole(kind, *asset_id, "run", Arc::clone(track))
                }
            })
            .collect();
        let mut timeline = Timeline::new(
            self.origin,
            runs,
            self.repeat,
            self.first_media_sequence,
            self.first_discontinuity_sequence,
        )
        .unwrap();
        if self.tail {
            let (asset_id, track) = tracks.last().unwrap();
            timeline = timeline
                .with_tail(Run::whole(
                    RunKind::Slate,
                    *asset_id,
                    "tail",
                    Arc::clone(track),
                ))
                .unwrap();
        }
        ChannelPlayout::new(
            fixtures::channel("random", self.window_segments),
            ladder,
            timeline,
            assets,
        )
        .unwrap()
    }
}

fn case() -> impl Strategy<Value = Case> {
    (
        prop::collection::vec(prop::collection::vec(90_000i64..=540_000, 1..6), 1..4),
        prop::collection::vec((any::<usize>(), any::<u32>(), any::<u32>(), 0u8..3), 1..6),
        any::<bool>(),
        any::<bool>(),
        0i64..90_000 * 3600,
        0u64..1_000_000,
        0u64..10_000,
        1u32..8,
    )
        .prop_map(
            |(
                assets,
                runs,
                repeat,
                tail,
                origin,
                first_media_sequence,
                first_discontinuity_sequence,
                window_segments,
            )| Case {
                assets,
                runs,
                repeat,
                tail: tail && !repeat,
                origin: Timestamp::from_unix_secs(1_790_000_000) + Ticks(origin),
                first_media_sequence,
                first_discontinuity_sequence,
                window_segments,
            },
        )
}

/// Checks one playlist against the timeline it came from.
fn check_against_timeline(playout: &ChannelPlayout, now: Timestamp, parsed: &Parsed) {
    let timeline = playout.timeline();
    assert_eq!(
        parsed.target_duration as i64,
        timeline.longest_segment().ceil_secs()
    );
    assert!(parsed.segments.len() <= playout.channel().window_segments as usize);
    for listed in &parsed.segments {
        let at = timeline
            .segment_by_sequence(listed.media_sequence)
            .expect("a listed segment is on the timeline");
        assert!(at.end() <= now, "only segments that have ended are listed");
        assert_eq!(listed.discontinuity_sequence, at.discontinuity_sequence);
        assert_eq!(listed.start_millis, at.start.unix_millis());
        assert_eq!(
            listed.duration_millis,
            at.end().unix_millis() - at.start.unix_millis()
        );
        assert!(
            (listed.duration_millis * 90 - at.duration.0).abs() < 90,
            "EXTINF is within a millisecond"
        );
        assert!(listed.duration_millis <= parsed.target_duration as i64 * 1000);
        let asset_id = timeline.run(at.run_index).asset_id;
        let expected_uri = format!(
            "/media/assets/{asset_id}/360p/ts/{:05}.ts",
            at.segment_index
        );
        assert_eq!(listed.uri, expected_uri);
    }
}

proptest! {
    #[test]
    fn a_segment_listed_twice_is_listed_identically_and_numbers_never_go_back(
        case in case(),
        t1 in -20i64 * 90_000..400 * 90_000,
        gap in 1i64..120 * 90_000,
    ) {
        let playout = case.playout();
        let (t1, t2) = (case.origin + Ticks(t1), case.origin + Ticks(t1 + gap));
        let (text1, text2) = (
            render_media_playlist(&playout, "360p", t1).unwrap(),
            render_media_playlist(&playout, "360p", t2).unwrap(),
        );
        let (earlier, later) = (parse(&text1), parse(&text2));
        check_against_timeline(&playout, t1, &earlier);
        check_against_timeline(&playout, t2, &later);
        let (cues1, cues2) = (crate::testing::parse_hls(&text1), crate::testing::parse_hls(&text2));
        crate::testing::check_hls_cues(&playout, &cues1);
        crate::testing::check_hls_cues(&playout, &cues2);
        for segment in &cues1.segments {
            if let Some(again) = cues2.segments.iter().find(|s| s.media_sequence == segment.media_sequence) {
                prop_assert_eq!(
                    (again.discontinuity_sequence, again.start_millis, again.duration_millis, &again.uri, &again.map, &again.cues),
                    (segment.discontinuity_sequence, segment.start_millis, segment.duration_millis, &segment.uri, &segment.map, &segment.cues),
                    "a listed segment keeps its tags"
                );
            }
        }
        prop_assert!(later.media_sequence >= earlier.media_sequence);
        prop_assert!(later.discontinuity_sequence >= earlier.discontinuity_sequence);
        prop_assert_eq!(later.target_duration, earlier.target_duration);
        for listed in &earlier.segments {
            if let Some(again) = later.segments.iter().find(|s| s.media_sequence == listed.media_sequence) {
                prop_assert_eq!(again, listed);
            }
        }
    }

    #[test]
    fn the_window_slides_one_segment_at_a_time_without_gaps(
        case in case(),
        t1 in 0i64..300 * 90_000,
    ) {
        let playout = case.playout();
        let now = case.origin + Ticks(t1);
        let parsed = parse(&render_media_playlist(&playout, "360p", now).unwrap());
        if let Some(last) = parsed.segments.last() {
            // The next playlist, at the end of the segment airing now, adds exactly one segment.
            let airing = playout.timeline().segment_by_sequence(last.media_sequence + 1);
            if let Some(airing) = airing {
                let next = parse(&render_media_playlist(&playout, "360p", airing.end()).unwrap());
                prop_assert_eq!(next.segments.last().unwrap().media_sequence, last.media_sequence + 1);
                let expected_first = parsed.media_sequence
                    + u64::from(parsed.segments.len() == case.window_segments as usize);
                prop_assert_eq!(next.media_sequence, expected_first);
            }
        }
    }
}

/// A session that fills every break of [`fixtures::break_playout`] (3 segments in 2 runs) with
/// three one-segment runs, the first two fetched through tracking URLs: each filled break adds
/// one discontinuity.
struct ThreeRunFill {
    runs: Vec<Run>,
    assets: HashMap<AssetId, onair_domain::Asset>,
    tracking: Vec<Option<String>>,
}

impl ThreeRunFill {
    fn new(playout: &crate::ChannelPlayout) -> ThreeRunFill {
        let assets = fixtures::owned_assets(playout);
        let slate = fixtures::track(&assets[&fixtures::SLATE]);
        let filler = fixtures::track(&assets[&fixtures::FILLER]);
        let ad_b = fixtures::track(&assets[&fixtures::AD_B]);
        let one = |run: Run| Run {
            n_segments: 1,
            ..run
        };
        ThreeRunFill {
            runs: vec![
                Run::whole(RunKind::AdBreak, fixtures::AD_B, "ad 1", ad_b),
                one(Run::whole(
                    RunKind::AdBreak,
                    fixtures::FILLER,
                    "ad 2",
                    filler,
                )),
                one(Run::whole(RunKind::Slate, fixtures::SLATE, "slate", slate)),
            ],
            assets,
            tracking: vec![
                Some("/channels/breaks/sessions/s1/ads/1/0/".into()),
                Some("/channels/breaks/sessions/s1/ads/1/1/".into()),
                None,
            ],
        }
    }
}

impl crate::window::BreakFill for ThreeRunFill {
    fn fill(&self, _airing: &onair_domain::BreakAiring) -> Option<crate::window::Fill<'_>> {
        Some(crate::window::Fill {
            runs: &self.runs,
            assets: &self.assets,
            tracking: &self.tracking,
        })
    }

    fn discontinuity_shift(&self, media_sequence: u64) -> i64 {
        // One pass has 8 segments; its break is segments 3..6.
        if media_sequence >= 6 {
            ((media_sequence - 6) / 8 + 1) as i64
        } else {
            0
        }
    }
}

#[test]
fn a_fill_with_more_runs_than_the_break_shifts_the_discontinuity_sequence_after_it_and_never_contradicts_an_earlier_poll()
 {
    let playout = fixtures::break_playout();
    let fill = ThreeRunFill::new(&playout);
    let options = MediaPlaylistOptions::ts();
    let mut seen: HashMap<u64, crate::testing::HlsSegment> = HashMap::new();
    let mut last_header = (0, 0);
    for second in 0..64 {
        let now = at_millis(second * 1000 + 500);
        let channel =
            crate::testing::parse_hls(&render_media_playlist(&playout, "360p", now).unwrap());
        let session = crate::testing::parse_hls(
            &render_session_media_playlist(&playout, "360p", now, &options, &fill).unwrap(),
        );
        assert!(
            (session.media_sequence, session.discontinuity_sequence) >= last_header,
            "numbers never go back"
        );
        last_header = (session.media_sequence, session.discontinuity_sequence);
        assert_eq!(session.media_sequence, channel.media_sequence);
        for (ours, theirs) in session.segments.iter().zip(&channel.segments) {
            assert_eq!(ours.media_sequence, theirs.media_sequence);
            let in_break = (3..6).contains(&(ours.media_sequence % 8));
            if !in_break {
                assert_eq!(
                    ours.uri, theirs.uri,
                    "outside breaks the channel's segments"
                );
                assert_eq!(ours.start_millis, theirs.start_millis);
                assert_eq!(
                    ours.discontinuity_sequence as i64,
                    theirs.discontinuity_sequence as i64
                        + fill.discontinuity_shift(ours.media_sequence)
                );
            }
            if let Some(earlier) = seen.insert(ours.media_sequence, ours.clone()) {
                assert_eq!(
                    (
                        &earlier.uri,
                        earlier.discontinuity_sequence,
                        earlier.start_millis
                    ),
                    (&ours.uri, ours.discontinuity_sequence, ours.start_millis),
                    "segment {} changed between polls",
                    ours.media_sequence
                );
            }
        }
    }
    let break_uris: Vec<&str> = (11..14).map(|n| seen[&n].uri.as_str()).collect();
    assert_eq!(
        break_uris,
        [
            "/channels/breaks/sessions/s1/ads/1/0/media/assets/5/360p/ts/00000.ts",
            "/channels/breaks/sessions/s1/ads/1/1/media/assets/2/360p/ts/00000.ts",
            "/media/assets/3/360p/ts/00000.ts",
        ]
    );
    let numbers: Vec<u64> = (10..15).map(|n| seen[&n].discontinuity_sequence).collect();
    let first = numbers[0];
    assert_eq!(
        numbers,
        [first, first + 1, first + 2, first + 3, first + 4],
        "each run of the fill, and the programme after it, is a discontinuity"
    );
}
