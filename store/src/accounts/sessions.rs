//! Cookie sessions, by the hash of their token, and the failed logins every replica counts.

use onair_domain::Timestamp;
use sqlx::any::AnyRow;

use super::{TokenHash, UserId};
use crate::Store;
use crate::error::{StoreError, conflict_if_duplicate};
use crate::rows::{flag, int, text};

/// A session to store: see [`Store::insert_session`].
#[derive(Debug, Clone, Copy)]
pub struct NewSession<'a> {
    /// The hash of the cookie's token.
    pub id: &'a TokenHash,
    pub user: UserId,
    pub now: Timestamp,
    /// The absolute expiry.
    pub expires_at: Timestamp,
    /// Waiting for the second factor: grants nothing yet.
    pub second_factor_pending: bool,
    pub csrf_token: &'a str,
}

/// A stored session, with what its user is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id: TokenHash,
    pub user_id: UserId,
    pub username: String,
    pub user_disabled: bool,
    pub created_at: Timestamp,
    pub last_seen_at: Timestamp,
    pub expires_at: Timestamp,
    pub second_factor_pending: bool,
    pub csrf_token: String,
    /// The user's roles, as [`Store::user_roles`] gives them, read in the same query.
    pub roles: Vec<super::RoleGrantRow>,
}

impl Store {
    pub async fn insert_session(&self, session: NewSession<'_>) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, \
             second_factor_pending, csrf_token) VALUES ($1, $2, $3, $3, $4, $5, $6)",
        )
        .bind(session.id.as_str())
        .bind(session.user.0)
        .bind(session.now.0)
        .bind(session.expires_at.0)
        .bind(session.second_factor_pending)
        .bind(session.csrf_token)
        .execute(&self.pool)
        .await
        .map_err(|error| conflict_if_duplicate(error, || "that session exists already".into()))?;
        Ok(())
    }

    /// The session `id` names, unless it has expired by `now` (its absolute expiry: the idle
    /// one is the caller's rule).
    pub async fn session(
        &self,
        id: &TokenHash,
        now: Timestamp,
    ) -> Result<Option<SessionRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT s.id, s.user_id, u.username, u.disabled, s.created_at, s.last_seen_at, \
             s.expires_at, s.second_factor_pending, s.csrf_token, r.role, r.channel_id, c.slug \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             LEFT JOIN user_roles r ON r.user_id = u.id \
             LEFT JOIN channels c ON c.id = r.channel_id \
             WHERE s.id = $1 AND s.expires_at > $2 \
             ORDER BY r.channel_id IS NOT NULL, c.slug, r.role",
        )
        .bind(id.as_str())
        .bind(now.0)
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let mut session = session_from_row(first)?;
        session.roles = super::users::joined_grants(&rows)?;
        Ok(Some(session))
    }

    /// Records that the session was used at `now`.
    pub async fn touch_session(&self, id: &TokenHash, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND last_seen_at < $2")
            .bind(id.as_str())
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Deletes a session (a logout). False when there was none.
    pub async fn delete_session(&self, id: &TokenHash) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Replaces a session waiting for its second factor with `next`, in one transaction: the
    /// id changes as the login goes on. False (and nothing stored) when `pending` is no longer
    /// there, e.g. another request passed it first.
    pub async fn exchange_pending_session(
        &self,
        pending: &TokenHash,
        next: NewSession<'_>,
    ) -> Result<bool, StoreError> {
        let mut transaction = self.begin_write().await?;
        let deleted = sqlx::query(
            "DELETE FROM sessions WHERE id = $1 AND user_id = $2 AND second_factor_pending = $3",
        )
        .bind(pending.as_str())
        .bind(next.user.0)
        .bind(true)
        .execute(&mut *transaction)
        .await?;
        if deleted.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "INSERT INTO sessions (id, user_id, created_at, last_seen_at, expires_at, \
             second_factor_pending, csrf_token) VALUES ($1, $2, $3, $3, $4, $5, $6)",
        )
        .bind(next.id.as_str())
        .bind(next.user.0)
        .bind(next.now.0)
        .bind(next.expires_at.0)
        .bind(next.second_factor_pending)
        .bind(next.csrf_token)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        Ok(true)
    }

    /// Ends every session of a user; how many there were.
    pub async fn delete_user_sessions(&self, user: UserId) -> Result<u64, StoreError> {
        let deleted = sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.0)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected())
    }

    /// Deletes the sessions past their absolute expiry at `now` or not seen since
    /// `idle_before`; how many.
    pub async fn delete_expired_sessions(
        &self,
        now: Timestamp,
        idle_before: Timestamp,
    ) -> Result<u64, StoreError> {
        let deleted =
            sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR last_seen_at < $2")
                .bind(now.0)
                .bind(idle_before.0)
                .execute(&self.pool)
                .await?;
        Ok(deleted.rows_affected())
    }

    /// Records one failed login at `at` under each of `keys` (`user:{name}`, `peer:{address}`),
    /// and forgets every failure before `forget_before`, in one transaction.
    pub async fn record_login_failure(
        &self,
        keys: &[&str],
        at: Timestamp,
        forget_before: Timestamp,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        sqlx::query("DELETE FROM login_failures WHERE at < $1")
            .bind(forget_before.0)
            .execute(&mut *transaction)
            .await?;
        for key in keys {
            sqlx::query("INSERT INTO login_failures (key, at) VALUES ($1, $2)")
                .bind(*key)
                .bind(at.0)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// When the failures under `key` at or after `since` happened, oldest first.
    pub async fn login_failures(
        &self,
        key: &str,
        since: Timestamp,
    ) -> Result<Vec<Timestamp>, StoreError> {
        let instants: Vec<i64> = sqlx::query_scalar(
            "SELECT at FROM login_failures WHERE key = $1 AND at >= $2 ORDER BY at, id",
        )
        .bind(key)
        .bind(since.0)
        .fetch_all(&self.pool)
        .await?;
        Ok(instants.into_iter().map(Timestamp).collect())
    }

    /// Forgets the failures under `key` (a user's, after a successful login).
    pub async fn clear_login_failures(&self, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM login_failures WHERE key = $1")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

fn session_from_row(row: &AnyRow) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        id: TokenHash(text(row, "id")?),
        user_id: UserId(int(row, "user_id")?),
        username: text(row, "username")?,
        user_disabled: flag(row, "disabled")?,
        created_at: Timestamp(int(row, "created_at")?),
        last_seen_at: Timestamp(int(row, "last_seen_at")?),
        expires_at: Timestamp(int(row, "expires_at")?),
        second_factor_pending: flag(row, "second_factor_pending")?,
        csrf_token: text(row, "csrf_token")?,
        roles: Vec::new(),
    })
}
