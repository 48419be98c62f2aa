use std::sync::Arc;

use onair_domain::{AssetId, ChannelSlug, LadderId, Run, RunKind, SegmentTrack, Timeline};
use onair_scheduler::PlannedItem;
use onair_scheduler::grid::{LiveSource, ProgrammeInfo};

use super::*;

/// 12:00:00 UTC on 4 December 2026.
const T0: i64 = 1_796_385_600;

fn at(secs: i64) -> Timestamp {
    Timestamp::from_unix_secs(T0 + secs)
}

fn channel() -> Channel {
    Channel {
        id: ChannelId(7),
        slug: ChannelSlug::parse("news").unwrap(),
        name: "News 24".to_owned(),
        time_zone: chrono_tz::Europe::Berlin,
        ladder_id: LadderId(1),
        outputs: Vec::new(),
        window_segments: 10,
        grid_repeat: None,
        on_air: true,
        slate: None,
        filler: Vec::new(),
        retired: false,
    }
}

/// A run of `secs` in 2-second segments.
fn run(kind: RunKind, title: &str, secs: i64) -> Run {
    let track = Arc::new(SegmentTrack::new(vec![
        Ticks::from_secs(2);
        (secs / 2) as usize
    ]));
    Run::whole(kind, AssetId(secs), title, track)
}

/// What airs, in order: (kind, title, seconds, item: (index, live source)).
type Layout<'a> = &'a [(RunKind, &'a str, i64, Option<(usize, Option<&'a str>)>)];

fn plan(layout: Layout<'_>, repeat: bool, tail: bool) -> Plan {
    let runs: Vec<Run> = layout
        .iter()
        .map(|(kind, title, secs, _)| run(*kind, title, *secs))
        .collect();
    let mut timeline = Timeline::new(at(0), runs, repeat, 0, 0).unwrap();
    if tail {
        timeline = timeline
            .with_tail(run(RunKind::Slate, "slate", 10))
            .unwrap();
    }
    let mut items: Vec<PlannedItem> = Vec::new();
    let mut offset = 0;
    for (run_index, (_, title, secs, item)) in layout.iter().enumerate() {
        if let Some((index, live)) = item {
            if items.len() == *index {
                items.push(PlannedItem {
                    index: *index,
                    id: None,
                    asset_id: AssetId(1),
                    info: ProgrammeInfo::titled(*title),
                    live: live.map(|source| LiveSource {
                        source_key: source.to_owned(),
                        duration: Ticks::from_secs(*secs),
                    }),
                    blocks: None,
                    start: at(offset),
                    end: at(offset + secs),
                    runs: run_index..run_index + 1,
                });
            } else {
                let item = &mut items[*index];
                item.end = at(offset + secs);
                item.runs.end = run_index + 1;
            }
        }
        offset += secs;
    }
    Plan {
        timeline: Some(Arc::new(timeline)),
        items,
        fold: None,
    }
}

/// Morning News (with its ad break) from 0 s, Weather from 660 s, a 4-minute gap of slate from
/// 960 s, the live Match from 1200 s, 30 s of filler from 3000 s, Late Film from 3030 s to
/// 3630 s, then the slate for ever.
fn day() -> Plan {
    plan(
        &[
            (RunKind::Programme, "Morning News", 600, Some((0, None))),
            (RunKind::AdBreak, "ad", 60, Some((0, None))),
            (RunKind::Programme, "Weather", 300, Some((1, None))),
            (RunKind::Slate, "slate", 240, None),
            (RunKind::Programme, "Match", 1800, Some((2, Some("studio")))),
            (RunKind::Filler, "promo", 30, None),
            (RunKind::Programme, "Late Film", 600, Some((3, None))),
        ],
        false,
        true,
    )
}

fn status_with(
    channel: &Channel,
    plan: Option<&Plan>,
    takes: &[LiveTakeRow],
    sources: &[(&str, LiveState)],
    now: Timestamp,
) -> ChannelStatus {
    let sources: HashMap<String, LiveState> = sources
        .iter()
        .map(|(name, state)| ((*name).to_owned(), *state))
        .collect();
    let input = StatusInput {
        channel,
        plan,
        takes,
        sources: &sources,
    };
    channel_status(&input, now, &StatusOptions::default())
}

fn status(plan: &Plan, now: Timestamp) -> ChannelStatus {
    status_with(&channel(), Some(plan), &[], &[], now)
}

/// A slot as `title start..end` in seconds from T0 (`..` alone without an end).
fn brief(slot: &Option<Slot>) -> String {
    let Some(slot) = slot else {
        return "none".to_owned();
    };
    let secs = |at: Timestamp| (at.unix_millis() / 1_000) - T0;
    match slot.end {
        Some(end) => format!("{} {}..{}", slot.title, secs(slot.start), secs(end)),
        None => format!("{} {}..", slot.title, secs(slot.start)),
    }
}

