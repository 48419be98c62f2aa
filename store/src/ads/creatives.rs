//! The creative cache the replicas share: an ad creative transcoded to a ladder, from its first
//! request (pending) through its transcode job and asset to ready or failed.

use std::collections::{HashMap, HashSet};

use onair_domain::{AssetId, AssetState, JobId, LadderId, Ticks, Timestamp};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use super::KEYS_PER_QUERY;
use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{int, optional_int, optional_text, placeholders, text};

/// Where a creative is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreativeStatus {
    /// Requested; its transcode may or may not be attached yet.
    Pending,
    /// Its asset airs it, for the recorded duration.
    Ready,
    /// It cannot air; the reason is recorded.
    Failed,
}

impl CreativeStatus {
    /// The name stored: `pending`, `ready`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            CreativeStatus::Pending => "pending",
            CreativeStatus::Ready => "ready",
            CreativeStatus::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<CreativeStatus> {
        match name {
            "pending" => Some(CreativeStatus::Pending),
            "ready" => Some(CreativeStatus::Ready),
            "failed" => Some(CreativeStatus::Failed),
            _ => None,
        }
    }
}

impl std::fmt::Display for CreativeStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A creative on one ladder, with the state of its asset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreativeRow {
    /// What names it across ad servers, e.g. its VAST creative id or media URL.
    pub creative_key: String,
    pub ladder_id: LadderId,
    /// Where its media comes from.
    pub source_url: String,
    /// The asset its transcode makes, once attached; `None` again if that asset was deleted.
    pub asset_id: Option<AssetId>,
    pub job_id: Option<JobId>,
    pub status: CreativeStatus,
    /// Why it failed.
    pub error: Option<String>,
    /// What airs of it, once ready.
    pub duration: Option<Ticks>,
    pub created_at: Timestamp,
    /// When it was requested, became ready or failed.
    pub updated_at: Timestamp,
    /// The asset's own state (processing, ready, failed) while one is attached.
    pub asset_state: Option<AssetState>,
}

/// The columns [`creative_from_row`] reads and where from (`c` the creative, `a` its asset), as
/// a literal for `concat!`.
macro_rules! creative_select {
    () => {
        "SELECT c.creative_key, c.ladder_id, c.source_url, c.asset_id, c.job_id, c.status, \
         c.error, c.duration_ticks, c.created_at, c.updated_at, a.state AS asset_state \
         FROM creatives c LEFT JOIN assets a ON a.id = c.asset_id "
    };
}

