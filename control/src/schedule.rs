//! Schedule edits: read a channel's schedule, replace windows of it atomically under a version
//! precondition and the lock horizon, and list and restore published versions.
//!
//! **Serialised edits.** Every edit names the schedule version it was made on. If the schedule
//! moved on since, the edit is refused ([`Refusal::Conflict`]) with the current version: two
//! clients editing at once never lose an edit, the second reloads and applies again. The check
//! and the write are one transaction (`UPDATE … WHERE schedule_version = $expected`).
//!
//! **Validation.** An edit with any problem (malformed instants, items outside the window,
//! unknown or unready assets, lengths that are not positive or run past the asset (named by
//! the field `length_ms`), bad ad breaks, hard items that overlap) is refused whole
//! ([`Refusal::Invalid`]), every problem listed with the item's index. Nothing is half-applied.
//!
//! **Lock horizon.** What airs before `now + window + margin` is frozen: `now` is the control
//! plane's clock, `window` the channel's `window_segments` × its ladder's segment duration (what
//! players may already have listed), `margin` [`DEFAULT_LOCK_MARGIN`] (2 minutes) unless the
//! server says otherwise. An edit or restore whose earliest actual change starts before the
//! horizon is refused ([`Refusal::Locked`]); unchanged items inside it may be sent back as they
//! are. A resize (a new length) changes what airs from the item's start, as a move does.
//!
//! **Rights windows.** A new or changed item must air wholly inside its asset's rights window
//! in the channel's grid (`rights`); items sent back unchanged are not checked again.
//!
//! **Versions.** Every publication through the control plane is kept with its author, its
//! instant and the whole schedule it left.
//!
//! [`placed`] reads the schedule as a grid planner draws it (each item with its end).

use std::collections::HashMap;
use std::sync::Arc;

use onair_domain::{
    AdBreak, AssetId, AssetState, Channel, ChannelSlug, ScheduleItem, Ticks, Timestamp,
};
use onair_store::grid::{GridDocuments, GridKind};
use onair_store::{
    NewAdBreak, NewScheduleItem, PublishedVersion, ScheduleEdit, ScheduleEntry, Store,
};
use serde::{Deserialize, Serialize};

use crate::grid::InfoDoc;
use crate::transfer::restore;
use crate::{Control, Problem, Refusal};

pub mod metadata;
pub mod placed;
pub mod reads;
#[cfg(test)]
mod tests;

/// The safety margin of the lock horizon unless configured otherwise.
pub const DEFAULT_LOCK_MARGIN: Ticks = Ticks::from_secs(120);

/// An item of a schedule edit, as the API, the import files and the CLI give it: `start`
/// stays text (RFC 3339) so that each malformed one is reported with its index.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemDraft {
    pub asset_id: i64,
    /// RFC 3339.
    pub start: String,
    #[serde(default = "yes")]
    pub hard_start: bool,
    pub title: String,
    /// How much of the asset airs, in integer milliseconds from its start (its out point; cut
    /// at a segment boundary when planned); absent: the whole asset. Ad breaks past it do not
    /// air.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length_ms: Option<i64>,
    #[serde(default)]
    pub ad_breaks: Vec<BreakDraft>,
    /// Its programme metadata for the EPG (episode, description, genres, rating, artwork); its
    /// `title` is the item's. Absent: what is stored for the item stays as it is (see
    /// [`metadata`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub info: Option<InfoDoc>,
}

fn yes() -> bool {
    true
}

/// An ad break of an item, in integer milliseconds (offset 0: before the item).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakDraft {
    pub offset_ms: i64,
    pub duration_ms: i64,
}

/// A window of a channel's schedule as read: the version it was read at and its items.
#[derive(Debug, Clone)]
pub struct ScheduleWindow {
    pub channel: Channel,
    pub version: i64,
    pub from: Timestamp,
    pub to: Timestamp,
    pub lock_horizon: Timestamp,
    pub items: Vec<(ScheduleItem, Vec<AdBreak>)>,
    /// The programme metadata of the channel's items at `version`.
    pub metadata: Arc<metadata::ItemMetadata>,
}

