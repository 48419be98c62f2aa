//! Planning what is stored: the one function that plans a channel from the store
//! ([`plan_channel`]), shared by `onair serve` (playout, the EPG, the as-run log) and the API.

use std::collections::{BTreeSet, HashMap};

use chrono::{Duration, NaiveTime};
use chrono_tz::Tz;
use onair_domain::{AdBreak, Asset, AssetId, Channel, RunKind, ScheduleItem, Timeline, Timestamp};
use onair_scheduler::grid::{GridEntry, ProgrammeInfo};
use onair_scheduler::rules::{local_time, resolve_local};
use onair_scheduler::{
    ChannelGrid, Plan, PlanOptions, Problem as PlanProblem, build_plan_in_stages, stored_entries,
};
use onair_store::grid::GridDocument;
use onair_store::{Store, StoreError};

use super::compile::{Compiler, GridSources, asset_references};
use super::document::GridDoc;
use super::{PLAN_DAYS, STAGED};

/// The source key of a channel's slate asset.
pub fn slate_source(slug: &str) -> String {
    format!("{SLATE_SOURCE_PREFIX}{slug}")
}

/// What the source key of every generated slate starts with, before the channel's slug.
pub const SLATE_SOURCE_PREFIX: &str = "generated:slate/";

/// A channel planned from what is stored.
#[derive(Debug, Clone)]
pub struct ChannelPlan {
    pub plan: Plan,
    pub problems: Vec<PlanProblem>,
    /// The assets the plan's runs play, the slate included.
    pub assets: HashMap<AssetId, Asset>,
    pub slate: Option<AssetId>,
    /// What was planned: templates and fills reach `[from, to)`.
    pub window: (Timestamp, Timestamp),
    /// When the plan must be made again because time moved on (the next local day); `None`
    /// when it does not depend on the day.
    pub replan_at: Option<Timestamp>,
    /// Stored documents that could not be read (and were left out).
    pub notes: Vec<String>,
}

/// What planning reads from the store.
pub(crate) struct Stored {
    items: Vec<ScheduleItem>,
    ad_breaks: Vec<AdBreak>,
    slate: Option<AssetId>,
    assets: HashMap<AssetId, Asset>,
}

impl Stored {
    pub(crate) async fn load(
        store: &Store,
        channel: &Channel,
        documents: &[GridDocument],
    ) -> Result<Stored, StoreError> {
        let items = store.schedule_items(channel.id).await?;
        let ad_breaks = store.ad_breaks_of_channel(channel.id).await?;
        // The channel's own slate, else the one generated for it.
        let slate = match channel.slate {
            Some(id) => store.asset(id).await?,
            None => {
                store
                    .asset_by_source(&slate_source(channel.slug.as_str()))
                    .await?
            }
        };
        let mut stored = Stored {
            items,
            ad_breaks,
            slate: slate.as_ref().map(|slate| slate.id),
            assets: HashMap::new(),
        };
        if let Some(slate) = slate {
            stored.assets.insert(slate.id, slate);
        }
        let mut ids: Vec<AssetId> = stored.items.iter().map(|item| item.asset_id).collect();
        ids.extend(documents_assets(documents));
        ids.extend(channel.filler.iter().copied());
        stored.add_assets(store, ids).await?;
        Ok(stored)
    }

    /// Loads the assets of `ids` not loaded yet.
    pub(crate) async fn add_assets(
        &mut self,
        store: &Store,
        mut ids: Vec<AssetId>,
    ) -> Result<(), StoreError> {
        ids.retain(|id| !self.assets.contains_key(id));
        ids.sort();
        ids.dedup();
        if !ids.is_empty() {
            for asset in store.assets_by_ids(&ids).await? {
                self.assets.insert(asset.id, asset);
            }
        }
        Ok(())
    }
}

/// The assets the staged parts of stored documents name.
fn documents_assets(documents: &[GridDocument]) -> Vec<AssetId> {
    let mut ids = Vec::new();
    for document in documents {
        if !STAGED.contains(&document.kind) {
            continue;
        }
        let mut grid = GridDoc::default();
        if grid.set_part(document.kind, &document.body).is_ok() {
            ids.extend(
                asset_references(&grid, document.kind)
                    .into_iter()
                    .map(|(_, id)| AssetId(id)),
            );
        }
    }
    ids
}

