//! The MPD of a channel whose live items and takes air: the live Period's `$Time$` template
//! names the files HLS-fMP4 lists at the same instant, a take's looped slate is a Period per
//! pass over its files, and every Period keeps its id, start and templates while listed.

use std::sync::Arc;

use onair_domain::timeline::SegmentTrack;
use onair_domain::{Asset, Ladder, Packaging, Rendition, Run, RunKind, SegmentInfo, Ticks};

use super::*;
use crate::fixtures::{self, SLATE, at_millis};
use crate::hls::{MediaPlaylistOptions, render_session_media_playlist};
use crate::live::{LiveAirings, LiveItemAiring, LiveItemRun, LiveRun};
use crate::testing::{Mpd, mpd_segments, parse_hls, parse_mpd};

/// Publish 1 of source `studio` over 2 s slots starting `starts` (milliseconds from the origin),
/// named as the ingest names them (`live/studio/1/{rendition}/{start}.m4s`, start in ticks).
fn live_run(starts: &[i64]) -> Arc<LiveRun> {
    let segments: Vec<_> = starts
        .iter()
        .map(|millis| (at_millis(*millis), Ticks::from_secs(2)))
        .collect();
    Arc::new(LiveRun::of_publish("studio", 1, &Ladder::demo(), &segments))
}

/// The live item with its first `decided` slots decided: fallback, live, live, fallback.
fn airings(decided: u64) -> LiveAirings {
    let all = [(0, 1, false), (1, 2, true), (3, 1, false)];
    let runs = all
        .into_iter()
        .filter(|(first_slot, _, _)| *first_slot < decided)
        .map(|(first_slot, n_slots, live)| {
            let n_slots = u64::min(n_slots, decided - first_slot);
            LiveItemRun {
                first_slot,
                n_slots,
                // Only the decided slots' files are known.
                live: live.then(|| live_run(&[8_000, 10_000][..n_slots as usize])),
            }
        })
        .collect();
    LiveAirings {
        base_shift: 0,
        items: vec![LiveItemAiring {
            source: Some(Arc::from("studio")),
            take: false,
            first_media_sequence: 3,
            n_segments: 4,
            first_discontinuity_sequence: 1,
            planned_runs: 2,
            resumes_mid_run: false,
            decided,
            runs,
        }],
    }
}

/// The slate (two files of 2 s) looped over `n` slots from `millis`, as a take airs it where it
/// has no live segment: the files `00000`, `00001`, `00000`, …
fn slate_loop(playout: &ChannelPlayout, n: usize, millis: i64) -> Arc<LiveRun> {
    let slate = &playout.assets()[&SLATE];
    let renditions = slate
        .renditions
        .iter()
        .map(|rendition| Rendition {
            segments: (0..n)
                .map(|index| SegmentInfo {
                    index: index as u32,
                    ..rendition.segments[index % rendition.segments.len()].clone()
                })
                .collect(),
            ..rendition.clone()
        })
        .collect();
    let asset = Asset {
        renditions,
        duration: Ticks::from_secs(2 * n as i64),
        ..Asset::clone(slate)
    };
    let run = Run::whole(
        RunKind::Slate,
        SLATE,
        "slate",
        Arc::new(SegmentTrack::new(vec![Ticks::from_secs(2); n])),
    );
    Arc::new(LiveRun {
        run,
        asset,
        start: at_millis(millis),
    })
}

/// A take to air over media sequences 3-7 (6-16 s) with no live segment: the slate looped over
/// its five slots (two and a half passes); the programme joins in progress at 8 (16 s), inside
/// its run (7-9).
fn take_of_slate(playout: &ChannelPlayout) -> LiveAirings {
    LiveAirings {
        base_shift: 0,
        items: vec![LiveItemAiring {
            source: Some(Arc::from("studio")),
            take: true,
            first_media_sequence: 3,
            n_segments: 5,
            first_discontinuity_sequence: 1,
            planned_runs: 3,
            resumes_mid_run: true,
            decided: 5,
            runs: vec![LiveItemRun {
                first_slot: 0,
                n_slots: 5,
                live: Some(slate_loop(playout, 5, 6_000)),
            }],
        }],
    }
}