impl ScheduleWindow {
    /// `item`'s programme metadata, if it has any.
    pub fn info_of(&self, item: &ScheduleItem) -> Option<&InfoDoc> {
        self.metadata.get(&(item.start, item.asset_id))
    }
}

/// What a restore did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Restored {
    /// The schedule version after the restore.
    pub version: i64,
    /// The schedule already was the restored version's: nothing was published.
    pub unchanged: bool,
}

impl Control {
    /// The items of `slug` starting in `[from, to)`, with the version they were read at and
    /// the lock horizon now.
    pub async fn schedule(
        &self,
        slug: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<ScheduleWindow, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let reads = self.plan_cache.reads();
        let version = self.store.schedule_version(channel.id).await?;
        let (version, items) = match reads.window(channel.id, version, from, to) {
            Some(items) => (version, Vec::clone(&items)),
            None => {
                let (version, items) = read_consistent(&self.store, &channel, from, to).await?;
                reads.keep(channel.id, version, from, to, Arc::new(items.clone()));
                (version, items)
            }
        };
        let lock_horizon = lock_horizon(self, &channel, self.clock.now()).await?;
        let metadata = self.item_metadata(&channel, version).await?;
        Ok(ScheduleWindow {
            channel,
            version,
            from,
            to,
            lock_horizon,
            items,
            metadata,
        })
    }

    /// Replaces the items starting in `[from, to)` of `slug` with `items`, made on version
    /// `expected` (refused without one), published by `author`; returns the new version.
    pub async fn replace_schedule(
        &self,
        slug: &str,
        expected: Option<i64>,
        from: &str,
        to: &str,
        items: &[ItemDraft],
        author: &str,
    ) -> Result<i64, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let expected = expected.ok_or(Refusal::PreconditionRequired)?;
        let mut problems = Vec::new();
        let window = parse_window(from, to, &mut problems);
        let windows: Vec<(Timestamp, Timestamp)> = window.into_iter().collect();
        submit(
            self,
            &channel,
            author,
            expected,
            &windows,
            items,
            problems,
            |problem| problem,
        )
        .await
    }

    /// The published versions of `slug`'s schedule, newest first.
    pub async fn schedule_versions(&self, slug: &str) -> Result<Vec<PublishedVersion>, Refusal> {
        let channel = channel(&self.store, slug).await?;
        Ok(self.store.published_versions(channel.id).await?)
    }

    /// One published version of `slug`'s schedule.
    pub async fn schedule_version(
        &self,
        slug: &str,
        number: i64,
    ) -> Result<PublishedVersion, Refusal> {
        let channel = channel(&self.store, slug).await?;
        published(&self.store, &channel, number).await
    }

    /// The current schedule version of `slug`.
    pub async fn current_version(&self, slug: &str) -> Result<i64, Refusal> {
        let channel = channel(&self.store, slug).await?;
        Ok(self.store.schedule_version(channel.id).await?)
    }

    /// Makes published version `number` of `slug`'s schedule current again: only what changes
    /// from the earliest difference on is replaced, in a new version by `author` made on
    /// `expected` (the current version when `None`), and a difference inside the lock horizon
    /// is refused.
    pub async fn restore_schedule(
        &self,
        slug: &str,
        number: i64,
        expected: Option<i64>,
        author: &str,
    ) -> Result<Restored, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let expected = match expected {
            Some(version) => version,
            None => self.store.schedule_version(channel.id).await?,
        };
        restore(self, &channel, number, expected, author).await
    }
}

/// The window of a read from RFC 3339 text: by default the 24 hours from `now`.
pub fn read_window(
    from: Option<&str>,
    to: Option<&str>,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), Refusal> {
    let from = match from {
        Some(text) => {
            parse_instant(text).map_err(|error| Refusal::BadRequest(format!("from: {error}")))?
        }
        None => now,
    };
    let to = match to {
        Some(text) => {
            parse_instant(text).map_err(|error| Refusal::BadRequest(format!("to: {error}")))?
        }
        None => from + Ticks::from_secs(86_400),
    };
    if to <= from {
        return Err(Refusal::BadRequest(format!(
            "the window {} to {} is empty",
            from.to_rfc3339_millis(),
            to.to_rfc3339_millis()
        )));
    }
    Ok((from, to))
}

