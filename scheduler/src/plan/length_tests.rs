//! The planner's tests of items with a length (an out point from the asset's start): tables of
//! items and assets, the runs and problems they plan to.

use super::tests::ad_break;
use super::*;
use crate::test_support::{asset_with_segments as asset, assets};

/// An item of the planner's other tests, with a length.
fn item(
    asset_id: i64,
    start_secs: i64,
    hard_start: bool,
    length_secs: Option<i64>,
) -> ScheduleItem {
    ScheduleItem {
        length: length_secs.map(Ticks::from_secs),
        ..tests::item(asset_id, start_secs, hard_start)
    }
}

/// Each run as its kind, its asset and its segments `first..end`.
fn runs(timeline: &Timeline) -> Vec<(RunKind, i64, u32, u32)> {
    timeline
        .runs()
        .iter()
        .map(|run| {
            (
                run.kind,
                run.asset_id.0,
                run.first_segment,
                run.first_segment + run.n_segments,
            )
        })
        .collect()
}

fn planned(
    items: &[ScheduleItem],
    ad_breaks: &[AdBreak],
    assets: &HashMap<AssetId, Asset>,
) -> (Plan, Vec<PlanIssue>) {
    plan_stored(PlanInput {
        items,
        assets,
        ad_breaks,
        slate: Some(AssetId(9)),
        grid_repeat: None,
    })
}

#[test]
fn an_item_with_a_length_on_a_boundary_airs_its_asset_up_to_it_and_the_soft_item_after_follows() {
    let assets = assets(vec![
        asset(1, &[2, 2, 2, 2, 2]),
        asset(2, &[2]),
        asset(9, &[2]),
    ]);
    let items = [item(1, 0, true, Some(6)), item(2, 100, false, None)];
    let (plan, issues) = planned(&items, &[], &assets);
    assert_eq!(
        runs(plan.timeline.as_ref().unwrap()),
        [(RunKind::Programme, 1, 0, 3), (RunKind::Programme, 2, 0, 1)]
    );
    assert_eq!(
        (plan.items[0].end, plan.items[1].start),
        (Timestamp::from_unix_secs(6), Timestamp::from_unix_secs(6)),
        "the soft item starts at the trimmed end"
    );
    assert_eq!(issues, []);
}

#[test]
fn a_length_between_boundaries_is_cut_at_the_nearest_one_and_the_drift_reported() {
    let assets = assets(vec![asset(1, &[2, 2, 2, 2, 2]), asset(9, &[2])]);
    for (length, end_segment, drift) in [(5, 3, 1), (7, 4, 1), (4, 2, 0)] {
        let (plan, issues) = planned(&[item(1, 0, true, Some(length))], &[], &assets);
        assert_eq!(
            runs(plan.timeline.as_ref().unwrap()),
            [(RunKind::Programme, 1, 0, end_segment)],
            "a length of {length} s"
        );
        let expected: Vec<PlanIssue> = (drift > 0)
            .then(|| PlanIssue::InOutPointMoved {
                title: "item at 0".into(),
                at: Timestamp::from_unix_secs(0),
                point: Ticks::from_secs(length),
                drift: Ticks::from_secs(drift),
            })
            .into_iter()
            .collect();
        assert_eq!(issues, expected, "a length of {length} s");
    }
}

#[test]
fn ad_breaks_past_the_length_do_not_air_and_those_before_it_do() {
    let assets = assets(vec![asset(1, &[2, 2, 2, 2, 2]), asset(9, &[2])]);
    let items = [item(1, 0, true, Some(6))];
    let breaks = [ad_break(0, 2, 2), ad_break(0, 6, 2), ad_break(0, 8, 2)];
    let (plan, issues) = planned(&items, &breaks, &assets);
    assert_eq!(
        runs(plan.timeline.as_ref().unwrap()),
        [
            (RunKind::Programme, 1, 0, 1),
            (RunKind::AdBreak, 9, 0, 1),
            (RunKind::Programme, 1, 1, 3),
            (RunKind::AdBreak, 9, 0, 1),
        ],
        "the break at 2 s splits it, the one at its end follows it, the one at 8 s is gone"
    );
    assert_eq!(
        issues,
        [PlanIssue::BreakPastOutPoint {
            title: "item at 0".into(),
            at: Timestamp::from_unix_secs(0),
            offset: Ticks::from_secs(8),
            out_point: Ticks::from_secs(6),
        }]
    );
    assert_eq!(
        issues[0].to_string(),
        "ad break of \"item at 0\" at 1970-01-01T00:00:00.000Z, offset 8.000s, is past its out point 6.000s, where the item is cut, and does not air"
    );
}

#[test]
fn an_item_without_a_length_airs_its_whole_asset_with_every_break() {
    let assets = assets(vec![asset(1, &[2, 2, 2]), asset(9, &[2])]);
    let items = [item(1, 0, true, None)];
    let (plan, issues) = planned(&items, &[ad_break(0, 4, 2)], &assets);
    assert_eq!(
        runs(plan.timeline.as_ref().unwrap()),
        [
            (RunKind::Programme, 1, 0, 2),
            (RunKind::AdBreak, 9, 0, 1),
            (RunKind::Programme, 1, 2, 3),
        ]
    );
    assert_eq!(issues, []);
}

#[test]
fn the_aired_out_point_is_the_boundary_the_planner_cuts_at() {
    let track = SegmentTrack::new(vec![Ticks::from_secs(2); 5]);
    let at = |secs| aired_out_point(&track, Ticks::from_secs(secs));
    assert_eq!(
        [at(1), at(5), at(6), at(9), at(30)],
        [2, 6, 6, 10, 10].map(Ticks::from_secs),
        "ties go to the later boundary; never past the end"
    );
}
