//! The planner: grid items plus their assets to a [`Timeline`] and its problems. Pure, and it
//! never aborts: whatever can air is planned, everything else is a [`PlanIssue`].
//!
//! Items come in chains: a hard item (a fixed wall-clock start) and the soft items that follow
//! it; chains are taken in order of their hard starts. A hard start lands exactly on a segment
//! boundary: when what runs before it runs long it is cut back to the boundary nearest the
//! start; when there is a gap it is padded, first with whole filler assets (rotating through
//! [`PlanOptions::filler`]), then with slate segments. The drift left between the hard start
//! and the boundary it landed on is reported ([`PlanIssue::HardStartDrift`]).
//!
//! Problems reported: gaps ([`PlanIssue::GapFilled`], [`PlanIssue::GapFilledWithFiller`],
//! [`PlanIssue::GapUnfilled`]); a cut beyond [`PlanOptions::cut_threshold`], as
//! [`PlanIssue::Overlap`] when it reaches into the previous *hard* item's own content (two hard
//! items overlap) and as [`PlanIssue::PreviousItemCut`] otherwise (soft items ran long); missing
//! and unready assets and assets outside their rights window (the item is skipped: slate is
//! better than airing without rights); hours over the ad cap ([`PlanIssue::AdCapExceeded`]).
//!
//! Live-event items plan as their fallback asset looping to fill the slot, and are marked live
//! in [`Plan::items`] so playout and live ingest can switch to the source.
//!
//! [`plan`] is the original entry point over stored [`ScheduleItem`]s and [`AdBreak`]s; it
//! converts them to [`GridItem`]s and calls [`plan_grid`].

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::ops::Range;
use std::sync::Arc;

use chrono_tz::Tz;
use onair_domain::timeline::SegmentTrack;
use onair_domain::{
    AdBreak, Asset, AssetId, AssetState, BreakSlot, Run, RunKind, ScheduleItem, ScheduleItemId,
    Ticks, Timeline, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::ad_policy;
use crate::grid::{AdBreakSpec, GridItem, LiveSource, ProgrammeInfo, Start};

mod planner;

pub use planner::aired_out_point;
use planner::{Filler, Planner};

/// What the original planner needs: stored items and breaks.
#[derive(Debug, Clone, Copy)]
pub struct PlanInput<'a> {
    /// The channel's items, in any order.
    pub items: &'a [ScheduleItem],
    /// The assets the items and the slate refer to.
    pub assets: &'a HashMap<AssetId, Asset>,
    /// The items' ad breaks, in any order. A break at offset zero airs before its item, one at or
    /// past the item's end after it, any other at the segment boundary nearest its offset.
    pub ad_breaks: &'a [AdBreak],
    /// Plays wherever nothing else is planned.
    pub slate: Option<AssetId>,
    /// When set, the grid from the first item's start repeats with this period.
    pub grid_repeat: Option<Ticks>,
}

/// When an asset may air: from `valid_from` (included) until `valid_until` (excluded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct RightsWindow {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_until: Option<Timestamp>,
}

impl RightsWindow {
    /// Whether an airing from `start` to `end` lies wholly inside the window.
    pub fn allows(&self, start: Timestamp, end: Timestamp) -> bool {
        self.valid_from.is_none_or(|from| start >= from)
            && self.valid_until.is_none_or(|until| end <= until)
    }
}

impl fmt::Display for RightsWindow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.valid_from, self.valid_until) {
            (Some(from), Some(until)) => write!(f, "valid from {from} until {until}"),
            (Some(from), None) => write!(f, "valid from {from}"),
            (None, Some(until)) => write!(f, "valid until {until}"),
            (None, None) => f.write_str("always valid"),
        }
    }
}

/// How to plan, beyond the items and assets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanOptions {
    /// Plays wherever nothing else is planned, in whole segments.
    pub slate: Option<AssetId>,
    /// Short assets (promos, idents) that fill gaps, whole, before slate does.
    pub filler: Vec<AssetId>,
    /// When set, the grid from the first item's start repeats with this period.
    pub grid_repeat: Option<Ticks>,
    /// A hard start may cut up to this much off what runs before it without a problem.
    pub cut_threshold: Ticks,
    /// When assets may air; an asset not listed may always air.
    pub rights: HashMap<AssetId, RightsWindow>,
    /// At most this much ad time per clock hour (in `zone`), e.g. 8 minutes for Roku.
    pub max_ad_per_hour: Option<Ticks>,
    /// The channel's zone: clock hours for the ad cap.
    pub zone: Tz,
    /// When set and before the first programme, the timeline starts here, with gap fill
    /// (filler, then slate) up to the first programme: a channel airs from the moment its
    /// grid is published, not only from when its first programme starts.
    pub starts_at: Option<Timestamp>,
}

