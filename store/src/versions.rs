//! Published schedule versions: edits of a window of a channel's schedule, applied atomically
//! under an optimistic-concurrency precondition (the schedule version the editor saw), each one
//! kept with who published it, when, and the whole schedule it left, so it can be restored.

use onair_domain::{AdBreak, AssetId, ChannelId, ScheduleItem, ScheduleItemId, Ticks, Timestamp};
use serde::{Deserialize, Serialize};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use crate::Store;
use crate::error::StoreError;
use crate::grid::{GridDocuments, insert_documents};
use crate::rows::{int, text};
use crate::schedule::{NewAdBreak, NewScheduleItem, check_items, insert_items};

/// An item with its ad breaks, as published.
pub type ScheduleEntry = (NewScheduleItem, Vec<NewAdBreak>);

/// An edit of windows `[from, to)` of a channel's schedule: the items starting in them are
/// replaced by `items` (which must each start in one of them), provided the schedule is still at
/// `expected_version`. Several windows (a day copied to several dates) are one edit.
#[derive(Debug, Clone, Copy)]
pub struct ScheduleEdit<'a> {
    pub channel: ChannelId,
    pub expected_version: i64,
    /// `(from, to)` pairs, none empty, none overlapping another.
    pub windows: &'a [(Timestamp, Timestamp)],
    pub items: &'a [ScheduleEntry],
    /// Who publishes it, e.g. a user name from a header, or `api`.
    pub author: &'a str,
    pub now: Timestamp,
}

/// A published version: the schedule as it stood right after the publication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedVersion {
    pub version: i64,
    pub author: String,
    pub published_at: Timestamp,
    pub items: Vec<ScheduleEntry>,
}

/// The JSON form of a stored schedule entry (integers: ticks and asset ids).
#[derive(Serialize, Deserialize)]
struct StoredEntry {
    asset_id: i64,
    start: i64,
    hard_start: bool,
    title: String,
    /// Ticks; absent in versions published before items had lengths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    length: Option<i64>,
    ad_breaks: Vec<StoredBreak>,
}

#[derive(Serialize, Deserialize)]
struct StoredBreak {
    offset: i64,
    duration: i64,
}

impl Store {
    /// The channel's schedule version, bumped by every change to its schedule.
    pub async fn schedule_version(&self, channel: ChannelId) -> Result<i64, StoreError> {
        let version: Option<i64> =
            sqlx::query_scalar("SELECT schedule_version FROM channels WHERE id = $1")
                .bind(channel.0)
                .fetch_optional(&self.pool)
                .await?;
        version.ok_or_else(|| StoreError::NotFound(format!("channel {}", channel.0)))
    }

