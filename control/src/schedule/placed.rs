//! The schedule as a grid planner draws it: each item with where it ends (its asset up to its
//! length, cut at the segment boundary the planner cuts it at, plus the ad breaks that air),
//! items that started before the window and run into it included, and the rights check every
//! edit's new items pass.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use onair_domain::timeline::SegmentTrack;
use onair_domain::{AdBreak, Asset, AssetId, Channel, ScheduleItem, Ticks, Timestamp};
use onair_scheduler::plan::{RightsWindow, aired_out_point};
use onair_store::ScheduleEntry;

use super::metadata::ItemMetadata;
use super::{channel, entry_key, entry_of, lock_horizon, parse_instant, read_consistent};
use crate::grid::{GridDoc, InfoDoc};
use crate::{Control, Problem, Refusal};

/// How far before a window items are looked for that may still be airing when it opens.
pub const LOOKBACK: Ticks = Ticks::from_secs(86_400);

/// A schedule item with where it ends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlacedItem {
    pub item: ScheduleItem,
    pub breaks: Vec<AdBreak>,
    /// Its asset's length (`None`: the asset is gone).
    pub asset_length: Option<Ticks>,
    /// How much of the asset airs: up to its length, cut at a segment boundary, or all of it
    /// (`None`: the asset is gone).
    pub aired: Option<Ticks>,
    /// `start` + what airs of the asset + the breaks that air (its start when the asset is
    /// gone).
    pub end: Timestamp,
}

impl PlacedItem {
    /// Whether it started before `at` (it continues from an earlier window).
    pub fn started_before(&self, at: Timestamp) -> bool {
        self.item.start < at
    }
}

/// What airs during a window, as the schedule has it.
#[derive(Debug, Clone)]
pub struct PlacedSchedule {
    pub channel: Channel,
    pub version: i64,
    pub from: Timestamp,
    pub to: Timestamp,
    pub lock_horizon: Timestamp,
    /// By start: those starting in `[from, to)`, after those starting up to [`LOOKBACK`] before
    /// `from` and ending after it.
    pub items: Vec<PlacedItem>,
    /// The programme metadata of the channel's items at `version`.
    pub metadata: Arc<ItemMetadata>,
}

impl PlacedSchedule {
    /// `item`'s programme metadata, if it has any.
    pub fn info_of(&self, item: &ScheduleItem) -> Option<&InfoDoc> {
        self.metadata.get(&(item.start, item.asset_id))
    }
}

/// How much of `asset` an item of `length` airs: all of it without a length, else up to the
/// segment boundary the planner cuts it at.
pub fn aired_content(asset: &Asset, length: Option<Ticks>) -> Ticks {
    match length {
        None => asset.duration,
        Some(length) => aired_out_point(&SegmentTrack::new(asset.segment_durations()), length),
    }
}

/// Where an item ends: `start`, plus what airs of its asset (`aired`), plus every break but
/// those past its `length`, which do not air.
pub fn item_end(
    start: Timestamp,
    aired: Option<Ticks>,
    length: Option<Ticks>,
    breaks: &[AdBreak],
) -> Timestamp {
    match aired {
        None => start,
        Some(aired) => {
            start
                + aired
                + breaks
                    .iter()
                    .filter(|ad_break| length.is_none_or(|length| ad_break.offset <= length))
                    .map(|ad_break| ad_break.duration)
                    .sum()
        }
    }
}

/// Keeps the items starting in `[from, to)` and those before `from` that end after it.
pub fn airing_during(items: Vec<PlacedItem>, from: Timestamp, to: Timestamp) -> Vec<PlacedItem> {
    items
        .into_iter()
        .filter(|placed| (placed.item.start >= from || placed.end > from) && placed.item.start < to)
        .collect()
}

