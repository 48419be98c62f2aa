//! The asset catalogue: listing and searching assets, what uses one, and deleting one that
//! nothing uses.
//!
//! What may use an asset, and how deleting it treats each:
//!
//! - schedule items (a foreign key, `ON DELETE RESTRICT`): any item, past ones included, keeps
//!   the asset;
//! - a channel's slate (a foreign key, `ON DELETE RESTRICT`) or filler (ids in JSON, checked
//!   here) keeps it;
//! - a queued or running transcode job (its payload's `asset_id`) keeps it: the worker would
//!   publish into a deleted asset;
//! - the as-run log names assets without a foreign key and keeps their titles: its entries stay,
//!   their `asset_id` then names an asset that is gone;
//! - published schedule versions and grid documents are JSON the store does not read for asset
//!   ids: restoring a version that plays a deleted asset is refused then (the asset does not
//!   exist), and the planner skips a gone asset of a fill rule, reporting it as a problem.

use onair_domain::{AssetId, AssetState, ChannelSlug, LadderId, ScheduleItemId, Timestamp};
use std::collections::HashMap;

use sqlx::error::ErrorKind;

use crate::Store;
use crate::assets::{ASSET_COLUMNS, asset_from_row};
use crate::channels::{channels_airing_between_programmes, stored_slug};
use crate::error::{StoreError, counted, named, violated_constraint};
use crate::rows::{int, optional_text, placeholders, text};

/// Asset ids per `IN (…)` query, well under every backend's limit on parameters.
const IDS_PER_QUERY: usize = 500;

/// Which assets [`Store::list_assets`] returns: every condition given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssetFilter {
    pub state: Option<AssetState>,
    /// Part of the title, in any case. SQLite folds the case of ASCII letters only.
    pub title_contains: Option<String>,
    /// Encoded to this ladder.
    pub ladder: Option<LadderId>,
    /// At most this many; `None`: all.
    pub limit: Option<u32>,
    /// Only assets after this one: the last id of the previous page.
    pub after_id: Option<AssetId>,
}

/// One thing that airs an asset, as [`Store::asset_uses`] lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssetUse {
    /// A schedule item plays it.
    ScheduleItem {
        item: ScheduleItemId,
        channel: ChannelSlug,
        start: Timestamp,
        title: String,
    },
    /// A channel loops it when nothing else can air.
    Slate { channel: ChannelSlug },
    /// A channel fills gaps with it.
    Filler { channel: ChannelSlug },
}

/// An asset [`Store::delete_asset`] deleted, with the files it leaves behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedAsset {
    pub id: AssetId,
    pub title: String,
    /// Its files, relative to the media root: every segment, every init segment and the poster,
    /// less those another asset still names (a second channel's slate published on the same
    /// files). The store never touches files: removing them is the caller's.
    pub files: Vec<String>,
}

/// What the library shows of an asset beside the asset itself, as [`Store::asset_notes`]
/// reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AssetNotes {
    /// When it was registered, by the database's clock (for people: nothing decides on it).
    pub created_at: Timestamp,
    /// Its poster JPEG, relative to the media root, once published with one.
    pub poster: Option<String>,
    /// Why it failed, if it did.
    pub error: Option<String>,
}

/// A value bound to a placeholder of a query put together at run time.
enum Bound {
    Int(i64),
    Text(String),
}

