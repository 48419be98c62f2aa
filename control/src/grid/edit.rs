//! Grid edits, versions, restore and the plan preview.

use onair_domain::{AssetId, Channel, ScheduleItemId, Ticks, Timeline, Timestamp};
use onair_scheduler::Plan;
use onair_scheduler::Problem as PlanProblem;
use onair_scheduler::ad_policy::ads_per_clock_hour;
use onair_scheduler::grid::ProgrammeInfo;
use onair_store::Store;
use onair_store::grid::{GridDocument, GridEdit, GridKind};
use serde_json::Value;

use super::compile::{asset_references, validate};
use super::document::{GridChange, GridDoc};
use super::plan::{Stored, earliest_difference, plan_stored_grid};
use super::{EFFECTIVE_CANDIDATES, MAX_PREVIEW};
use crate::schedule::{channel, check_lock, lock_horizon, parse_instant};
use crate::{Control, Problem, Refusal};

/// A channel's grid as it stands.
#[derive(Debug, Clone)]
pub struct GridView {
    pub channel: Channel,
    /// The schedule version it was read at.
    pub version: i64,
    pub lock_horizon: Timestamp,
    /// Every part, as the latest version of each left it.
    pub grid: GridDoc,
    /// The document that wrote each part last, one per part written.
    pub latest: Vec<GridDocument>,
}

/// What a grid edit or restore did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridEdited {
    /// The schedule version after it.
    pub version: i64,
    /// When it takes effect (`None` when nothing was published).
    pub effective_from: Option<Timestamp>,
    /// The first instant where what airs changes, if anything does.
    pub first_change: Option<Timestamp>,
    /// A restore to what already stands: nothing was published.
    pub unchanged: bool,
}

/// One grid version: who wrote it, when, and the parts it wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct GridVersion {
    pub version: i64,
    pub author: String,
    pub published_at: Timestamp,
    pub effective_from: Timestamp,
    /// The parts it wrote, with their documents.
    pub parts: Vec<(GridKind, Value)>,
}

/// A planned programme in a preview: every pass of a repeating timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedProgramme {
    pub start: Timestamp,
    pub end: Timestamp,
    pub title: String,
    pub asset_id: AssetId,
    pub id: Option<ScheduleItemId>,
    pub live_source: Option<String>,
    pub info: ProgrammeInfo,
    pub breaks: Vec<PlannedBreak>,
}

/// An ad break as it airs inside a planned programme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PlannedBreak {
    pub start: Timestamp,
    pub duration: Ticks,
}

/// The plan of a window, as the preview shows it.
#[derive(Debug, Clone)]
pub struct PlanPreview {
    pub channel: Channel,
    pub version: i64,
    pub from: Timestamp,
    pub to: Timestamp,
    /// What was planned: templates and fills reach `[planned_from, planned_to)`.
    pub planned_from: Timestamp,
    pub planned_to: Timestamp,
    pub items: Vec<PlannedProgramme>,
    /// Ad time per clock hour of the channel's zone.
    pub ads_per_hour: Vec<(Timestamp, Ticks)>,
    pub problems: Vec<PlanProblem>,
    pub notes: Vec<String>,
}

/// A part of the grid by its name (`templates`, `blocks`, `fill`, `ad_policy`, `rights`,
/// `metadata`).
pub fn part_kind(part: &str) -> Result<GridKind, Refusal> {
    GridKind::parse(part).ok_or_else(|| {
        let parts: Vec<&str> = GridKind::ALL.iter().map(|kind| kind.as_str()).collect();
        Refusal::NotFound(format!(
            "the grid has no part {part:?}: the parts are {}",
            parts.join(", ")
        ))
    })
}