fn mpd(playout: &ChannelPlayout, millis: i64) -> (String, Mpd) {
    let text = render_mpd(playout, at_millis(millis), &MpdOptions::default()).unwrap();
    let parsed = parse_mpd(&text);
    (text, parsed)
}

/// Each segment the MPD lists for every rung and audio track, as (discontinuity sequence of its
/// Period, start in milliseconds, URL), equals what the HLS-fMP4 playlist lists at `millis`.
fn check_against_hls(playout: &ChannelPlayout, millis: i64, mpd: &Mpd) {
    let names = playout
        .ladder()
        .rungs
        .iter()
        .map(|rung| rung.name.clone())
        .chain(
            playout
                .audio_tracks()
                .iter()
                .map(|track| track.name.clone()),
        );
    for name in names {
        let options = MediaPlaylistOptions {
            packaging: Packaging::Cmaf,
            ..MediaPlaylistOptions::default()
        };
        let text = render_session_media_playlist(
            playout,
            &name,
            at_millis(millis),
            &options,
            &ChannelBreaks,
        )
        .unwrap();
        let hls: Vec<(String, i64, String)> = parse_hls(&text)
            .segments
            .iter()
            .map(|segment| {
                (
                    format!("p{}", segment.discontinuity_sequence),
                    segment.start_millis,
                    segment.uri.clone(),
                )
            })
            .collect();
        let dash: Vec<(String, i64, String)> = mpd_segments(mpd, &name)
            .into_iter()
            .map(|segment| {
                // A later pass over a looped asset is `p{n}-{k}`: HLS's discontinuity `n`.
                let period = segment.period.split('-').next().unwrap().to_owned();
                assert_eq!(segment.start_micros % 1000, 0, "{segment:?}");
                (period, segment.start_micros / 1000, segment.url)
            })
            .collect();
        assert_eq!(dash, hls, "{name} at {millis} ms");
    }
}

/// Renders at each (instant, airings), checks each MPD against HLS, and that no Period or listed
/// segment changes from one MPD to the next: the MPDs by instant.
fn render_over(playout: &ChannelPlayout, steps: &[(i64, LiveAirings)]) -> Vec<(i64, String, Mpd)> {
    let mut rendered: Vec<(i64, String, Mpd)> = Vec::new();
    for (millis, live) in steps {
        playout.live().set(live.clone());
        let (text, now) = mpd(playout, *millis);
        check_against_hls(playout, *millis, &now);
        for (_, _, earlier) in &rendered {
            for period in &earlier.periods {
                if let Some(again) = now.periods.iter().find(|p| p.id == period.id) {
                    assert_eq!(again.stable(), period.stable(), "{} at {millis}", period.id);
                }
            }
            for name in ["360p", "audio-64k"] {
                let before = mpd_segments(earlier, name);
                for segment in mpd_segments(&now, name) {
                    if let Some(seen) = before
                        .iter()
                        .find(|s| s.start_micros == segment.start_micros)
                    {
                        assert_eq!(*seen, segment, "at {millis}");
                    }
                }
            }
        }
        rendered.push((*millis, text, now));
    }
    rendered
}

#[test]
fn a_live_run_is_a_period_whose_time_template_names_the_files_hls_fmp4_lists_at_the_same_instant() {
    let playout = fixtures::live_item_playout();
    playout.live().set(airings(4));
    let (text, mpd) = mpd(&playout, 14_500);
    insta::assert_snapshot!("live_mpd_at_14_5s", text);
    check_against_hls(&playout, 14_500, &mpd);
    let ids: Vec<&str> = mpd.periods.iter().map(|p| p.id.as_str()).collect();
    assert_eq!(ids, ["p1", "p2", "p3"]);
    let live = &mpd.periods[1];
    assert_eq!(live.start_micros, 8_000_000);
    for set in &live.adaptation_sets {
        assert_eq!(
            (set.initialization.as_str(), set.media.as_str()),
            (
                "/media/live/studio/1/$RepresentationID$/init-0.mp4",
                "/media/live/studio/1/$RepresentationID$/$Time$.m4s"
            )
        );
        // S@t is the start in ticks since the Unix epoch, the file's name and its tfdt.
        assert_eq!(set.presentation_time_offset, at_millis(8_000).0);
        let times: Vec<i64> = set.segments.iter().map(|(_, t, _)| *t).collect();
        assert_eq!(times, [at_millis(8_000).0, at_millis(10_000).0]);
    }
    // The fallback slot after it is the second segment of its planned run: its Period starts
    // with it, where the live Period ends, at its media time in the slate.
    let fallback = &mpd.periods[2];
    assert_eq!(fallback.start_micros, 12_000_000);
    for set in &fallback.adaptation_sets {
        assert_eq!(set.presentation_time_offset, 180_000);
        assert_eq!(set.segments, [(1, 180_000, 180_000)]);
    }
}

