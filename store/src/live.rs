//! Live ingest's shared state: the live sources, their state as the ingest node reports it,
//! the segments each publish wrote, and each source's events.
//!
//! Replicas agree through the keys: a segment is one row per source and start, and the first
//! writer wins ([`Store::record_live_segment`]); the row says when it was recorded, so every
//! replica applies the same deadline to it and airs the same thing (see `control::live`).

use onair_domain::{ChannelId, LadderId, Ticks, Timestamp};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{int, optional_int, optional_text, text, uint};

/// A stored live source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveSourceRow {
    pub id: i64,
    /// What grid items name it by.
    pub name: String,
    /// What publishers send to: `rtmp://host/live/{key}`, SRT streamid `publish:{key}`.
    pub stream_key: String,
    pub ladder_id: LadderId,
    pub created_at: Timestamp,
    pub key_rotated_at: Timestamp,
    pub state: LiveState,
    pub state_since: Timestamp,
    /// The current (or last) publish; 0 before the first.
    pub publish_id: i64,
    pub protocol: Option<String>,
    pub peer: Option<String>,
    pub error: Option<String>,
    /// The ingest's figures, a JSON object.
    pub stats: Option<String>,
    pub reported_at: Option<Timestamp>,
}

/// Where a source is, as the ingest node reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LiveState {
    /// Nobody publishes.
    Idle,
    Publishing,
    /// The publisher vanished or stalled.
    Lost,
    /// The encode failed (e.g. an unsupported codec).
    Failed,
}

impl LiveState {
    pub fn as_str(self) -> &'static str {
        match self {
            LiveState::Idle => "idle",
            LiveState::Publishing => "publishing",
            LiveState::Lost => "lost",
            LiveState::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<LiveState> {
        match name {
            "idle" => Some(LiveState::Idle),
            "publishing" => Some(LiveState::Publishing),
            "lost" => Some(LiveState::Lost),
            "failed" => Some(LiveState::Failed),
            _ => None,
        }
    }
}

impl std::fmt::Display for LiveState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A segment a publish wrote on every rung.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveSegmentRow {
    pub start: Timestamp,
    pub duration: Ticks,
    pub publish_id: i64,
    pub recorded_at: Timestamp,
}

impl LiveSegmentRow {
    pub fn end(&self) -> Timestamp {
        self.start + self.duration
    }
}

/// One of a source's events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveEventRow {
    pub at: Timestamp,
    /// `publish`, `end`, `lost`, `refused` or `failed`.
    pub kind: String,
    pub detail: String,
}

/// What the ingest node reports about a source that ended or failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LiveEnd<'a> {
    /// [`LiveState::Idle`] (closed), [`LiveState::Lost`] or [`LiveState::Failed`].
    pub state: LiveState,
    /// `end`, `lost` or `failed`.
    pub event: &'a str,
    pub detail: &'a str,
}

const SOURCE_COLUMNS: &str = "id, name, stream_key, ladder_id, created_at, key_rotated_at, \
     state, state_since, publish_id, protocol, peer, error, stats, reported_at";