impl Control {
    /// `slug`'s grid as it stands.
    pub async fn grid(&self, slug: &str) -> Result<GridView, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let (version, documents) = read_grid(&self.store, &channel).await?;
        let (grid, notes) = GridDoc::as_of(&documents, None);
        if !notes.is_empty() {
            return Err(Refusal::Internal(notes.join("; ")));
        }
        let lock_horizon = lock_horizon(self, &channel, self.clock.now()).await?;
        let latest = latest_documents(&documents).into_iter().cloned().collect();
        Ok(GridView {
            channel,
            version,
            lock_horizon,
            grid,
            latest,
        })
    }

    /// Replaces the parts `change` gives (only `only`, when set), made on `change.version`
    /// (else `expected`), published by `author`; see the module doc of [`crate::grid`] for
    /// when it takes effect.
    pub async fn edit_grid(
        &self,
        slug: &str,
        expected: Option<i64>,
        change: GridChange,
        only: Option<GridKind>,
        author: &str,
    ) -> Result<GridEdited, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let expected = expected.ok_or(Refusal::PreconditionRequired)?;
        let effective_from = change.effective_from.clone();
        let (current, documents) = read_grid(&self.store, &channel).await?;
        let (mut grid, notes) = GridDoc::as_of(&documents, None);
        if !notes.is_empty() {
            return Err(Refusal::Internal(notes.join("; ")));
        }
        let edited = change.apply(&mut grid);
        if let Some(kind) = only
            && edited != [kind]
        {
            return Err(Refusal::invalid(format!(
                "PUT …/grid/{kind} takes a body with \"{kind}\" and no other part"
            )));
        }
        if edited.is_empty() {
            return Err(Refusal::invalid(
                "the edit names no part of the grid: give templates, blocks, fill, ad_policy, rights or metadata",
            ));
        }
        let edit = Edit {
            expected,
            current,
            documents: &documents,
            edited: &edited,
            grid: &grid,
            effective_from: effective_from.as_deref(),
            author: author.to_owned(),
        };
        submit(self, &channel, edit).await
    }

    /// The grid versions of `slug`, newest first.
    pub async fn grid_versions(&self, slug: &str) -> Result<Vec<GridVersion>, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let (_, documents) = read_grid(&self.store, &channel).await?;
        let mut versions: Vec<GridVersion> = Vec::new();
        for written in documents.chunk_by(|a, b| a.version == b.version).rev() {
            versions.push(version_of(written));
        }
        Ok(versions)
    }

    /// Grid version `number` of `slug`.
    pub async fn grid_version(&self, slug: &str, number: i64) -> Result<GridVersion, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let (_, documents) = read_grid(&self.store, &channel).await?;
        let written: Vec<GridDocument> = documents
            .into_iter()
            .filter(|document| document.version == number)
            .collect();
        if written.is_empty() {
            return Err(no_version(&channel, number));
        }
        Ok(version_of(&written))
    }

    /// Makes the grid as it stood at version `number` current again, in a new version made on
    /// `expected` (the current one when `None`).
    pub async fn restore_grid(
        &self,
        slug: &str,
        number: i64,
        expected: Option<i64>,
        author: &str,
    ) -> Result<GridEdited, Refusal> {
        let channel = channel(&self.store, slug).await?;
        let (current_version, documents) = read_grid(&self.store, &channel).await?;
        if !documents.iter().any(|document| document.version == number) {
            return Err(no_version(&channel, number));
        }
        let (wanted, _) = GridDoc::as_of(&documents, Some(number));
        let (current, _) = GridDoc::as_of(&documents, None);
        let edited: Vec<GridKind> = GridKind::ALL
            .into_iter()
            .filter(|kind| wanted.part(*kind) != current.part(*kind))
            .collect();
        let expected = expected.unwrap_or(current_version);
        if edited.is_empty() {
            return Ok(GridEdited {
                version: current_version,
                effective_from: None,
                first_change: None,
                unchanged: true,
            });
        }
        let edit = Edit {
            expected,
            current: current_version,
            documents: &documents,
            edited: &edited,
            grid: &wanted,
            effective_from: None,
            author: format!("{author} (restore of grid version {number})"),
        };
        submit(self, &channel, edit).await
    }

    /// The plan of `[from, to)` (at most 31 days) as `onair serve` would air it now, with the
    /// problems about instants in it and those about none.
    pub async fn preview_plan(
        &self,
        slug: &str,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<PlanPreview, Refusal> {
        let channel = channel(&self.store, slug).await?;
        if to - from > MAX_PREVIEW {
            return Err(Refusal::BadRequest(format!(
                "the window {} to {} is longer than the 31 days a preview shows",
                from.to_rfc3339_millis(),
                to.to_rfc3339_millis()
            )));
        }
        let now = self.clock.now();
        let version = self.store.schedule_version(channel.id).await?;
        let planned = self
            .plan_cache
            .plan(&self.store, &channel, version, now)
            .await?;
        let items = match planned.plan.timeline.as_deref() {
            Some(timeline) => planned_items(&planned.plan, timeline, from, to),
            None => Vec::new(),
        };
        let ads_per_hour = planned
            .plan
            .timeline
            .as_deref()
            .map(|timeline| ads_per_clock_hour(timeline, channel.time_zone, from, to))
            .unwrap_or_default()
            .into_iter()
            .map(|hour| (hour.hour, hour.ads))
            .collect();
        Ok(PlanPreview {
            channel,
            version,
            from,
            to,
            planned_from: planned.window.0,
            planned_to: planned.window.1,
            items,
            ads_per_hour,
            // The window's problems, and those of no instant: a 14-day grid's gaps are many,
            // and a preview of one day is read for that day.
            problems: planned
                .problems
                .iter()
                .filter(|problem| problem.at().is_none_or(|at| from <= at && at < to))
                .cloned()
                .collect(),
            notes: planned.notes.clone(),
        })
    }
}

