//! The as-run log's pure part: the runs a plan aired in an interval, and how they compare with
//! what the plan says. No IO, no clock: the instants are inputs.
//!
//! Playout is deterministic: what a channel airs at an instant is a function of its timeline and
//! the instant. So what aired in `[from, to)` is computed from the plan, not sniffed from the
//! output: [`aired`] walks the run occurrences that touch the interval (every pass of a
//! repeating timeline, and the slate tail after the end of one that does not repeat). Each
//! [`AiredRun`] is clipped to the interval ([`AiredRun::start`], [`AiredRun::end`]) but keeps
//! the instant its run began ([`AiredRun::run_start`]): with the channel, that instant names the
//! run, so recordings of consecutive intervals name the same run alike and join into one entry
//! of the log, never two. Runs start and end on segment boundaries; [`aired_until`] is the last
//! boundary by an instant, as far as a recorder can say a channel has aired.
//!
//! [`reconcile`] sets the plan's items (each occurrence, with the start and end the plan gives
//! it, which the EPG lists) against runs that aired: per planned item, when its runs aired and
//! the deltas, `aired: None` when nothing of it did; then what aired that no planned item
//! accounts for: gap fill (slate, filler) and runs of items the plan no longer has.

use std::collections::HashMap;

use onair_domain::{AssetId, BreakSlot, RunKind, ScheduleItemId, Ticks, Timeline, Timestamp};

use crate::plan::Plan;

/// One run as it aired: a programme (or a part of one between breaks), the runs of an ad break,
/// filler, or slate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AiredRun {
    /// When the run began, inside the interval or before it. With the channel, it names the run.
    pub run_start: Timestamp,
    /// When the run ends, inside the interval or after it.
    pub run_end: Timestamp,
    /// The part inside the interval: `run_start.max(from)` to `run_end.min(to)`.
    pub start: Timestamp,
    pub end: Timestamp,
    pub kind: RunKind,
    /// The schedule item the run belongs to (a programme's content, its breaks, a live event's
    /// fallback); `None` for gap fill and the slate tail.
    pub item_id: Option<ScheduleItemId>,
    /// The item's title for its content; the run's own title otherwise ("ad break", "slate", a
    /// filler's asset title).
    pub title: String,
    pub asset_id: AssetId,
    /// For the runs of an ad break: its number in the plan and its aired duration.
    pub ad_break: Option<BreakSlot>,
    /// For the runs of a live event (which air its fallback until live ingest exists).
    pub live_source: Option<String>,
    /// The media sequence number of the run's first segment, as the HLS playlists number it.
    pub media_sequence: u64,
}

impl AiredRun {
    /// What aired, in one word: see [`kind_label`].
    pub fn label(&self) -> &'static str {
        kind_label(self.kind, self.live_source.is_some())
    }
}

/// `programme`, `live` (a live event's slot), `ad_break`, `filler` or `slate`: the words the
/// as-run log and its exports use.
pub fn kind_label(kind: RunKind, live: bool) -> &'static str {
    match kind {
        RunKind::AdBreak => "ad_break",
        _ if live => "live",
        RunKind::Programme => "programme",
        RunKind::Filler => "filler",
        RunKind::Slate => "slate",
    }
}

/// The runs of `plan` that air in `[from, to)`, in order, each clipped to the interval (see the
/// module doc). Empty when nothing airs then (no timeline, before its origin, after the end of
/// one with neither repeat nor tail).
pub fn aired(plan: &Plan, from: Timestamp, to: Timestamp) -> Vec<AiredRun> {
    let mut runs = Vec::new();
    let Some(timeline) = plan.timeline.as_deref() else {
        return runs;
    };
    if to <= from {
        return runs;
    }
    let Some(first) = timeline.segment_at(from.max(timeline.origin())) else {
        return runs;
    };
    let mut run_start = timeline.run_start(&first);
    while run_start < to {
        let Some(segment) = timeline.segment_at(run_start) else {
            break;
        };
        let run = timeline.run(segment.run_index);
        let run_end = run_start + run.duration();
        if run_end <= run_start {
            break;
        }
        let in_runs = segment.run_index < timeline.runs().len();
        let item_index = plan.item_index_of_run(segment.run_index);
        let item = item_index.and_then(|index| plan.items.get(index));
        let title = match item {
            Some(item) if run.kind != RunKind::AdBreak => item.info.title.clone(),
            _ => run.title.clone(),
        };
        runs.push(AiredRun {
            run_start,
            run_end,
            start: run_start.max(from),
            end: run_end.min(to),
            kind: run.kind,
            item_id: item_index.and_then(|index| plan.item_id(index, pass_of(timeline, run_start))),
            title,
            asset_id: run.asset_id,
            // The tail is never a break, whatever its run says.
            ad_break: run.ad_break.filter(|_| in_runs),
            live_source: item
                .and_then(|item| item.live.as_ref())
                .map(|live| live.source_key.clone()),
            media_sequence: segment.media_sequence,
        });
        run_start = run_end;
    }
    runs
}

