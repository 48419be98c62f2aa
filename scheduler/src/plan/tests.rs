//! The planner's tests: tables of items and assets, the runs and problems they plan to.

use super::*;
use crate::test_support::{asset_with_segments as asset, assets};
use onair_domain::{ChannelId, ScheduleItemId};

pub(super) fn item(asset_id: i64, start_secs: i64, hard_start: bool) -> ScheduleItem {
    ScheduleItem {
        id: ScheduleItemId(start_secs),
        channel_id: ChannelId(1),
        asset_id: AssetId(asset_id),
        start: Timestamp::from_unix_secs(start_secs),
        hard_start,
        title: format!("item at {start_secs}"),
        length: None,
    }
}

fn kinds_and_lengths(timeline: &Timeline) -> Vec<(RunKind, i64)> {
    timeline
        .runs()
        .iter()
        .map(|run| (run.kind, run.duration().0 / 90_000))
        .collect()
}

#[test]
fn soft_items_follow_each_other_with_no_gap() {
    let assets = assets(vec![asset(1, &[2, 2]), asset(2, &[2])]);
    let items = [item(1, 0, true), item(2, 999, false)];
    let (timeline, issues) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &[],
        slate: None,
        grid_repeat: None,
    });
    assert_eq!(issues, vec![]);
    let timeline = timeline.unwrap();
    assert_eq!(
        kinds_and_lengths(&timeline),
        vec![(RunKind::Programme, 4), (RunKind::Programme, 2)]
    );
}

#[test]
fn a_hard_start_after_a_gap_is_padded_with_slate() {
    let assets = assets(vec![asset(1, &[2, 2]), asset(9, &[2, 2, 2])]);
    let items = [item(1, 0, true), item(1, 14, true)];
    let (timeline, issues) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &[],
        slate: Some(AssetId(9)),
        grid_repeat: None,
    });
    let timeline = timeline.unwrap();
    assert_eq!(
        kinds_and_lengths(&timeline),
        vec![
            (RunKind::Programme, 4),
            (RunKind::Slate, 6),
            (RunKind::Slate, 4),
            (RunKind::Programme, 4)
        ]
    );
    assert_eq!(
        issues,
        vec![PlanIssue::GapFilled {
            at: Timestamp::from_unix_secs(4),
            duration: Ticks::from_secs(10)
        }]
    );
}

#[test]
fn a_hard_start_cuts_the_item_before_it_at_a_segment_boundary() {
    let assets = assets(vec![asset(1, &[2, 2, 2, 2]), asset(2, &[2])]);
    let items = [item(1, 0, true), item(2, 4, true)];
    let (timeline, issues) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &[],
        slate: None,
        grid_repeat: None,
    });
    assert_eq!(
        kinds_and_lengths(&timeline.unwrap()),
        vec![(RunKind::Programme, 4), (RunKind::Programme, 2)]
    );
    assert_eq!(
        issues,
        vec![PlanIssue::Overlap {
            first: "item at 0".into(),
            second: "item at 4".into(),
            at: Timestamp::from_unix_secs(4),
            by: Ticks::from_secs(4)
        }],
        "both are hard: the cut is an overlap"
    );
}

#[test]
fn a_missing_asset_is_reported_and_skipped() {
    let assets = assets(vec![asset(1, &[2])]);
    let items = [item(1, 0, true), item(5, 2, false)];
    let (timeline, issues) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &[],
        slate: None,
        grid_repeat: None,
    });
    assert_eq!(timeline.unwrap().runs().len(), 1);
    assert!(matches!(
        issues[..],
        [PlanIssue::MissingAsset {
            asset_id: AssetId(5),
            ..
        }]
    ));
}

#[test]
fn a_repeating_grid_is_padded_to_its_period() {
    let assets = assets(vec![asset(1, &[2, 2]), asset(9, &[2])]);
    let items = [item(1, 0, true)];
    let (timeline, _) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &[],
        slate: Some(AssetId(9)),
        grid_repeat: Some(Ticks::from_secs(8)),
    });
    let timeline = timeline.unwrap();
    assert!(timeline.repeats());
    assert_eq!(timeline.period(), Ticks::from_secs(8));
}

