//! The programme metadata of schedule items (episode, description, genres, rating, artwork), as
//! schedule edits and reads carry it in each item's `info`.
//!
//! It is kept where the planner and the EPG read it: the grid's `metadata` part, by the item's
//! start and asset (see [`crate::grid`]). A schedule edit whose items carry `info` writes that
//! part in the same store transaction and the same version as the items
//! ([`onair_store::Store::publish_schedule_edit_with_grid`]), so the two never disagree and a
//! conflict or refusal leaves both as they were.
//!
//! - An item with `info` has it stored under its start and asset, the item's `title` replacing
//!   the one in `info`; an `info` that says nothing but the title removes what was stored.
//! - An item without `info` (a CSV import, a client that does not know it) leaves what is stored
//!   for it as it is.
//! - What is stored for items that moved or went is kept: restoring an earlier schedule version
//!   brings its items back with their metadata.
//! - Metadata is not what airs: editing the `info` of an item inside the lock horizon is
//!   allowed.

use std::collections::HashMap;
use std::sync::Arc;

use onair_domain::{AssetId, Channel, Timestamp};
use onair_store::grid::GridKind;

use super::parse_instant;
use crate::grid::{InfoDoc, MetadataDoc};
use crate::{Control, Refusal};

/// Programme metadata by item start and asset.
pub type ItemMetadata = HashMap<(Timestamp, AssetId), InfoDoc>;

/// The metadata part's entries as stored (none when it was never written).
async fn stored_part(control: &Control, channel: &Channel) -> Result<Vec<MetadataDoc>, Refusal> {
    let Some(document) = control
        .store
        .latest_grid_document(channel.id, GridKind::Metadata)
        .await?
    else {
        return Ok(Vec::new());
    };
    serde_json::from_value(document.body).map_err(|error| {
        Refusal::Internal(format!(
            "the metadata of {}'s grid (version {}) does not read: {error}",
            channel.slug, document.version
        ))
    })
}

fn by_item(entries: Vec<MetadataDoc>) -> ItemMetadata {
    entries
        .into_iter()
        .filter_map(|entry| {
            let start = parse_instant(&entry.start).ok()?;
            Some(((start, AssetId(entry.asset_id)), entry.info))
        })
        .collect()
}

impl Control {
    /// The programme metadata of `channel`'s items at schedule `version` (kept per version).
    pub async fn item_metadata(
        &self,
        channel: &Channel,
        version: i64,
    ) -> Result<Arc<ItemMetadata>, Refusal> {
        let reads = self.plan_cache.reads();
        if let Some(kept) = reads.metadata(channel.id, version) {
            return Ok(kept);
        }
        let metadata = Arc::new(by_item(stored_part(self, channel).await?));
        // Kept only when nothing was published while it was read.
        if self.store.schedule_version(channel.id).await? == version {
            reads.keep_metadata(channel.id, version, Arc::clone(&metadata));
        }
        Ok(metadata)
    }
}

/// The metadata part after an edit places `placed` (each item's start, asset and `info`, its
/// title already the item's), with when it takes effect, or `None` when it does not change.
pub(crate) async fn part_after(
    control: &Control,
    channel: &Channel,
    placed: &[(Timestamp, AssetId, &InfoDoc)],
    now: Timestamp,
) -> Result<Option<(serde_json::Value, Timestamp)>, Refusal> {
    if placed.is_empty() {
        return Ok(None);
    }
    let stored = stored_part(control, channel).await?;
    let mut entries: Vec<(Option<Timestamp>, MetadataDoc)> = stored
        .iter()
        .cloned()
        .map(|entry| (parse_instant(&entry.start).ok(), entry))
        .collect();
    for (start, asset, info) in placed {
        let found = entries
            .iter()
            .position(|(at, entry)| *at == Some(*start) && entry.asset_id == asset.0);
        match (found, info.is_bare()) {
            (Some(index), true) => {
                entries.remove(index);
            }
            (Some(index), false) => entries[index].1.info = (*info).clone(),
            (None, true) => {}
            (None, false) => entries.push((
                Some(*start),
                MetadataDoc {
                    start: start.to_rfc3339_millis(),
                    asset_id: asset.0,
                    info: (*info).clone(),
                },
            )),
        }
    }
    let after: Vec<MetadataDoc> = entries.into_iter().map(|(_, entry)| entry).collect();
    if after == stored {
        return Ok(None);
    }
    // Metadata is a fact about items, not staged: it takes effect at once, in order after the
    // grid's latest version.
    let effective_from = control
        .store
        .latest_grid_effective_from(channel.id)
        .await?
        .map_or(now, |latest| latest.max(now));
    let body = serde_json::to_value(&after)
        .map_err(|error| Refusal::Internal(format!("metadata does not serialise: {error}")))?;
    Ok(Some((body, effective_from)))
}

#[cfg(test)]
mod tests;
