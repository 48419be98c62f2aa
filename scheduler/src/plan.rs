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
    /// In timeline order.
    pub items: Vec<PlannedItem>,
    /// For each run of the timeline, the index in `items` of the item it belongs to; `None`
    /// for gap fill (filler and slate).
    pub run_items: Vec<Option<usize>>,
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
        self.items.get((*self.run_items.get(run_index)?)?)
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
        if !timeline.repeats() || self.fold.is_some() || self.run_items.len() != n {
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
        let mut run_items = self.run_items;
        run_items.truncate(every);
        run_items.shrink_to_fit();
        Plan {
            timeline: Some(Arc::new(short)),
            items,
            run_items,
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
        let runs_match = self.run_items.iter().enumerate().all(|(run, item)| {
            let copy = run / every;
            *item == self.run_items[run % every].map(|item| item + copy * per_copy)
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
        "ad break of {title:?} at offset {offset} lasts {aired} instead of {planned}, in whole slate segments"
    )]
    BreakDurationRounded {
        title: String,
        offset: Ticks,
        planned: Ticks,
        aired: Ticks,
    },
    #[error("ad break of {title:?} at offset {offset} has no slate to fill it and was dropped")]
    BreakUnfilled { title: String, offset: Ticks },
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
        "the in or out point {point} of {title:?} moved {drift} to the nearest segment boundary"
    )]
    InOutPointMoved {
        title: String,
        point: Ticks,
        drift: Ticks,
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
            match track
                .durations()
                .iter()
                .copied()
                .min()
                .filter(|unit| unit.0 > 0)
            {
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
    let mut run_planned = Vec::with_capacity(runs.len());
    for (run_index, item_index) in run_items.iter().enumerate() {
        let Some(item_index) = *item_index else {
            run_planned.push(None);
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
        run_planned.push(Some(planned.len() - 1));
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
        run_items: run_planned,
        fold: None,
    };
    (plan, issues)
}

struct Filler {
    asset_id: AssetId,
    title: String,
    track: Arc<SegmentTrack>,
}

struct Planner<'a> {
    assets: &'a HashMap<AssetId, Asset>,
    /// Ready assets with segments.
    tracks: &'a HashMap<AssetId, Arc<SegmentTrack>>,
    runs: Vec<Run>,
    /// For each run, the input item it belongs to.
    run_items: Vec<Option<usize>>,
    run_starts: Vec<Timestamp>,
    cursor: Timestamp,
    slate: Option<(AssetId, Arc<SegmentTrack>)>,
    fillers: Vec<Filler>,
    /// Rotates through the fillers across gaps.
    next_filler: usize,
    options: &'a PlanOptions,
    issues: Vec<PlanIssue>,
    /// Breaks planned so far: numbers the next one.
    n_breaks: u32,
    /// The last hard item planned and where its own runs ended.
    last_hard: Option<(String, Timestamp)>,
}

impl Planner<'_> {
    fn push(&mut self, run: Run, item: Option<usize>) {
        self.run_starts.push(self.cursor);
        self.run_items.push(item);
        self.cursor = self.cursor + run.duration();
        self.runs.push(run);
    }

    fn plan_item(&mut self, index: usize, item: &GridItem) {
        let title = item.info.title.clone();
        let at = item.start.hard().unwrap_or(self.cursor);
        let Some(content) = self.content_runs(item, at) else {
            return;
        };
        let content_duration: Ticks = content.iter().map(Run::duration).sum();
        let total = content_duration + item.breaks.iter().map(|b| b.duration).sum();
        if let Some(window) = self.options.rights.get(&item.asset_id)
            && !window.allows(at, at + total)
        {
            self.issues.push(PlanIssue::OutsideRightsWindow {
                title,
                asset_id: item.asset_id,
                start: at,
                end: at + total,
                window: *window,
            });
            return;
        }
        if let Start::Hard(at) = item.start {
            self.land_hard_start(&title, at);
        }
        self.push_content_with_breaks(index, &title, content, &item.breaks);
        if item.start.hard().is_some() {
            self.last_hard = Some((title, self.cursor));
        }
    }

    /// The runs an item's content airs as, or `None` (reported) when it cannot air.
    fn content_runs(&mut self, item: &GridItem, at: Timestamp) -> Option<Vec<Run>> {
        let title = &item.info.title;
        let track = self.tracks.get(&item.asset_id).cloned();
        if let Some(live) = &item.live {
            // The fallback loops to fill the slot; without it, slate holds the slot.
            if let Some(track) = track {
                return Some(looped_runs(
                    item.asset_id,
                    title,
                    track,
                    RunKind::Programme,
                    live.duration,
                ));
            }
            self.report_unplayable(item, at);
            let runs = self.slate_runs(live.duration, RunKind::Slate);
            return (!runs.is_empty()).then_some(runs);
        }
        let Some(track) = track else {
            self.report_unplayable(item, at);
            return None;
        };
        let len = track.len();
        let first = self.snap(title, &track, item.in_point, 0);
        let end = self.snap(title, &track, item.out_point, len);
        if end <= first {
            self.issues.push(PlanIssue::EmptyInOut {
                title: title.clone(),
                in_point: item.in_point.unwrap_or(Ticks::ZERO),
                out_point: item.out_point.unwrap_or(track.start(len)),
            });
            return None;
        }
        Some(vec![Run {
            first_segment: first,
            n_segments: end - first,
            ..Run::whole(RunKind::Programme, item.asset_id, title.clone(), track)
        }])
    }

    /// The segment boundary nearest an in or out point (`default` when there is none).
    fn snap(
        &mut self,
        title: &str,
        track: &SegmentTrack,
        point: Option<Ticks>,
        default: u32,
    ) -> u32 {
        let Some(point) = point else {
            return default;
        };
        let boundary = nearest_boundary(track, 0, track.len(), point);
        let drift = Ticks((track.start(boundary) - point).0.abs());
        if drift > Ticks::ZERO {
            self.issues.push(PlanIssue::InOutPointMoved {
                title: title.to_owned(),
                point,
                drift,
            });
        }
        boundary
    }

    fn report_unplayable(&mut self, item: &GridItem, at: Timestamp) {
        let title = item.info.title.clone();
        let asset_id = item.asset_id;
        self.issues.push(if self.assets.contains_key(&asset_id) {
            PlanIssue::AssetNotReady {
                title,
                at,
                asset_id,
            }
        } else {
            PlanIssue::MissingAsset {
                title,
                at,
                asset_id,
            }
        });
    }

    /// The content, split at each break's segment boundary with the break between the parts.
    fn push_content_with_breaks(
        &mut self,
        item: usize,
        title: &str,
        content: Vec<Run>,
        breaks: &[AdBreakSpec],
    ) {
        let total: Ticks = content.iter().map(Run::duration).sum();
        let mut boundaries = vec![Ticks::ZERO];
        let mut offset = Ticks::ZERO;
        for run in &content {
            for index in run.first_segment..run.first_segment + run.n_segments {
                offset += run.track.duration(index);
                boundaries.push(offset);
            }
        }
        let mut breaks: Vec<&AdBreakSpec> = breaks.iter().collect();
        breaks.sort_by_key(|ad_break| ad_break.offset);
        let mut queue: VecDeque<Run> = content.into();
        let mut emitted = Ticks::ZERO;
        for ad_break in breaks {
            let boundary = nearest_offset(&boundaries, ad_break.offset);
            let drift = Ticks((boundary - ad_break.offset).0.abs());
            if drift > Ticks::ZERO && ad_break.offset < total {
                self.issues.push(PlanIssue::BreakMovedToBoundary {
                    title: title.to_owned(),
                    offset: ad_break.offset,
                    drift,
                });
            }
            while emitted < boundary {
                let Some(mut run) = queue.pop_front() else {
                    break;
                };
                let duration = run.duration();
                if emitted + duration <= boundary {
                    emitted += duration;
                    self.push(run, Some(item));
                    continue;
                }
                let base = run.track.start(run.first_segment);
                let mut n_segments = 0;
                while run.track.start(run.first_segment + n_segments) - base < boundary - emitted {
                    n_segments += 1;
                }
                let head = Run {
                    n_segments,
                    ..run.clone()
                };
                emitted += head.duration();
                run.first_segment += n_segments;
                run.n_segments -= n_segments;
                self.push(head, Some(item));
                queue.push_front(run);
            }
            self.push_break(item, title, ad_break);
        }
        for run in queue {
            self.push(run, Some(item));
        }
    }

    /// Fills one break slot with slate, in whole segments, as break runs sharing one slot.
    fn push_break(&mut self, item: usize, title: &str, ad_break: &AdBreakSpec) {
        let runs = self.slate_runs(ad_break.duration, RunKind::AdBreak);
        let offset = ad_break.offset;
        if runs.is_empty() {
            self.issues.push(PlanIssue::BreakUnfilled {
                title: title.to_owned(),
                offset,
            });
            return;
        }
        let aired: Ticks = runs.iter().map(Run::duration).sum();
        if aired != ad_break.duration {
            self.issues.push(PlanIssue::BreakDurationRounded {
                title: title.to_owned(),
                offset,
                planned: ad_break.duration,
                aired,
            });
        }
        let slot = BreakSlot {
            number: self.n_breaks,
            duration: aired,
        };
        self.n_breaks += 1;
        for run in runs {
            self.push(
                Run {
                    ad_break: Some(slot),
                    ..run
                },
                Some(item),
            );
        }
    }

    /// Slate lasting as near to `duration` as segments allow.
    fn slate_runs(&self, duration: Ticks, kind: RunKind) -> Vec<Run> {
        let Some((slate_id, track)) = self.slate.clone() else {
            return Vec::new();
        };
        let title = if kind == RunKind::AdBreak {
            "ad break"
        } else {
            "slate"
        };
        looped_runs(slate_id, title, track, kind, duration)
    }

    /// Brings the cursor to a hard start: pads a gap, or cuts what runs over. Before anything
    /// airs (the items before were skipped) it just moves there.
    fn land_hard_start(&mut self, title: &str, at: Timestamp) {
        if self.runs.is_empty() {
            self.cursor = at;
            return;
        }
        if at > self.cursor {
            self.fill_gap(at);
        } else if at < self.cursor {
            let before = self.cursor;
            self.cut_back_to(at);
            let cut = before - self.cursor;
            if cut > self.options.cut_threshold {
                self.issues.push(match &self.last_hard {
                    Some((first, hard_end)) if at < *hard_end => PlanIssue::Overlap {
                        first: first.clone(),
                        second: title.to_owned(),
                        at,
                        by: *hard_end - at,
                    },
                    _ => PlanIssue::PreviousItemCut {
                        title: title.to_owned(),
                        at,
                        cut,
                    },
                });
            }
        }
        if self.cursor != at {
            let drift = Ticks((self.cursor - at).0.abs());
            self.issues.push(PlanIssue::HardStartDrift {
                title: title.to_owned(),
                at,
                drift,
            });
        }
    }

    /// Pads up to `until`: whole fillers that fit, rotating, then slate segments ending on the
    /// boundary nearest to it.
    fn fill_gap(&mut self, until: Timestamp) {
        let gap_start = self.cursor;
        let gap = until - gap_start;
        let mut filler_time = Ticks::ZERO;
        'fill: while !self.fillers.is_empty() {
            for _ in 0..self.fillers.len() {
                let filler = &self.fillers[self.next_filler % self.fillers.len()];
                self.next_filler += 1;
                let run = Run::whole(
                    RunKind::Filler,
                    filler.asset_id,
                    filler.title.clone(),
                    filler.track.clone(),
                );
                let end = self.cursor + run.duration();
                let allowed = self
                    .options
                    .rights
                    .get(&filler.asset_id)
                    .is_none_or(|window| window.allows(self.cursor, end));
                if end <= until && allowed {
                    filler_time += run.duration();
                    self.push(run, None);
                    continue 'fill;
                }
            }
            break;
        }
        let remaining = until - self.cursor;
        if remaining > Ticks::ZERO {
            if self.slate.is_none() {
                self.issues.push(PlanIssue::GapUnfilled {
                    at: self.cursor,
                    duration: remaining,
                });
            }
            for run in self.slate_runs(remaining, RunKind::Slate) {
                self.push(run, None);
            }
        }
        if filler_time > Ticks::ZERO {
            self.issues.push(PlanIssue::GapFilledWithFiller {
                at: gap_start,
                duration: gap,
                filler: filler_time,
            });
        } else if self.slate.is_some() {
            self.issues.push(PlanIssue::GapFilled {
                at: gap_start,
                duration: gap,
            });
        }
    }

    /// Cuts runs at the segment boundary nearest to `at` (never earlier than a whole run).
    fn cut_back_to(&mut self, at: Timestamp) {
        while let Some(last) = self.runs.last_mut() {
            let run_start = self.cursor - last.duration();
            if run_start >= at {
                self.cursor = run_start;
                self.runs.pop();
                self.run_items.pop();
                self.run_starts.pop();
                continue;
            }
            let keep = at - run_start;
            let base = last.track.start(last.first_segment);
            let mut n_segments = 1;
            while n_segments < last.n_segments
                && last.track.start(last.first_segment + n_segments + 1) - base <= keep
            {
                n_segments += 1;
            }
            last.n_segments = n_segments;
            self.cursor = run_start + last.duration();
            break;
        }
    }
}