impl Store {
    /// Stores a new source. A name or key already taken is a [`StoreError::Conflict`]; an
    /// unknown ladder [`StoreError::NotFound`].
    pub async fn create_live_source(
        &self,
        name: &str,
        stream_key: &str,
        ladder_id: LadderId,
        at: Timestamp,
    ) -> Result<LiveSourceRow, StoreError> {
        if name.is_empty() || stream_key.is_empty() {
            return Err(StoreError::Invalid(
                "a live source needs a name and a stream key".to_owned(),
            ));
        }
        sqlx::query(
            "INSERT INTO live_sources \
             (name, stream_key, ladder_id, created_at, key_rotated_at, state, state_since) \
             VALUES ($1, $2, $3, $4, $4, 'idle', $4)",
        )
        .bind(name)
        .bind(stream_key)
        .bind(ladder_id.0)
        .bind(at.0)
        .execute(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::UniqueViolation) => StoreError::Conflict(format!(
                "a live source named {name} (or with that stream key) exists already"
            )),
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::NotFound(format!("ladder {}", ladder_id.0))
            }
            _ => StoreError::Database(error),
        })?;
        self.live_source_by_name(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("live source {name}")))
    }

    /// Every source, by name.
    pub async fn live_sources(&self) -> Result<Vec<LiveSourceRow>, StoreError> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM live_sources ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(source_from_row).collect()
    }

    pub async fn live_source_by_name(
        &self,
        name: &str,
    ) -> Result<Option<LiveSourceRow>, StoreError> {
        self.live_source_where("name", name).await
    }

    /// The source a publisher's key names.
    pub async fn live_source_by_key(
        &self,
        stream_key: &str,
    ) -> Result<Option<LiveSourceRow>, StoreError> {
        self.live_source_where("stream_key", stream_key).await
    }

    async fn live_source_where(
        &self,
        column: &'static str,
        value: &str,
    ) -> Result<Option<LiveSourceRow>, StoreError> {
        let sql = format!("SELECT {SOURCE_COLUMNS} FROM live_sources WHERE {column} = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(value)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(source_from_row).transpose()
    }

    /// Gives the source a new stream key; publishers on the old one are refused from now on.
    pub async fn rotate_live_source_key(
        &self,
        name: &str,
        stream_key: &str,
        at: Timestamp,
    ) -> Result<LiveSourceRow, StoreError> {
        let changed = sqlx::query(
            "UPDATE live_sources SET stream_key = $1, key_rotated_at = $2 WHERE name = $3",
        )
        .bind(stream_key)
        .bind(at.0)
        .bind(name)
        .execute(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::UniqueViolation) => {
                StoreError::Conflict("another live source has that stream key".to_owned())
            }
            _ => StoreError::Database(error),
        })?;
        if changed.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("live source {name}")));
        }
        self.live_source_by_name(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("live source {name}")))
    }

    /// Deletes the source with its segments and events; `false` when there was none.
    pub async fn delete_live_source(&self, name: &str) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM live_sources WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// A publish begins: the source becomes `publishing` with a new publish number, which it
    /// returns, and the event is logged.
    pub async fn begin_live_publish(
        &self,
        source_id: i64,
        protocol: &str,
        peer: &str,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let mut transaction = self.begin_write().await?;
        let publish_id: Option<i64> = sqlx::query_scalar(
            "UPDATE live_sources SET state = 'publishing', state_since = $1, \
             publish_id = publish_id + 1, protocol = $2, peer = $3, error = NULL, stats = NULL, \
             reported_at = $1 WHERE id = $4 RETURNING publish_id",
        )
        .bind(at.0)
        .bind(protocol)
        .bind(peer)
        .bind(source_id)
        .fetch_optional(&mut *transaction)
        .await?;
        let publish_id =
            publish_id.ok_or_else(|| StoreError::NotFound(format!("live source {source_id}")))?;
        insert_event(
            &mut transaction,
            source_id,
            at,
            "publish",
            &format!("publish {publish_id} over {protocol} from {peer}"),
        )
        .await?;
        transaction.commit().await?;
        Ok(publish_id)
    }

    /// The publish `publish_id` ended: the source takes `end.state` (unless a newer publish
    /// began meanwhile) and the event is logged.
    pub async fn end_live_publish(
        &self,
        source_id: i64,
        publish_id: i64,
        end: LiveEnd<'_>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        let error = (end.state != LiveState::Idle).then_some(end.detail);
        sqlx::query(
            "UPDATE live_sources SET state = $1, state_since = $2, error = $3, reported_at = $2 \
             WHERE id = $4 AND publish_id = $5",
        )
        .bind(end.state.as_str())
        .bind(at.0)
        .bind(error)
        .bind(source_id)
        .bind(publish_id)
        .execute(&mut *transaction)
        .await?;
        insert_event(&mut transaction, source_id, at, end.event, end.detail).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Logs an event on its own, e.g. a refused publish.
    pub async fn log_live_event(
        &self,
        source_id: i64,
        kind: &str,
        detail: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        insert_event(&mut transaction, source_id, at, kind, detail).await?;
        transaction.commit().await?;
        Ok(())
    }

    /// The ingest's latest figures for the current publish.
    pub async fn report_live_stats(
        &self,
        source_id: i64,
        publish_id: i64,
        stats: &str,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(stats).map_err(
            |error| StoreError::Invalid(format!("live stats are not a JSON object: {error}")),
        )?;
        sqlx::query(
            "UPDATE live_sources SET stats = $1, reported_at = $2 \
             WHERE id = $3 AND publish_id = $4",
        )
        .bind(stats)
        .bind(at.0)
        .bind(source_id)
        .bind(publish_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The source's events from `since` on, oldest first, at most `limit`.
    pub async fn live_events(
        &self,
        source_id: i64,
        since: Timestamp,
        limit: u32,
    ) -> Result<Vec<LiveEventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, kind, detail FROM live_events WHERE source_id = $1 AND at >= $2 \
             ORDER BY at, id LIMIT $3",
        )
        .bind(source_id)
        .bind(since.0)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(LiveEventRow {
                    at: Timestamp(int(row, "at")?),
                    kind: text(row, "kind")?,
                    detail: text(row, "detail")?,
                })
            })
            .collect()
    }

    /// Records that the publish wrote the segment at `start` on every rung, at `at`. The first
    /// writer wins: `false` when the source already had a segment there (which is kept).
    pub async fn record_live_segment(
        &self,
        source_id: i64,
        segment: &LiveSegmentRow,
    ) -> Result<bool, StoreError> {
        if segment.duration <= Ticks::ZERO || segment.publish_id < 1 {
            return Err(StoreError::Invalid(format!(
                "a live segment lasts some time and belongs to a publish (got {} ticks, publish {})",
                segment.duration.0, segment.publish_id
            )));
        }
        let inserted = sqlx::query(
            "INSERT INTO live_segments \
             (source_id, start, duration_ticks, publish_id, recorded_at) \
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (source_id, start) DO NOTHING",
        )
        .bind(source_id)
        .bind(segment.start.0)
        .bind(segment.duration.0)
        .bind(segment.publish_id)
        .bind(segment.recorded_at.0)
        .execute(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::NotFound(format!("live source {source_id}"))
            }
            _ => StoreError::Database(error),
        })?;
        Ok(inserted.rows_affected() == 1)
    }

    /// The source's segments that start in `[from, to)`, by start.
    pub async fn live_segments(
        &self,
        source_id: i64,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<LiveSegmentRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT start, duration_ticks, publish_id, recorded_at FROM live_segments \
             WHERE source_id = $1 AND start >= $2 AND start < $3 ORDER BY start",
        )
        .bind(source_id)
        .bind(from.0)
        .bind(to.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(segment_from_row).collect()
    }

    /// Forgets the source's segments that ended before `before` and returns them (their files
    /// are the caller's to delete).
    pub async fn forget_live_segments(
        &self,
        source_id: i64,
        before: Timestamp,
    ) -> Result<Vec<LiveSegmentRow>, StoreError> {
        let rows = sqlx::query(
            "DELETE FROM live_segments WHERE source_id = $1 AND start + duration_ticks < $2 \
             RETURNING start, duration_ticks, publish_id, recorded_at",
        )
        .bind(source_id)
        .bind(before.0)
        .fetch_all(&self.pool)
        .await?;
        let mut segments = rows
            .iter()
            .map(segment_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        segments.sort_by_key(|segment| segment.start);
        Ok(segments)
    }
}

