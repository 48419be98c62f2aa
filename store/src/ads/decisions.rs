//! What fills each break occurrence of a session: decided once, by the first replica to write
//! it, read back by the others, paged through in decision order by replicas catching up.

use onair_domain::{ChannelId, Ticks, Timestamp};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use super::check_json;
use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{int, text};

/// A decision to record.
#[derive(Debug, Clone, Copy)]
pub struct NewAdDecision<'a> {
    pub session_id: &'a str,
    /// When the break occurrence starts: with the session, what names the decision.
    pub break_start: Timestamp,
    /// The session's channel.
    pub channel_id: ChannelId,
    pub break_duration: Ticks,
    pub decided_at: Timestamp,
    /// The ads that fill the break, as JSON, kept as given.
    pub fill: &'a str,
}

/// A recorded decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdDecisionRow {
    pub session_id: String,
    pub break_start: Timestamp,
    pub channel_id: ChannelId,
    pub break_duration: Ticks,
    pub decided_at: Timestamp,
    /// JSON, as first recorded.
    pub fill: String,
}

/// Where a reader of [`Store::ad_decisions_since`] stands in the order decisions are read:
/// `(decided_at, session_id, break_start)`. Past a decision it names the decision itself, not
/// only its instant, so the next page starts right after it even when many were decided at
/// the same instant: none is read twice, none is skipped.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DecisionCursor {
    decided_at: Timestamp,
    /// The last decision read at `decided_at`; `None`: past every decision made at it.
    last: Option<(String, Timestamp)>,
}

impl DecisionCursor {
    /// Before the first decision made after `instant` (those made at it are behind).
    pub fn decided_after(instant: Timestamp) -> DecisionCursor {
        DecisionCursor {
            decided_at: instant,
            last: None,
        }
    }

    /// Right after `decision`: where the next page starts once a page ended with it.
    pub fn after(decision: &AdDecisionRow) -> DecisionCursor {
        DecisionCursor {
            decided_at: decision.decided_at,
            last: Some((decision.session_id.clone(), decision.break_start)),
        }
    }

    /// The instant of the last decision read (or the one given to
    /// [`DecisionCursor::decided_after`]).
    pub fn decided_at(&self) -> Timestamp {
        self.decided_at
    }
}

/// The columns [`decision_from_row`] reads, as a literal for `concat!`.
macro_rules! decision_columns {
    () => {
        "session_id, break_start, channel_id, break_duration_ticks, decided_at, fill"
    };
}

impl Store {
    /// Records what fills a break occurrence of a session unless that is decided already, and
    /// says whether this call recorded it: the first writer wins, and a later one, whatever its
    /// fill, changes nothing and gets `false` (it should read the winner's back with
    /// [`Store::ad_decisions_of_session`]). An unknown or expired session is
    /// [`StoreError::NotFound`]; a session of another channel, a break that is not positive or
    /// a fill that is not JSON [`StoreError::Invalid`].
    pub async fn record_ad_decision(
        &self,
        decision: &NewAdDecision<'_>,
    ) -> Result<bool, StoreError> {
        let mut recorded = self
            .record_ad_decisions(std::slice::from_ref(decision))
            .await?;
        recorded
            .pop()
            .unwrap_or_else(|| Err(StoreError::Invalid("no decision recorded".into())))
    }

