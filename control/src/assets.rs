//! The asset library as a user manages it: list, search and filter (with what the library shows
//! beside each asset: when it came, its poster, why it failed, the job still working on it),
//! show with what airs it and where the channels' grids name it (their rights windows and
//! programme metadata for it among them), rename, and delete one nothing airs.
//!
//! Deleting is refused while anything airs the asset: a schedule item (past ones too: the
//! schedule keeps what it played; the refusal names the items inside the lock horizon first),
//! a channel's slate or filler, or a transcode job still working on it. The as-run log keeps
//! its entries, with the title they aired under. A deleted asset's files are removed after the
//! database lets go of them; a file that cannot be removed is reported, not fatal.

use std::collections::HashMap;
use std::path::Path;

use onair_domain::{Asset, AssetId, AssetState, ChannelSlug, Job, Timestamp};
use onair_store::{AssetFilter, AssetUse, StoreError};

use onair_store::grid::GridKind;

use crate::grid::GridDoc;
use crate::grid::compile::asset_references;
use crate::grid::document::{MetadataDoc, RightsDoc};
use crate::schedule::lock_horizon;
use crate::{Control, Refusal};

/// The most assets one listing answers with.
pub const MAX_PAGE: u32 = 500;

/// Which assets to list, as a user asks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetQuery {
    /// `processing`, `ready` or `failed`.
    pub state: Option<String>,
    /// Part of the title, in any case.
    pub title: Option<String>,
    /// At most this many (default and cap [`MAX_PAGE`]).
    pub limit: Option<u32>,
    /// The last id of the previous page.
    pub after: Option<i64>,
}

/// The longest title an asset may be given, in characters.
pub const MAX_TITLE_CHARS: usize = 200;

/// An asset with what airs it.
#[derive(Debug, Clone)]
pub struct AssetDetail {
    pub asset: Asset,
    pub error: Option<String>,
    pub poster: Option<String>,
    /// What airs it from now on (items still airing now included), then slates and fillers.
    pub uses: Vec<AssetUse>,
    /// The transcode job queued or running on it, if any.
    pub job: Option<Job>,
}

/// An asset as the library lists it (without renditions: see [`Control::asset`]).
#[derive(Debug, Clone)]
pub struct ListedAsset {
    pub asset: Asset,
    /// When it was registered (the database's clock).
    pub created_at: Option<Timestamp>,
    /// Its poster JPEG, relative to the media root.
    pub poster: Option<String>,
    /// Why it failed, if it did.
    pub error: Option<String>,
    /// The transcode job queued or running on it, if any.
    pub job: Option<Job>,
}

/// Where one channel's current grid names an asset. Rights windows and programme metadata
/// are per channel (parts of each channel's grid), not the asset's own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetInGrid {
    pub channel: ChannelSlug,
    /// Each place, as a path into the grid: `templates[0].slots[2].item`, `fill.rules["day"]`,
    /// `rights[1]`.
    pub paths: Vec<String>,
    /// The channel's rights windows for it.
    pub rights: Vec<RightsDoc>,
    /// The programme metadata the channel gives it at given starts.
    pub metadata: Vec<MetadataDoc>,
}

/// A deleted asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetDeleted {
    pub id: AssetId,
    pub title: String,
    pub files_removed: usize,
    /// Files that could not be removed, with why.
    pub files_left: Vec<String>,
}

impl Control {
    /// The assets `query` asks for, by id.
    pub async fn assets(&self, query: &AssetQuery) -> Result<Vec<Asset>, Refusal> {
        let state = match query.state.as_deref() {
            None | Some("") => None,
            Some(text) => Some(AssetState::parse(text).ok_or_else(|| {
                Refusal::BadRequest(format!(
                    "state {text:?} is not an asset state: processing, ready or failed"
                ))
            })?),
        };
        let limit = query.limit.unwrap_or(MAX_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(Refusal::BadRequest(format!(
                "limit {limit}: ask for 1 to {MAX_PAGE} assets at a time"
            )));
        }
        let filter = AssetFilter {
            state,
            title_contains: query
                .title
                .as_deref()
                .map(str::trim)
                .filter(|title| !title.is_empty())
                .map(str::to_owned),
            ladder: None,
            limit: Some(limit),
            after_id: query.after.map(AssetId),
        };
        Ok(self.store.list_assets(&filter).await?)
    }

    /// [`Control::assets`], each with what the library shows beside it.
    pub async fn asset_listing(&self, query: &AssetQuery) -> Result<Vec<ListedAsset>, Refusal> {
        let assets = self.assets(query).await?;
        let ids: Vec<AssetId> = assets.iter().map(|asset| asset.id).collect();
        let mut notes = self.store.asset_notes(&ids).await?;
        let mut jobs = if assets
            .iter()
            .any(|asset| asset.state == AssetState::Processing)
        {
            self.active_jobs_by_asset().await?
        } else {
            HashMap::new()
        };
        Ok(assets
            .into_iter()
            .map(|asset| {
                let notes = notes.remove(&asset.id);
                ListedAsset {
                    job: jobs.remove(&asset.id),
                    created_at: notes.as_ref().map(|notes| notes.created_at),
                    poster: notes.as_ref().and_then(|notes| notes.poster.clone()),
                    error: notes.and_then(|notes| notes.error),
                    asset,
                }
            })
            .collect())
    }