/// The schedule version and the items starting in `[from, to)`, read so that they agree: the
/// two reads are retried while an edit lands between them.
pub async fn read_consistent(
    store: &Store,
    channel: &Channel,
    from: Timestamp,
    to: Timestamp,
) -> Result<(i64, Vec<(ScheduleItem, Vec<AdBreak>)>), Refusal> {
    for _ in 0..10 {
        let version = store.schedule_version(channel.id).await?;
        let items = store
            .schedule_between_with_ad_breaks(channel.id, from, to)
            .await?;
        if store.schedule_version(channel.id).await? == version {
            return Ok((version, items));
        }
    }
    Err(Refusal::Conflict(format!(
        "the schedule of {} is changing too fast to be read; try again",
        channel.slug
    )))
}

/// `[from, to)` from RFC 3339 text, or `None` after noting the problems.
pub fn parse_window(
    from: &str,
    to: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Timestamp, Timestamp)> {
    let from = parse_instant(from)
        .map_err(|error| problems.push(Problem::whole(format!("from: {error}"))))
        .ok();
    let to = parse_instant(to)
        .map_err(|error| problems.push(Problem::whole(format!("to: {error}"))))
        .ok();
    let (from, to) = (from?, to?);
    if to <= from {
        problems.push(Problem::whole(format!(
            "the window {} to {} is empty",
            from.to_rfc3339_millis(),
            to.to_rfc3339_millis()
        )));
        return None;
    }
    Some((from, to))
}

/// Checks `items` against `windows` (empty when they were malformed: `problems` says why),
/// refuses the whole edit with every problem (each passed through `locate`, which may turn an
/// item's index into a line), checks the lock horizon, and publishes.
#[allow(clippy::too_many_arguments)]
pub async fn submit(
    state: &Control,
    channel: &Channel,
    author: &str,
    expected: i64,
    windows: &[(Timestamp, Timestamp)],
    items: &[ItemDraft],
    mut problems: Vec<Problem>,
    locate: impl Fn(Problem) -> Problem,
) -> Result<i64, Refusal> {
    let indexed = check_entries(&state.store, items, windows, &mut problems).await?;
    // Each item's metadata, titled as the item.
    let infos: Vec<Option<InfoDoc>> = items
        .iter()
        .enumerate()
        .map(|(index, draft)| {
            let info = InfoDoc {
                title: draft.title.clone(),
                ..draft.info.clone()?
            };
            problems.extend(
                crate::grid::compile::info_problems("info", &info)
                    .into_iter()
                    .map(|problem| Problem::at(index, problem)),
            );
            Some(info)
        })
        .collect();
    if windows.is_empty() && problems.is_empty() {
        problems.push(Problem::whole("the edit names no window"));
    }
    if let Some(period) = channel.grid_repeat
        && problems.is_empty()
    {
        check_repeat_period(state, channel, period, windows, &indexed, &mut problems).await?;
    }
    if problems.is_empty() {
        placed::check_rights(state, channel, windows, &indexed, &mut problems).await?;
    }
    let placed_infos: Vec<(Timestamp, AssetId, &InfoDoc)> = indexed
        .iter()
        .filter_map(|(index, (item, _))| {
            let info = infos.get(*index)?.as_ref()?;
            Some((item.start, item.asset_id, info))
        })
        .collect();
    let entries: Vec<ScheduleEntry> = indexed.iter().map(|(_, entry)| entry.clone()).collect();
    if !problems.is_empty() {
        return Err(Refusal::Invalid(problems.into_iter().map(locate).collect()));
    }
    let now = state.clock.now();
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
    if let Some(change) = earliest_change(&current, &entries) {
        check_lock(state, channel, now, change).await?;
    }
    let edit = ScheduleEdit {
        channel: channel.id,
        expected_version: expected,
        windows,
        items: &entries,
        author,
        now,
    };
    let version = match metadata::part_after(state, channel, &placed_infos, now).await? {
        None => state.store.publish_schedule_edit(&edit).await?,
        Some((body, effective_from)) => {
            let documents = [(GridKind::Metadata, body)];
            state
                .store
                .publish_schedule_edit_with_grid(
                    &edit,
                    &GridDocuments {
                        documents: &documents,
                        effective_from,
                    },
                )
                .await?
        }
    };
    Ok(version)
}