impl Store {
    /// Records what a complete live item occurrence aired. The first writer wins: `false` when
    /// the occurrence was recorded already (that record is kept).
    pub async fn record_live_airing(
        &self,
        channel_id: ChannelId,
        item_start: Timestamp,
        planned_runs: u32,
        aired_runs: u32,
    ) -> Result<bool, StoreError> {
        if planned_runs == 0 || aired_runs == 0 {
            return Err(StoreError::Invalid(
                "a live item airs at least one run and was planned as one".to_owned(),
            ));
        }
        let inserted = sqlx::query(
            "INSERT INTO live_airings (channel_id, item_start, planned_runs, aired_runs) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (channel_id, item_start) DO NOTHING",
        )
        .bind(channel_id.0)
        .bind(item_start.0)
        .bind(i64::from(planned_runs))
        .bind(i64::from(aired_runs))
        .execute(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::NotFound(format!("channel {}", channel_id.0))
            }
            _ => StoreError::Database(error),
        })?;
        Ok(inserted.rows_affected() == 1)
    }

    /// What the channel's recorded live item occurrences that start before `before` added to
    /// its discontinuity sequence: aired runs less planned runs, summed.
    pub async fn live_airings_shift(
        &self,
        channel_id: ChannelId,
        before: Timestamp,
    ) -> Result<i64, StoreError> {
        let shift: Option<i64> = sqlx::query_scalar(
            "SELECT CAST(SUM(aired_runs - planned_runs) AS BIGINT) FROM live_airings \
             WHERE channel_id = $1 AND item_start < $2",
        )
        .bind(channel_id.0)
        .bind(before.0)
        .fetch_one(&self.pool)
        .await?;
        Ok(shift.unwrap_or(0))
    }

    /// The channel's recorded occurrences starting in `[from, to)`: (start, planned, aired).
    pub async fn live_airings(
        &self,
        channel_id: ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<(Timestamp, u32, u32)>, StoreError> {
        let rows = sqlx::query(
            "SELECT item_start, planned_runs, aired_runs FROM live_airings \
             WHERE channel_id = $1 AND item_start >= $2 AND item_start < $3 ORDER BY item_start",
        )
        .bind(channel_id.0)
        .bind(from.0)
        .bind(to.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok((
                    Timestamp(int(row, "item_start")?),
                    uint(row, "planned_runs")?,
                    uint(row, "aired_runs")?,
                ))
            })
            .collect()
    }
}

