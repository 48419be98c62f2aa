//! Tracking beacons: each event of each ad of a break of a session is claimed by exactly one
//! caller, which fires its URLs and finishes it, sent or failed.

use onair_domain::{ChannelId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use super::count_from_db;
use super::decisions::session_not_found;
use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{int, text};

/// What names a beacon.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BeaconKey<'a> {
    pub session_id: &'a str,
    /// When the break occurrence starts.
    pub break_start: Timestamp,
    /// The ad's place in the break, from 0.
    pub ad_position: u32,
    /// The tracking event, e.g. `impression`, `start`, `firstQuartile`, `complete`.
    pub event: &'a str,
}

impl std::fmt::Display for BeaconKey<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the {} beacon of ad {} of the break at {} of ad session {}",
            self.event, self.ad_position, self.break_start, self.session_id
        )
    }
}

/// Where a beacon is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BeaconStatus {
    /// Claimed: its URLs are being fired (or its claimer stopped before it finished).
    Firing,
    Sent,
    Failed,
}

impl BeaconStatus {
    /// The name stored: `firing`, `sent`, `failed`.
    pub fn as_str(self) -> &'static str {
        match self {
            BeaconStatus::Firing => "firing",
            BeaconStatus::Sent => "sent",
            BeaconStatus::Failed => "failed",
        }
    }

    pub fn parse(name: &str) -> Option<BeaconStatus> {
        match name {
            "firing" => Some(BeaconStatus::Firing),
            "sent" => Some(BeaconStatus::Sent),
            "failed" => Some(BeaconStatus::Failed),
            _ => None,
        }
    }
}

impl std::fmt::Display for BeaconStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How many beacons of one event of one break occurrence are in one status (over every session
/// and ad of the break).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BeaconCount {
    pub break_start: Timestamp,
    pub event: String,
    pub status: BeaconStatus,
    pub count: u64,
}

impl Store {
    /// Claims the beacon for the caller to fire its `url_count` URLs, and says whether this
    /// call claimed it: of several callers, on any replicas, exactly one gets `true`; the
    /// others must not fire it. An unknown or expired session is [`StoreError::NotFound`]; a
    /// session of another channel or an empty event [`StoreError::Invalid`].
    pub async fn claim_beacon(
        &self,
        key: &BeaconKey<'_>,
        channel: ChannelId,
        url_count: u32,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        if key.event.is_empty() {
            return Err(StoreError::Invalid(format!(
                "a beacon needs an event: {key} names none"
            )));
        }
        // Inserted from the session's row, so that the channel copied is the session's.
        let claimed = sqlx::query(
            "INSERT INTO ad_beacons \
             (session_id, break_start, ad_position, event, url_count, status, attempts, claimed_at, channel_id) \
             SELECT id, $2, $3, $4, $5, 'firing', 0, $6, channel_id FROM ad_sessions \
             WHERE id = $1 AND channel_id = $7 \
             ON CONFLICT (session_id, break_start, ad_position, event) DO NOTHING",
        )
        .bind(key.session_id)
        .bind(key.break_start.0)
        .bind(i64::from(key.ad_position))
        .bind(key.event)
        .bind(i64::from(url_count))
        .bind(at.0)
        .bind(channel.0)
        .execute(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::ForeignKeyViolation) => session_not_found(key.session_id),
            _ => StoreError::Database(error),
        })?;
        if claimed.rows_affected() == 1 {
            return Ok(true);
        }
        // Claimed already, or no such session on that channel.
        self.check_session_channel(key.session_id, channel).await?;
        Ok(false)
    }

    /// Finishes a beacon its caller claimed: sent, or failed with `error`, after `attempts`
    /// tries. A beacon never claimed (or expired with its session) is [`StoreError::NotFound`];
    /// one finished already [`StoreError::Conflict`], and it keeps its first outcome.
    pub async fn finish_beacon(
        &self,
        key: &BeaconKey<'_>,
        sent: bool,
        attempts: u32,
        error: Option<&str>,
        at: Timestamp,
    ) -> Result<(), StoreError> {
        let status = if sent {
            BeaconStatus::Sent
        } else {
            BeaconStatus::Failed
        };
        let finished = sqlx::query(
            "UPDATE ad_beacons SET status = $5, attempts = $6, error = $7, finished_at = $8 \
             WHERE session_id = $1 AND break_start = $2 AND ad_position = $3 AND event = $4 \
             AND status = 'firing'",
        )
        .bind(key.session_id)
        .bind(key.break_start.0)
        .bind(i64::from(key.ad_position))
        .bind(key.event)
        .bind(status.as_str())
        .bind(i64::from(attempts))
        .bind(error)
        .bind(at.0)
        .execute(&self.pool)
        .await?;
        if finished.rows_affected() == 1 {
            return Ok(());
        }
        let current: Option<String> = sqlx::query_scalar(
            "SELECT status FROM ad_beacons \
             WHERE session_id = $1 AND break_start = $2 AND ad_position = $3 AND event = $4",
        )
        .bind(key.session_id)
        .bind(key.break_start.0)
        .bind(i64::from(key.ad_position))
        .bind(key.event)
        .fetch_optional(&self.pool)
        .await?;
        Err(match current {
            None => StoreError::NotFound(key.to_string()),
            Some(current) => StoreError::Conflict(format!(
                "{key} is {current} already: only a firing beacon can be finished"
            )),
        })
    }

    /// How many of the channel's beacons of the breaks starting in `[from, to)` are in each
    /// status, per break and event; by break start, event and status.
    pub async fn beacon_counts_between(
        &self,
        channel: ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<BeaconCount>, StoreError> {
        let rows = sqlx::query(
            "SELECT break_start, event, status, COUNT(*) AS beacons FROM ad_beacons \
             WHERE channel_id = $1 AND break_start >= $2 AND break_start < $3 \
             GROUP BY break_start, event, status",
        )
        .bind(channel.0)
        .bind(from.0)
        .bind(to.0)
        .fetch_all(&self.pool)
        .await?;
        let mut counts: Vec<BeaconCount> =
            rows.iter().map(count_from_row).collect::<Result<_, _>>()?;
        // Sorted here, not in SQL: the status order is the enum's, and events compare by
        // bytes on both backends.
        counts.sort_by(|a, b| {
            (a.break_start, &a.event, a.status).cmp(&(b.break_start, &b.event, b.status))
        });
        Ok(counts)
    }
}

fn count_from_row(row: &AnyRow) -> Result<BeaconCount, StoreError> {
    let name = text(row, "status")?;
    Ok(BeaconCount {
        break_start: Timestamp(int(row, "break_start")?),
        event: text(row, "event")?,
        status: BeaconStatus::parse(&name).ok_or_else(|| {
            StoreError::Invalid(format!("unknown beacon status {name:?} in the database"))
        })?,
        count: count_from_db(int(row, "beacons")?)?,
    })
}