fn no_signal(status: &ChannelStatus) -> Vec<StatusProblem> {
    status
        .problems
        .iter()
        .filter(|problem| matches!(problem, StatusProblem::NoSignal { .. }))
        .cloned()
        .collect()
}

fn take(start: i64, end: Option<i64>) -> LiveTakeRow {
    LiveTakeRow {
        id: 1,
        channel_id: ChannelId(7),
        source: Some("studio".to_owned()),
        start: at(start),
        end: end.map(at),
        taken_by: "vera".to_owned(),
        taken_at: at(start - 2),
        take_version: 3,
        returned_by: None,
        returned_at: None,
        return_version: None,
    }
}

#[test]
fn now_and_next_move_on_at_a_programme_boundary() {
    let plan = day();
    let before = status(&plan, at(659));
    assert_eq!(
        brief(&before.now),
        "Morning News 0..660",
        "its break is part of it"
    );
    assert_eq!(brief(&before.next), "Weather 660..960");
    assert_eq!(before.state, AirState::OnAir);
    let progress = before.now.as_ref().unwrap().progress(at(659)).unwrap();
    assert!((progress - 659.0 / 660.0).abs() < 1e-9, "{progress}");

    let after = status(&plan, at(660));
    assert_eq!(brief(&after.now), "Weather 660..960");
    assert_eq!(brief(&after.next), "Slate 960..1200");
    assert_eq!(after.state, AirState::OnAir);
}

#[test]
fn gap_fill_airing_is_slate_and_a_problem() {
    let status = status(&day(), at(1_000));
    assert_eq!(status.state, AirState::Slate);
    assert_eq!(brief(&status.now), "Slate 960..1200");
    assert_eq!(brief(&status.next), "Match 1200..3000");
    assert_eq!(
        status.next.as_ref().unwrap().kind,
        SlotKind::Live {
            source: "studio".into()
        }
    );
    assert_eq!(
        status.problems,
        vec![
            StatusProblem::Gap {
                start: at(960),
                end: Some(at(1_200)),
                filler: false,
            },
            StatusProblem::Gap {
                start: at(3_630),
                end: None,
                filler: false,
            }
        ],
        "the gap airing now, and the end of the plan within the hour"
    );
    assert_eq!(
        status.problems[0].describe(chrono_tz::Europe::Berlin),
        "gap of 4 min from 13:16:00 filled with slate"
    );
}

#[test]
fn a_live_item_airs_live_from_its_source_and_without_a_publisher_it_is_a_problem() {
    let plan = day();
    let publishing = status_with(
        &channel(),
        Some(&plan),
        &[],
        &[("studio", LiveState::Publishing)],
        at(1_300),
    );
    assert_eq!(
        publishing.state,
        AirState::Live {
            source: "studio".into(),
            take: false
        }
    );
    assert_eq!(brief(&publishing.now), "Match 1200..3000");
    assert_eq!(no_signal(&publishing), vec![]);

    let lost = status_with(
        &channel(),
        Some(&plan),
        &[],
        &[("studio", LiveState::Lost)],
        at(1_300),
    );
    assert_eq!(
        no_signal(&lost),
        vec![StatusProblem::NoSignal {
            source: "studio".into(),
            state: Some(LiveState::Lost)
        }]
    );
    let missing = status(&plan, at(1_300));
    assert_eq!(
        no_signal(&missing)[0].describe(Tz::UTC),
        "live source studio does not exist: its fallback airs"
    );
}

#[test]
fn the_end_of_the_plan_within_the_hour_is_a_problem_and_short_filler_is_not() {
    let status = status(&day(), at(3_000));
    assert_eq!(brief(&status.now), "Filler 3000..3030");
    assert_eq!(status.state, AirState::Slate);
    assert_eq!(brief(&status.next), "Late Film 3030..3630");
    assert_eq!(
        status.problems,
        vec![StatusProblem::Gap {
            start: at(3_630),
            end: None,
            filler: false,
        }]
    );
    assert_eq!(
        status.problems[0].describe(Tz::UTC),
        "nothing is planned after 13:00:30: slate airs from then on"
    );

    let after = status_with(&channel(), Some(&day()), &[], &[], at(9_000));
    assert_eq!(brief(&after.now), "Slate 3630..");
    assert_eq!(brief(&after.next), "none");
    assert_eq!(after.state, AirState::Slate);
}