#[test]
fn the_periods_around_a_live_run_keep_their_ids_and_a_later_mpd_lists_it_alike_with_more_segments()
{
    let playout = fixtures::live_item_playout();
    let rendered = render_over(
        &playout,
        &[
            (10_500, airings(2)),
            (12_500, airings(3)),
            (14_500, airings(4)),
            (16_500, airings(4)),
        ],
    );
    let summary: Vec<(i64, Vec<(&str, usize)>)> = rendered
        .iter()
        .map(|(millis, _, mpd)| {
            (
                *millis,
                mpd.periods
                    .iter()
                    .map(|p| (p.id.as_str(), p.adaptation_set("video").segments.len()))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (10_500, vec![("p0", 2), ("p1", 1), ("p2", 1)]),
            (12_500, vec![("p0", 1), ("p1", 1), ("p2", 2)]),
            (14_500, vec![("p1", 1), ("p2", 2), ("p3", 1)]),
            (16_500, vec![("p2", 2), ("p3", 1), ("p4", 1)]),
        ]
    );
    // The live Period of the later MPD is the earlier one with one more S.
    let live = |index: usize| {
        let (_, text, _) = &rendered[index];
        let start = text.find("<Period id=\"p2\"").unwrap();
        let end = start + text[start..].find("</Period>").unwrap();
        text[start..end].to_owned()
    };
    let (earlier, later) = (live(0), live(1));
    let one_more = format!("<S t=\"{}\" d=\"180000\" r=\"1\"/>", at_millis(8_000).0);
    assert_eq!(
        earlier.replace(
            &format!("<S t=\"{}\" d=\"180000\"/>", at_millis(8_000).0),
            &one_more
        ),
        later
    );
}

#[test]
fn a_takes_slate_looped_past_its_last_file_is_a_period_per_pass_and_the_schedule_joins_after() {
    let playout = fixtures::live_item_playout();
    let take = take_of_slate(&playout);
    let steps: Vec<(i64, LiveAirings)> = (0..10)
        .map(|step| (10_500 + 1_000 * step, take.clone()))
        .collect();
    let rendered = render_over(&playout, &steps);
    let (_, text, mpd) = rendered
        .iter()
        .find(|(millis, _, _)| *millis == 16_500)
        .unwrap();
    insta::assert_snapshot!("take_of_slate_mpd_at_16_5s", text);
    // Passes from 6 s (p1), 10 s (p1-2, from the take's third slot) and 14 s (p1-4).
    /// A Period: its id, start, presentation time offset and video segments as parsed.
    type Listed<'a> = (&'a str, i64, i64, Vec<(u64, i64, i64)>);
    let periods: Vec<Listed<'_>> = mpd
        .periods
        .iter()
        .map(|p| {
            let video = p.adaptation_set("video");
            (
                p.id.as_str(),
                p.start_micros,
                video.presentation_time_offset,
                video.segments.clone(),
            )
        })
        .collect();
    assert_eq!(
        periods,
        [
            ("p1", 6_000_000, 0, vec![(1, 180_000, 180_000)]),
            (
                "p1-2",
                10_000_000,
                0,
                vec![(0, 0, 180_000), (1, 180_000, 180_000)]
            ),
            ("p1-4", 14_000_000, 0, vec![(0, 0, 180_000)]),
        ]
    );
    // The programme joins in progress at 16 s with its second file: its Period starts there.
    let (_, _, last) = rendered.last().unwrap();
    let joined = last.periods.last().unwrap();
    assert_eq!(
        (joined.id.as_str(), joined.start_micros),
        ("p2", 16_000_000)
    );
    let video = joined.adaptation_set("video");
    assert_eq!(video.presentation_time_offset, 180_000);
    assert_eq!(video.segments[0], (1, 180_000, 180_000));
}