#[test]
fn nothing_scheduled_is_a_problem_not_a_panic() {
    let (timeline, issues) = plan(PlanInput {
        items: &[],
        assets: &HashMap::new(),
        ad_breaks: &[],
        slate: None,
        grid_repeat: None,
    });
    assert!(timeline.is_none());
    assert_eq!(issues, vec![PlanIssue::NothingScheduled]);
}
pub(super) fn ad_break(item_start_secs: i64, offset_secs: i64, duration_secs: i64) -> AdBreak {
    AdBreak {
        id: item_start_secs * 1000 + offset_secs,
        schedule_item_id: ScheduleItemId(item_start_secs),
        offset: Ticks::from_secs(offset_secs),
        duration: Ticks::from_secs(duration_secs),
    }
}

fn breaks_of(timeline: &Timeline) -> Vec<Option<(u32, i64)>> {
    timeline
        .runs()
        .iter()
        .map(|run| {
            run.ad_break
                .map(|slot| (slot.number, slot.duration.0 / 90_000))
        })
        .collect()
}

#[test]
fn a_mid_programme_break_splits_the_programme_at_the_nearest_boundary() {
    let assets = assets(vec![asset(1, &[2, 2, 2, 2]), asset(9, &[2, 2])]);
    let items = [item(1, 0, true)];
    let breaks = [ad_break(0, 3, 6)];
    let (timeline, issues) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &breaks,
        slate: Some(AssetId(9)),
        grid_repeat: None,
    });
    let timeline = timeline.unwrap();
    assert_eq!(
        kinds_and_lengths(&timeline),
        vec![
            (RunKind::Programme, 4),
            (RunKind::AdBreak, 4),
            (RunKind::AdBreak, 2),
            (RunKind::Programme, 4)
        ]
    );
    assert_eq!(
        breaks_of(&timeline),
        vec![None, Some((0, 6)), Some((0, 6)), None]
    );
    assert_eq!(
        timeline.runs()[3].first_segment,
        2,
        "the programme resumes where it left"
    );
    assert_eq!(
        issues,
        vec![PlanIssue::BreakMovedToBoundary {
            title: "item at 0".into(),
            offset: Ticks::from_secs(3),
            drift: Ticks::from_secs(1)
        }]
    );
}

#[test]
fn a_break_of_slate_looped_many_times_airs_a_run_per_pass_held_as_one_stretch() {
    let assets = assets(vec![asset(1, &[2, 2, 2, 2]), asset(9, &[2, 2])]);
    let items = [item(1, 0, true)];
    let breaks = [ad_break(0, 4, 90)];
    let (timeline, issues) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &breaks,
        slate: Some(AssetId(9)),
        grid_repeat: None,
    });
    assert_eq!(issues, vec![]);
    let timeline = timeline.unwrap();
    // 90 s of a 4 s slate: 22 whole passes and half of one, each its own run (a
    // discontinuity), between the programme's two halves.
    assert_eq!(timeline.runs().len(), 1 + 22 + 1 + 1);
    assert_eq!(
        breaks_of(&timeline)[1..24],
        [Some((0, 90)); 23],
        "one break of every pass"
    );
    assert_eq!(
        timeline
            .run_stretches()
            .map(|(run, passes)| (run.kind, run.n_segments, passes))
            .collect::<Vec<_>>(),
        [
            (RunKind::Programme, 2, 1),
            (RunKind::AdBreak, 2, 22),
            (RunKind::AdBreak, 1, 1),
            (RunKind::Programme, 2, 1)
        ],
        "the passes are held once"
    );
}