/// Plans the channel from what is stored, at `now` (see the module doc).
pub async fn plan_channel(
    store: &Store,
    channel: &Channel,
    now: Timestamp,
) -> Result<ChannelPlan, StoreError> {
    let documents = store.grid_documents(channel.id).await?;
    let stored = Stored::load(store, channel, &documents).await?;
    // Planning 14 days is CPU work of up to a few hundred milliseconds: on a thread of its own,
    // so that the runtime's workers go on answering (playlists, the API) meanwhile.
    let owned = channel.clone();
    let mut planned =
        tokio::task::spawn_blocking(move || plan_stored_grid(&owned, &stored, &documents, now))
            .await
            .unwrap_or_else(|error| match error.try_into_panic() {
                Ok(panic) => std::panic::resume_unwind(panic),
                Err(error) => panic!("planning {} was cancelled: {error}", channel.slug),
            });
    let mut used: BTreeSet<AssetId> = planned
        .plan
        .timeline
        .as_deref()
        .map(|timeline| timeline.runs().iter().map(|run| run.asset_id).collect())
        .unwrap_or_default();
    used.extend(planned.slate);
    planned.assets.retain(|id, _| used.contains(id));
    Ok(planned)
}

/// The start of the local day `days` after the one `at` is in.
fn local_day_start(zone: Tz, at: Timestamp, days: i64) -> Timestamp {
    let date = local_time(zone, at).date() + Duration::days(days);
    resolve_local(zone, date.and_time(NaiveTime::MIN)).at
}

/// One stage's sources and window.
struct Stage {
    from: Timestamp,
    to: Timestamp,
    sources: GridSources,
    entries: Vec<GridEntry>,
    options: PlanOptions,
}