/// Whole passes of a track, then part of one, lasting as near to `duration` as segments allow.
fn looped_runs(
    asset_id: AssetId,
    title: &str,
    track: Arc<SegmentTrack>,
    kind: RunKind,
    duration: Ticks,
) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut filled = Ticks::ZERO;
    while filled < duration {
        let remaining = duration - filled;
        let whole = Run::whole(kind, asset_id, title, track.clone());
        if whole.duration() <= remaining {
            filled += whole.duration();
            runs.push(whole);
            continue;
        }
        let n_segments = nearest_boundary(&track, 0, track.len(), remaining);
        if n_segments > 0 {
            runs.push(Run {
                n_segments,
                ..whole
            });
        }
        break;
    }
    runs
}

/// The boundary in `boundaries` (sorted offsets) nearest to `offset`; ties go to the later.
fn nearest_offset(boundaries: &[Ticks], offset: Ticks) -> Ticks {
    let after = boundaries.partition_point(|boundary| *boundary < offset);
    let later = boundaries.get(after).copied();
    let earlier = after.checked_sub(1).map(|index| boundaries[index]);
    match (earlier, later) {
        (Some(earlier), Some(later)) if offset - earlier < later - offset => earlier,
        (_, Some(later)) => later,
        (Some(earlier), None) => earlier,
        (None, None) => Ticks::ZERO,
    }
}