#[test]
fn breaks_before_and_after_an_item_are_numbered_in_order() {
    let assets = assets(vec![asset(1, &[2, 2]), asset(9, &[2])]);
    let items = [item(1, 0, true)];
    let breaks = [ad_break(0, 4, 2), ad_break(0, 0, 2)];
    let (timeline, issues) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &breaks,
        slate: Some(AssetId(9)),
        grid_repeat: None,
    });
    let timeline = timeline.unwrap();
    assert_eq!(issues, vec![]);
    assert_eq!(breaks_of(&timeline), vec![Some((0, 2)), None, Some((1, 2))]);
}

#[test]
fn a_break_that_is_not_whole_segments_is_rounded_and_reported() {
    let assets = assets(vec![asset(1, &[2]), asset(9, &[2, 2])]);
    let items = [item(1, 0, true)];
    let breaks = [ad_break(0, 2, 5)];
    let (timeline, issues) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &breaks,
        slate: Some(AssetId(9)),
        grid_repeat: None,
    });
    assert_eq!(
        breaks_of(&timeline.unwrap()),
        vec![None, Some((0, 6)), Some((0, 6))]
    );
    assert!(
        matches!(issues[..], [PlanIssue::BreakDurationRounded { .. }]),
        "{issues:?}"
    );
}

#[test]
fn a_break_without_slate_is_dropped_and_reported() {
    let assets = assets(vec![asset(1, &[2, 2])]);
    let items = [item(1, 0, true)];
    let breaks = [ad_break(0, 2, 30)];
    let (timeline, issues) = plan(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &breaks,
        slate: None,
        grid_repeat: None,
    });
    assert_eq!(timeline.unwrap().period(), Ticks::from_secs(4));
    assert!(
        matches!(issues[..], [PlanIssue::BreakUnfilled { .. }]),
        "{issues:?}"
    );
}

// ---- Grid items: table tests ----

use crate::grid::LiveSource;
use crate::test_support::{asset as asset_of, at_utc, minutes};

fn grid(asset_id: i64, start_secs: Option<i64>, title: &str) -> GridItem {
    let start = start_secs.map_or(Start::Soft, |secs| {
        Start::Hard(Timestamp::from_unix_secs(secs))
    });
    GridItem::new(AssetId(asset_id), start, ProgrammeInfo::titled(title))
}

fn secs(ticks: Ticks) -> i64 {
    ticks.0 / 90_000
}

/// Issues in a few words, for tables.
fn brief(issue: &PlanIssue) -> String {
    match issue {
        PlanIssue::PreviousItemCut { title, cut, .. } => format!("{title} cuts {}", secs(*cut)),
        PlanIssue::Overlap {
            first, second, by, ..
        } => {
            format!("{first} overlaps {second} by {}", secs(*by))
        }
        PlanIssue::HardStartDrift { title, drift, .. } => {
            format!("{title} drifts {}", secs(*drift))
        }
        PlanIssue::GapFilled { duration, .. } => format!("slate gap {}", secs(*duration)),
        PlanIssue::GapFilledWithFiller {
            duration, filler, ..
        } => {
            format!("filler {} of gap {}", secs(*filler), secs(*duration))
        }
        PlanIssue::GapUnfilled { duration, .. } => format!("unfilled gap {}", secs(*duration)),
        PlanIssue::OutsideRightsWindow { title, .. } => format!("{title} outside rights"),
        PlanIssue::MissingAsset { title, .. } => format!("{title} missing"),
        PlanIssue::AssetNotReady { title, .. } => format!("{title} not ready"),
        PlanIssue::FillerUnusable { asset_id } => format!("filler {asset_id} unusable"),
        other => other.to_string(),
    }
}

fn briefs(issues: &[PlanIssue]) -> Vec<String> {
    issues.iter().map(brief).collect()
}