impl Control {
    /// The items of `slug` airing during `[from, to)` with their ends, read at one version,
    /// with the lock horizon now.
    pub async fn placed_schedule(
        &self,
        slug: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<PlacedSchedule, Refusal> {
        if to <= from {
            return Err(Refusal::BadRequest(format!(
                "the window {} to {} is empty",
                from.to_rfc3339_millis(),
                to.to_rfc3339_millis()
            )));
        }
        let channel = channel(&self.store, slug).await?;
        let (version, items) = read_consistent(&self.store, &channel, from - LOOKBACK, to).await?;
        let mut ids: Vec<AssetId> = items.iter().map(|(item, _)| item.asset_id).collect();
        ids.sort();
        ids.dedup();
        let assets: HashMap<AssetId, Asset> = self
            .store
            .assets_by_ids(&ids)
            .await?
            .into_iter()
            .map(|asset| (asset.id, asset))
            .collect();
        let placed = items
            .into_iter()
            .map(|(item, breaks)| {
                let asset = assets.get(&item.asset_id);
                let aired = asset.map(|asset| aired_content(asset, item.length));
                let end = item_end(item.start, aired, item.length, &breaks);
                PlacedItem {
                    asset_length: asset.map(|asset| asset.duration),
                    aired,
                    end,
                    item,
                    breaks,
                }
            })
            .collect();
        let lock_horizon = lock_horizon(self, &channel, self.clock.now()).await?;
        let metadata = self.item_metadata(&channel, version).await?;
        Ok(PlacedSchedule {
            channel,
            version,
            from,
            to,
            lock_horizon,
            items: airing_during(placed, from, to),
            metadata,
        })
    }
}

/// The rights windows of the channel's grid, by asset (malformed ones, which the grid's own
/// edits refuse, left out).
pub fn rights_windows(grid: &GridDoc) -> HashMap<AssetId, RightsWindow> {
    let instant = |text: &Option<String>| match text {
        None => Ok(None),
        Some(text) => parse_instant(text).map(Some),
    };
    grid.rights
        .iter()
        .filter_map(|doc| {
            let valid_from = instant(&doc.valid_from).ok()?;
            let valid_until = instant(&doc.valid_until).ok()?;
            Some((
                AssetId(doc.asset_id),
                RightsWindow {
                    valid_from,
                    valid_until,
                },
            ))
        })
        .collect()
}

/// The problems of the new or changed `entries` (each with its index) that would air outside
/// their asset's rights window (`lengths`: each asset's length); entries equal to one of
/// `current` are left alone, so an edit never trips on what it did not change.
pub fn rights_problems(
    rights: &HashMap<AssetId, RightsWindow>,
    lengths: &HashMap<AssetId, Ticks>,
    current: &[ScheduleEntry],
    entries: &[(usize, ScheduleEntry)],
) -> Vec<Problem> {
    if rights.is_empty() {
        return Vec::new();
    }
    let kept: HashSet<_> = current.iter().map(entry_key).collect();
    let mut problems = Vec::new();
    for (index, entry) in entries {
        let (item, breaks) = entry;
        let (Some(window), Some(length)) =
            (rights.get(&item.asset_id), lengths.get(&item.asset_id))
        else {
            continue;
        };
        if kept.contains(&entry_key(entry)) {
            continue;
        }
        let end = item.start + super::aired_length(*length, item.length, breaks);
        if !window.allows(item.start, end) {
            problems.push(Problem::at(
                *index,
                format!(
                    "{:?} would air {} to {}, outside the rights of asset {} ({window})",
                    item.title,
                    item.start.to_rfc3339_millis(),
                    end.to_rfc3339_millis(),
                    item.asset_id
                ),
            ));
        }
    }
    problems
}

/// Checks the new or changed `entries` of an edit of `windows` against the rights windows of
/// the channel's grid.
pub(super) async fn check_rights(
    state: &Control,
    channel: &Channel,
    windows: &[(Timestamp, Timestamp)],
    entries: &[(usize, ScheduleEntry)],
    problems: &mut Vec<Problem>,
) -> Result<(), Refusal> {
    let documents = state.store.grid_documents(channel.id).await?;
    let (grid, _) = GridDoc::as_of(&documents, None);
    let rights = rights_windows(&grid);
    if rights.is_empty() || entries.is_empty() {
        return Ok(());
    }
    let mut current: Vec<ScheduleEntry> = Vec::new();
    for (from, to) in windows {
        current.extend(
            state
                .store
                .schedule_between_with_ad_breaks(channel.id, *from, *to)
                .await?
                .into_iter()
                .map(entry_of),
        );
    }
    let mut ids: Vec<AssetId> = entries.iter().map(|(_, (item, _))| item.asset_id).collect();
    ids.sort();
    ids.dedup();
    let lengths: HashMap<AssetId, Ticks> = state
        .store
        .assets_by_ids(&ids)
        .await?
        .into_iter()
        .map(|asset| (asset.id, asset.duration))
        .collect();
    problems.extend(rights_problems(&rights, &lengths, &current, entries));
    Ok(())
}
