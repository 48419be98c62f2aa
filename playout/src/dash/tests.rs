//! Snapshots of MPDs at fixed instants, and properties over random timelines: Periods keep
//! their ids and starts, segments their times and files, and the MPD agrees with HLS.

use std::collections::HashMap;
use std::sync::Arc;

use onair_domain::timeline::SegmentTrack;
use onair_domain::{AssetId, Ladder, OutputFormat, Run, RunKind, Ticks, Timeline};
use proptest::prelude::*;

use super::*;
use crate::fixtures::{self, at_millis};
use crate::testing::{check_mpd, mpd_segments, parse_mpd};

#[test]
fn durations_are_exact_to_the_microsecond_without_trailing_zeros() {
    let text = |ticks| {
        let mut out = String::new();
        push_duration(&mut out, Ticks(ticks));
        out
    };
    assert_eq!(text(0), "PT0S");
    assert_eq!(text(90_000 * 12), "PT12S");
    assert_eq!(text(90_000 * 9 + 46_800), "PT9.52S");
    assert_eq!(text(21_021), "PT0.233566S");
}

#[test]
fn the_mpd_has_a_period_per_run_across_a_discontinuity() {
    let playout = fixtures::demo_playout(true);
    let now = at_millis(8_000);
    let text = render_mpd(&playout, now, &MpdOptions::default()).unwrap();
    insta::assert_snapshot!("demo_mpd_at_8s", text);
    check_mpd(&playout, now, &parse_mpd(&text), "360p");
}

#[test]
fn the_mpd_marks_a_break_with_its_scte35_event_in_every_period_of_the_break() {
    let playout = fixtures::break_playout();
    let now = at_millis(14_000);
    let text = render_mpd(&playout, now, &MpdOptions::default()).unwrap();
    insta::assert_snapshot!("break_mpd_at_14s", text);
    let mpd = parse_mpd(&text);
    check_mpd(&playout, now, &mpd, "240p");
    assert_eq!(
        mpd.periods
            .iter()
            .map(|p| p.id.as_str())
            .collect::<Vec<_>>(),
        ["p1", "p2", "p3"]
    );
    // The break (6-12 s) is ad A (p1, from 6 s) then ad B (p2, from 10 s): both carry its
    // event, which starts at the break's start, 4 s before p2 does.
    let events: Vec<(&str, i64, &str)> =
        mpd.periods
            .iter()
            .flat_map(|period| {
                period.events.iter().map(move |(id, _, _, _)| {
                    (period.id.as_str(), period.event_offset, id.as_str())
                })
            })
            .collect();
    assert_eq!(events, [("p1", 0, "1"), ("p2", 4 * 90_000, "1")]);
}

#[test]
fn a_session_that_omits_filled_cues_has_no_event_stream_in_the_breaks_its_fill_airs() {
    let playout = fixtures::break_playout();
    let fill = fixtures::slate_fill(&playout);
    let now = at_millis(14_000);
    let marked = MpdOptions::default();
    let unmarked = MpdOptions {
        omit_filled_cues: true,
        ..MpdOptions::default()
    };
    let with_cues = crate::render_session_mpd(&playout, now, &marked, &fill).unwrap();
    let without = crate::render_session_mpd(&playout, now, &unmarked, &fill).unwrap();
    let events = |text: &str| {
        parse_mpd(text)
            .periods
            .iter()
            .map(|period| period.events.len())
            .sum::<usize>()
    };
    assert!(events(&with_cues) >= 1, "{with_cues}");
    assert_eq!(events(&without), 0, "{without}");
    assert_eq!(
        parse_mpd(&without).periods.len(),
        parse_mpd(&with_cues).periods.len(),
        "the periods stay"
    );
    let misfit = fixtures::SlateFill {
        runs: fill.runs[..1].to_vec(),
        assets: fill.assets.clone(),
    };
    assert_eq!(
        crate::render_session_mpd(&playout, now, &unmarked, &misfit),
        render_mpd(&playout, now, &MpdOptions::default()),
        "a break the fill does not fit keeps its event"
    );
}

