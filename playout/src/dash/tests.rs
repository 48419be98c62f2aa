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
fn the_mpd_marks_a_break_with_a_scte35_event_in_its_first_period() {
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
    assert!(mpd.periods[0].segments.is_empty());
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
    assert_eq!(part_two.presentation_time_offset, 180_000);
    assert_eq!(part_two.start_number, 1);
    assert_eq!(
        part_two.segments,
        [(1, 180_000, 180_000), (2, 360_000, 180_000)]
    );
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
    rendition.segments[1].path = "elsewhere/1.m4s".into();
    let error = ChannelPlayout::new(
        channel.clone(),
        ladder.clone(),
        timeline.clone(),
        assets.clone(),
    )
    .unwrap_err();
    assert!(
        matches!(error, crate::PlayoutError::NoSegmentTemplate { asset_id } if asset_id == fixtures::FILLER)
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
                prop_assert_eq!(
                    (again.start_micros, again.presentation_time_offset, &again.media, &again.initialization, &again.events),
                    (period.start_micros, period.presentation_time_offset, &period.media, &period.initialization, &period.events)
                );
            }
        }
        let (before, after) = (mpd_segments(&earlier, "360p"), mpd_segments(&later, "360p"));
        for segment in &before {
            if let Some(again) = after.iter().find(|s| s.start_micros == segment.start_micros) {
                prop_assert_eq!(again, segment);
            }
        }
    }
}