pub async fn channel(store: &Store, slug: &str) -> Result<Channel, Refusal> {
    let parsed = ChannelSlug::parse(slug)
        .map_err(|_| Refusal::NotFound(format!("channel {slug:?} not found")))?;
    store
        .channel_by_slug(&parsed)
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("channel {slug:?} not found")))
}

async fn published(
    store: &Store,
    channel: &Channel,
    number: i64,
) -> Result<onair_store::PublishedVersion, Refusal> {
    store
        .published_version(channel.id, number)
        .await?
        .ok_or_else(|| {
            Refusal::NotFound(format!(
                "channel {} has no published schedule version {number}",
                channel.slug
            ))
        })
}

/// A channel whose grid repeats airs only its first period (from its first item), again and
/// again: refuses items that would start after it, which the planner would cut.
async fn check_repeat_period(
    state: &Control,
    channel: &Channel,
    period: Ticks,
    windows: &[(Timestamp, Timestamp)],
    entries: &[(usize, ScheduleEntry)],
    problems: &mut Vec<Problem>,
) -> Result<(), Refusal> {
    let kept = state
        .store
        .schedule_between_with_ad_breaks(channel.id, Timestamp(i64::MIN), Timestamp(i64::MAX))
        .await?;
    let in_windows = |at: Timestamp| windows.iter().any(|(from, to)| at >= *from && at < *to);
    let origin = kept
        .iter()
        .map(|(item, _)| item.start)
        .filter(|start| !in_windows(*start))
        .chain(entries.iter().map(|(_, (item, _))| item.start))
        .min();
    let Some(origin) = origin else {
        return Ok(());
    };
    for (index, (item, _)) in entries {
        if item.start >= origin + period {
            problems.push(Problem::at(
                *index,
                format!(
                    "starts at {}, after the first period of the channel's repeating grid ({} from {}): it would never air; edit the first period, which repeats",
                    item.start.to_rfc3339_millis(),
                    period,
                    origin.to_rfc3339_millis()
                ),
            ));
        }
    }
    Ok(())
}

/// `now + window + margin`: what airs before it is frozen.
pub async fn lock_horizon(
    state: &Control,
    channel: &Channel,
    now: Timestamp,
) -> Result<Timestamp, Refusal> {
    let reads = state.plan_cache.reads();
    let segment_duration = match reads.segment_duration(channel.ladder_id) {
        Some(duration) => duration,
        None => {
            let ladder = state
                .store
                .ladder(channel.ladder_id)
                .await?
                .ok_or_else(|| {
                    Refusal::Internal(format!(
                        "channel {} refers to ladder {:?}, which does not exist",
                        channel.slug, channel.ladder_id
                    ))
                })?;
            reads.keep_segment_duration(channel.ladder_id, ladder.segment_duration);
            ladder.segment_duration
        }
    };
    let window = Ticks(segment_duration.0 * i64::from(channel.window_segments));
    Ok(now + window + state.lock_margin)
}

pub async fn check_lock(
    state: &Control,
    channel: &Channel,
    now: Timestamp,
    change: Timestamp,
) -> Result<(), Refusal> {
    let horizon = lock_horizon(state, channel, now).await?;
    if change < horizon {
        return Err(Refusal::Locked {
            message: format!(
                "the edit changes what airs at {}, inside the lock horizon: the schedule of {} is frozen until {} (now, plus the playout window, plus the safety margin)",
                change.to_rfc3339_millis(),
                channel.slug,
                horizon.to_rfc3339_millis()
            ),
            horizon,
        });
    }
    Ok(())
}