impl Default for PlanOptions {
    fn default() -> PlanOptions {
        PlanOptions {
            slate: None,
            filler: Vec::new(),
            grid_repeat: None,
            cut_threshold: Ticks::ZERO,
            rights: HashMap::new(),
            max_ad_per_hour: None,
            zone: Tz::UTC,
            starts_at: None,
        }
    }
}

/// An item as planned: where its runs (content and its breaks) are in the timeline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedItem {
    /// Index of the item in the planner's input.
    pub index: usize,
    pub id: Option<ScheduleItemId>,
    pub asset_id: AssetId,
    pub info: ProgrammeInfo,
    /// Set for a live event (which airs its fallback for now).
    pub live: Option<LiveSource>,
    /// The blocks that placed it, outermost first ([`GridItem::blocks`]).
    pub blocks: Option<Arc<[String]>>,
    /// When its first run starts, in the first pass of the timeline.
    pub start: Timestamp,
    /// When its last run (content or break) ends.
    pub end: Timestamp,
    /// Its runs in [`Timeline::runs`].
    pub runs: Range<usize>,
}

/// The planner's result: the timeline and where each item landed in it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Plan {
    /// `None` only when nothing at all can air. Shared: playout airs this very timeline.
    pub timeline: Option<Arc<Timeline>>,
    /// In timeline order: their run ranges ascend and never overlap. Runs in no item's range
    /// are gap fill (filler and slate).
    pub items: Vec<PlannedItem>,
    /// Set by [`Plan::folded`]: the grid was `copies` identical rotations, held once.
    pub fold: Option<Fold>,
}

/// How a folded plan stands for the rotations it was made of: `items` hold the first
/// rotation, and pass `p` of the folded timeline is rotation `p mod copies` of the original.
/// Only the schedule item ids differ between rotations; they are kept here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fold {
    pub copies: usize,
    pub ids: FoldedIds,
}

/// The schedule item ids of every rotation of a folded plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoldedIds {
    /// Rotation `c`'s item `j` has the id of the first rotation's item `j` plus `c × stride`
    /// (items saved in order get consecutive ids), or none when the first's has none.
    Stride(i64),
    /// Every rotation's ids, rotation after rotation.
    List(Vec<Option<ScheduleItemId>>),
}

impl Plan {
    /// The item a run of the timeline belongs to.
    pub fn item_of_run(&self, run_index: usize) -> Option<&PlannedItem> {
        self.items.get(self.item_index_of_run(run_index)?)
    }

    /// The index in `items` of the item a run of the timeline belongs to; `None` for gap fill.
    /// Found from the items' run ranges, so a plan keeps nothing per run (a FAST day's slate
    /// looped through its breaks is thousands of runs).
    pub fn item_index_of_run(&self, run_index: usize) -> Option<usize> {
        let index = self
            .items
            .partition_point(|item| item.runs.start <= run_index)
            .checked_sub(1)?;
        self.items[index].runs.contains(&run_index).then_some(index)
    }

    /// The schedule item id of `items[item_index]` as it airs in pass `pass` of the timeline
    /// (pass 0 starts at the origin). The same as `items[item_index].id` unless folded.
    pub fn item_id(&self, item_index: usize, pass: i64) -> Option<ScheduleItemId> {
        let item = self.items.get(item_index)?;
        let Some(fold) = &self.fold else {
            return item.id;
        };
        let copy = pass.rem_euclid(fold.copies as i64);
        match &fold.ids {
            FoldedIds::Stride(stride) => item.id.map(|id| ScheduleItemId(id.0 + copy * stride)),
            FoldedIds::List(ids) => ids
                .get(copy as usize * self.items.len() + item_index)
                .copied()
                .flatten(),
        }
    }