/// The last segment boundary at or before `now`: everything before it has aired in whole
/// segments. `None` when nothing has aired by `now`.
pub fn aired_until(plan: &Plan, now: Timestamp) -> Option<Timestamp> {
    let timeline = plan.timeline.as_deref()?;
    match timeline.segment_at(now) {
        Some(segment) => Some(segment.start),
        None => timeline.end().filter(|end| now >= *end),
    }
}

/// Which pass of a repeating timeline `at` falls in (0 for one that does not repeat).
fn pass_of(timeline: &Timeline, at: Timestamp) -> i64 {
    if timeline.repeats() {
        (at - timeline.origin()).0.div_euclid(timeline.period().0)
    } else {
        0
    }
}

/// One occurrence of a planned item: when the plan (and so the EPG) says it airs, its breaks
/// included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedAiring {
    pub item_id: Option<ScheduleItemId>,
    pub title: String,
    pub live_source: Option<String>,
    pub start: Timestamp,
    pub end: Timestamp,
}

/// The occurrences of `plan`'s items that touch `[from, to)`, by start: one per pass of a
/// repeating timeline.
pub fn planned_airings(plan: &Plan, from: Timestamp, to: Timestamp) -> Vec<PlannedAiring> {
    let Some(timeline) = plan.timeline.as_deref() else {
        return Vec::new();
    };
    if to <= from {
        return Vec::new();
    }
    let period = timeline.period();
    let passes = if timeline.repeats() {
        (pass_of(timeline, from) - 1).max(0)..=pass_of(timeline, to).max(0)
    } else {
        0..=0
    };
    let mut airings = Vec::new();
    for pass in passes {
        let shift = Ticks(period.0 * pass);
        for (index, item) in plan.items.iter().enumerate() {
            let (start, end) = (item.start + shift, item.end + shift);
            if start < to && end > from {
                airings.push(PlannedAiring {
                    item_id: plan.item_id(index, pass),
                    title: item.info.title.clone(),
                    live_source: item.live.as_ref().map(|live| live.source_key.clone()),
                    start,
                    end,
                });
            }
        }
    }
    airings.sort_by_key(|airing| airing.start);
    airings
}

/// A planned item set against what aired of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ItemReconciliation {
    pub planned: PlannedAiring,
    /// From the start of its first run that aired to the end of its last; `None` when nothing
    /// of it aired.
    pub aired: Option<(Timestamp, Timestamp)>,
    /// Whether its planned end falls inside the interval: only then are the ends compared.
    pub ends_in_interval: bool,
}

impl ItemReconciliation {
    /// Aired start minus planned start: positive when it started late.
    pub fn start_delta(&self) -> Option<Ticks> {
        self.aired.map(|(start, _)| start - self.planned.start)
    }

    /// Aired end minus planned end: positive when it ended late. `None` when it did not air or
    /// its planned end is past the interval.
    pub fn end_delta(&self) -> Option<Ticks> {
        self.aired
            .filter(|_| self.ends_in_interval)
            .map(|(_, end)| end - self.planned.end)
    }
}

/// What was planned in an interval against what aired in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reconciliation {
    /// Every planned item occurrence that touches the interval, by planned start.
    pub items: Vec<ItemReconciliation>,
    /// Runs that aired in the interval with no planned item to account for them: gap fill
    /// (slate, filler), the slate tail, and runs of items the plan does not have (any more).
    pub unplanned: Vec<AiredRun>,
}