impl Store {
    /// The assets `filter` lets through, by id, without their renditions (`renditions` is
    /// empty: read one asset with [`Store::asset`] for them). Pages by keyset: ask for the next
    /// page with `after_id` set to the last id of this one.
    pub async fn list_assets(
        &self,
        filter: &AssetFilter,
    ) -> Result<Vec<onair_domain::Asset>, StoreError> {
        let mut conditions = Vec::new();
        let mut bound = Vec::new();
        let mut condition = |sql: &str, value: Bound| {
            bound.push(value);
            conditions.push(sql.replace('?', &format!("${}", bound.len())));
        };
        if let Some(after) = filter.after_id {
            condition("id > ?", Bound::Int(after.0));
        }
        if let Some(state) = filter.state {
            condition("state = ?", Bound::Text(state.as_str().to_owned()));
        }
        if let Some(ladder) = filter.ladder {
            condition("ladder_id = ?", Bound::Int(ladder.0));
        }
        if let Some(part) = &filter.title_contains {
            condition(
                "LOWER(title) LIKE ? ESCAPE '\\'",
                Bound::Text(format!("%{}%", like_escaped(&part.to_lowercase()))),
            );
        }
        let mut sql = format!("SELECT {ASSET_COLUMNS} FROM assets");
        if !conditions.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conditions.join(" AND "));
        }
        sql.push_str(" ORDER BY id");
        if let Some(limit) = filter.limit {
            bound.push(Bound::Int(i64::from(limit)));
            sql.push_str(&format!(" LIMIT ${}", bound.len()));
        }
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for value in bound {
            query = match value {
                Bound::Int(value) => query.bind(value),
                Bound::Text(value) => query.bind(value),
            };
        }
        let rows = query.fetch_all(&self.pool).await?;
        rows.iter().map(asset_from_row).collect()
    }

    /// The notes of each asset in `ids` that exists, by id: one query per few hundred ids, for
    /// a page of the library.
    pub async fn asset_notes(
        &self,
        ids: &[AssetId],
    ) -> Result<HashMap<AssetId, AssetNotes>, StoreError> {
        let mut notes = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_QUERY) {
            let sql = format!(
                "SELECT id, created_at, poster_path, error FROM assets WHERE id IN ({})",
                placeholders(1, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(id.0);
            }
            for row in query.fetch_all(&self.pool).await? {
                notes.insert(
                    AssetId(int(&row, "id")?),
                    AssetNotes {
                        created_at: Timestamp(int(&row, "created_at")?),
                        poster: optional_text(&row, "poster_path")?,
                        error: optional_text(&row, "error")?,
                    },
                );
            }
        }
        Ok(notes)
    }

    /// Gives an asset a new title (what the library lists it by; schedule items and the as-run
    /// log keep the titles they were given). A missing asset is [`StoreError::NotFound`].
    pub async fn rename_asset(&self, id: AssetId, title: &str) -> Result<(), StoreError> {
        let renamed = sqlx::query("UPDATE assets SET title = $1 WHERE id = $2")
            .bind(title)
            .bind(id.0)
            .execute(&self.pool)
            .await?
            .rows_affected();
        if renamed == 0 {
            return Err(StoreError::NotFound(format!("asset {id}")));
        }
        Ok(())
    }

    /// What airs `asset` from `from` on: the schedule items that start at or after `from`, by
    /// start, and those that started less than the asset's duration before it (still airing,
    /// unless ad breaks stretched an earlier one past `from`: those are left out); then the
    /// channels that loop it as their slate and those that list it as filler, by slug. A missing
    /// asset is [`StoreError::NotFound`].
    pub async fn asset_uses(
        &self,
        asset: AssetId,
        from: Timestamp,
    ) -> Result<Vec<AssetUse>, StoreError> {
        let mut connection = self.pool.acquire().await?;
        let duration: i64 = sqlx::query_scalar("SELECT duration_ticks FROM assets WHERE id = $1")
            .bind(asset.0)
            .fetch_optional(&mut *connection)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("asset {asset}")))?;
        // An item starting at `earliest` ends one tick after `from`.
        let earliest = from.0.saturating_sub(duration.max(1) - 1);
        let rows = sqlx::query(
            "SELECT i.id AS item_id, c.id, c.slug, i.start_at, i.title \
             FROM schedule_items i JOIN channels c ON c.id = i.channel_id \
             WHERE i.asset_id = $1 AND i.start_at >= $2 ORDER BY i.start_at, i.id",
        )
        .bind(asset.0)
        .bind(earliest)
        .fetch_all(&mut *connection)
        .await?;
        let mut uses = rows
            .iter()
            .map(|row| {
                Ok(AssetUse::ScheduleItem {
                    item: ScheduleItemId(int(row, "item_id")?),
                    channel: stored_slug(row)?,
                    start: Timestamp(int(row, "start_at")?),
                    title: text(row, "title")?,
                })
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        let (slated, filled) = channels_airing_between_programmes(&mut connection, asset).await?;
        uses.extend(
            slated
                .into_iter()
                .map(|channel| AssetUse::Slate { channel }),
        );
        uses.extend(
            filled
                .into_iter()
                .map(|channel| AssetUse::Filler { channel }),
        );
        Ok(uses)
    }

    /// Deletes an asset with its renditions and segments in one transaction, and returns the
    /// files it leaves for the caller to remove. Refused with a [`StoreError::Conflict`] that
    /// names every reason while any schedule item plays it (past ones included), a channel
    /// loops it as slate or lists it as filler, or a queued or running transcode job works on
    /// it. Its as-run entries stay (see the module's documentation).
    pub async fn delete_asset(&self, id: AssetId) -> Result<DeletedAsset, StoreError> {
        let mut transaction = self.begin_write().await?;
        // The row lock holds back writers that would start to use the asset meanwhile: a
        // schedule item's or a slate's foreign key, a channel's share lock on its filler.
        let sql = format!(
            "SELECT title, poster_path FROM assets WHERE id = $1{}",
            self.backend().row_lock(" FOR UPDATE")
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id.0)
            .fetch_optional(&mut *transaction)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("asset {id}")))?;
        let title = text(&row, "title")?;
        let poster = optional_text(&row, "poster_path")?;

        let mut reasons = Vec::new();
        let items: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM schedule_items WHERE asset_id = $1")
                .bind(id.0)
                .fetch_one(&mut *transaction)
                .await?;
        if items > 0 {
            let play = if items == 1 { "plays" } else { "play" };
            reasons.push(format!(
                "{} {play} it (past ones included)",
                counted(items, "schedule item", "schedule items")
            ));
        }
        let (slated, filled) = channels_airing_between_programmes(&mut transaction, id).await?;
        let slugs: fn(&[ChannelSlug]) -> Vec<String> =
            |channels| channels.iter().map(ChannelSlug::to_string).collect();
        if !slated.is_empty() {
            reasons.push(format!(
                "it is the slate of {}",
                named("channel", "channels", &slugs(&slated))
            ));
        }
        if !filled.is_empty() {
            reasons.push(format!(
                "it is in the filler of {}",
                named("channel", "channels", &slugs(&filled))
            ));
        }
        let jobs = active_jobs_on(&mut transaction, id).await?;
        if !jobs.is_empty() {
            let work = if jobs.len() == 1 { "works" } else { "work" };
            reasons.push(format!(
                "{} {work} on it",
                named("transcode job", "transcode jobs", &jobs)
            ));
        }
        if !reasons.is_empty() {
            return Err(StoreError::Conflict(format!(
                "asset {id} ({title:?}) cannot be deleted: {}",
                reasons.join("; ")
            )));
        }

        let mut files: Vec<String> = sqlx::query_scalar(
            "SELECT s.path FROM segments s JOIN renditions r ON r.id = s.rendition_id \
             WHERE r.asset_id = $1 ORDER BY r.id, s.idx",
        )
        .bind(id.0)
        .fetch_all(&mut *transaction)
        .await?;
        let init_paths: Vec<String> = sqlx::query_scalar(
            "SELECT init_path FROM renditions WHERE asset_id = $1 AND init_path IS NOT NULL ORDER BY id",
        )
        .bind(id.0)
        .fetch_all(&mut *transaction)
        .await?;
        files.extend(init_paths);
        files.extend(poster);
        let shared = named_by_other_assets(&mut transaction, id, &files).await?;
        files.retain(|file| !shared.contains(file));

        sqlx::query(
            "DELETE FROM segments WHERE rendition_id IN (SELECT id FROM renditions WHERE asset_id = $1)",
        )
        .bind(id.0)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM renditions WHERE asset_id = $1")
            .bind(id.0)
            .execute(&mut *transaction)
            .await?;
        sqlx::query("DELETE FROM assets WHERE id = $1")
            .bind(id.0)
            .execute(&mut *transaction)
            .await
            .map_err(|error| match violated_constraint(&error) {
                Some(ErrorKind::ForeignKeyViolation) => StoreError::Conflict(format!(
                    "asset {id} ({title:?}) cannot be deleted: something started to use it meanwhile"
                )),
                _ => StoreError::Database(error),
            })?;
        transaction.commit().await?;
        Ok(DeletedAsset { id, title, files })
    }
}