    /// Records many decisions in one transaction, each as [`Store::record_ad_decision`] does,
    /// and says for each, in order, whether it was recorded (`true`), decided already
    /// (`false`), or refused (its session unknown, of another channel, its break or fill
    /// invalid): one decision refused leaves the others recorded. The outer error is the
    /// database failing, and then none is recorded.
    pub async fn record_ad_decisions(
        &self,
        decisions: &[NewAdDecision<'_>],
    ) -> Result<Vec<Result<bool, StoreError>>, StoreError> {
        let mut recorded: Vec<Result<bool, StoreError>> = decisions
            .iter()
            .map(|decision| check_decision(decision).map(|()| false))
            .collect();
        if recorded.iter().all(Result::is_err) {
            return Ok(recorded);
        }
        let mut transaction = self.begin_write().await?;
        for (decision, outcome) in decisions.iter().zip(recorded.iter_mut()) {
            if outcome.is_err() {
                continue;
            }
            // Inserted from the session's row, so that the channel copied is the session's.
            let inserted = sqlx::query(
                "INSERT INTO ad_decisions \
                 (session_id, break_start, channel_id, break_duration_ticks, decided_at, fill) \
                 SELECT id, $2, channel_id, $4, $5, $6 FROM ad_sessions WHERE id = $1 AND channel_id = $3 \
                 ON CONFLICT (session_id, break_start) DO NOTHING",
            )
            .bind(decision.session_id)
            .bind(decision.break_start.0)
            .bind(decision.channel_id.0)
            .bind(decision.break_duration.0)
            .bind(decision.decided_at.0)
            .bind(decision.fill)
            .execute(&mut *transaction)
            .await
            .map_err(|error| match violated_constraint(&error) {
                Some(ErrorKind::ForeignKeyViolation) => session_not_found(decision.session_id),
                _ => StoreError::Database(error),
            })?;
            if inserted.rows_affected() == 1 {
                *outcome = Ok(true);
                continue;
            }
            // Decided already, or no such session on that channel.
            *outcome = match session_on_channel(
                &mut *transaction,
                decision.session_id,
                decision.channel_id,
            )
            .await
            {
                Err(StoreError::Database(error)) => return Err(StoreError::Database(error)),
                checked => checked.map(|()| false),
            };
        }
        transaction.commit().await?;
        Ok(recorded)
    }

    /// The session's decisions, by break start.
    pub async fn ad_decisions_of_session(
        &self,
        session_id: &str,
    ) -> Result<Vec<AdDecisionRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            decision_columns!(),
            " FROM ad_decisions WHERE session_id = $1 ORDER BY break_start"
        );
        let rows = sqlx::query(sql)
            .bind(session_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decision_from_row).collect()
    }

    /// Up to `limit` decisions past `cursor`, in `(decided_at, session_id, break_start)` order;
    /// the next page starts at [`DecisionCursor::after`] the last one.
    ///
    /// Decision instants come from the replicas' clocks and commit in any order: a decision
    /// committed after a reader went past its instant is not in the reader's later pages. A
    /// reader that must see every decision starts its cursor a margin behind where it stopped
    /// (decisions are keyed, so reading one again is harmless).
    pub async fn ad_decisions_since(
        &self,
        cursor: &DecisionCursor,
        limit: u32,
    ) -> Result<Vec<AdDecisionRow>, StoreError> {
        let rows = match &cursor.last {
            None => {
                let sql = concat!(
                    "SELECT ",
                    decision_columns!(),
                    " FROM ad_decisions WHERE decided_at > $1 \
                     ORDER BY decided_at, session_id, break_start LIMIT $2"
                );
                sqlx::query(sql)
                    .bind(cursor.decided_at.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
            Some((session_id, break_start)) => {
                // The first condition bounds the index scan; the row value orders ties.
                let sql = concat!(
                    "SELECT ",
                    decision_columns!(),
                    " FROM ad_decisions WHERE decided_at >= $1 \
                     AND (decided_at, session_id, break_start) > ($1, $2, $3) \
                     ORDER BY decided_at, session_id, break_start LIMIT $4"
                );
                sqlx::query(sql)
                    .bind(cursor.decided_at.0)
                    .bind(session_id.as_str())
                    .bind(break_start.0)
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?
            }
        };
        rows.iter().map(decision_from_row).collect()
    }

    /// The channel's decisions for the breaks starting in `[from, to)`, by break start, then
    /// session.
    pub async fn ad_decisions_between(
        &self,
        channel: ChannelId,
        from: Timestamp,
        to: Timestamp,
    ) -> Result<Vec<AdDecisionRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            decision_columns!(),
            " FROM ad_decisions WHERE channel_id = $1 AND break_start >= $2 AND break_start < $3 \
             ORDER BY break_start, session_id"
        );
        let rows = sqlx::query(sql)
            .bind(channel.0)
            .bind(from.0)
            .bind(to.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decision_from_row).collect()
    }

    /// Refuses a session that does not exist ([`StoreError::NotFound`]) or is on another
    /// channel than `channel` ([`StoreError::Invalid`]).
    pub(super) async fn check_session_channel(
        &self,
        session_id: &str,
        channel: ChannelId,
    ) -> Result<(), StoreError> {
        session_on_channel(&self.pool, session_id, channel).await
    }
}

/// Refuses a decision the store would never hold: a break that does not last, a fill that is
/// not JSON.
fn check_decision(decision: &NewAdDecision<'_>) -> Result<(), StoreError> {
    if decision.break_duration <= Ticks::ZERO {
        return Err(StoreError::Invalid(format!(
            "the break at {} of ad session {} lasts {} ticks: it must last more than none",
            decision.break_start, decision.session_id, decision.break_duration.0
        )));
    }
    check_json(decision.fill, || {
        format!(
            "the fill of the break at {} of ad session {}",
            decision.break_start, decision.session_id
        )
    })
}

/// [`Store::check_session_channel`] through `executor` (the pool, or a transaction).
async fn session_on_channel<'e, E>(
    executor: E,
    session_id: &str,
    channel: ChannelId,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let session_channel: Option<i64> =
        sqlx::query_scalar("SELECT channel_id FROM ad_sessions WHERE id = $1")
            .bind(session_id)
            .fetch_optional(executor)
            .await?;
    match session_channel {
        None => Err(session_not_found(session_id)),
        Some(session_channel) if session_channel != channel.0 => Err(StoreError::Invalid(format!(
            "ad session {session_id} is on channel {session_channel}, not on channel {}",
            channel.0
        ))),
        Some(_) => Ok(()),
    }
}

pub(super) fn session_not_found(session_id: &str) -> StoreError {
    StoreError::NotFound(format!("ad session {session_id}"))
}

fn decision_from_row(row: &AnyRow) -> Result<AdDecisionRow, StoreError> {
    Ok(AdDecisionRow {
        session_id: text(row, "session_id")?,
        break_start: Timestamp(int(row, "break_start")?),
        channel_id: ChannelId(int(row, "channel_id")?),
        break_duration: Ticks(int(row, "break_duration_ticks")?),
        decided_at: Timestamp(int(row, "decided_at")?),
        fill: text(row, "fill")?,
    })
}
