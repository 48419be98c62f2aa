//! What a channel's live items and takes to air aired, for the as-run log: the plan's runs
//! with the decided live slots laid over them.
//!
//! Inside a live item or a take, each aired run becomes a run of the log: the live segments of
//! a publish (`live_source` set, the item's title, or `Live: {source} (taken by hand)` for a
//! take, whose first run is the take itself), slate or the planned fallback while the source
//! sent nothing in time (`No signal from {source}: …`, with its times: an outage). After a take
//! the planned run the schedule joins in progress at is a run of its own, starting at the
//! return (`… (joined in progress)`). A take to the slate ("slate now") logs its slate runs as
//! `Slate (taken by hand)`, without a live source. What is not decided yet is not recorded yet: the log
//! stops before the first undecided slot, and the next record goes on from there.

use onair_domain::{RunKind, Timeline, Timestamp};
use onair_playout::LiveAirings;
use onair_scheduler::as_run::AiredRun;

/// `runs` (what the plan aired in `[from, until)`, as [`onair_scheduler::as_run::aired`] gives
/// them) with `live` laid over them, and how far that may be recorded now: `until`, or the
/// start of the first slot not decided yet.
pub fn with_live(
    runs: Vec<AiredRun>,
    live: &LiveAirings,
    timeline: &Timeline,
    from: Timestamp,
    until: Timestamp,
) -> (Vec<AiredRun>, Timestamp) {
    let mut until = until;
    // Each item's decided stretch [start, end), and its aired runs.
    let mut stretches: Vec<(Timestamp, Timestamp, bool)> = Vec::new();
    let mut overlay: Vec<AiredRun> = Vec::new();
    for item in &live.items {
        let Some(first) = timeline.segment_by_sequence(item.first_media_sequence) else {
            continue;
        };
        if first.start >= until {
            continue;
        }
        let decided_end = match item.decided {
            0 => first.start,
            decided => {
                match timeline.segment_by_sequence(item.first_media_sequence + decided - 1) {
                    Some(last) => last.end(),
                    None => continue,
                }
            }
        };
        if !item.is_complete() && decided_end < until {
            until = decided_end.max(from);
        }
        stretches.push((first.start, decided_end, item.take));
        for run in &item.runs {
            let first_sequence = item.first_media_sequence + run.first_slot;
            let (Some(run_first), Some(run_last)) = (
                timeline.segment_by_sequence(first_sequence),
                timeline.segment_by_sequence(first_sequence + run.n_slots - 1),
            ) else {
                continue;
            };
            let (run_start, run_end) = (run_first.start, run_last.end());
            // The planned run this one airs over: its item, title and fallback.
            let planned = runs
                .iter()
                .find(|planned| planned.run_start <= run_start && run_start < planned.run_end);
            let source = item.source.as_deref().map(str::to_owned);
            let name = source.as_deref().unwrap_or("slate");
            let (kind, title, asset_id, item_id) = match (&run.live, planned) {
                (Some(slate), _) if source.is_none() => (
                    RunKind::Slate,
                    "Slate (taken by hand)".to_owned(),
                    slate.asset.id,
                    None,
                ),
                // A slate take's slot the slate cannot fill airs as planned.
                (None, Some(planned)) if source.is_none() => (
                    planned.kind,
                    planned.title.clone(),
                    planned.asset_id,
                    planned.item_id,
                ),
                (Some(live), _) if live.run.kind != RunKind::Slate => {
                    let title = match planned {
                        Some(planned) if !item.take => planned.title.clone(),
                        _ => format!("Live: {name} (taken by hand)"),
                    };
                    let item_id = planned.filter(|_| !item.take).and_then(|p| p.item_id);
                    (RunKind::Programme, title, live.asset.id, item_id)
                }
                (Some(slate), _) => (
                    RunKind::Slate,
                    format!("No signal from {name}: slate"),
                    slate.asset.id,
                    None,
                ),
                (None, Some(planned)) => (
                    planned.kind,
                    format!("No signal from {name}: {}", planned.title),
                    planned.asset_id,
                    planned.item_id,
                ),
                (None, None) => continue,
            };
            overlay.push(AiredRun {
                run_start,
                run_end,
                start: run_start.max(from),
                end: run_end.min(until),
                kind,
                item_id,
                title,
                asset_id,
                ad_break: None,
                live_source: source,
                media_sequence: run_first.media_sequence,
            });
        }
    }
    let mut aired: Vec<AiredRun> = Vec::new();
    for run in runs {
        // The parts of the planned run outside every stretch.
        let mut pieces = vec![(run.run_start, run.run_end)];
        for (start, end, _) in &stretches {
            pieces = pieces
                .into_iter()
                .flat_map(|(a, b)| {
                    if *end <= a || *start >= b || start >= end {
                        vec![(a, b)]
                    } else {
                        [(a, *start), (*end, b)]
                            .into_iter()
                            .filter(|(a, b)| a < b)
                            .collect()
                    }
                })
                .collect();
        }
        for (piece_start, piece_end) in pieces {
            let resumed = piece_start > run.run_start;
            let mut piece = run.clone();
            if resumed {
                let Some(at) = timeline.segment_at(piece_start) else {
                    continue;
                };
                piece.run_start = piece_start;
                piece.media_sequence = at.media_sequence;
                if stretches
                    .iter()
                    .any(|(_, end, take)| *take && *end == piece_start)
                {
                    piece.title = format!("{} (joined in progress)", run.title);
                }
            }
            piece.run_end = piece_end;
            piece.start = run.start.max(piece_start);
            piece.end = run.end.min(piece_end).min(until);
            if piece.start < piece.end {
                aired.push(piece);
            }
        }
    }
    aired.extend(
        overlay
            .into_iter()
            .filter(|run| run.start < run.end && run.end > from),
    );
    aired.sort_by_key(|run| run.start);
    (aired, until)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use onair_domain::{
        Asset, AssetId, AssetState, Ladder, Run, RunKind, SegmentTrack, Ticks, Timeline,
    };
    use onair_playout::{LiveAirings, LiveItemAiring, LiveItemRun, LiveRun};
    use onair_scheduler::as_run::AiredRun;

    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(1_000 + secs)
    }

    /// One 20 s programme run (ten 2 s segments) from `at(0)`.
    fn timeline() -> Timeline {
        let track = Arc::new(SegmentTrack::new(vec![Ticks::from_secs(2); 10]));
        let run = Run::whole(RunKind::Programme, AssetId(1), "Film", track);
        Timeline::new(at(0), vec![run], false, 0, 0).unwrap()
    }

    fn planned(from: i64, to: i64) -> AiredRun {
        AiredRun {
            run_start: at(0),
            run_end: at(20),
            start: at(from),
            end: at(to),
            kind: RunKind::Programme,
            item_id: None,
            title: "Film".into(),
            asset_id: AssetId(1),
            ad_break: None,
            live_source: None,
            media_sequence: 0,
        }
    }

    fn live_run(kind: RunKind, id: i64, n: usize) -> Arc<LiveRun> {
        let asset = Asset {
            id: AssetId(id),
            title: "desk".into(),
            source: "live:desk".into(),
            ladder_id: Ladder::demo().id,
            state: AssetState::Ready,
            duration: Ticks::from_secs(2 * n as i64),
            renditions: Vec::new(),
        };
        let track = Arc::new(SegmentTrack::new(vec![Ticks::from_secs(2); n]));
        Arc::new(LiveRun {
            run: Run::whole(kind, AssetId(id), "desk", track),
            asset,
            start: at(0),
        })
    }

    /// A take over segments 2-5 (4-12 s): live, slate (an outage), live.
    fn take(decided: u64) -> LiveAirings {
        let runs = vec![
            LiveItemRun {
                first_slot: 0,
                n_slots: 1,
                live: Some(live_run(RunKind::Programme, -1, 1)),
            },
            LiveItemRun {
                first_slot: 1,
                n_slots: 2,
                live: Some(live_run(RunKind::Slate, 9, 2)),
            },
            LiveItemRun {
                first_slot: 3,
                n_slots: 1,
                live: Some(live_run(RunKind::Programme, -2, 1)),
            },
        ];
        LiveAirings {
            base_shift: 0,
            items: vec![LiveItemAiring {
                source: Some(Arc::from("desk")),
                take: true,
                first_media_sequence: 2,
                n_segments: 4,
                first_discontinuity_sequence: 1,
                planned_runs: 0,
                resumes_mid_run: true,
                decided,
                runs: runs
                    .into_iter()
                    .filter(|run| run.first_slot < decided)
                    .collect(),
            }],
        }
    }

    fn brief(runs: &[AiredRun]) -> Vec<(i64, i64, String)> {
        runs.iter()
            .map(|run| {
                (
                    (run.start - at(0)).0 / 90_000,
                    (run.end - at(0)).0 / 90_000,
                    run.title.clone(),
                )
            })
            .collect()
    }

    #[test]
    fn a_take_its_outage_and_the_return_are_runs_of_their_own() {
        let (runs, until) = with_live(vec![planned(0, 20)], &take(4), &timeline(), at(0), at(20));
        assert_eq!(until, at(20));
        assert_eq!(
            brief(&runs),
            vec![
                (0, 4, "Film".to_owned()),
                (4, 6, "Live: desk (taken by hand)".to_owned()),
                (6, 10, "No signal from desk: slate".to_owned()),
                (10, 12, "Live: desk (taken by hand)".to_owned()),
                (12, 20, "Film (joined in progress)".to_owned()),
            ]
        );
        let resumed = &runs[4];
        assert_eq!((resumed.run_start, resumed.media_sequence), (at(12), 6));
        assert!(
            runs[1..4]
                .iter()
                .all(|run| run.live_source.as_deref() == Some("desk"))
        );
    }

    #[test]
    fn a_take_to_the_slate_logs_slate_taken_by_hand_and_the_return() {
        let mut airings = take(4);
        let item = &mut airings.items[0];
        item.source = None;
        item.runs = vec![LiveItemRun {
            first_slot: 0,
            n_slots: 4,
            live: Some(live_run(RunKind::Slate, 9, 4)),
        }];
        let (runs, until) = with_live(vec![planned(0, 20)], &airings, &timeline(), at(0), at(20));
        assert_eq!(until, at(20));
        assert_eq!(
            brief(&runs),
            vec![
                (0, 4, "Film".to_owned()),
                (4, 12, "Slate (taken by hand)".to_owned()),
                (12, 20, "Film (joined in progress)".to_owned()),
            ]
        );
        assert_eq!(
            (runs[1].kind, runs[1].asset_id),
            (RunKind::Slate, AssetId(9))
        );
        assert!(runs.iter().all(|run| run.live_source.is_none()));
    }

    #[test]
    fn what_is_not_decided_yet_is_not_recorded_yet() {
        let (runs, until) = with_live(vec![planned(0, 20)], &take(1), &timeline(), at(0), at(20));
        assert_eq!(until, at(6));
        assert_eq!(
            brief(&runs),
            vec![
                (0, 4, "Film".to_owned()),
                (4, 6, "Live: desk (taken by hand)".to_owned()),
            ]
        );
    }
}