/// Which of `files` (an asset's) other assets than `asset` name too, as their segments, init
/// segments or posters: a second channel's slate is published on the first one's files. Looked
/// up by each file's folder of two levels (`assets/7/`), so the scan returns only near names.
async fn named_by_other_assets(
    connection: &mut sqlx::AnyConnection,
    asset: AssetId,
    files: &[String],
) -> Result<std::collections::HashSet<String>, StoreError> {
    let folders: std::collections::BTreeSet<String> = files
        .iter()
        .map(|file| {
            let mut parts = file.splitn(3, '/');
            match (parts.next(), parts.next(), parts.next()) {
                (Some(top), Some(sub), Some(_)) => format!("{top}/{sub}/"),
                _ => String::new(),
            }
        })
        .collect();
    let mut named = std::collections::HashSet::new();
    for folder in folders {
        let pattern = format!("{}%", folder.replace('%', "\\%").replace('_', "\\_"));
        for sql in [
            "SELECT s.path FROM segments s JOIN renditions r ON r.id = s.rendition_id \
             WHERE r.asset_id <> $1 AND s.path LIKE $2 ESCAPE '\\'",
            "SELECT init_path FROM renditions \
             WHERE asset_id <> $1 AND init_path LIKE $2 ESCAPE '\\'",
            "SELECT poster_path FROM assets WHERE id <> $1 AND poster_path LIKE $2 ESCAPE '\\'",
        ] {
            let paths: Vec<String> = sqlx::query_scalar(sql)
                .bind(asset.0)
                .bind(&pattern)
                .fetch_all(&mut *connection)
                .await?;
            named.extend(paths);
        }
    }
    Ok(named)
}

/// The queued and running jobs whose payload names `asset` (a transcode job's `asset_id`), as
/// `7 (running)`.
async fn active_jobs_on(
    connection: &mut sqlx::AnyConnection,
    asset: AssetId,
) -> Result<Vec<String>, StoreError> {
    let rows = sqlx::query(
        "SELECT id, state, payload FROM jobs WHERE state IN ('queued', 'running') ORDER BY id",
    )
    .fetch_all(&mut *connection)
    .await?;
    let mut jobs = Vec::new();
    for row in &rows {
        let payload: serde_json::Value =
            serde_json::from_str(&text(row, "payload")?).unwrap_or_default();
        if payload.get("asset_id").and_then(serde_json::Value::as_i64) == Some(asset.0) {
            jobs.push(format!("{} ({})", int(row, "id")?, text(row, "state")?));
        }
    }
    Ok(jobs)
}

/// `text` with the `LIKE` wildcards `%` and `_`, and the escape character `\`, escaped.
fn like_escaped(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_and_the_escape_character_are_escaped() {
        assert_eq!(like_escaped("100% pure_gold"), "100\\% pure\\_gold");
        assert_eq!(like_escaped("a\\b"), "a\\\\b");
        assert_eq!(like_escaped("plain"), "plain");
    }
}