    /// The same plan, held once per rotation when its repeating timeline is made of identical
    /// rotations (the same runs, and items with the same asset, metadata and place in each):
    /// it airs the same segments with the same numbers and gives the same EPG, in a fraction
    /// of the memory. A looping 24 h grid of a one-minute rotation folds to one minute. The
    /// shortest such rotation is chosen; a plan that has none is returned as it is.
    pub fn folded(self) -> Plan {
        let Some(timeline) = self.timeline.as_deref() else {
            return self;
        };
        let n = timeline.runs().len();
        if !timeline.repeats() || self.fold.is_some() {
            return self;
        }
        let Some(every) = (1..n)
            .filter(|every| n.is_multiple_of(*every))
            .find(|every| timeline.repeats_every(*every) && self.items_repeat_every(*every))
        else {
            return self;
        };
        let copies = n / every;
        let per_copy = self.items.len() / copies;
        let Ok(short) = timeline.with_first_runs(every) else {
            return self;
        };
        let ids: Vec<Option<ScheduleItemId>> = self.items.iter().map(|item| item.id).collect();
        let stride = match (
            ids.first().copied().flatten(),
            ids.get(per_copy).copied().flatten(),
        ) {
            (Some(first), Some(second)) => Some(second.0 - first.0),
            _ => None,
        };
        let strided = stride.is_some_and(|stride| {
            ids.iter().enumerate().all(|(index, id)| {
                let base = ids[index % per_copy];
                let copy = (index / per_copy) as i64;
                *id == base.map(|base| ScheduleItemId(base.0 + copy * stride))
            })
        });
        let ids = match stride {
            Some(stride) if strided => FoldedIds::Stride(stride),
            _ => FoldedIds::List(ids),
        };
        let mut items = self.items;
        items.truncate(per_copy);
        items.shrink_to_fit();
        Plan {
            timeline: Some(Arc::new(short)),
            items,
            fold: Some(Fold { copies, ids }),
        }
    }

    /// Whether items and their runs repeat with the runs, every `every` runs.
    fn items_repeat_every(&self, every: usize) -> bool {
        let Some(timeline) = self.timeline.as_deref() else {
            return false;
        };
        let copies = timeline.runs().len() / every;
        if copies < 2 || !self.items.len().is_multiple_of(copies) {
            return false;
        }
        let per_copy = self.items.len() / copies;
        let copy_length = Ticks(timeline.period().0 / copies as i64);
        let runs_match = (0..timeline.runs().len()).all(|run| {
            let copy = run / every;
            self.item_index_of_run(run)
                == self
                    .item_index_of_run(run % every)
                    .map(|item| item + copy * per_copy)
        });
        runs_match
            && self.items.iter().enumerate().all(|(index, item)| {
                let base = &self.items[index % per_copy];
                let copy = index / per_copy;
                let shift = Ticks(copy_length.0 * copy as i64);
                item.asset_id == base.asset_id
                    && item.info == base.info
                    && item.live == base.live
                    && item.blocks == base.blocks
                    && item.start == base.start + shift
                    && item.end == base.end + shift
                    && item.runs.start == base.runs.start + copy * every
                    && item.runs.end == base.runs.end + copy * every
                    && base.runs.end <= every
            })
    }
}