#[test]
fn a_window_that_starts_in_the_second_period_of_a_break_still_carries_its_event() {
    let playout = fixtures::break_playout();
    // At 18 s the window (4 segments, 10-18 s) starts with ad B (10-12 s): the break's second
    // Period, whose first Period (ad A, 6-10 s) has left the window.
    let now = at_millis(18_000);
    let mpd = parse_mpd(&render_mpd(&playout, now, &MpdOptions::default()).unwrap());
    check_mpd(&playout, now, &mpd, "360p");
    let first = &mpd.periods[0];
    assert_eq!(first.id, "p2");
    assert_eq!(first.events.len(), 1, "{first:?}");
    assert_eq!(first.event_offset, 4 * 90_000);
}

#[test]
fn video_and_audio_are_separate_adaptation_sets_over_the_same_segments() {
    let playout = fixtures::demo_playout(true);
    let now = at_millis(8_000);
    let mpd = parse_mpd(&render_mpd(&playout, now, &MpdOptions::default()).unwrap());
    for period in &mpd.periods {
        let video = period.adaptation_set("video");
        let audio = period.adaptation_set("audio");
        assert_eq!(video.segments, audio.segments);
        assert!(
            video.media.contains("/$RepresentationID$/cmaf/"),
            "{video:?}"
        );
        assert!(
            audio.media.contains("/$RepresentationID$/cmaf-audio/"),
            "{audio:?}"
        );
        assert_eq!(
            audio
                .representations
                .iter()
                .map(|(id, codecs, bandwidth)| (id.as_str(), codecs.as_str(), bandwidth.as_str()))
                .collect::<Vec<_>>(),
            [
                ("audio-96k", "mp4a.40.2", "96000"),
                ("audio-64k", "mp4a.40.2", "64000")
            ]
        );
    }
    let audio = mpd_segments(&mpd, "audio-64k");
    assert_eq!(
        audio.last().map(|segment| segment.url.as_str()),
        Some("/media/assets/2/audio-64k/cmaf-audio/00000.m4s")
    );
}