#[test]
fn gaps_beyond_the_hour_are_not_problems_yet() {
    assert_eq!(status(&day(), at(0)).problems.len(), 1, "the gap at 960 s");
    let plan = plan(
        &[
            (RunKind::Programme, "Long", 4_000, Some((0, None))),
            (RunKind::Slate, "slate", 600, None),
            (RunKind::Programme, "After", 600, Some((1, None))),
        ],
        true,
        false,
    );
    assert_eq!(status(&plan, at(0)).problems, vec![]);
    assert_eq!(status(&plan, at(1_000)).problems.len(), 1);
}

#[test]
fn a_repeating_plan_crosses_into_its_next_pass() {
    let plan = plan(
        &[
            (RunKind::Programme, "Loop A", 100, Some((0, None))),
            (RunKind::Programme, "Loop B", 50, Some((1, None))),
        ],
        true,
        false,
    );
    let status = status(&plan, at(1_500 + 120));
    assert_eq!(brief(&status.now), "Loop B 1600..1650");
    assert_eq!(brief(&status.next), "Loop A 1650..1750");
}

#[test]
fn a_channel_that_loops_its_slate_from_the_epoch_is_slate_with_nothing_planned() {
    // What the registry airs when nothing in a grid can air.
    let timeline = Timeline::new(
        Timestamp(0),
        vec![run(RunKind::Slate, "slate", 10)],
        true,
        0,
        0,
    )
    .unwrap();
    let plan = Plan {
        timeline: Some(Arc::new(timeline)),
        items: Vec::new(),
        fold: None,
    };
    let status = status(&plan, at(5));
    assert_eq!(status.state, AirState::Slate);
    assert_eq!(status.now.as_ref().unwrap().end, None);
    assert!(matches!(
        status.problems.as_slice(),
        [StatusProblem::Gap { end: None, .. }]
    ));
}

#[test]
fn a_take_airs_instead_of_the_schedule_and_the_schedule_joins_in_progress_after_it() {
    let plan = day();
    let sources = [("studio", LiveState::Publishing)];
    let open = status_with(
        &channel(),
        Some(&plan),
        &[take(100, None)],
        &sources,
        at(200),
    );
    assert_eq!(
        open.state,
        AirState::Live {
            source: "studio".into(),
            take: true
        }
    );
    assert_eq!(brief(&open.now), "Live from studio (taken by vera) 100..");
    assert_eq!(brief(&open.next), "none", "until someone returns it");

    let returning = status_with(
        &channel(),
        Some(&plan),
        &[take(100, Some(700))],
        &sources,
        at(200),
    );
    assert_eq!(brief(&returning.next), "Weather 700..960");

    let ended = status_with(
        &channel(),
        Some(&plan),
        &[take(100, Some(700))],
        &sources,
        at(700),
    );
    assert_eq!(ended.state, AirState::OnAir);

    let coming = status_with(
        &channel(),
        Some(&plan),
        &[take(640, None)],
        &sources,
        at(630),
    );
    assert_eq!(brief(&coming.now), "Morning News 0..660");
    assert_eq!(
        brief(&coming.next),
        "Live from studio (taken by vera) 640.."
    );

    let cancelled = status_with(
        &channel(),
        Some(&plan),
        &[take(100, Some(100))],
        &sources,
        at(200),
    );
    assert_eq!(cancelled.state, AirState::OnAir);

    let silent = status_with(&channel(), Some(&plan), &[take(100, None)], &[], at(200));
    assert_eq!(no_signal(&silent).len(), 1);
    assert_eq!(no_signal(&open), vec![]);
}

#[test]
fn a_take_to_the_slate_is_the_slate_state_without_a_signal_to_miss() {
    let plan = day();
    let slate = |start, end| LiveTakeRow {
        source: None,
        ..take(start, end)
    };
    let on = status_with(&channel(), Some(&plan), &[slate(100, None)], &[], at(200));
    assert_eq!(on.state, AirState::Slate);
    assert_eq!(brief(&on.now), "Slate now (taken by vera) 100..");
    assert_eq!(on.now.as_ref().unwrap().kind, SlotKind::Slate);
    assert_eq!(no_signal(&on), vec![], "the slate needs no source");

    let coming = status_with(&channel(), Some(&plan), &[slate(640, None)], &[], at(630));
    assert_eq!(coming.state, AirState::OnAir);
    assert_eq!(brief(&coming.next), "Slate now (taken by vera) 640..");

    let returning = status_with(
        &channel(),
        Some(&plan),
        &[slate(100, Some(700))],
        &[],
        at(200),
    );
    assert_eq!(brief(&returning.next), "Weather 700..960");
    let back = status_with(
        &channel(),
        Some(&plan),
        &[slate(100, Some(700))],
        &[],
        at(700),
    );
    assert_eq!(back.state, AirState::OnAir);
}