/// The span of runs [`reconcile`] needs to see for `[from, to)`: the interval widened to whole
/// planned items, so that an item that began before `from` is compared from its first run.
pub fn reconcile_span(plan: &Plan, from: Timestamp, to: Timestamp) -> (Timestamp, Timestamp) {
    planned_airings(plan, from, to)
        .iter()
        .fold((from, to), |(start, end), airing| {
            (start.min(airing.start), end.max(airing.end))
        })
}

/// What an aired run or a planned item is matched by: the schedule item id, or the title for
/// items that have none (grid items not stored).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum ItemKey {
    Id(ScheduleItemId),
    Title(String),
}

/// Consecutive runs of one item: one airing of it.
struct Airing {
    key: ItemKey,
    start: Timestamp,
    end: Timestamp,
    runs: Vec<usize>,
}

/// Sets `plan`'s items in `[from, to)` against `aired` (runs recorded for at least
/// [`reconcile_span`], in any order). A planned item takes the airing of the same item that
/// overlaps it most, or failing any, the nearest; an airing serves one planned item.
pub fn reconcile(
    plan: &Plan,
    aired: &[AiredRun],
    from: Timestamp,
    to: Timestamp,
) -> Reconciliation {
    let mut order: Vec<usize> = (0..aired.len()).collect();
    order.sort_by_key(|index| aired[*index].run_start);
    let mut airings: Vec<Airing> = Vec::new();
    let mut unplanned: Vec<usize> = Vec::new();
    for index in order {
        let run = &aired[index];
        let key = match (run.item_id, run.kind) {
            (Some(id), _) => ItemKey::Id(id),
            (None, RunKind::Programme) => ItemKey::Title(run.title.clone()),
            (None, _) => {
                unplanned.push(index);
                continue;
            }
        };
        match airings.last_mut() {
            Some(last) if last.key == key && last.end == run.run_start => {
                last.end = run.end;
                last.runs.push(index);
            }
            _ => airings.push(Airing {
                key,
                start: run.run_start,
                end: run.end,
                runs: vec![index],
            }),
        }
    }
    let mut by_key: HashMap<&ItemKey, Vec<usize>> = HashMap::new();
    for (index, airing) in airings.iter().enumerate() {
        by_key.entry(&airing.key).or_default().push(index);
    }
    let mut used = vec![false; airings.len()];
    let mut items = Vec::new();
    for planned in planned_airings(plan, from, to) {
        let key = match planned.item_id {
            Some(id) => ItemKey::Id(id),
            None => ItemKey::Title(planned.title.clone()),
        };
        let overlap = |airing: &Airing| {
            (airing.end.min(planned.end) - airing.start.max(planned.start)).max(Ticks::ZERO)
        };
        let distance = |airing: &Airing| Ticks((airing.start - planned.start).0.abs());
        let best = by_key
            .get(&key)
            .into_iter()
            .flatten()
            .copied()
            .filter(|index| !used[*index])
            .max_by_key(|index| {
                let airing = &airings[*index];
                (overlap(airing), Ticks(-distance(airing).0))
            });
        let aired_span = best.map(|index| {
            used[index] = true;
            (airings[index].start, airings[index].end)
        });
        items.push(ItemReconciliation {
            ends_in_interval: planned.end <= to,
            planned,
            aired: aired_span,
        });
    }
    for (index, airing) in airings.iter().enumerate() {
        if !used[index] {
            unplanned.extend(&airing.runs);
        }
    }
    let mut unplanned: Vec<AiredRun> = unplanned
        .into_iter()
        .map(|index| aired[index].clone())
        .filter(|run| run.run_start < to && run.end > from)
        .collect();
    unplanned.sort_by_key(|run| run.run_start);
    Reconciliation { items, unplanned }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grid::{AdBreakSpec, GridItem, ProgrammeInfo, Start};
    use crate::plan::{PlanOptions, plan_grid};
    use crate::test_support::{asset, assets};
    use onair_domain::{Run, SegmentTrack};
    use std::sync::Arc;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(secs)
    }

    fn secs(ticks: Ticks) -> i64 {
        ticks.0 / 90_000
    }

    fn item(id: i64, asset_id: i64, start: Option<i64>, title: &str) -> GridItem {
        GridItem {
            id: Some(ScheduleItemId(id)),
            ..GridItem::new(
                AssetId(asset_id),
                start.map_or(Start::Soft, |secs| Start::Hard(at(secs))),
                ProgrammeInfo::titled(title),
            )
        }
    }

    /// Slate (asset 9) is 20 s in 10 s segments; "News" (asset 1) is 60 s in 10 s segments, with
    /// a 20 s break at 30 s; "Film" (asset 2) is 40 s. News at 100, a gap of 20 s, Film at 200,
    /// then the slate loops as the tail.
    fn evening() -> Plan {
        let assets = assets(vec![asset(1, 60, 10), asset(2, 40, 10), asset(9, 20, 10)]);
        let items = [
            GridItem {
                breaks: vec![AdBreakSpec::at(Ticks::from_secs(30), Ticks::from_secs(20))],
                ..item(11, 1, Some(100), "News")
            },
            item(12, 2, Some(200), "Film"),
        ];
        let options = PlanOptions {
            slate: Some(AssetId(9)),
            ..PlanOptions::default()
        };
        let (mut plan, _) = plan_grid(&items, &assets, &options);
        let track = SegmentTrack::new(assets[&AssetId(9)].segment_durations());
        let tail = Run::whole(RunKind::Slate, AssetId(9), "slate", Arc::new(track));
        let timeline = Arc::unwrap_or_clone(plan.timeline.take().unwrap());
        plan.timeline = Some(Arc::new(timeline.with_tail(tail).unwrap()));
        plan
    }

    /// `label title run_start-run_end [start-end]` in seconds.
    fn brief(run: &AiredRun) -> String {
        let clip = if (run.start, run.end) == (run.run_start, run.run_end) {
            String::new()
        } else {
            format!(" [{}-{}]", secs(run.start - at(0)), secs(run.end - at(0)))
        };
        format!(
            "{} {} {}-{}{clip}",
            run.label(),
            run.title,
            secs(run.run_start - at(0)),
            secs(run.run_end - at(0))
        )
    }

    #[test]
    fn the_runs_of_an_interval_are_programmes_breaks_and_slate_in_order() {
        let plan = evening();
        let runs = aired(&plan, at(100), at(240));
        let briefs: Vec<String> = runs.iter().map(brief).collect();
        assert_eq!(
            briefs,
            [
                "programme News 100-130",
                "ad_break ad break 130-150",
                "programme News 150-180",
                "slate slate 180-200",
                "programme Film 200-240",
            ]
        );
        let ids: Vec<Option<i64>> = runs.iter().map(|run| run.item_id.map(|id| id.0)).collect();
        assert_eq!(
            ids,
            [Some(11), Some(11), Some(11), None, Some(12)],
            "a break belongs to its item, gap fill to none"
        );
        assert_eq!(
            runs[1]
                .ad_break
                .map(|slot| (slot.number, secs(slot.duration))),
            Some((0, 20))
        );
        let sequences: Vec<u64> = runs.iter().map(|run| run.media_sequence).collect();
        assert_eq!(sequences, [0, 3, 5, 8, 10], "first segment of each run");
    }

    #[test]
    fn a_run_across_an_edge_is_clipped_but_keeps_the_instant_it_began() {
        let plan = evening();
        let runs = aired(&plan, at(140), at(160));
        let briefs: Vec<String> = runs.iter().map(brief).collect();
        assert_eq!(
            briefs,
            [
                "ad_break ad break 130-150 [140-150]",
                "programme News 150-180 [150-160]"
            ]
        );
    }

    #[test]
    fn consecutive_intervals_name_each_run_alike_so_their_records_join_without_duplicates() {
        let plan = evening();
        let cuts = [95, 117, 140, 150, 151, 199, 255, 300];
        let mut joined: Vec<(Timestamp, Timestamp, Timestamp)> = Vec::new();
        for pair in cuts.windows(2) {
            for run in aired(&plan, at(pair[0]), at(pair[1])) {
                match joined.last_mut() {
                    Some(last) if last.0 == run.run_start => {
                        assert_eq!(last.2, run.start, "pieces of one run meet");
                        last.2 = run.end;
                    }
                    _ => joined.push((run.run_start, run.start, run.end)),
                }
            }
        }
        let whole: Vec<(Timestamp, Timestamp, Timestamp)> = aired(&plan, at(95), at(300))
            .into_iter()
            .map(|run| (run.run_start, run.start, run.end))
            .collect();
        assert_eq!(joined, whole);
    }

    #[test]
    fn after_the_last_item_the_slate_tail_airs_pass_after_pass_without_an_item() {
        let plan = evening();
        let runs = aired(&plan, at(235), at(262));
        let briefs: Vec<String> = runs.iter().map(brief).collect();
        assert_eq!(
            briefs,
            [
                "programme Film 200-240 [235-240]",
                "slate slate 240-260",
                "slate slate 260-280 [260-262]"
            ]
        );
        assert!(runs[1..].iter().all(|run| run.item_id.is_none()));
        assert_eq!(runs[2].media_sequence, runs[1].media_sequence + 2);
    }

    #[test]
    fn nothing_airs_before_the_origin_or_in_an_empty_interval() {
        let plan = evening();
        assert_eq!(aired(&plan, at(0), at(100)), vec![]);
        assert_eq!(aired(&plan, at(150), at(150)), vec![]);
        assert_eq!(aired(&Plan::default(), at(0), at(1000)), vec![]);
        let from_before = aired(&plan, at(0), at(110));
        assert_eq!(from_before.len(), 1);
        assert_eq!(from_before[0].start, at(100));
    }

    #[test]
    fn what_has_aired_ends_on_the_last_segment_boundary() {
        let plan = evening();
        assert_eq!(aired_until(&plan, at(50)), None, "before the origin");
        assert_eq!(aired_until(&plan, at(100)), Some(at(100)));
        assert_eq!(aired_until(&plan, at(119)), Some(at(110)));
        assert_eq!(aired_until(&plan, at(1234)), Some(at(1230)), "in the tail");
    }

    #[test]
    fn a_repeating_grid_airs_each_pass_at_its_own_instants_with_its_item() {
        let assets = assets(vec![asset(1, 20, 10), asset(2, 10, 10)]);
        let items = [item(1, 1, Some(0), "A"), item(2, 2, None, "B")];
        let options = PlanOptions {
            grid_repeat: Some(Ticks::from_secs(30)),
            ..PlanOptions::default()
        };
        let (plan, _) = plan_grid(&items, &assets, &options);
        let runs = aired(&plan, at(55), at(95));
        let briefs: Vec<String> = runs.iter().map(brief).collect();
        assert_eq!(
            briefs,
            [
                "programme B 50-60 [55-60]",
                "programme A 60-80",
                "programme B 80-90",
                "programme A 90-110 [90-95]"
            ]
        );
        assert_eq!(runs[1].media_sequence, 6, "three segments per pass");
    }

    #[test]
    fn a_folded_plan_names_each_rotation_by_its_own_item() {
        let assets = assets(vec![asset(1, 10, 10)]);
        let items = [item(1, 1, Some(0), "Loop"), item(2, 1, Some(10), "Loop")];
        let options = PlanOptions {
            grid_repeat: Some(Ticks::from_secs(20)),
            ..PlanOptions::default()
        };
        let plan = plan_grid(&items, &assets, &options).0.folded();
        assert!(plan.fold.is_some(), "two identical rotations fold to one");
        let ids: Vec<Option<i64>> = aired(&plan, at(0), at(40))
            .iter()
            .map(|run| run.item_id.map(|id| id.0))
            .collect();
        assert_eq!(ids, [Some(1), Some(2), Some(1), Some(2)]);
        let planned: Vec<Option<i64>> = planned_airings(&plan, at(0), at(40))
            .iter()
            .map(|airing| airing.item_id.map(|id| id.0))
            .collect();
        assert_eq!(planned, [Some(1), Some(2), Some(1), Some(2)]);
    }

    #[test]
    fn a_live_event_airs_its_fallback_labelled_live_with_its_source() {
        let assets = assets(vec![asset(5, 10, 10)]);
        let items = [GridItem {
            id: Some(ScheduleItemId(7)),
            ..GridItem::live(
                "match-1",
                at(0),
                Ticks::from_secs(30),
                AssetId(5),
                ProgrammeInfo::titled("Cup final"),
            )
        }];
        let (plan, _) = plan_grid(&items, &assets, &PlanOptions::default());
        let runs = aired(&plan, at(0), at(30));
        assert_eq!(runs.len(), 3, "the fallback loops to fill the slot");
        assert!(runs.iter().all(|run| run.label() == "live"
            && run.live_source.as_deref() == Some("match-1")
            && run.item_id == Some(ScheduleItemId(7))
            && run.title == "Cup final"));
    }

    fn reconciled(reconciliation: &Reconciliation) -> Vec<String> {
        reconciliation
            .items
            .iter()
            .map(|item| {
                let delta =
                    |delta: Option<Ticks>| delta.map_or("-".into(), |d| secs(d).to_string());
                format!(
                    "{} planned {}-{} aired {} deltas {}/{}",
                    item.planned.title,
                    secs(item.planned.start - at(0)),
                    secs(item.planned.end - at(0)),
                    item.aired.map_or("never".into(), |(start, end)| format!(
                        "{}-{}",
                        secs(start - at(0)),
                        secs(end - at(0))
                    )),
                    delta(item.start_delta()),
                    delta(item.end_delta())
                )
            })
            .collect()
    }

    #[test]
    fn what_aired_as_planned_reconciles_with_zero_deltas_and_gap_fill_is_unplanned() {
        let plan = evening();
        let (span_from, span_to) = reconcile_span(&plan, at(140), at(245));
        assert_eq!(
            (span_from, span_to),
            (at(100), at(245)),
            "News from its start"
        );
        let aired_runs = aired(&plan, span_from, span_to);
        let reconciliation = reconcile(&plan, &aired_runs, at(140), at(245));
        assert_eq!(
            reconciled(&reconciliation),
            [
                "News planned 100-180 aired 100-180 deltas 0/0",
                "Film planned 200-240 aired 200-240 deltas 0/0"
            ]
        );
        let unplanned: Vec<String> = reconciliation.unplanned.iter().map(brief).collect();
        assert_eq!(
            unplanned,
            ["slate slate 180-200", "slate slate 240-260 [240-245]"]
        );
    }

    #[test]
    fn a_late_item_shows_its_deltas_and_what_did_not_air_is_listed_as_never() {
        let plan = evening();
        // News aired 10 s late and was cut 5 s short; Film never aired.
        let late = Ticks::from_secs(10);
        let mut aired_runs: Vec<AiredRun> = aired(&plan, at(100), at(250))
            .into_iter()
            .filter(|run| run.item_id == Some(ScheduleItemId(11)))
            .map(|run| AiredRun {
                run_start: run.run_start + late,
                run_end: run.run_end + late,
                start: run.start + late,
                end: run.end + late,
                ..run
            })
            .collect();
        aired_runs.last_mut().unwrap().end = at(175);
        let reconciliation = reconcile(&plan, &aired_runs, at(100), at(250));
        assert_eq!(
            reconciled(&reconciliation),
            [
                "News planned 100-180 aired 110-175 deltas 10/-5",
                "Film planned 200-240 aired never deltas -/-"
            ]
        );
        assert_eq!(reconciliation.unplanned, vec![]);
    }

    #[test]
    fn an_item_still_airing_at_the_end_of_the_interval_has_no_end_delta() {
        let plan = evening();
        let aired_runs = aired(&plan, at(100), at(120));
        let reconciliation = reconcile(&plan, &aired_runs, at(100), at(120));
        assert_eq!(
            reconciled(&reconciliation),
            ["News planned 100-180 aired 100-120 deltas 0/-"]
        );
    }

    #[test]
    fn runs_of_an_item_the_plan_no_longer_has_are_unplanned() {
        let plan = evening();
        let mut aired_runs = aired(&plan, at(200), at(240));
        aired_runs[0].item_id = Some(ScheduleItemId(99));
        let reconciliation = reconcile(&plan, &aired_runs, at(200), at(240));
        assert_eq!(
            reconciled(&reconciliation),
            ["Film planned 200-240 aired never deltas -/-"]
        );
        assert_eq!(reconciliation.unplanned.len(), 1);
        assert_eq!(
            reconciliation.unplanned[0].item_id,
            Some(ScheduleItemId(99))
        );
    }
}