/// Plans stored items and grid documents (the pure part of [`plan_channel`]).
pub(crate) fn plan_stored_grid(
    channel: &Channel,
    stored: &Stored,
    documents: &[GridDocument],
    now: Timestamp,
) -> ChannelPlan {
    let zone = channel.time_zone;
    let mut notes = Vec::new();
    let (latest, read_notes) = GridDoc::as_of(documents, None);
    notes.extend(read_notes);
    let mut compile_problems = Vec::new();
    let facts = Compiler {
        zone,
        fires_from: None,
        problems: &mut compile_problems,
    }
    .compile(&GridDoc {
        rights: latest.rights.clone(),
        metadata: latest.metadata.clone(),
        ..GridDoc::default()
    });

    // The staged parts as each version that wrote one left them, from when it took effect.
    let mut versions: Vec<(Timestamp, GridDoc)> = Vec::new();
    let mut staged = GridDoc::default();
    for written in documents.chunk_by(|a, b| a.version == b.version) {
        let mut changed = false;
        for document in written
            .iter()
            .filter(|document| STAGED.contains(&document.kind))
        {
            changed |= staged.set_part(document.kind, &document.body).is_ok();
        }
        if changed {
            let from = written[0].effective_from;
            versions.retain(|(at, _)| *at < from);
            versions.push((from, staged.clone()));
        }
    }

    let entries = stored_entries(&stored.items, &stored.ad_breaks, |item| {
        facts
            .metadata
            .get(&(item.start, item.asset_id))
            .cloned()
            .unwrap_or_else(|| ProgrammeInfo::titled(&item.title))
    });
    let first_item = entries.first().map(|(start, _)| *start);
    let first_version = versions.first().map(|(from, _)| *from);
    let anchor = match (first_item, first_version) {
        (Some(item), Some(version)) => Some(item.min(version)),
        (item, version) => item.or(version),
    };

    // A channel whose plan begins with its grid (no stored item before it) airs from when its
    // first grid version was published: slate until the grid's first programme, rather than
    // nothing.
    let first_published = documents
        .iter()
        .filter(|document| STAGED.contains(&document.kind))
        .map(|document| document.published_at)
        .min();
    let starts_at = match (first_item, first_version, first_published) {
        (None, Some(_), Some(published)) => Some(published),
        (Some(item), Some(version), Some(published)) if version < item => Some(published),
        _ => None,
    };

    let (window, replan_at, mut spans): (_, _, Vec<(Timestamp, GridDoc)>) =
        match (channel.grid_repeat, anchor) {
            (_, None) => ((now, now), None, Vec::new()),
            (Some(period), Some(anchor)) => {
                let latest_staged = versions.pop().map(|(_, grid)| grid).unwrap_or_default();
                (
                    (anchor, anchor + period),
                    None,
                    vec![(anchor, latest_staged)],
                )
            }
            (None, Some(anchor)) => {
                let to = local_day_start(zone, now, PLAN_DAYS).max(anchor);
                let replan_at = (!versions.is_empty()).then(|| local_day_start(zone, now, 1));
                let mut spans = Vec::new();
                if first_version != Some(anchor) {
                    spans.push((anchor, GridDoc::default()));
                }
                spans.extend(versions);
                ((anchor, to), replan_at, spans)
            }
        };

    let mut stages: Vec<Stage> = Vec::with_capacity(spans.len());
    let mut entries = entries.into_iter().peekable();
    let n_spans = spans.len();
    for (from, grid) in spans.drain(..) {
        let sources = Compiler {
            zone,
            fires_from: None,
            problems: &mut compile_problems,
        }
        .compile(&grid);
        let options = PlanOptions {
            slate: stored.slate,
            filler: channel.filler.clone(),
            starts_at: starts_at.filter(|_| channel.grid_repeat.is_none()),
            grid_repeat: channel.grid_repeat,
            rights: facts.rights.clone(),
            max_ad_per_hour: sources
                .ad_policy
                .as_ref()
                .and_then(|policy| policy.max_per_hour),
            zone,
            ..PlanOptions::default()
        };
        stages.push(Stage {
            from,
            to: window.1,
            sources,
            entries: Vec::new(),
            options,
        });
    }
    for index in 1..stages.len() {
        let from = stages[index].from;
        stages[index - 1].to = from.max(stages[index - 1].from);
    }
    for (index, stage) in stages.iter_mut().enumerate() {
        let last = index + 1 == n_spans;
        while let Some((start, _)) = entries.peek() {
            if !last && *start >= stage.to {
                break;
            }
            let (_, entry) = entries.next().expect("peeked");
            stage.entries.push(entry);
        }
    }
    for problem in compile_problems {
        notes.push(format!("a stored grid part was left out: {problem}"));
    }

    let history: [(AssetId, Timestamp); 0] = [];
    let grids: Vec<ChannelGrid<'_>> = stages
        .iter()
        .map(|stage| ChannelGrid {
            from: stage.from,
            to: stage.to.max(stage.from),
            templates: &stage.sources.templates,
            entries: &stage.entries,
            blocks: &stage.sources.blocks,
            fill_rules: &stage.sources.fill_rules,
            default_fill: stage.sources.default_fill.as_deref(),
            ad_policy: stage.sources.ad_policy.as_ref(),
            assets: &stored.assets,
            history: &history,
            options: &stage.options,
        })
        .collect();
    let (plan, problems) = build_plan_in_stages(&grids);
    ChannelPlan {
        plan,
        problems,
        assets: stored.assets.clone(),
        slate: stored.slate,
        window,
        replan_at,
        notes,
    }
}

/// The first instant where two plans air something different (another run, or the same run of
/// another programme), `None` when they air the same.
pub(crate) fn earliest_difference(before: &Plan, after: &Plan) -> Option<Timestamp> {
    let (a, b) = match (before.timeline.as_deref(), after.timeline.as_deref()) {
        (None, None) => return None,
        // A channel with no plan loops its slate: a plan that only adds slate before its first
        // programme changes nothing that airs until then.
        (Some(only), None) | (None, Some(only)) => return Some(first_programme(only)),
        (Some(a), Some(b)) => (a, b),
    };
    if a.origin() != b.origin() {
        return Some(a.origin().min(b.origin()));
    }
    let programme = |plan: &Plan, run: usize| {
        plan.item_of_run(run)
            .map(|item| (item.asset_id, item.info.clone(), item.live.clone()))
    };
    let mut at = a.origin();
    for index in 0.. {
        match (a.runs().get(index), b.runs().get(index)) {
            (None, None) => break,
            (Some(run_a), Some(run_b))
                if run_a == run_b && programme(before, index) == programme(after, index) =>
            {
                at = at + run_a.duration();
            }
            _ => return Some(at),
        }
    }
    (a.repeats() != b.repeats()).then_some(at)
}

/// Where the first run that is not slate starts (the origin when it all is).
fn first_programme(timeline: &Timeline) -> Timestamp {
    let mut at = timeline.origin();
    for run in timeline.runs() {
        if run.kind != RunKind::Slate {
            return at;
        }
        at = at + run.duration();
    }
    timeline.origin()
}