/// A problem found while planning. The timeline still airs (with filler or slate where needed).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanIssue {
    #[error("nothing is scheduled")]
    NothingScheduled,
    #[error("item {title:?} at {at} refers to asset {asset_id}, which does not exist")]
    MissingAsset {
        title: String,
        at: Timestamp,
        asset_id: AssetId,
    },
    #[error("item {title:?} at {at} refers to asset {asset_id}, which is not ready")]
    AssetNotReady {
        title: String,
        at: Timestamp,
        asset_id: AssetId,
    },
    #[error("gap of {duration} at {at} filled with slate")]
    GapFilled { at: Timestamp, duration: Ticks },
    #[error("gap of {duration} at {at} filled with {filler} of filler, the rest with slate")]
    GapFilledWithFiller {
        at: Timestamp,
        duration: Ticks,
        filler: Ticks,
    },
    #[error("gap of {duration} at {at} and no slate to fill it")]
    GapUnfilled { at: Timestamp, duration: Ticks },
    #[error("hard start of {title:?} at {at} cuts {cut} from the item before it")]
    PreviousItemCut {
        title: String,
        at: Timestamp,
        cut: Ticks,
    },
    #[error("hard items {first:?} and {second:?} overlap by {by}: {second:?} starts at {at}")]
    Overlap {
        first: String,
        second: String,
        at: Timestamp,
        by: Ticks,
    },
    #[error(
        "hard start of {title:?} is {drift} off its planned time {at}, the nearest segment boundary"
    )]
    HardStartDrift {
        title: String,
        at: Timestamp,
        drift: Ticks,
    },
    #[error("the grid runs {over} past its repeat period and was cut")]
    GridCutToPeriod { over: Ticks },
    #[error(
        "ad break of {title:?} at offset {offset} moved {drift} to the nearest segment boundary"
    )]
    BreakMovedToBoundary {
        title: String,
        offset: Ticks,
        drift: Ticks,
    },
    #[error(
        "ad break of {title:?} at {at} (offset {offset}) lasts {aired} instead of {planned}, in whole slate segments"
    )]
    BreakDurationRounded {
        title: String,
        /// Where the break airs.
        at: Timestamp,
        offset: Ticks,
        planned: Ticks,
        aired: Ticks,
    },
    #[error(
        "ad break of {title:?} at {at} (offset {offset}) has no slate to fill it and was dropped"
    )]
    BreakUnfilled {
        title: String,
        /// Where the break would have aired.
        at: Timestamp,
        offset: Ticks,
    },
    #[error(
        "item {title:?} would air {start} to {end}, outside the rights of asset {asset_id} ({window}), and was skipped"
    )]
    OutsideRightsWindow {
        title: String,
        asset_id: AssetId,
        start: Timestamp,
        end: Timestamp,
        window: RightsWindow,
    },
    #[error("the clock hour from {hour} has {ads} of ads, {over} over the cap of {cap}")]
    AdCapExceeded {
        hour: Timestamp,
        ads: Ticks,
        cap: Ticks,
        over: Ticks,
    },
    #[error(
        "the in or out point {point} of {title:?} at {at} moved {drift} to the nearest segment boundary"
    )]
    InOutPointMoved {
        title: String,
        /// Where the item airs.
        at: Timestamp,
        point: Ticks,
        drift: Ticks,
    },
    #[error(
        "ad break of {title:?} at {at}, offset {offset}, is past its out point {out_point}, where the item is cut, and does not air"
    )]
    BreakPastOutPoint {
        title: String,
        /// Where the item airs.
        at: Timestamp,
        offset: Ticks,
        out_point: Ticks,
    },
    #[error(
        "item {title:?} plays nothing between its in point {in_point} and out point {out_point} and was skipped"
    )]
    EmptyInOut {
        title: String,
        in_point: Ticks,
        out_point: Ticks,
    },
    #[error("soft item {title:?} comes before any hard start, so it has no time, and was skipped")]
    SoftStartWithoutAnchor { title: String },
    #[error("filler asset {asset_id} does not exist or is not ready and was left out")]
    FillerUnusable { asset_id: AssetId },
}

/// Plans stored items: converts them to grid items (sorted by start; the first item, hard or
/// not, anchors the grid) and calls [`plan_grid`]. `None` only when nothing at all can air.
pub fn plan(input: PlanInput<'_>) -> (Option<Timeline>, Vec<PlanIssue>) {
    let (plan, issues) = plan_stored(input);
    (plan.timeline.map(Arc::unwrap_or_clone), issues)
}

/// [`plan`], keeping the whole [`Plan`] (where each item landed), which the EPG is built from.
pub fn plan_stored(input: PlanInput<'_>) -> (Plan, Vec<PlanIssue>) {
    let mut breaks_of: HashMap<ScheduleItemId, Vec<&AdBreak>> = HashMap::new();
    for ad_break in input.ad_breaks {
        breaks_of
            .entry(ad_break.schedule_item_id)
            .or_default()
            .push(ad_break);
    }
    let mut items: Vec<&ScheduleItem> = input.items.iter().collect();
    items.sort_by_key(|item| item.start);
    let grid: Vec<GridItem> = items
        .iter()
        .enumerate()
        .map(|(position, item)| {
            let mut breaks = breaks_of.remove(&item.id).unwrap_or_default();
            breaks.sort_by_key(|ad_break| (ad_break.offset, ad_break.id));
            let start = if position == 0 || item.hard_start {
                Start::Hard(item.start)
            } else {
                Start::Soft
            };
            GridItem {
                id: Some(item.id),
                breaks: breaks
                    .iter()
                    .map(|ad_break| AdBreakSpec::at(ad_break.offset, ad_break.duration))
                    .collect(),
                out_point: item.length,
                ..GridItem::new(item.asset_id, start, ProgrammeInfo::titled(&item.title))
            }
        })
        .collect();
    let options = PlanOptions {
        slate: input.slate,
        grid_repeat: input.grid_repeat,
        ..PlanOptions::default()
    };
    plan_grid(&grid, input.assets, &options)
}

