//! Takes to air by hand: a channel taken to a live source (or to its slate: "slate now") from a
//! segment boundary, and returned to its schedule at a later one. Each take and each return is a versioned edit: it names the
//! schedule version it was made against, bumps it, and keeps the version (as
//! [`Store::publish_schedule_edit`] does), so a concurrent editor is told to reload.

use onair_domain::{ChannelId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{int, optional_int, optional_text, text};
use crate::versions::{bump_schedule_version, keep_version};

/// A stored take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveTakeRow {
    pub id: i64,
    pub channel_id: ChannelId,
    /// The live source, by name; `None` for the channel's slate ("slate now").
    pub source: Option<String>,
    /// The first segment boundary it airs from.
    pub start: Timestamp,
    /// The segment boundary the schedule resumes at; `None` while it is on air. Equal to
    /// `start` for a take returned before it aired.
    pub end: Option<Timestamp>,
    pub taken_by: String,
    pub taken_at: Timestamp,
    /// The schedule version the take published.
    pub take_version: i64,
    pub returned_by: Option<String>,
    pub returned_at: Option<Timestamp>,
    pub return_version: Option<i64>,
}

/// A take to store: see [`Store::begin_live_take`].
#[derive(Debug, Clone, Copy)]
pub struct NewTake<'a> {
    pub channel: ChannelId,
    /// The live source by name; `None` for the channel's slate.
    pub source: Option<&'a str>,
    pub start: Timestamp,
    pub expected_version: i64,
    pub author: &'a str,
    pub now: Timestamp,
}

/// The columns [`take_from_row`] reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, channel_id, source, start_at, end_at, taken_by, taken_at, take_version, \
         returned_by, returned_at, return_version"
    };
}

impl Store {
    /// Stores a take on air, provided the channel's schedule is still at `expected_version`
    /// ([`StoreError::Conflict`] otherwise, or when the channel already has a take on air).
    pub async fn begin_live_take(&self, take: NewTake<'_>) -> Result<LiveTakeRow, StoreError> {
        if take.source == Some("") {
            return Err(StoreError::Invalid(
                "a take names its live source (or none, for the slate)".to_owned(),
            ));
        }
        let mut transaction = self.begin_write().await?;
        let version =
            bump_schedule_version(&mut transaction, take.channel, take.expected_version).await?;
        let open: Option<Option<String>> = sqlx::query_scalar(
            "SELECT source FROM live_takes WHERE channel_id = $1 AND end_at IS NULL",
        )
        .bind(take.channel.0)
        .fetch_optional(&mut *transaction)
        .await?;
        if let Some(source) = open {
            let what = match source {
                Some(source) => format!("taken to live source {source:?}"),
                None => "on its slate".to_owned(),
            };
            return Err(StoreError::Conflict(format!(
                "the channel is already {what}; return it to the schedule first"
            )));
        }
        let sql = concat!(
            "INSERT INTO live_takes (channel_id, source, start_at, taken_by, taken_at, \
             take_version) VALUES ($1, $2, $3, $4, $5, $6) RETURNING ",
            columns!()
        );
        let row = sqlx::query(sql)
            .bind(take.channel.0)
            .bind(take.source)
            .bind(take.start.0)
            .bind(take.author)
            .bind(take.now.0)
            .bind(version)
            .fetch_one(&mut *transaction)
            .await
            .map_err(|error| match violated_constraint(&error) {
                Some(ErrorKind::UniqueViolation) => {
                    StoreError::Conflict("the channel already has a take on air".to_owned())
                }
                _ => StoreError::Database(error),
            })?;
        keep_version(
            &mut transaction,
            take.channel,
            version,
            take.author,
            take.now,
        )
        .await?;
        transaction.commit().await?;
        take_from_row(&row)
    }

    /// Ends the channel's take on air at `end` (at its start when `end` is before it),
    /// provided the schedule is still at `expected_version`. [`StoreError::NotFound`] when the
    /// channel has no take on air.
    pub async fn end_live_take(
        &self,
        channel: ChannelId,
        end: Timestamp,
        expected_version: i64,
        author: &str,
        now: Timestamp,
    ) -> Result<LiveTakeRow, StoreError> {
        let mut transaction = self.begin_write().await?;
        let version = bump_schedule_version(&mut transaction, channel, expected_version).await?;
        let sql = concat!(
            "UPDATE live_takes SET end_at = CASE WHEN start_at > $2 THEN start_at ELSE $2 END, \
             returned_by = $3, returned_at = $4, return_version = $5 \
             WHERE channel_id = $1 AND end_at IS NULL RETURNING ",
            columns!()
        );
        let row = sqlx::query(sql)
            .bind(channel.0)
            .bind(end.0)
            .bind(author)
            .bind(now.0)
            .bind(version)
            .fetch_optional(&mut *transaction)
            .await?
            .ok_or_else(|| {
                StoreError::NotFound("a take on air: the channel airs its schedule".to_owned())
            })?;
        keep_version(&mut transaction, channel, version, author, now).await?;
        transaction.commit().await?;
        take_from_row(&row)
    }