fn version_of(written: &[GridDocument]) -> GridVersion {
    let first = &written[0];
    GridVersion {
        version: first.version,
        author: first.author.clone(),
        published_at: first.published_at,
        effective_from: first.effective_from,
        parts: written
            .iter()
            .map(|document| (document.kind, document.body.clone()))
            .collect(),
    }
}

fn no_version(channel: &Channel, number: i64) -> Refusal {
    Refusal::NotFound(format!(
        "channel {} has no grid version {number}",
        channel.slug
    ))
}

/// The schedule version and the grid documents, read so that they agree.
pub(crate) async fn read_grid(
    store: &Store,
    channel: &Channel,
) -> Result<(i64, Vec<GridDocument>), Refusal> {
    for _ in 0..10 {
        let version = store.schedule_version(channel.id).await?;
        let documents = store.grid_documents(channel.id).await?;
        if store.schedule_version(channel.id).await? == version {
            return Ok((version, documents));
        }
    }
    Err(Refusal::Conflict(format!(
        "the grid of {} is changing too fast to be read; try again",
        channel.slug
    )))
}

fn latest_documents(documents: &[GridDocument]) -> Vec<&GridDocument> {
    GridKind::ALL
        .iter()
        .filter_map(|kind| {
            documents
                .iter()
                .rev()
                .find(|document| document.kind == *kind)
        })
        .collect()
}

/// An edit of the grid, as read and asked for.
struct Edit<'a> {
    /// The version it was made on.
    expected: i64,
    /// The version `documents` were read at.
    current: i64,
    documents: &'a [GridDocument],
    /// The parts it replaces.
    edited: &'a [GridKind],
    /// The whole grid with the edited parts replaced.
    grid: &'a GridDoc,
    effective_from: Option<&'a str>,
    author: String,
}