/// Parses and checks the items, collecting every problem; returns the entries sorted by start,
/// each with its index in `items`.
pub async fn check_entries(
    store: &Store,
    items: &[ItemDraft],
    windows: &[(Timestamp, Timestamp)],
    problems: &mut Vec<Problem>,
) -> Result<Vec<(usize, ScheduleEntry)>, Refusal> {
    let mut ids: Vec<AssetId> = items.iter().map(|item| AssetId(item.asset_id)).collect();
    ids.sort();
    ids.dedup();
    let assets: HashMap<AssetId, (AssetState, Ticks)> = store
        .assets_by_ids(&ids)
        .await?
        .into_iter()
        .map(|asset| (asset.id, (asset.state, asset.duration)))
        .collect();
    let mut entries: Vec<(usize, ScheduleEntry, Option<Ticks>)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let start = match parse_instant(&item.start) {
            Ok(start) => Some(start),
            Err(error) => {
                problems.push(Problem::at(index, format!("start: {error}")));
                None
            }
        };
        if let Some(start) = start
            && !windows.is_empty()
            && !windows
                .iter()
                .any(|(from, to)| start >= *from && start < *to)
        {
            let windows: Vec<String> = windows
                .iter()
                .map(|(from, to)| {
                    format!("{} to {}", from.to_rfc3339_millis(), to.to_rfc3339_millis())
                })
                .collect();
            problems.push(Problem::at(
                index,
                format!(
                    "starts at {}, outside the window {}",
                    start.to_rfc3339_millis(),
                    windows.join(", ")
                ),
            ));
        }
        if item.title.trim().is_empty() {
            problems.push(Problem::at(index, "the title is empty"));
        }
        let duration = match assets.get(&AssetId(item.asset_id)) {
            None => {
                problems.push(Problem::at(
                    index,
                    format!("asset {} does not exist", item.asset_id),
                ));
                None
            }
            Some((state, _)) if *state != AssetState::Ready => {
                problems.push(Problem::at(
                    index,
                    format!(
                        "asset {} is {}: only ready assets can be scheduled",
                        item.asset_id,
                        state.as_str()
                    ),
                ));
                None
            }
            Some((_, duration)) => Some(*duration),
        };
        let length = item.length_ms.map(Ticks::from_millis);
        check_length(index, item, length, duration, problems);
        for (position, ad_break) in item.ad_breaks.iter().enumerate() {
            if ad_break.offset_ms < 0 {
                problems.push(Problem::at(
                    index,
                    format!(
                        "ad break {position} has a negative offset_ms {}",
                        ad_break.offset_ms
                    ),
                ));
            }
            if ad_break.duration_ms <= 0 {
                problems.push(Problem::at(
                    index,
                    format!(
                        "ad break {position} lasts {} ms: it must be positive",
                        ad_break.duration_ms
                    ),
                ));
            }
        }
        if let Some(start) = start {
            let breaks: Vec<NewAdBreak> = item
                .ad_breaks
                .iter()
                .map(|ad_break| NewAdBreak {
                    offset: Ticks::from_millis(ad_break.offset_ms),
                    duration: Ticks::from_millis(ad_break.duration_ms),
                })
                .collect();
            let aired = duration.map(|duration| aired_length(duration, length, &breaks));
            entries.push((
                index,
                (
                    NewScheduleItem {
                        asset_id: AssetId(item.asset_id),
                        start,
                        hard_start: item.hard_start,
                        title: item.title.clone(),
                        length,
                    },
                    breaks,
                ),
                aired,
            ));
        }
    }
    entries.sort_by_key(|(index, (item, _), _)| (item.start, *index));
    // Hard items that overlap: one starts before the one before it ends.
    let mut last_hard: Option<(usize, Timestamp, String)> = None;
    for (index, (item, _), aired) in &entries {
        if !item.hard_start {
            continue;
        }
        if let Some((first, end, title)) = &last_hard
            && item.start < *end
        {
            problems.push(Problem::at(
                *index,
                format!(
                    "hard item {:?} at {} overlaps hard item {title:?} (index {first}) by {}",
                    item.title,
                    item.start.to_rfc3339_millis(),
                    *end - item.start
                ),
            ));
        }
        if let Some(aired) = aired {
            last_hard = Some((*index, item.start + *aired, item.title.clone()));
        }
    }
    Ok(entries
        .into_iter()
        .map(|(index, entry, _)| (index, entry))
        .collect())
}