impl Store {
    /// Requests the creative `key` on `ladder`: creates it pending unless it exists (whatever
    /// its status), and says whether this call created it. Of several replicas requesting the
    /// same creative at once, exactly one gets `true`: that one transcodes it. An empty key is
    /// [`StoreError::Invalid`]; an unknown ladder [`StoreError::NotFound`].
    pub async fn request_creative(
        &self,
        key: &str,
        ladder: LadderId,
        source_url: &str,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        if key.is_empty() {
            return Err(StoreError::Invalid(
                "a creative needs a key: it is empty".to_owned(),
            ));
        }
        let inserted = sqlx::query(
            "INSERT INTO creatives \
             (creative_key, ladder_id, source_url, status, created_at, updated_at) \
             VALUES ($1, $2, $3, 'pending', $4, $4) \
             ON CONFLICT (creative_key, ladder_id) DO NOTHING",
        )
        .bind(key)
        .bind(ladder.0)
        .bind(source_url)
        .bind(at.0)
        .execute(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::NotFound(format!("ladder {}", ladder.0))
            }
            _ => StoreError::Database(error),
        })?;
        Ok(inserted.rows_affected() == 1)
    }

    /// Attaches the transcode `job` making the pending creative's `asset`, which must be
    /// encoded to the creative's ladder ([`StoreError::Invalid`] otherwise). A creative no
    /// longer pending is a [`StoreError::Conflict`]; an unknown creative or asset
    /// [`StoreError::NotFound`].
    pub async fn attach_creative_job(
        &self,
        key: &str,
        ladder: LadderId,
        job: JobId,
        asset: AssetId,
    ) -> Result<(), StoreError> {
        let asset_ladder: Option<i64> =
            sqlx::query_scalar("SELECT ladder_id FROM assets WHERE id = $1")
                .bind(asset.0)
                .fetch_optional(&self.pool)
                .await?;
        match asset_ladder {
            None => return Err(StoreError::NotFound(format!("asset {asset}"))),
            Some(asset_ladder) if asset_ladder != ladder.0 => {
                return Err(StoreError::Invalid(format!(
                    "asset {asset} is encoded to ladder {asset_ladder}, not to ladder {} of creative {key:?}",
                    ladder.0
                )));
            }
            Some(_) => {}
        }
        let attached = sqlx::query(
            "UPDATE creatives SET job_id = $3, asset_id = $4 \
             WHERE creative_key = $1 AND ladder_id = $2 AND status = 'pending'",
        )
        .bind(key)
        .bind(ladder.0)
        .bind(job.0)
        .bind(asset.0)
        .execute(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::ForeignKeyViolation) => StoreError::NotFound(format!("asset {asset}")),
            _ => StoreError::Database(error),
        })?;
        if attached.rows_affected() == 1 {
            return Ok(());
        }
        Err(match self.creative_status(key, ladder).await? {
            None => creative_not_found(key, ladder),
            Some((status, _)) => StoreError::Conflict(format!(
                "creative {key:?} on ladder {} is {status}, not pending: only a pending creative takes a transcode job",
                ladder.0
            )),
        })
    }

    /// The creative `key` on `ladder` with its asset's state, if it was requested.
    pub async fn creative(
        &self,
        key: &str,
        ladder: LadderId,
    ) -> Result<Option<CreativeRow>, StoreError> {
        let sql = concat!(
            creative_select!(),
            "WHERE c.creative_key = $1 AND c.ladder_id = $2"
        );
        let row = sqlx::query(sql)
            .bind(key)
            .bind(ladder.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(creative_from_row).transpose()
    }

    /// The creatives with these keys on `ladder`, in the order asked for. Keys never requested
    /// are left out; a key asked for twice comes back once.
    pub async fn creatives_by_keys(
        &self,
        keys: &[String],
        ladder: LadderId,
    ) -> Result<Vec<CreativeRow>, StoreError> {
        let mut seen = HashSet::new();
        let unique: Vec<&str> = keys
            .iter()
            .map(String::as_str)
            .filter(|key| seen.insert(*key))
            .collect();
        let mut found = HashMap::with_capacity(unique.len());
        for chunk in unique.chunks(KEYS_PER_QUERY) {
            let sql = format!(
                concat!(
                    creative_select!(),
                    "WHERE c.ladder_id = $1 AND c.creative_key IN ({})"
                ),
                placeholders(2, chunk.len())
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(ladder.0);
            for key in chunk {
                query = query.bind(*key);
            }
            for row in query.fetch_all(&self.pool).await? {
                let creative = creative_from_row(&row)?;
                found.insert(creative.creative_key.clone(), creative);
            }
        }
        Ok(unique.iter().filter_map(|key| found.remove(*key)).collect())
    }

    /// Marks the pending creative ready, airing for `duration`. It must have an asset attached
    /// ([`StoreError::Conflict`] otherwise). Marking a ready creative ready again changes
    /// nothing (a second replica seeing the same job end): it keeps its first duration. A
    /// failed creative is a [`StoreError::Conflict`], an unknown one [`StoreError::NotFound`],
    /// a duration that is not positive [`StoreError::Invalid`].
    pub async fn mark_creative_ready(
        &self,
        key: &str,
        ladder: LadderId,
        duration: Ticks,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        if duration <= Ticks::ZERO {
            return Err(StoreError::Invalid(format!(
                "creative {key:?} cannot air for {} ticks: its duration must be positive",
                duration.0
            )));
        }
        let marked = sqlx::query(
            "UPDATE creatives SET status = 'ready', duration_ticks = $3, error = NULL, updated_at = $4 \
             WHERE creative_key = $1 AND ladder_id = $2 AND status = 'pending' AND asset_id IS NOT NULL",
        )
        .bind(key)
        .bind(ladder.0)
        .bind(duration.0)
        .bind(at.0)
        .execute(&self.pool)
        .await?;
        if marked.rows_affected() == 1 {
            return Ok(());
        }
        match self.creative_status(key, ladder).await? {
            None => Err(creative_not_found(key, ladder)),
            Some((CreativeStatus::Ready, _)) => Ok(()),
            Some((CreativeStatus::Pending, _)) => Err(StoreError::Conflict(format!(
                "creative {key:?} on ladder {} has no asset: attach its transcode job before marking it ready",
                ladder.0
            ))),
            Some((CreativeStatus::Failed, error)) => Err(StoreError::Conflict(format!(
                "creative {key:?} on ladder {} failed ({}): it cannot become ready",
                ladder.0,
                error.as_deref().unwrap_or("no reason recorded")
            ))),
        }
    }

    /// Marks the pending creative failed, with the reason. Failing a failed creative again
    /// changes nothing: it keeps its first reason. A ready creative is a
    /// [`StoreError::Conflict`], an unknown one [`StoreError::NotFound`].
    pub async fn fail_creative(
        &self,
        key: &str,
        ladder: LadderId,
        reason: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let failed = sqlx::query(
            "UPDATE creatives SET status = 'failed', error = $3, updated_at = $4 \
             WHERE creative_key = $1 AND ladder_id = $2 AND status = 'pending'",
        )
        .bind(key)
        .bind(ladder.0)
        .bind(reason)
        .bind(at.0)
        .execute(&self.pool)
        .await?;
        if failed.rows_affected() == 1 {
            return Ok(());
        }
        match self.creative_status(key, ladder).await? {
            None => Err(creative_not_found(key, ladder)),
            Some((CreativeStatus::Failed, _)) => Ok(()),
            Some((status, _)) => Err(StoreError::Conflict(format!(
                "creative {key:?} on ladder {} is {status}, not pending: only a pending creative can fail",
                ladder.0
            ))),
        }
    }

    /// Every pending creative, on every ladder, oldest request first: what a replica watches
    /// (or starts, when no job is attached) after a restart.
    pub async fn creatives_pending(&self) -> Result<Vec<CreativeRow>, StoreError> {
        let sql = concat!(
            creative_select!(),
            "WHERE c.status = 'pending' ORDER BY c.created_at, c.ladder_id, c.creative_key"
        );
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(creative_from_row).collect()
    }

    /// Every creative, or those of one ladder, by ladder and key.
    pub async fn list_creatives(
        &self,
        ladder: Option<LadderId>,
    ) -> Result<Vec<CreativeRow>, StoreError> {
        let rows = match ladder {
            Some(ladder) => {
                let sql = concat!(
                    creative_select!(),
                    "WHERE c.ladder_id = $1 ORDER BY c.creative_key"
                );
                sqlx::query(sql)
                    .bind(ladder.0)
                    .fetch_all(&self.pool)
                    .await?
            }
            None => {
                let sql = concat!(creative_select!(), "ORDER BY c.ladder_id, c.creative_key");
                sqlx::query(sql).fetch_all(&self.pool).await?
            }
        };
        rows.iter().map(creative_from_row).collect()
    }

    /// The creative's status and error, if it exists.
    async fn creative_status(
        &self,
        key: &str,
        ladder: LadderId,
    ) -> Result<Option<(CreativeStatus, Option<String>)>, StoreError> {
        let row = sqlx::query(
            "SELECT status, error FROM creatives WHERE creative_key = $1 AND ladder_id = $2",
        )
        .bind(key)
        .bind(ladder.0)
        .fetch_optional(&self.pool)
        .await?;
        row.map(|row| {
            Ok((
                parse_status(&text(&row, "status")?)?,
                optional_text(&row, "error")?,
            ))
        })
        .transpose()
    }
}

fn creative_not_found(key: &str, ladder: LadderId) -> StoreError {
    StoreError::NotFound(format!("creative {key:?} on ladder {}", ladder.0))
}

fn parse_status(name: &str) -> Result<CreativeStatus, StoreError> {
    CreativeStatus::parse(name).ok_or_else(|| {
        StoreError::Invalid(format!("unknown creative status {name:?} in the database"))
    })
}

fn creative_from_row(row: &AnyRow) -> Result<CreativeRow, StoreError> {
    let asset_state = match optional_text(row, "asset_state")? {
        None => None,
        Some(name) => Some(AssetState::parse(&name).ok_or_else(|| {
            StoreError::Invalid(format!("unknown asset state {name:?} in the database"))
        })?),
    };
    Ok(CreativeRow {
        creative_key: text(row, "creative_key")?,
        ladder_id: LadderId(int(row, "ladder_id")?),
        source_url: text(row, "source_url")?,
        asset_id: optional_int(row, "asset_id")?.map(AssetId),
        job_id: optional_int(row, "job_id")?.map(JobId),
        status: parse_status(&text(row, "status")?)?,
        error: optional_text(row, "error")?,
        duration: optional_int(row, "duration_ticks")?.map(Ticks),
        created_at: Timestamp(int(row, "created_at")?),
        updated_at: Timestamp(int(row, "updated_at")?),
        asset_state,
    })
}