    /// The channel's takes that are on air or ended after `since`, by start.
    pub async fn live_takes(
        &self,
        channel: ChannelId,
        since: Timestamp,
    ) -> Result<Vec<LiveTakeRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM live_takes WHERE channel_id = $1 \
             AND (end_at IS NULL OR end_at > $2) ORDER BY start_at, id"
        );
        let rows = sqlx::query(sql)
            .bind(channel.0)
            .bind(since.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(take_from_row).collect()
    }

    /// Every channel's takes that are on air or ended after `since`, by channel and start.
    pub async fn all_live_takes(&self, since: Timestamp) -> Result<Vec<LiveTakeRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM live_takes WHERE end_at IS NULL OR end_at > $1 \
             ORDER BY channel_id, start_at, id"
        );
        let rows = sqlx::query(sql).bind(since.0).fetch_all(&self.pool).await?;
        rows.iter().map(take_from_row).collect()
    }
}

fn take_from_row(row: &AnyRow) -> Result<LiveTakeRow, StoreError> {
    Ok(LiveTakeRow {
        id: int(row, "id")?,
        channel_id: ChannelId(int(row, "channel_id")?),
        source: optional_text(row, "source")?,
        start: Timestamp(int(row, "start_at")?),
        end: optional_int(row, "end_at")?.map(Timestamp),
        taken_by: text(row, "taken_by")?,
        taken_at: Timestamp(int(row, "taken_at")?),
        take_version: int(row, "take_version")?,
        returned_by: optional_text(row, "returned_by")?,
        returned_at: optional_int(row, "returned_at")?.map(Timestamp),
        return_version: optional_int(row, "return_version")?,
    })
}

#[cfg(test)]
mod tests {
    use onair_domain::{ChannelId, Ladder, Timestamp};

    use crate::connect::tests::sqlite_migrated_before;

    /// SQLite rebuilds the table in 0013 (to make `source` nullable): the takes stored before
    /// it keep their ids and columns, and the one on air stays the only one on air.
    #[tokio::test]
    async fn takes_stored_before_migration_0013_survive_the_rebuild() {
        let (store, _dir) = sqlite_migrated_before("0013").await;
        let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
        let channel: i64 = sqlx::query_scalar(
            "INSERT INTO channels (slug, name, time_zone, ladder_id, outputs, window_segments, \
             on_air, schedule_version) \
             VALUES ('old', 'Old', 'UTC', $1, '[\"hls-ts\"]', 6, 1, 4) RETURNING id",
        )
        .bind(ladder.0)
        .fetch_one(&store.pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO live_takes (id, channel_id, source, start_at, end_at, taken_by, \
             taken_at, take_version, returned_by, returned_at, return_version) VALUES \
             (7, $1, 'studio', 100, 200, 'desk', 90, 2, 'desk', 190, 3), \
             (8, $1, 'studio', 300, NULL, 'desk', 290, 4, NULL, NULL, NULL)",
        )
        .bind(channel)
        .execute(&store.pool)
        .await
        .unwrap();

        store.migrate().await.unwrap();
        let takes = store
            .live_takes(ChannelId(channel), Timestamp(0))
            .await
            .unwrap();
        let brief: Vec<_> = takes
            .iter()
            .map(|take| (take.id, take.source.as_deref(), take.end))
            .collect();
        assert_eq!(
            brief,
            vec![
                (7, Some("studio"), Some(Timestamp(200))),
                (8, Some("studio"), None)
            ]
        );
        let second_open = sqlx::query(
            "INSERT INTO live_takes (channel_id, source, start_at, taken_by, taken_at, \
             take_version) VALUES ($1, NULL, 400, 'desk', 390, 5)",
        )
        .bind(channel)
        .execute(&store.pool)
        .await;
        assert!(second_open.is_err(), "two takes on air on one channel");
        store.close().await;
    }
}