/// Notes a length that is not positive or longer than the item's asset (`duration`, when it is
/// known and ready).
fn check_length(
    index: usize,
    item: &ItemDraft,
    length: Option<Ticks>,
    duration: Option<Ticks>,
    problems: &mut Vec<Problem>,
) {
    let (Some(length_ms), Some(length)) = (item.length_ms, length) else {
        return;
    };
    if length_ms <= 0 {
        problems.push(Problem::at_field(
            index,
            "length_ms",
            format!(
                "{:?}: length_ms {length_ms} must be positive (leave it out to air the whole asset)",
                item.title
            ),
        ));
    } else if let Some(duration) = duration
        && length > duration
    {
        problems.push(Problem::at_field(
            index,
            "length_ms",
            format!(
                "{:?}: length_ms {length_ms} ({length}) is longer than asset {} ({duration}); it can air at most {} ms",
                item.title,
                item.asset_id,
                duration.as_millis()
            ),
        ));
    }
}

/// How long an item airs, before it is cut at a segment boundary: its length (else its asset's
/// `duration`) plus the ad breaks that air (those not past its length).
pub fn aired_length(duration: Ticks, length: Option<Ticks>, breaks: &[NewAdBreak]) -> Ticks {
    let content = length.map_or(duration, |length| length.min(duration));
    content
        + breaks
            .iter()
            .filter(|ad_break| length.is_none_or(|length| ad_break.offset <= length))
            .map(|ad_break| ad_break.duration)
            .sum::<Ticks>()
}

/// The start of the earliest item that differs between two schedules (each item with its ad
/// breaks), or `None` when they are the same.
pub fn earliest_change(old: &[ScheduleEntry], new: &[ScheduleEntry]) -> Option<Timestamp> {
    let mut old: Vec<_> = old.iter().map(entry_key).collect();
    let mut new: Vec<_> = new.iter().map(entry_key).collect();
    old.sort();
    new.sort();
    let mut position = 0;
    loop {
        match (old.get(position), new.get(position)) {
            (None, None) => return None,
            (Some(a), None) => return Some(a.0),
            (None, Some(b)) => return Some(b.0),
            (Some(a), Some(b)) if a != b => return Some(a.0.min(b.0)),
            _ => position += 1,
        }
    }
}

/// What makes two entries the same: start, asset, hard start, title, length and breaks (offset
/// and duration, in any order).
pub(crate) type EntryKey = (
    Timestamp,
    AssetId,
    bool,
    String,
    Option<Ticks>,
    Vec<(i64, i64)>,
);

/// The [`EntryKey`] of an entry.
pub(crate) fn entry_key((item, breaks): &ScheduleEntry) -> EntryKey {
    let mut breaks: Vec<(i64, i64)> = breaks
        .iter()
        .map(|ad_break| (ad_break.offset.0, ad_break.duration.0))
        .collect();
    breaks.sort();
    (
        item.start,
        item.asset_id,
        item.hard_start,
        item.title.clone(),
        item.length,
        breaks,
    )
}

pub fn entry_of(
    (item, breaks): (onair_domain::ScheduleItem, Vec<onair_domain::AdBreak>),
) -> ScheduleEntry {
    (
        NewScheduleItem {
            asset_id: item.asset_id,
            start: item.start,
            hard_start: item.hard_start,
            length: item.length,
            title: item.title,
        },
        breaks
            .into_iter()
            .map(|ad_break| NewAdBreak {
                offset: ad_break.offset,
                duration: ad_break.duration,
            })
            .collect(),
    )
}

pub fn item_draft((item, breaks): &ScheduleEntry) -> ItemDraft {
    ItemDraft {
        asset_id: item.asset_id.0,
        start: item.start.to_rfc3339_millis(),
        hard_start: item.hard_start,
        title: item.title.clone(),
        length_ms: item.length.map(Ticks::as_millis),
        ad_breaks: breaks
            .iter()
            .map(|ad_break| BreakDraft {
                offset_ms: ad_break.offset.as_millis(),
                duration_ms: ad_break.duration.as_millis(),
            })
            .collect(),
        info: None,
    }
}

/// An RFC 3339 instant.
pub fn parse_instant(text: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|at| Timestamp::from_datetime(at.to_utc()))
        .map_err(|error| format!("{text:?} is not an RFC 3339 instant ({error})"))
}