#[test]
fn off_air_retired_and_unplanned_channels_air_nothing() {
    let plan = day();
    let off = Channel {
        on_air: false,
        ..channel()
    };
    let status = status_with(&off, Some(&plan), &[], &[], at(10));
    assert_eq!((status.state.clone(), status.now), (AirState::OffAir, None));
    assert_eq!(status.problems, vec![]);

    let retired = Channel {
        retired: true,
        on_air: false,
        ..channel()
    };
    let status = status_with(&retired, None, &[], &[], at(10));
    assert_eq!(status.problems, vec![StatusProblem::Retired]);

    let status = status_with(&channel(), None, &[], &[], at(10));
    assert_eq!(status.state, AirState::OffAir);
    assert_eq!(status.problems, vec![StatusProblem::NoPlan]);
}

#[test]
fn durations_read_as_people_say_them() {
    assert_eq!(duration_text(Ticks::from_secs(45)), "45 s");
    assert_eq!(duration_text(Ticks::from_secs(240)), "4 min");
    assert_eq!(duration_text(Ticks::from_secs(270)), "4 min 30 s");
    assert_eq!(duration_text(Ticks::from_secs(7_500)), "2 h 5 min");
}

#[tokio::test]
async fn the_board_hands_every_reader_the_latest_snapshot() {
    let board = StatusBoard::default();
    let mut reader = board.subscribe();
    assert_eq!(board.current().at, None);
    board.publish(StatusSnapshot {
        at: Some(at(1)),
        channels: vec![status(&day(), at(1))],
    });
    reader.changed().await.unwrap();
    assert_eq!(reader.borrow().channel("news").unwrap().name, "News 24");
    let ready = board.ready(Duration::from_millis(10)).await;
    assert_eq!(ready.at, Some(at(1)));
}

#[tokio::test]
async fn closing_the_board_ends_its_followers() {
    let board = StatusBoard::default();
    let waiting = tokio::spawn({
        let board = board.clone();
        async move { board.closed().await }
    });
    board.close();
    tokio::time::timeout(Duration::from_secs(1), waiting)
        .await
        .unwrap()
        .unwrap();
    // Closed before anyone waits: resolves at once.
    tokio::time::timeout(Duration::from_secs(1), board.closed())
        .await
        .unwrap();
}

/// News with a break of thirty passes of a 4 s slate inside it, Weather, fifty passes of the
/// slate in a gap, and a film; with `alike`, the passes are equal runs (one stretch each), else
/// every other one is titled apart, so that nothing can be stepped over.
fn looped_slate_day(alike: bool) -> Plan {
    let pass_title = |pass: usize, title: &'static str| -> &'static str {
        match (alike, pass % 2) {
            (false, 1) => "ad/slate titled apart",
            _ => title,
        }
    };
    let mut layout = vec![(RunKind::Programme, "Morning News", 600, Some((0, None)))];
    layout
        .extend((0..30).map(|pass| (RunKind::AdBreak, pass_title(pass, "ad"), 4, Some((0, None)))));
    layout.push((RunKind::Programme, "Morning News", 300, Some((0, None))));
    layout.push((RunKind::Programme, "Weather", 300, Some((1, None))));
    layout.extend((0..50).map(|pass| (RunKind::Slate, pass_title(pass, "slate"), 4, None)));
    layout.push((RunKind::Programme, "Late Film", 600, Some((2, None))));
    plan(&layout, false, true)
}

#[test]
fn passes_of_looped_slate_are_walked_as_one_stretch_with_the_same_status() {
    let (alike, apart) = (looped_slate_day(true), looped_slate_day(false));
    assert!(
        alike.timeline.as_deref().unwrap().run_stretches().count() < 10,
        "the passes are held as stretches"
    );
    for (secs, now, next, state) in [
        (
            700,
            "Morning News 0..1020",
            "Weather 1020..1320",
            AirState::OnAir,
        ),
        (
            1400,
            "Slate 1320..1520",
            "Late Film 1520..2120",
            AirState::Slate,
        ),
        (
            1321,
            "Slate 1320..1520",
            "Late Film 1520..2120",
            AirState::Slate,
        ),
    ] {
        for plan in [&alike, &apart] {
            let status = status(plan, at(secs));
            assert_eq!(
                (brief(&status.now), brief(&status.next), &status.state),
                (now.to_owned(), next.to_owned(), &state),
                "at {secs}"
            );
        }
        assert_eq!(status(&alike, at(secs)), status(&apart, at(secs)));
    }
}