fn layout(plan: &Plan) -> Vec<String> {
    plan.timeline
        .as_ref()
        .map(|timeline| {
            timeline
                .runs()
                .iter()
                .map(|run| {
                    let kind = match run.kind {
                        RunKind::Programme => "P",
                        RunKind::Filler => "F",
                        RunKind::Slate => "S",
                        RunKind::AdBreak => "B",
                    };
                    format!("{kind}{}", secs(run.duration()))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// X (4 s, hard at 0), S (8 s, soft), then B hard at `start`; segments of 2 s, slate 2+2 s.
#[test]
fn hard_starts_trim_or_pad_at_segment_boundaries_and_report_the_drift() {
    let assets = assets(vec![
        asset(1, &[2, 2, 2, 2]),
        asset(2, &[2]),
        asset(3, &[2, 2]),
        asset(9, &[2, 2]),
    ]);
    #[rustfmt::skip]
    let table: &[(i64, i64, bool, &[&str], &[&str])] = &[
        // B's start, cut threshold, slate?, runs, issues
        (12, 0, false, &["P4", "P8", "P2"], &[]),
        (10, 0, false, &["P4", "P6", "P2"], &["B cuts 2"]),
        (11, 0, false, &["P4", "P6", "P2"], &["B cuts 2", "B drifts 1"]),
        (11, 3, false, &["P4", "P6", "P2"], &["B drifts 1"]),
        (3, 0, false, &["P2", "P2"], &["X overlaps B by 1", "B drifts 1"]),
        (16, 0, true, &["P4", "P8", "S4", "P2"], &["slate gap 4"]),
        (15, 0, true, &["P4", "P8", "S4", "P2"], &["slate gap 3", "B drifts 1"]),
        (18, 0, true, &["P4", "P8", "S4", "S2", "P2"], &["slate gap 6"]),
        (14, 0, false, &["P4", "P8", "P2"], &["unfilled gap 2", "B drifts 2"]),
    ];
    for (start, threshold, with_slate, runs, issues) in table {
        let items = [
            grid(3, Some(0), "X"),
            grid(1, None, "S"),
            grid(2, Some(*start), "B"),
        ];
        let options = PlanOptions {
            slate: with_slate.then_some(AssetId(9)),
            cut_threshold: Ticks::from_secs(*threshold),
            ..PlanOptions::default()
        };
        let (plan, got) = plan_grid(&items, &assets, &options);
        let case = format!("B at {start}, threshold {threshold}, slate {with_slate}");
        assert_eq!(layout(&plan), *runs, "{case}");
        assert_eq!(briefs(&got), *issues, "{case}");
    }
}

/// X (4 s, hard at 0), then B hard at 14: a 10-second gap.
#[test]
fn gaps_fill_with_whole_filler_before_slate() {
    let assets = assets(vec![
        asset(3, &[2, 2]),
        asset(2, &[2]),
        asset(7, &[3]),
        asset(8, &[1]),
        asset(9, &[2, 2]),
        Asset {
            state: AssetState::Processing,
            ..asset(6, &[1])
        },
    ]);
    let expired = RightsWindow {
        valid_from: None,
        valid_until: Some(Timestamp::from_unix_secs(5)),
    };
    #[rustfmt::skip]
    let table: &[(&[i64], bool, bool, &[&str], &[&str])] = &[
        // fillers, slate?, filler 7 expires at 5 s?, runs, issues
        (&[], true, false, &["P4", "S4", "S4", "S2", "P2"], &["slate gap 10"]),
        (&[7], true, false, &["P4", "F3", "F3", "F3", "S2", "P2"], &["filler 9 of gap 10", "B drifts 1"]),
        (&[7, 8], true, false, &["P4", "F3", "F1", "F3", "F1", "F1", "F1", "P2"], &["filler 10 of gap 10"]),
        (&[7], false, false, &["P4", "F3", "F3", "F3", "P2"], &["unfilled gap 1", "filler 9 of gap 10", "B drifts 1"]),
        (&[7], true, true, &["P4", "S4", "S4", "S2", "P2"], &["slate gap 10"]),
        (&[6, 404], true, false, &["P4", "S4", "S4", "S2", "P2"], &["filler 6 unusable", "filler 404 unusable", "slate gap 10"]),
        (&[], false, false, &["P4", "P2"], &["unfilled gap 10", "B drifts 10"]),
    ];
    for (fillers, with_slate, expires, runs, issues) in table {
        let items = [grid(3, Some(0), "X"), grid(2, Some(14), "B")];
        let options = PlanOptions {
            slate: with_slate.then_some(AssetId(9)),
            filler: fillers.iter().map(|id| AssetId(*id)).collect(),
            rights: if *expires {
                HashMap::from([(AssetId(7), expired)])
            } else {
                HashMap::new()
            },
            ..PlanOptions::default()
        };
        let (plan, got) = plan_grid(&items, &assets, &options);
        let case = format!("fillers {fillers:?}, slate {with_slate}, expires {expires}");
        assert_eq!(layout(&plan), *runs, "{case}");
        assert_eq!(briefs(&got), *issues, "{case}");
        assert!(
            (0..runs.len())
                .filter(|run| plan.item_index_of_run(*run).is_none())
                .count()
                == runs.len() - 2,
            "{case}: gap runs belong to no item"
        );
    }
}

/// A (10 s) hard at 100 and B (10 s) at `b`; A's asset may air only inside a window.
#[test]
fn overlaps_and_rights_windows_are_reported() {
    let assets = assets(vec![asset(1, &[2, 2, 2, 2, 2]), asset(2, &[2, 2, 2, 2, 2])]);
    let window = |from: Option<i64>, until: Option<i64>| RightsWindow {
        valid_from: from.map(Timestamp::from_unix_secs),
        valid_until: until.map(Timestamp::from_unix_secs),
    };
    #[rustfmt::skip]
    let table: &[(i64, Option<RightsWindow>, &[&str], &[&str])] = &[
        // B's start, A's rights, runs, issues
        (110, None, &["P10", "P10"], &[]),
        (106, None, &["P6", "P10"], &["A overlaps B by 4"]),
        (100, None, &["P10"], &["A overlaps B by 10"]),
        (110, Some(window(Some(100), Some(110))), &["P10", "P10"], &[]),
        (110, Some(window(Some(101), None)), &["P10"], &["A outside rights"]),
        (110, Some(window(None, Some(109))), &["P10"], &["A outside rights"]),
        (110, Some(window(Some(0), Some(50))), &["P10"], &["A outside rights"]),
    ];
    for (b, rights, runs, issues) in table {
        let items = [grid(1, Some(100), "A"), grid(2, Some(*b), "B")];
        let options = PlanOptions {
            rights: rights
                .map(|w| HashMap::from([(AssetId(1), w)]))
                .unwrap_or_default(),
            ..PlanOptions::default()
        };
        let (plan, got) = plan_grid(&items, &assets, &options);
        let case = format!("B at {b}, rights {rights:?}");
        assert_eq!(layout(&plan), *runs, "{case}");
        assert_eq!(briefs(&got), *issues, "{case}");
    }
    let (_, issues) = plan_grid(
        &[grid(1, Some(100), "A")],
        &assets,
        &PlanOptions {
            rights: HashMap::from([(AssetId(1), window(Some(101), Some(200)))]),
            ..PlanOptions::default()
        },
    );
    assert_eq!(
        issues[0].to_string(),
        "item \"A\" would air 1970-01-01T00:01:40.000Z to 1970-01-01T00:01:50.000Z, outside the rights of asset 1 (valid from 1970-01-01T00:01:41.000Z until 1970-01-01T00:03:20.000Z), and was skipped"
    );
}

#[test]
fn missing_and_unready_assets_are_reported_and_skipped() {
    let assets = assets(vec![
        asset(1, &[2]),
        Asset {
            state: AssetState::Failed,
            ..asset(2, &[2])
        },
    ]);
    let items = [
        grid(1, Some(0), "A"),
        grid(404, None, "Gone"),
        grid(2, None, "Broken"),
        grid(1, None, "C"),
    ];
    let (plan, issues) = plan_grid(&items, &assets, &PlanOptions::default());
    assert_eq!(layout(&plan), ["P2", "P2"]);
    assert_eq!(briefs(&issues), ["Gone missing", "Broken not ready"]);
    let titles: Vec<&str> = plan
        .items
        .iter()
        .map(|item| item.info.title.as_str())
        .collect();
    assert_eq!(titles, ["A", "C"]);
}

/// Two-minute ad breaks (slate of 10-second segments) placed in 20-minute programmes.
#[test]
fn the_ad_cap_is_checked_per_clock_hour_of_the_channel_zone() {
    let assets = assets(vec![asset_of(1, 1200, 10), asset_of(9, 10, 10)]);
    let start = at_utc("2026-11-21T20:00:00Z");
    let utc = Tz::UTC;
    let kolkata: Tz = "Asia/Kolkata".parse().unwrap();
    #[rustfmt::skip]
    let table: &[(&str, Tz, &[(i64, i64)], i64, &[(&str, i64)])] = &[
        // case, zone, breaks (offset, duration; minutes) of each of three items, cap (minutes), hours over (start, ad seconds)
        ("within the cap", utc, &[(10, 2)], 8, &[]),
        ("one minute over", utc, &[(10, 3)], 8, &[("2026-11-21T20:00:00Z", 9 * 60)]),
        ("exactly at the cap", utc, &[(10, 2)], 6, &[]),
        ("a break across the hour counts in both", utc, &[(10, 4)], 9, &[("2026-11-21T20:00:00Z", 10 * 60)]),
        ("hours of a half-hour zone", kolkata, &[(10, 3)], 5, &[("2026-11-21T20:30:00Z", 6 * 60)]),
        ("every hour over", kolkata, &[(10, 3)], 2, &[("2026-11-21T19:30:00Z", 3 * 60), ("2026-11-21T20:30:00Z", 6 * 60)]),
    ];
    for (case, zone, breaks, cap, over) in table {
        let items: Vec<GridItem> = (0..3)
            .map(|k| GridItem {
                breaks: breaks
                    .iter()
                    .map(|(offset, duration)| AdBreakSpec::at(minutes(*offset), minutes(*duration)))
                    .collect(),
                ..GridItem::new(
                    AssetId(1),
                    if k == 0 {
                        Start::Hard(start)
                    } else {
                        Start::Soft
                    },
                    ProgrammeInfo::titled(format!("show {k}")),
                )
            })
            .collect();
        let options = PlanOptions {
            slate: Some(AssetId(9)),
            max_ad_per_hour: Some(minutes(*cap)),
            zone: *zone,
            ..PlanOptions::default()
        };
        let (_, issues) = plan_grid(&items, &assets, &options);
        let got: Vec<(String, i64, i64)> = issues
            .iter()
            .filter_map(|issue| match issue {
                PlanIssue::AdCapExceeded {
                    hour,
                    ads,
                    cap: limit,
                    over,
                } => {
                    assert_eq!(*over, *ads - *limit);
                    Some((hour.to_rfc3339_millis(), secs(*ads), secs(*over)))
                }
                _ => None,
            })
            .collect();
        let expected: Vec<(String, i64, i64)> = over
            .iter()
            .map(|(hour, ads)| (at_utc(hour).to_rfc3339_millis(), *ads, *ads - cap * 60))
            .collect();
        assert_eq!(got, expected, "{case}: {issues:?}");
    }
}

#[test]
fn a_live_event_plans_as_its_fallback_filling_the_slot_and_is_marked_live() {
    let assets = assets(vec![asset(5, &[10, 10, 5]), asset(9, &[2, 2])]);
    let slot = Ticks::from_secs(60);
    let live = |fallback| {
        GridItem::live(
            "stadium",
            Timestamp::from_unix_secs(100),
            slot,
            AssetId(fallback),
            ProgrammeInfo::titled("Final"),
        )
    };
    let options = PlanOptions {
        slate: Some(AssetId(9)),
        ..PlanOptions::default()
    };
    let (plan, issues) = plan_grid(&[live(5)], &assets, &options);
    assert_eq!(issues, vec![]);
    // Each loop skips the fallback's short last segment: every planned segment is a 10 s slot
    // of the live source's grid.
    assert_eq!(layout(&plan), ["P20", "P20", "P20"]);
    assert_eq!(plan.items.len(), 1);
    let item = &plan.items[0];
    assert_eq!(
        item.live,
        Some(LiveSource {
            source_key: "stadium".into(),
            duration: slot
        })
    );
    assert_eq!(
        (item.start, item.end),
        (
            Timestamp::from_unix_secs(100),
            Timestamp::from_unix_secs(160)
        )
    );
    assert_eq!(item.runs, 0..3);

    let (plan, issues) = plan_grid(&[live(404)], &assets, &options);
    assert_eq!(briefs(&issues), ["Final missing"]);
    assert_eq!(layout(&plan), vec!["S4"; 15], "slate holds the slot");
    assert!(
        plan.items[0].live.is_some(),
        "still live: the source may come"
    );
}

#[test]
fn in_and_out_points_snap_to_segment_boundaries() {
    let assets = assets(vec![asset(1, &[2, 2, 2, 2, 2])]);
    let with = |in_point: i64, out_point: i64| GridItem {
        in_point: Some(Ticks::from_secs(in_point)),
        out_point: Some(Ticks::from_secs(out_point)),
        ..grid(1, Some(0), "clip")
    };
    let (plan, issues) = plan_grid(&[with(3, 8)], &assets, &PlanOptions::default());
    let run = &plan.timeline.as_ref().unwrap().runs()[0];
    assert_eq!((run.first_segment, run.n_segments), (2, 2));
    assert_eq!(
        issues,
        vec![PlanIssue::InOutPointMoved {
            title: "clip".into(),
            at: Timestamp::from_unix_secs(0),
            point: Ticks::from_secs(3),
            drift: Ticks::from_secs(1)
        }]
    );
    let (plan, issues) = plan_grid(&[with(6, 6)], &assets, &PlanOptions::default());
    assert!(plan.timeline.is_none());
    assert!(
        matches!(issues[..], [PlanIssue::EmptyInOut { .. }]),
        "{issues:?}"
    );
}

#[test]
fn a_soft_item_before_any_hard_start_is_reported_and_chains_follow_their_hard_starts() {
    let assets = assets(vec![asset(1, &[2]), asset(2, &[2, 2])]);
    let items = [
        grid(1, None, "Orphan"),
        grid(2, Some(10), "Late"),
        grid(1, None, "After late"),
        grid(1, Some(4), "Early"),
    ];
    let (plan, issues) = plan_grid(&items, &assets, &PlanOptions::default());
    let titles: Vec<&str> = plan
        .items
        .iter()
        .map(|item| item.info.title.as_str())
        .collect();
    assert_eq!(titles, ["Early", "Late", "After late"]);
    assert_eq!(
        briefs(&issues)[0],
        "soft item \"Orphan\" comes before any hard start, so it has no time, and was skipped"
    );
    assert_eq!(
        plan.timeline.unwrap().origin(),
        Timestamp::from_unix_secs(4)
    );
}

#[test]
fn a_break_inside_a_programme_stays_part_of_its_item() {
    let assets = assets(vec![asset(1, &[2, 2, 2, 2]), asset(9, &[2])]);
    let item = GridItem {
        breaks: vec![
            AdBreakSpec::at(Ticks::from_secs(4), Ticks::from_secs(2)),
            AdBreakSpec::after(Ticks::from_secs(2)),
        ],
        ..grid(1, Some(0), "Film")
    };
    let options = PlanOptions {
        slate: Some(AssetId(9)),
        ..PlanOptions::default()
    };
    let (plan, issues) = plan_grid(&[item], &assets, &options);
    assert_eq!(issues, vec![]);
    assert_eq!(layout(&plan), ["P4", "B2", "P4", "B2"]);
    assert!((0..4).all(|run| plan.item_index_of_run(run) == Some(0)));
    assert_eq!(plan.items[0].end, Timestamp::from_unix_secs(12));
}

/// `rotations` one-minute rotations of two titled items (the second with a 10 s break) on
/// a grid that loops after them; item ids count up as an import saves them.
fn rotations_plan(rotations: i64, retitle: Option<i64>) -> Plan {
    let assets = assets(vec![
        asset(1, &[6, 6, 6, 2]),
        asset(2, &[6, 6, 6, 6, 6]),
        asset(9, &[2]),
    ]);
    let mut items = Vec::new();
    let mut breaks = Vec::new();
    for rotation in 0..rotations {
        let start = rotation * 60;
        for (slot, asset_id, at) in [(0, 1, start), (1, 2, start + 20)] {
            let title = match retitle {
                Some(changed) if changed == rotation => format!("special {slot}"),
                _ => format!("show {slot}"),
            };
            items.push(ScheduleItem {
                id: ScheduleItemId(100 + rotation * 2 + slot),
                title,
                hard_start: slot == 0,
                ..item(asset_id, at, true)
            });
        }
        breaks.push(AdBreak {
            schedule_item_id: ScheduleItemId(100 + rotation * 2 + 1),
            ..ad_break(start + 20, 12, 10)
        });
    }
    let (plan, issues) = plan_stored(PlanInput {
        items: &items,
        assets: &assets,
        ad_breaks: &breaks,
        slate: Some(AssetId(9)),
        grid_repeat: Some(Ticks::from_secs(60 * rotations)),
    });
    assert_eq!(issues, vec![]);
    plan
}

#[test]
fn a_grid_of_identical_rotations_folds_to_one_and_airs_and_lists_the_same() {
    let whole = rotations_plan(30, None);
    let folded = whole.clone().folded();
    let (long, short) = (
        whole.timeline.as_deref().unwrap(),
        folded.timeline.as_deref().unwrap(),
    );
    assert_eq!(short.runs().len() * 30, long.runs().len());
    assert_eq!(folded.items.len(), 2);
    assert_eq!(folded.fold.as_ref().unwrap().copies, 30);
    assert_eq!(folded.fold.as_ref().unwrap().ids, FoldedIds::Stride(2));
    for second in (0..2 * 1800).step_by(3) {
        let at = Timestamp::from_unix_secs(second);
        let (a, b) = (long.segment_at(at).unwrap(), short.segment_at(at).unwrap());
        assert_eq!(
            (
                a.media_sequence,
                a.discontinuity_sequence,
                a.start,
                a.duration
            ),
            (
                b.media_sequence,
                b.discontinuity_sequence,
                b.start,
                b.duration
            )
        );
        assert_eq!(
            long.break_of(&a).map(|airing| airing.splice_event_id()),
            short.break_of(&b).map(|airing| airing.splice_event_id())
        );
    }
    // Every item listed as it airs: none merged for being short.
    let options = crate::epg::EpgOptions {
        min_programme: Ticks::ZERO,
        ..crate::epg::EpgOptions::default()
    };
    let (from, to) = (
        Timestamp::from_unix_secs(1700),
        Timestamp::from_unix_secs(5000),
    );
    let listed = crate::epg::programmes(&whole, from, to, &options);
    assert!(listed.len() > 100);
    // Rotation 28 starts at 1680 s; its first item ends at 1700 s, so its second is first.
    assert_eq!(listed[0].item_id, Some(ScheduleItemId(100 + 28 * 2 + 1)));
    assert_eq!(crate::epg::programmes(&folded, from, to, &options), listed);
}

#[test]
fn rotations_that_differ_in_one_title_do_not_fold() {
    let plan = rotations_plan(30, Some(17)).folded();
    assert_eq!(plan.fold, None);
    assert_eq!(plan.items.len(), 60);
}