/// The segment boundary (an index in `first..=end`) nearest to `offset` from segment `first`;
/// ties go to the later boundary.
fn nearest_boundary(track: &SegmentTrack, first: u32, end: u32, offset: Ticks) -> u32 {
    let base = track.start(first);
    let mut best = first;
    for boundary in first..=end {
        let distance = (track.start(boundary) - base - offset).0.abs();
        let best_distance = (track.start(best) - base - offset).0.abs();
        if distance <= best_distance {
            best = boundary;
        }
        if track.start(boundary) - base > offset {
            break;
        }
    }
    best
}

#[cfg(test)]
#[allow(clippy::type_complexity, reason = "table tests spell out their rows")]
mod tests {
    use super::*;
    use crate::test_support::{asset_with_segments as asset, assets};
    use onair_domain::{ChannelId, ScheduleItemId};

    fn item(asset_id: i64, start_secs: i64, hard_start: bool) -> ScheduleItem {
        ScheduleItem {
            id: ScheduleItemId(start_secs),
            channel_id: ChannelId(1),
            asset_id: AssetId(asset_id),
            start: Timestamp::from_unix_secs(start_secs),
            hard_start,
            title: format!("item at {start_secs}"),
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
    fn ad_break(item_start_secs: i64, offset_secs: i64, duration_secs: i64) -> AdBreak {
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
                plan.run_items.iter().filter(|item| item.is_none()).count() == runs.len() - 2,
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
                        .map(|(offset, duration)| {
                            AdBreakSpec::at(minutes(*offset), minutes(*duration))
                        })
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
        assert_eq!(layout(&plan), ["P25", "P25", "P10"]);
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
        assert_eq!(plan.run_items, vec![Some(0); 4]);
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
}