    /// The channel's items that start in `[from, to)`, by start, each with its ad breaks (by
    /// offset).
    pub async fn schedule_between_with_ad_breaks(
        &self,
        channel: ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(ScheduleItem, Vec<AdBreak>)>, StoreError> {
        let items = self.schedule_items_between(channel, from, to).await?;
        // In item, offset and id order: each item's breaks in order.
        let mut by_item: std::collections::HashMap<ScheduleItemId, Vec<AdBreak>> =
            std::collections::HashMap::new();
        for ad_break in self.ad_breaks_between(channel, from, to).await? {
            by_item
                .entry(ad_break.schedule_item_id)
                .or_default()
                .push(ad_break);
        }
        Ok(items
            .into_iter()
            .map(|item| {
                let own = by_item.remove(&item.id).unwrap_or_default();
                (item, own)
            })
            .collect())
    }

    /// Applies `edit` in one transaction and returns the new schedule version. A schedule no
    /// longer at `edit.expected_version` is a [`StoreError::Conflict`] naming the current one,
    /// and changes nothing: two editors are serialised, the second must reload and re-apply.
    /// Items that start outside the window, or play a missing or unready asset, are
    /// [`StoreError::Invalid`]. The published version is kept (see
    /// [`Store::published_versions`]).
    pub async fn publish_schedule_edit(&self, edit: &ScheduleEdit<'_>) -> Result<i64, StoreError> {
        self.publish_schedule(edit, None).await
    }

    /// [`Store::publish_schedule_edit`], with grid documents written in the same transaction
    /// and the same version (the programme metadata of the items the edit places): both land
    /// or neither does. The documents are checked as [`Store::publish_grid_edit`] checks them.
    pub async fn publish_schedule_edit_with_grid(
        &self,
        edit: &ScheduleEdit<'_>,
        grid: &GridDocuments<'_>,
    ) -> Result<i64, StoreError> {
        self.publish_schedule(edit, Some(grid)).await
    }

    async fn publish_schedule(
        &self,
        edit: &ScheduleEdit<'_>,
        grid: Option<&GridDocuments<'_>>,
    ) -> Result<i64, StoreError> {
        check_windows(edit.windows)?;
        if let Some((item, _)) = edit.items.iter().find(|(item, _)| {
            !edit
                .windows
                .iter()
                .any(|(from, to)| item.start >= *from && item.start < *to)
        }) {
            return Err(StoreError::Invalid(format!(
                "schedule item {:?} starts at {}, outside the window of the edit",
                item.title, item.start
            )));
        }
        let mut transaction = self.begin_write().await?;
        let version =
            bump_schedule_version(&mut transaction, edit.channel, edit.expected_version).await?;
        check_items(&mut transaction, edit.items).await?;
        for (from, to) in edit.windows {
            sqlx::query(
                "DELETE FROM ad_breaks WHERE schedule_item_id IN \
                 (SELECT id FROM schedule_items WHERE channel_id = $1 AND start_at >= $2 AND start_at < $3)",
            )
            .bind(edit.channel.0)
            .bind(from.0)
            .bind(to.0)
            .execute(&mut *transaction)
            .await?;
            sqlx::query(
                "DELETE FROM schedule_items WHERE channel_id = $1 AND start_at >= $2 AND start_at < $3",
            )
            .bind(edit.channel.0)
            .bind(from.0)
            .bind(to.0)
            .execute(&mut *transaction)
            .await?;
        }
        insert_items(&mut transaction, edit.channel, edit.items).await?;
        if let Some(grid) = grid {
            insert_documents(
                &mut transaction,
                edit.channel,
                version,
                grid,
                edit.author,
                edit.now,
            )
            .await?;
        }
        keep_version(
            &mut transaction,
            edit.channel,
            version,
            edit.author,
            edit.now,
        )
        .await?;
        transaction.commit().await?;
        Ok(version)
    }

    /// Every version published through [`Store::publish_schedule_edit`], newest first.
    pub async fn published_versions(
        &self,
        channel: ChannelId,
    ) -> Result<Vec<PublishedVersion>, StoreError> {
        let rows = sqlx::query(
            "SELECT version, author, published_at, items FROM schedule_versions \
             WHERE channel_id = $1 ORDER BY version DESC",
        )
        .bind(channel.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(version_from_row).collect()
    }

    /// One published version, if it was published.
    pub async fn published_version(
        &self,
        channel: ChannelId,
        version: i64,
    ) -> Result<Option<PublishedVersion>, StoreError> {
        let row = sqlx::query(
            "SELECT version, author, published_at, items FROM schedule_versions \
             WHERE channel_id = $1 AND version = $2",
        )
        .bind(channel.0)
        .bind(version)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(version_from_row).transpose()
    }
}

/// Refuses no window, an empty window, or windows that overlap.
fn check_windows(windows: &[(Timestamp, Timestamp)]) -> Result<(), StoreError> {
    if windows.is_empty() {
        return Err(StoreError::Invalid("the edit names no window".to_owned()));
    }
    let mut sorted = windows.to_vec();
    sorted.sort();
    for (from, to) in &sorted {
        if to <= from {
            return Err(StoreError::Invalid(format!(
                "the window {from} to {to} is empty"
            )));
        }
    }
    for pair in sorted.windows(2) {
        if pair[1].0 < pair[0].1 {
            return Err(StoreError::Invalid(format!(
                "the windows {} to {} and {} to {} overlap",
                pair[0].0, pair[0].1, pair[1].0, pair[1].1
            )));
        }
    }
    Ok(())
}

/// Keeps `version` of the channel's schedule as it stands in `transaction`, published by
/// `author` at `now`.
pub(crate) async fn keep_version(
    transaction: &mut Transaction<'static, Any>,
    channel: ChannelId,
    version: i64,
    author: &str,
    now: Timestamp,
) -> Result<(), StoreError> {
    let snapshot = snapshot(transaction, channel).await?;
    sqlx::query(
        "INSERT INTO schedule_versions (channel_id, version, author, published_at, items) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(channel.0)
    .bind(version)
    .bind(author)
    .bind(now.0)
    .bind(snapshot)
    .execute(&mut **transaction)
    .await?;
    Ok(())
}

/// The channel's whole schedule, as JSON.
async fn snapshot(
    transaction: &mut Transaction<'static, Any>,
    channel: ChannelId,
) -> Result<String, StoreError> {
    let items = sqlx::query(
        "SELECT id, asset_id, start_at, hard_start, title, length_ticks FROM schedule_items \
         WHERE channel_id = $1 ORDER BY start_at, id",
    )
    .bind(channel.0)
    .fetch_all(&mut **transaction)
    .await?;
    let breaks = sqlx::query(
        "SELECT b.schedule_item_id, b.offset_ticks, b.duration_ticks FROM ad_breaks b \
         JOIN schedule_items i ON i.id = b.schedule_item_id \
         WHERE i.channel_id = $1 ORDER BY b.schedule_item_id, b.offset_ticks, b.id",
    )
    .bind(channel.0)
    .fetch_all(&mut **transaction)
    .await?;
    let mut entries = Vec::with_capacity(items.len());
    for row in &items {
        let id = int(row, "id")?;
        let mut ad_breaks = Vec::new();
        for ad_break in &breaks {
            if int(ad_break, "schedule_item_id")? == id {
                ad_breaks.push(StoredBreak {
                    offset: int(ad_break, "offset_ticks")?,
                    duration: int(ad_break, "duration_ticks")?,
                });
            }
        }
        entries.push(StoredEntry {
            asset_id: int(row, "asset_id")?,
            start: int(row, "start_at")?,
            hard_start: crate::rows::flag(row, "hard_start")?,
            title: text(row, "title")?,
            length: crate::rows::optional_int(row, "length_ticks")?,
            ad_breaks,
        });
    }
    Ok(serde_json::to_string(&entries).expect("schedule entries serialise to JSON"))
}

fn version_from_row(row: &AnyRow) -> Result<PublishedVersion, StoreError> {
    let version = int(row, "version")?;
    let json = text(row, "items")?;
    let entries: Vec<StoredEntry> = serde_json::from_str(&json).map_err(|error| {
        StoreError::Invalid(format!(
            "schedule version {version} has unreadable items: {error}"
        ))
    })?;
    Ok(PublishedVersion {
        version,
        author: text(row, "author")?,
        published_at: Timestamp(int(row, "published_at")?),
        items: entries
            .into_iter()
            .map(|entry| {
                (
                    NewScheduleItem {
                        asset_id: AssetId(entry.asset_id),
                        start: Timestamp(entry.start),
                        hard_start: entry.hard_start,
                        title: entry.title,
                        length: entry.length.map(Ticks),
                    },
                    entry
                        .ad_breaks
                        .into_iter()
                        .map(|ad_break| NewAdBreak {
                            offset: Ticks(ad_break.offset),
                            duration: Ticks(ad_break.duration),
                        })
                        .collect(),
                )
            })
            .collect(),
    })
}

/// The check-and-set every schedule and grid edit makes, in its transaction: moves the channel's
/// schedule version from `expected` to the next, or says why not (a conflict naming the current
/// version, or a missing channel).
pub(crate) async fn bump_schedule_version(
    transaction: &mut Transaction<'_, Any>,
    channel: ChannelId,
    expected: i64,
) -> Result<i64, StoreError> {
    let version: Option<i64> = sqlx::query_scalar(
        "UPDATE channels SET schedule_version = schedule_version + 1 \
         WHERE id = $1 AND schedule_version = $2 RETURNING schedule_version",
    )
    .bind(channel.0)
    .bind(expected)
    .fetch_optional(&mut **transaction)
    .await?;
    if let Some(version) = version {
        return Ok(version);
    }
    let current: Option<i64> =
        sqlx::query_scalar("SELECT schedule_version FROM channels WHERE id = $1")
            .bind(channel.0)
            .fetch_optional(&mut **transaction)
            .await?;
    Err(match current {
        None => StoreError::NotFound(format!("channel {}", channel.0)),
        Some(current) => StoreError::Conflict(format!(
            "the schedule changed: it is at version {current}, not {expected}; reload it and apply the edit again"
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_kept_before_items_had_lengths_reads_them_as_whole() {
        let json = r#"[{"asset_id":1,"start":0,"hard_start":true,"title":"Old","ad_breaks":[]}]"#;
        let entries: Vec<StoredEntry> = serde_json::from_str(json).unwrap();
        assert_eq!(entries[0].length, None);
    }

    #[test]
    fn a_length_is_kept_in_the_json_and_only_when_there_is_one() {
        let entry = |length| StoredEntry {
            asset_id: 1,
            start: 0,
            hard_start: true,
            title: "T".into(),
            length,
            ad_breaks: Vec::new(),
        };
        let with = serde_json::to_string(&entry(Some(450_000))).unwrap();
        let without = serde_json::to_string(&entry(None)).unwrap();
        assert!(with.contains(r#""length":450000"#), "{with}");
        assert!(!without.contains("length"), "{without}");
    }
}
