//! The as-run log: what each channel aired, run by run, with exact times. A run is named by its
//! channel and the instant it began, so recording it again (a replica doing the same work, a
//! restart going over what it already wrote, the next recording of a run still on air) extends
//! the entry instead of duplicating it.

use onair_domain::{AssetId, BreakSlot, ChannelId, RunKind, ScheduleItemId, Ticks, Timestamp};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{flag, int, optional_int, optional_text, text, to_db};

/// One run as the as-run log keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsRunEntry {
    /// When the run began, on a segment boundary: with the channel, what names it.
    pub start: Timestamp,
    /// When it stopped airing, on a segment boundary, as far as recorded.
    pub end: Timestamp,
    pub kind: RunKind,
    /// The schedule item it belongs to (its content, its breaks); `None` for gap fill.
    pub schedule_item_id: Option<ScheduleItemId>,
    pub title: String,
    pub asset_id: AssetId,
    /// Set for the runs of a live event.
    pub live_source: Option<String>,
    /// Set for the runs of an ad break.
    pub ad_break: Option<BreakSlot>,
    /// The media sequence number of its first segment.
    pub media_sequence: u64,
    /// The channel's schedule version of the plan it aired from.
    pub schedule_version: i64,
    /// Recorded from the plan after the recorder was down (for some of it), not seen airing.
    pub recovered: bool,
}

/// The columns [`entry_from_row`] reads, as a literal for `concat!`.
macro_rules! as_run_columns {
    () => {
        "start_at, end_at, kind, schedule_item_id, title, asset_id, live_source, break_number, \
         break_duration_ticks, media_sequence, schedule_version, recovered"
    };
}

impl Store {
    /// Records runs of `channel` in one transaction. A run already recorded (same channel and
    /// start) keeps what it was first recorded with; only a later end extends it, and an
    /// extension recorded from the plan marks it recovered. So recording the same runs twice
    /// changes nothing. A run that ends before it starts is [`StoreError::Invalid`]; an unknown
    /// channel [`StoreError::NotFound`].
    pub async fn record_as_run(
        &self,
        channel: ChannelId,
        entries: &[AsRunEntry],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if let Some(entry) = entries.iter().find(|entry| entry.end <= entry.start) {
            return Err(StoreError::Invalid(format!(
                "as-run entry {:?} ends at {}, not after its start {}",
                entry.title, entry.end, entry.start
            )));
        }
        let mut transaction = self.begin_write().await?;
        for entry in entries {
            sqlx::query(
                "INSERT INTO as_run (channel_id, start_at, end_at, kind, schedule_item_id, title, \
                 asset_id, live_source, break_number, break_duration_ticks, media_sequence, \
                 schedule_version, recovered, recorded_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14) \
                 ON CONFLICT (channel_id, start_at) DO UPDATE SET \
                 recovered = CASE WHEN excluded.end_at > as_run.end_at \
                 THEN (as_run.recovered OR excluded.recovered) ELSE as_run.recovered END, \
                 end_at = CASE WHEN excluded.end_at > as_run.end_at \
                 THEN excluded.end_at ELSE as_run.end_at END",
            )
            .bind(channel.0)
            .bind(entry.start.0)
            .bind(entry.end.0)
            .bind(kind_text(entry.kind))
            .bind(entry.schedule_item_id.map(|id| id.0))
            .bind(&entry.title)
            .bind(entry.asset_id.0)
            .bind(entry.live_source.as_deref())
            .bind(entry.ad_break.map(|slot| i64::from(slot.number)))
            .bind(entry.ad_break.map(|slot| slot.duration.0))
            .bind(to_db(entry.media_sequence, "media sequence")?)
            .bind(entry.schedule_version)
            .bind(entry.recovered)
            .bind(now.0)
            .execute(&mut *transaction)
            .await
            .map_err(|error| match violated_constraint(&error) {
                Some(ErrorKind::ForeignKeyViolation) => {
                    StoreError::NotFound(format!("channel {}", channel.0))
                }
                _ => StoreError::Database(error),
            })?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// The channel's runs that aired during `[from, to)` (any part of them), by start, with
    /// their recorded start and end.
    pub async fn as_run_between(
        &self,
        channel: ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<AsRunEntry>, StoreError> {
        let sql = concat!(
            "SELECT ",
            as_run_columns!(),
            " FROM as_run WHERE channel_id = $1 AND start_at < $3 AND end_at > $2 ORDER BY start_at"
        );
        let rows = sqlx::query(sql)
            .bind(channel.0)
            .bind(from.0)
            .bind(to.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Where the channel's as-run log ends: the latest end recorded, `None` before any entry.
    /// A recorder resumes from here.
    pub async fn as_run_recorded_until(
        &self,
        channel: ChannelId,
    ) -> Result<Option<Timestamp>, StoreError> {
        let end: Option<i64> =
            sqlx::query_scalar("SELECT MAX(end_at) FROM as_run WHERE channel_id = $1")
                .bind(channel.0)
                .fetch_one(&self.pool)
                .await?;
        Ok(end.map(Timestamp))
    }
}

fn kind_text(kind: RunKind) -> &'static str {
    match kind {
        RunKind::Programme => "programme",
        RunKind::AdBreak => "ad_break",
        RunKind::Filler => "filler",
        RunKind::Slate => "slate",
    }
}

fn entry_from_row(row: &AnyRow) -> Result<AsRunEntry, StoreError> {
    let start = Timestamp(int(row, "start_at")?);
    let kind_name = text(row, "kind")?;
    let kind = match kind_name.as_str() {
        "programme" => RunKind::Programme,
        "ad_break" => RunKind::AdBreak,
        "filler" => RunKind::Filler,
        "slate" => RunKind::Slate,
        other => {
            return Err(StoreError::Invalid(format!(
                "the as-run entry at {start} has an unknown kind {other:?}"
            )));
        }
    };
    let ad_break = match (
        optional_int(row, "break_number")?,
        optional_int(row, "break_duration_ticks")?,
    ) {
        (Some(number), Some(duration)) => Some(BreakSlot {
            number: u32::try_from(number).map_err(|_| {
                StoreError::Invalid(format!(
                    "the as-run entry at {start} has break number {number}, outside 0..=4294967295"
                ))
            })?,
            duration: Ticks(duration),
        }),
        _ => None,
    };
    let media_sequence = int(row, "media_sequence")?;
    Ok(AsRunEntry {
        start,
        end: Timestamp(int(row, "end_at")?),
        kind,
        schedule_item_id: optional_int(row, "schedule_item_id")?.map(ScheduleItemId),
        title: text(row, "title")?,
        asset_id: AssetId(int(row, "asset_id")?),
        live_source: optional_text(row, "live_source")?,
        ad_break,
        media_sequence: u64::try_from(media_sequence).map_err(|_| {
            StoreError::Invalid(format!(
                "the as-run entry at {start} has a negative media sequence {media_sequence}"
            ))
        })?,
        schedule_version: int(row, "schedule_version")?,
        recovered: flag(row, "recovered")?,
    })
}