/// Plans grid items (already flattened, filled and with their breaks) into a timeline.
pub fn plan_grid(
    items: &[GridItem],
    assets: &HashMap<AssetId, Asset>,
    options: &PlanOptions,
) -> (Plan, Vec<PlanIssue>) {
    let mut issues = Vec::new();
    let tracks: HashMap<AssetId, Arc<SegmentTrack>> = assets
        .values()
        .filter(|asset| asset.state == AssetState::Ready)
        .map(|asset| {
            (
                asset.id,
                Arc::new(SegmentTrack::new(asset.segment_durations())),
            )
        })
        .filter(|(_, track)| !track.is_empty())
        .collect();
    let slate = options
        .slate
        .and_then(|id| Some((id, tracks.get(&id)?.clone())));
    let mut fillers = Vec::new();
    for id in &options.filler {
        match (assets.get(id), tracks.get(id)) {
            (Some(asset), Some(track)) => fillers.push(Filler {
                asset_id: *id,
                title: asset.title.clone(),
                track: track.clone(),
            }),
            _ => issues.push(PlanIssue::FillerUnusable { asset_id: *id }),
        }
    }

    // Chains: a hard item and the soft items after it, in order of their hard starts.
    let mut chains: Vec<(Timestamp, Vec<usize>)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        match (item.start, chains.last_mut()) {
            (Start::Hard(at), _) => chains.push((at, vec![index])),
            (Start::Soft, Some((_, chain))) => chain.push(index),
            (Start::Soft, None) => issues.push(PlanIssue::SoftStartWithoutAnchor {
                title: item.info.title.clone(),
            }),
        }
    }
    chains.sort_by_key(|(at, _)| *at);
    let Some((origin, _)) = chains.first() else {
        issues.push(PlanIssue::NothingScheduled);
        return (Plan::default(), issues);
    };
    let first_start = *origin;
    // Slate before the first programme, from `starts_at` moved back to a whole number of
    // slate segments before it, so the first programme keeps its exact start.
    let origin = match (options.starts_at, &slate) {
        (Some(at), Some((_, track))) if at < first_start => {
            match track.durations().min().filter(|unit| unit.0 > 0) {
                Some(unit) => {
                    let gap = (first_start - at).0;
                    first_start - Ticks((gap + unit.0 - 1) / unit.0 * unit.0)
                }
                None => first_start,
            }
        }
        _ => first_start,
    };

    let mut planner = Planner {
        assets,
        tracks: &tracks,
        runs: Vec::new(),
        run_items: Vec::new(),
        run_starts: Vec::new(),
        cursor: origin,
        slate,
        fillers,
        next_filler: 0,
        options,
        issues,
        n_breaks: 0,
        last_hard: None,
    };
    if origin < first_start {
        planner.fill_gap(first_start);
    }
    for index in chains.into_iter().flat_map(|(_, chain)| chain) {
        planner.plan_item(index, &items[index]);
    }

    // The first run may start after the first chain's start, when what came first was skipped.
    let origin = planner.run_starts.first().copied().unwrap_or(origin);
    if let Some(period) = options.grid_repeat {
        let grid_end = origin + period;
        if planner.cursor < grid_end {
            planner.fill_gap(grid_end);
        } else if planner.cursor > grid_end {
            let over = planner.cursor - grid_end;
            planner.cut_back_to(grid_end);
            planner.issues.push(PlanIssue::GridCutToPeriod { over });
        }
    }

    let Planner {
        runs,
        run_items,
        run_starts,
        mut issues,
        ..
    } = planner;
    let mut planned: Vec<PlannedItem> = Vec::new();
    for (run_index, item_index) in run_items.iter().enumerate() {
        let Some(item_index) = *item_index else {
            continue;
        };
        let end = run_starts[run_index] + runs[run_index].duration();
        match planned.last_mut() {
            Some(last) if last.index == item_index && last.runs.end == run_index => {
                last.runs.end = run_index + 1;
                last.end = end;
            }
            _ => {
                let item = &items[item_index];
                planned.push(PlannedItem {
                    index: item_index,
                    id: item.id,
                    asset_id: item.asset_id,
                    info: item.info.clone(),
                    live: item.live.clone(),
                    blocks: item.blocks.clone(),
                    start: run_starts[run_index],
                    end,
                    runs: run_index..run_index + 1,
                });
            }
        }
    }
    let timeline = Timeline::new(origin, runs, options.grid_repeat.is_some(), 0, 0).ok();
    if let (Some(timeline), Some(cap)) = (&timeline, options.max_ad_per_hour) {
        for hour in ad_policy::hours_over_cap(timeline, options.zone, cap) {
            issues.push(PlanIssue::AdCapExceeded {
                hour: hour.hour,
                ads: hour.ads,
                cap,
                over: hour.ads - cap,
            });
        }
    }
    let plan = Plan {
        timeline: timeline.map(Arc::new),
        items: planned,
        fold: None,
    };
    (plan, issues)
}

#[cfg(test)]
#[allow(clippy::type_complexity, reason = "table tests spell out their rows")]
mod tests;

#[cfg(test)]
mod length_tests;
