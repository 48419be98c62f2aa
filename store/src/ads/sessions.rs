//! Players' ad sessions: created once, touched while the player polls, expired when idle (with
//! their decisions and beacons).

use onair_domain::{ChannelId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use super::{KEYS_PER_QUERY, check_json_object, count_from_db};
use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{int, optional_int, optional_text, placeholders, text};

/// A session to create.
#[derive(Debug, Clone, Copy)]
pub struct NewAdSession<'a> {
    /// Unique, chosen by the caller (it appears in the player's URLs).
    pub id: &'a str,
    pub channel_id: ChannelId,
    /// What the ad server is told about the session, a JSON object, kept as given.
    pub params: &'a str,
    pub client_ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    /// When it is created; it is last seen then too.
    pub at: Timestamp,
    /// The stitched partner whose URL started it (its `partners.id`), or `None` for the
    /// channel's own viewers. Deleting the partner deletes the session.
    pub partner_id: Option<i64>,
}

/// A stored session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdSessionRow {
    pub id: String,
    pub channel_id: ChannelId,
    /// A JSON object, as given.
    pub params: String,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub created_at: Timestamp,
    pub last_seen: Timestamp,
    /// The stitched partner whose URL started it, by id and name; `None`: the channel's own.
    pub partner: Option<(i64, String)>,
}

impl Store {
    /// Stores a new session. An id already taken is a [`StoreError::Conflict`]; an empty id or
    /// parameters that are not a JSON object [`StoreError::Invalid`]; an unknown channel or
    /// partner [`StoreError::NotFound`].
    pub async fn create_ad_session(&self, session: &NewAdSession<'_>) -> Result<(), StoreError> {
        if session.id.is_empty() {
            return Err(StoreError::Invalid(
                "an ad session needs an id: it is empty".to_owned(),
            ));
        }
        check_json_object(session.params, || {
            format!("the parameters of ad session {}", session.id)
        })?;
        sqlx::query(
            "INSERT INTO ad_sessions \
             (id, channel_id, params, client_ip, user_agent, created_at, last_seen, partner_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7)",
        )
        .bind(session.id)
        .bind(session.channel_id.0)
        .bind(session.params)
        .bind(session.client_ip)
        .bind(session.user_agent)
        .bind(session.at.0)
        .bind(session.partner_id)
        .execute(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::UniqueViolation) => {
                StoreError::Conflict(format!("ad session {} exists already", session.id))
            }
            Some(ErrorKind::ForeignKeyViolation) => {
                StoreError::NotFound(match session.partner_id {
                    Some(partner) => {
                        format!("channel {} or partner {partner}", session.channel_id.0)
                    }
                    None => format!("channel {}", session.channel_id.0),
                })
            }
            _ => StoreError::Database(error),
        })?;
        Ok(())
    }

    /// The session, unless it never existed or expired.
    pub async fn ad_session(&self, id: &str) -> Result<Option<AdSessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT s.id, s.channel_id, s.params, s.client_ip, s.user_agent, s.created_at, \
             s.last_seen, s.partner_id, p.name AS partner_name \
             FROM ad_sessions s LEFT JOIN partners p ON p.id = s.partner_id WHERE s.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(session_from_row).transpose()
    }

    /// Marks the sessions seen at `at`, in one statement (one transaction beyond a few hundred
    /// ids). A session's last sighting only moves forward: one already seen later keeps it. Ids
    /// of sessions that do not exist (expired) are passed over.
    pub async fn touch_ad_sessions(&self, ids: &[String], at: Timestamp) -> Result<(), StoreError> {
        // Sorted, so that concurrent touches on PostgreSQL lock shared rows chunk by chunk in
        // the same order.
        let mut ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        ids.sort_unstable();
        ids.dedup();
        let touch_sql = |count: usize| {
            sqlx::AssertSqlSafe(format!(
                "UPDATE ad_sessions SET last_seen = $1 WHERE last_seen < $1 AND id IN ({})",
                placeholders(2, count)
            ))
        };
        match ids.len() {
            0 => {}
            count if count <= KEYS_PER_QUERY => {
                let mut query = sqlx::query(touch_sql(count)).bind(at.0);
                for id in &ids {
                    query = query.bind(*id);
                }
                query.execute(&self.pool).await?;
            }
            _ => {
                let mut transaction = self.begin_write().await?;
                for chunk in ids.chunks(KEYS_PER_QUERY) {
                    let mut query = sqlx::query(touch_sql(chunk.len())).bind(at.0);
                    for id in chunk {
                        query = query.bind(*id);
                    }
                    query.execute(&mut *transaction).await?;
                }
                transaction.commit().await?;
            }
        }
        Ok(())
    }

    /// Deletes the sessions last seen before `idle_before`, with their decisions and beacons,
    /// and returns how many sessions it deleted.
    pub async fn expire_ad_sessions(&self, idle_before: Timestamp) -> Result<u64, StoreError> {
        // The decisions and beacons go by their foreign keys' ON DELETE CASCADE.
        let expired = sqlx::query("DELETE FROM ad_sessions WHERE last_seen < $1")
            .bind(idle_before.0)
            .execute(&self.pool)
            .await?;
        Ok(expired.rows_affected())
    }

    /// How many sessions there are, on one channel or on all.
    pub async fn count_ad_sessions(&self, channel: Option<ChannelId>) -> Result<u64, StoreError> {
        let count: i64 = match channel {
            Some(channel) => {
                sqlx::query_scalar("SELECT COUNT(*) FROM ad_sessions WHERE channel_id = $1")
                    .bind(channel.0)
                    .fetch_one(&self.pool)
                    .await?
            }
            None => {
                sqlx::query_scalar("SELECT COUNT(*) FROM ad_sessions")
                    .fetch_one(&self.pool)
                    .await?
            }
        };
        count_from_db(count)
    }
}

fn session_from_row(row: &AnyRow) -> Result<AdSessionRow, StoreError> {
    Ok(AdSessionRow {
        id: text(row, "id")?,
        channel_id: ChannelId(int(row, "channel_id")?),
        params: text(row, "params")?,
        client_ip: optional_text(row, "client_ip")?,
        user_agent: optional_text(row, "user_agent")?,
        created_at: Timestamp(int(row, "created_at")?),
        last_seen: Timestamp(int(row, "last_seen")?),
        partner: match (
            optional_int(row, "partner_id")?,
            optional_text(row, "partner_name")?,
        ) {
            (Some(id), Some(name)) => Some((id, name)),
            _ => None,
        },
    })
}