/// Checks the grid the edit makes, finds when it can take effect without changing what airs
/// before the lock horizon, and publishes it.
async fn submit(state: &Control, channel: &Channel, edit: Edit<'_>) -> Result<GridEdited, Refusal> {
    let now = state.clock.now();
    let mut problems =
        validate(&state.store, edit.grid, edit.edited, channel.time_zone, now).await?;
    let explicit = edit
        .effective_from
        .and_then(|text| match parse_instant(text) {
            Ok(at) => Some(at),
            Err(error) => {
                problems.push(format!("effective_from: {error}"));
                None
            }
        });
    if !problems.is_empty() {
        return Err(Refusal::Invalid(
            problems.into_iter().map(Problem::whole).collect(),
        ));
    }
    if edit.current != edit.expected {
        return Err(Refusal::Conflict(format!(
            "the schedule changed: it is at version {}, not {}; reload it and apply the edit again",
            edit.current, edit.expected
        )));
    }
    let horizon = lock_horizon(state, channel, now).await?;
    let in_order_from = edit
        .documents
        .iter()
        .map(|document| document.effective_from)
        .max()
        .unwrap_or(Timestamp(i64::MIN));
    if let Some(at) = explicit {
        check_lock(state, channel, now, at).await?;
        if at < in_order_from {
            return Err(Refusal::Invalid(vec![Problem::whole(format!(
                "effective_from {} comes before {}, when the grid's latest version takes effect: versions take effect in order",
                at.to_rfc3339_millis(),
                in_order_from.to_rfc3339_millis()
            ))]));
        }
    }

    let mut stored = Stored::load(&state.store, channel, edit.documents).await?;
    let new_assets: Vec<AssetId> = edit
        .edited
        .iter()
        .flat_map(|kind| asset_references(edit.grid, *kind))
        .map(|(_, id)| AssetId(id))
        .collect();
    stored.add_assets(&state.store, new_assets).await?;
    let before = plan_stored_grid(channel, &stored, edit.documents, now).plan;
    let candidates: Vec<Timestamp> = match explicit {
        Some(at) => vec![at],
        None => {
            let earliest = horizon.max(in_order_from);
            let mut ends: Vec<Timestamp> = before
                .items
                .iter()
                .map(|item| item.end)
                .filter(|end| *end > earliest)
                .collect();
            ends.sort();
            ends.dedup();
            std::iter::once(earliest)
                .chain(ends)
                .take(EFFECTIVE_CANDIDATES)
                .collect()
        }
    };
    let parts: Vec<(GridKind, Value)> = edit
        .edited
        .iter()
        .map(|kind| (*kind, edit.grid.part(*kind)))
        .collect();
    let mut refused: Option<Timestamp> = None;
    let mut chosen: Option<(Timestamp, Option<Timestamp>)> = None;
    for candidate in candidates {
        let mut proposed = edit.documents.to_vec();
        proposed.extend(parts.iter().map(|(kind, body)| GridDocument {
            kind: *kind,
            version: edit.expected + 1,
            author: edit.author.clone(),
            published_at: now,
            effective_from: candidate,
            body: body.clone(),
        }));
        let after = plan_stored_grid(channel, &stored, &proposed, now).plan;
        match earliest_difference(&before, &after) {
            Some(change) if change < horizon => refused = refused.or(Some(change)),
            change => {
                chosen = Some((candidate, change));
                break;
            }
        }
    }
    let Some((effective_from, change)) = chosen else {
        let change = refused.unwrap_or(now);
        return Err(Refusal::Locked {
            message: format!(
                "the edit changes what airs at {}, inside the lock horizon: the schedule of {} is frozen until {} (now, plus the playout window, plus the safety margin){}",
                change.to_rfc3339_millis(),
                channel.slug,
                horizon.to_rfc3339_millis(),
                if explicit.is_some() {
                    "; give a later effective_from"
                } else {
                    "; give an effective_from after what airs then"
                }
            ),
            horizon,
        });
    };
    let version = state
        .store
        .publish_grid_edit(&GridEdit {
            channel: channel.id,
            expected_version: edit.expected,
            documents: &parts,
            effective_from,
            author: &edit.author,
            now,
        })
        .await?;
    Ok(GridEdited {
        version,
        effective_from: Some(effective_from),
        first_change: change,
        unchanged: false,
    })
}

/// The planned items that touch `[from, to)`, every pass of a repeating timeline, each with
/// its breaks as they air.
pub(crate) fn planned_items(
    plan: &Plan,
    timeline: &Timeline,
    from: Timestamp,
    to: Timestamp,
) -> Vec<PlannedProgramme> {
    let origin = timeline.origin();
    let period = timeline.period();
    let passes = if timeline.repeats() && period > Ticks::ZERO {
        let pass_of = |at: Timestamp| (at - origin).0.div_euclid(period.0);
        (pass_of(from) - 1).max(0)..=pass_of(to).max(0)
    } else {
        0..=0
    };
    let mut out = Vec::new();
    for pass in passes {
        let shift = Ticks(period.0 * pass);
        for item in &plan.items {
            let (start, end) = (item.start + shift, item.end + shift);
            if end <= from || start >= to {
                continue;
            }
            let mut breaks: Vec<PlannedBreak> = Vec::new();
            let mut last_break: Option<u32> = None;
            for run_index in item.runs.clone() {
                let run = timeline.run(run_index);
                let Some(slot) = run.ad_break else {
                    last_break = None;
                    continue;
                };
                match breaks.last_mut() {
                    Some(open) if last_break == Some(slot.number) => {
                        open.duration += run.duration();
                    }
                    _ => breaks.push(PlannedBreak {
                        start: origin + timeline.run_offset(run_index) + shift,
                        duration: run.duration(),
                    }),
                }
                last_break = Some(slot.number);
            }
            out.push(PlannedProgramme {
                start,
                end,
                title: item.info.title.clone(),
                asset_id: item.asset_id,
                id: item.id,
                live_source: item.live.as_ref().map(|live| live.source_key.clone()),
                info: item.info.clone(),
                breaks,
            });
        }
    }
    out.sort_by_key(|programme| programme.start);
    out
}