    /// The queued and running jobs by the asset each works on (the newest, if several).
    async fn active_jobs_by_asset(&self) -> Result<HashMap<AssetId, Job>, Refusal> {
        let mut jobs = HashMap::new();
        for job in self.store.active_jobs().await? {
            let payload: serde_json::Value = serde_json::from_str(&job.payload).unwrap_or_default();
            if let Some(asset) = payload.get("asset_id").and_then(serde_json::Value::as_i64) {
                jobs.insert(AssetId(asset), job);
            }
        }
        Ok(jobs)
    }

    /// Gives an asset a new title: trimmed, not empty, at most [`MAX_TITLE_CHARS`] characters,
    /// no control characters. Schedule items, grids and the as-run log keep the titles they
    /// have.
    pub async fn rename_asset(&self, id: i64, title: &str) -> Result<Asset, Refusal> {
        let title = title.trim();
        let problem = if title.is_empty() {
            Some("is empty: give the asset a title".to_owned())
        } else if title.chars().count() > MAX_TITLE_CHARS {
            Some(format!("is longer than {MAX_TITLE_CHARS} characters"))
        } else if title.chars().any(char::is_control) {
            Some("has control characters (a line break, a tab)".to_owned())
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(Refusal::invalid_field(
                "title",
                format!("the title {problem}"),
            ));
        }
        let id = AssetId(id);
        self.store
            .rename_asset(id, title)
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => Refusal::NotFound(format!("asset {id} not found")),
                other => other.into(),
            })?;
        self.store
            .asset(id)
            .await?
            .ok_or_else(|| Refusal::NotFound(format!("asset {id} not found")))
    }

    /// Where each channel's current grid names the asset (retired channels left out), by slug.
    pub async fn asset_in_grids(&self, id: i64) -> Result<Vec<AssetInGrid>, Refusal> {
        let mut found = Vec::new();
        for channel in self.store.channels().await? {
            if channel.retired {
                continue;
            }
            let documents = self.store.grid_documents(channel.id).await?;
            let (grid, _) = GridDoc::as_of(&documents, None);
            let paths: Vec<String> = GridKind::ALL
                .iter()
                .flat_map(|kind| asset_references(&grid, *kind))
                .filter(|(_, asset)| *asset == id)
                .map(|(path, _)| path)
                .collect();
            if paths.is_empty() {
                continue;
            }
            found.push(AssetInGrid {
                channel: channel.slug.clone(),
                paths,
                rights: grid
                    .rights
                    .iter()
                    .filter(|window| window.asset_id == id)
                    .cloned()
                    .collect(),
                metadata: grid
                    .metadata
                    .iter()
                    .filter(|entry| entry.asset_id == id)
                    .cloned()
                    .collect(),
            });
        }
        found.sort_by(|a, b| a.channel.as_str().cmp(b.channel.as_str()));
        Ok(found)
    }

    /// One asset with its renditions and what airs it.
    pub async fn asset(&self, id: i64) -> Result<AssetDetail, Refusal> {
        let id = AssetId(id);
        let asset = self
            .store
            .asset(id)
            .await?
            .ok_or_else(|| Refusal::NotFound(format!("asset {id} not found")))?;
        let error = self.store.asset_error(id).await?;
        let poster = self.store.asset_poster(id).await?;
        let uses = self.store.asset_uses(id, self.clock.now()).await?;
        let job = if asset.state == AssetState::Processing {
            self.active_jobs_by_asset().await?.remove(&id)
        } else {
            None
        };
        Ok(AssetDetail {
            asset,
            error,
            poster,
            uses,
            job,
        })
    }

    /// Deletes an asset nothing airs and removes its files under `media_root`.
    pub async fn delete_asset(&self, id: i64, media_root: &Path) -> Result<AssetDeleted, Refusal> {
        let id = AssetId(id);
        let now = self.clock.now();
        let uses = self
            .store
            .asset_uses(id, Timestamp(i64::MIN))
            .await
            .map_err(|error| match error {
                StoreError::NotFound(_) => Refusal::NotFound(format!("asset {id} not found")),
                other => other.into(),
            })?;
        let grid_uses = self.grid_uses(id).await?;
        if !uses.is_empty() || !grid_uses.is_empty() {
            let mut message = self.in_use_message(id, &uses, now).await?;
            if !grid_uses.is_empty() {
                message = format!(
                    "{message}{}in the grid: {}",
                    if uses.is_empty() { "" } else { "; " },
                    shortened(&grid_uses)
                );
            }
            return Err(Refusal::Conflict(format!(
                "asset {id} is in use and was not deleted: {message}; take it out of the schedule and the grid first"
            )));
        }
        if let Some(slug) = self.generated_slate_of(id).await? {
            return Err(Refusal::Conflict(format!(
                "asset {id} is in use and was not deleted: it is the slate generated for channel \
                 {slug}, which airs it in gaps and when a source fails; give the channel a slate \
                 of its own first"
            )));
        }
        let deleted = self.store.delete_asset(id).await?;
        let mut files_removed = 0;
        let mut files_left = Vec::new();
        for file in &deleted.files {
            let path = media_root.join(file);
            match std::fs::remove_file(&path) {
                Ok(()) => files_removed += 1,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => files_left.push(format!("{}: {error}", path.display())),
            }
        }
        // The asset's folders, those left empty: files another asset names stay.
        remove_empty_folders(&media_root.join("assets").join(id.0.to_string()));
        if !files_left.is_empty() {
            tracing::warn!(asset = %id, left = files_left.len(), "files of a deleted asset could not be removed");
        }
        Ok(AssetDeleted {
            id,
            title: deleted.title,
            files_removed,
            files_left,
        })
    }

    /// The channel whose generated slate `id` is (found by its source key, as playout finds
    /// it), when that channel has no slate of its own.
    async fn generated_slate_of(&self, id: AssetId) -> Result<Option<ChannelSlug>, Refusal> {
        let Some(asset) = self.store.asset(id).await? else {
            return Ok(None);
        };
        let Some(slug) = asset
            .source
            .strip_prefix(crate::grid::SLATE_SOURCE_PREFIX)
            .and_then(|slug| ChannelSlug::parse(slug).ok())
        else {
            return Ok(None);
        };
        Ok(self
            .store
            .channel_by_slug(&slug)
            .await?
            .filter(|channel| channel.slate.is_none())
            .map(|channel| channel.slug))
    }

    /// Why an asset cannot go: the items airing it inside the lock horizon first, then the
    /// rest.
    async fn in_use_message(
        &self,
        _id: AssetId,
        uses: &[AssetUse],
        now: Timestamp,
    ) -> Result<String, Refusal> {
        let mut horizons: HashMap<String, Timestamp> = HashMap::new();
        let mut locked = Vec::new();
        let mut later = Vec::new();
        let mut others = Vec::new();
        for asset_use in uses {
            match asset_use {
                AssetUse::ScheduleItem {
                    item,
                    channel,
                    start,
                    title,
                } => {
                    // One horizon per channel: an asset may air thousands of times.
                    let horizon = match horizons.get(channel.as_str()) {
                        Some(horizon) => *horizon,
                        None => {
                            let row =
                                crate::schedule::channel(&self.store, channel.as_str()).await?;
                            let horizon = lock_horizon(self, &row, now).await?;
                            horizons.insert(channel.to_string(), horizon);
                            horizon
                        }
                    };
                    let text = format!(
                        "item {} {title:?} on {channel} at {}",
                        item.0,
                        start.to_rfc3339_millis()
                    );
                    if *start < horizon {
                        locked.push(text);
                    } else {
                        later.push(text);
                    }
                }
                AssetUse::Slate { channel } => others.push(format!("the slate of {channel}")),
                AssetUse::Filler { channel } => others.push(format!("filler of {channel}")),
            }
        }
        let mut parts = Vec::new();
        if !locked.is_empty() {
            parts.push(format!(
                "scheduled inside the lock horizon: {}",
                shortened(&locked)
            ));
        }
        if !later.is_empty() {
            parts.push(format!("scheduled: {}", shortened(&later)));
        }
        if !others.is_empty() {
            parts.push(others.join(", "));
        }
        Ok(parts.join("; "))
    }

    /// Where the current grid of each channel names the asset, as `channel path`.
    async fn grid_uses(&self, id: AssetId) -> Result<Vec<String>, Refusal> {
        Ok(self
            .asset_in_grids(id.0)
            .await?
            .into_iter()
            .flat_map(|found| {
                let channel = found.channel;
                found
                    .paths
                    .into_iter()
                    .map(move |path| format!("{channel} {path}"))
            })
            .collect())
    }
}

/// The first ten of a list, and how many more.
fn shortened(list: &[String]) -> String {
    let mut text = list.iter().take(10).cloned().collect::<Vec<_>>().join(", ");
    if list.len() > 10 {
        text.push_str(&format!(" and {} more", list.len() - 10));
    }
    text
}

#[cfg(test)]
mod tests;

/// Removes `dir` and the folders under it that are (or become) empty; leaves any with a file.
fn remove_empty_folders(dir: &Path) {
    if let Ok(entries) = std::fs::read_dir(dir) {
        for entry in entries.flatten() {
            if entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                remove_empty_folders(&entry.path());
            }
        }
    }
    let _ = std::fs::remove_dir(dir);
}