#[test]
fn audio_files_a_template_cannot_name_are_refused_for_dash() {
    let (channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
    let rendition = assets
        .get_mut(&fixtures::PROGRAMME)
        .unwrap()
        .renditions
        .iter_mut()
        .find(|r| r.packaging == Packaging::CmafAudio)
        .unwrap();
    rendition.init_path = Some("elsewhere/init.mp4".into());
    let error = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap_err();
    assert_eq!(
        error,
        crate::PlayoutError::NoSegmentTemplate {
            asset_id: fixtures::PROGRAMME,
            packaging: Packaging::CmafAudio
        }
    );
}

#[test]
fn before_the_first_segment_ends_the_mpd_announces_the_first_period() {
    let playout = fixtures::demo_playout(true);
    let text = render_mpd(&playout, at_millis(1_000), &MpdOptions::default()).unwrap();
    let mpd = parse_mpd(&text);
    assert_eq!(mpd.periods.len(), 1);
    assert_eq!(
        (mpd.periods[0].id.as_str(), mpd.periods[0].start_micros),
        ("p0", 0)
    );
    for set in &mpd.periods[0].adaptation_sets {
        assert!(set.segments.is_empty());
    }
    assert_eq!(
        mpd.attributes["publishTime"],
        mpd.attributes["availabilityStartTime"]
    );
}

#[test]
fn an_in_point_sets_the_presentation_time_offset_and_the_start_number() {
    let playout = fixtures::break_playout();
    let mpd = parse_mpd(&render_mpd(&playout, at_millis(16_000), &MpdOptions::default()).unwrap());
    let part_two = mpd.periods.iter().find(|p| p.id == "p3").unwrap();
    for set in &part_two.adaptation_sets {
        assert_eq!(set.presentation_time_offset, 180_000);
        assert_eq!(set.start_number, 1);
        assert_eq!(set.segments, [(1, 180_000, 180_000), (2, 360_000, 180_000)]);
    }
    assert_eq!(part_two.start_micros, 12_000_000);
}

#[test]
fn there_is_no_mpd_for_a_channel_not_published_in_dash() {
    let (mut channel, ladder, timeline, assets) = fixtures::demo_parts(true);
    channel.outputs = vec![OutputFormat::HlsTs];
    let playout = ChannelPlayout::new(channel, ladder, timeline, assets).unwrap();
    assert_eq!(
        render_mpd(&playout, at_millis(8_000), &MpdOptions::default()),
        None
    );
}

#[test]
fn cmaf_files_a_template_cannot_name_are_refused_for_dash_only() {
    let (channel, ladder, timeline, mut assets) = fixtures::demo_parts(true);
    let rendition = assets
        .get_mut(&fixtures::FILLER)
        .unwrap()
        .renditions
        .iter_mut()
        .find(|r| r.packaging == Packaging::Cmaf)
        .unwrap();
    Arc::make_mut(&mut rendition.segments)[1].path = "elsewhere/1.m4s".into();
    let error = ChannelPlayout::new(
        channel.clone(),
        ladder.clone(),
        timeline.clone(),
        assets.clone(),
    )
    .unwrap_err();
    assert!(
        matches!(error, crate::PlayoutError::NoSegmentTemplate { asset_id, packaging: Packaging::Cmaf } if asset_id == fixtures::FILLER)
    );
    let hls_only = onair_domain::Channel {
        outputs: vec![OutputFormat::HlsTs, OutputFormat::HlsFmp4],
        ..channel
    };
    assert!(ChannelPlayout::new(hls_only, ladder, timeline, assets).is_ok());
}

/// A random channel: assets of random segment durations, runs with in points, ad breaks,
/// repeating or ending into a tail.
fn random_playout(
    assets: &[Vec<i64>],
    runs: &[(usize, u32, u32, u8)],
    repeat: bool,
    window_segments: u32,
) -> ChannelPlayout {
    let ladder = Ladder::demo();
    let mut by_id = HashMap::new();
    let mut tracks = Vec::new();
    for (index, durations) in assets.iter().enumerate() {
        let durations: Vec<Ticks> = durations.iter().map(|ticks| Ticks(*ticks)).collect();
        let id = AssetId(index as i64 + 1);
        by_id.insert(id, fixtures::asset(id, &durations, &ladder, |_| (0, 0)));
        tracks.push((id, Arc::new(SegmentTrack::new(durations))));
    }
    let runs = runs
        .iter()
        .map(|(pick, in_point, count, slot)| {
            let (asset_id, track) = &tracks[pick % tracks.len()];
            let first_segment = in_point % track.len();
            Run {
                first_segment,
                n_segments: 1 + count % (track.len() - first_segment),
                ad_break: (*slot != 0).then_some(onair_domain::BreakSlot {
                    number: u32::from(*slot),
                    duration: Ticks::ZERO,
                }),
                ..Run::whole(RunKind::Programme, *asset_id, "run", Arc::clone(track))
            }
        })
        .collect();
    let mut timeline = Timeline::new(fixtures::ORIGIN + Ticks(12_345), runs, repeat, 7, 3).unwrap();
    if !repeat {
        let (asset_id, track) = &tracks[0];
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
        fixtures::channel("random", window_segments),
        ladder,
        timeline,
        by_id,
    )
    .unwrap()
}

proptest! {
    #[test]
    fn periods_and_segments_never_change_while_listed_and_match_the_timeline(
        assets in prop::collection::vec(prop::collection::vec(45_000i64..=540_000, 1..6), 1..4),
        runs in prop::collection::vec((any::<usize>(), any::<u32>(), any::<u32>(), 0u8..3), 1..6),
        repeat in any::<bool>(),
        window_segments in 1u32..8,
        t1 in -20i64 * 90_000..400 * 90_000,
        gap in 1i64..120 * 90_000,
    ) {
        let playout = random_playout(&assets, &runs, repeat, window_segments);
        let origin = playout.timeline().origin();
        let (t1, t2) = (origin + Ticks(t1), origin + Ticks(t1 + gap));
        let options = MpdOptions::default();
        let earlier = parse_mpd(&render_mpd(&playout, t1, &options).unwrap());
        let later = parse_mpd(&render_mpd(&playout, t2, &options).unwrap());
        check_mpd(&playout, t1, &earlier, "360p");
        check_mpd(&playout, t2, &later, "360p");
        prop_assert!(later.attributes["publishTime"] >= earlier.attributes["publishTime"]);
        for period in &earlier.periods {
            if let Some(again) = later.periods.iter().find(|p| p.id == period.id) {
                prop_assert_eq!(again.stable(), period.stable());
            }
        }
        for id in ["360p", "audio-96k"] {
            let (before, after) = (mpd_segments(&earlier, id), mpd_segments(&later, id));
            for segment in &before {
                if let Some(again) = after.iter().find(|s| s.start_micros == segment.start_micros) {
                    prop_assert_eq!(again, segment);
                }
            }
        }
    }
}