async fn insert_event(
    transaction: &mut sqlx::Transaction<'_, sqlx::Any>,
    source_id: i64,
    at: Timestamp,
    kind: &str,
    detail: &str,
) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO live_events (source_id, at, kind, detail) VALUES ($1, $2, $3, $4)")
        .bind(source_id)
        .bind(at.0)
        .bind(kind)
        .bind(detail)
        .execute(&mut **transaction)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::NotFound(format!("live source {source_id}"))
            }
            Some(ErrorKind::CheckViolation) => {
                StoreError::Invalid(format!("{kind:?} is not a live source event"))
            }
            _ => StoreError::Database(error),
        })?;
    Ok(())
}

fn source_from_row(row: &AnyRow) -> Result<LiveSourceRow, StoreError> {
    let state = text(row, "state")?;
    Ok(LiveSourceRow {
        id: int(row, "id")?,
        name: text(row, "name")?,
        stream_key: text(row, "stream_key")?,
        ladder_id: LadderId(int(row, "ladder_id")?),
        created_at: Timestamp(int(row, "created_at")?),
        key_rotated_at: Timestamp(int(row, "key_rotated_at")?),
        state: LiveState::parse(&state)
            .ok_or_else(|| StoreError::Invalid(format!("unknown live source state {state:?}")))?,
        state_since: Timestamp(int(row, "state_since")?),
        publish_id: int(row, "publish_id")?,
        protocol: optional_text(row, "protocol")?,
        peer: optional_text(row, "peer")?,
        error: optional_text(row, "error")?,
        stats: optional_text(row, "stats")?,
        reported_at: optional_int(row, "reported_at")?.map(Timestamp),
    })
}

fn segment_from_row(row: &AnyRow) -> Result<LiveSegmentRow, StoreError> {
    Ok(LiveSegmentRow {
        start: Timestamp(int(row, "start")?),
        duration: Ticks(int(row, "duration_ticks")?),
        publish_id: int(row, "publish_id")?,
        recorded_at: Timestamp(int(row, "recorded_at")?),
    })
}
