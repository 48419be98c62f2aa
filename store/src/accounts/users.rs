//! Users, their roles, and their second factor (the TOTP secret and the recovery codes).

use onair_domain::{ChannelId, Timestamp};
use sqlx::any::AnyRow;

use super::{TokenHash, UserId};
use crate::Store;
use crate::error::{StoreError, conflict_if_duplicate};
use crate::rows::{flag, int, optional_int, optional_text, text};

/// A user to store: see [`Store::insert_user`].
#[derive(Debug, Clone, Copy)]
pub struct NewUser<'a> {
    /// As the control plane checked it (lowercase).
    pub username: &'a str,
    /// An Argon2id PHC string.
    pub password_hash: &'a str,
    pub now: Timestamp,
}

/// A stored user.
#[derive(Clone, PartialEq, Eq)]
pub struct UserRow {
    pub id: UserId,
    pub username: String,
    /// An Argon2id PHC string.
    pub password_hash: String,
    /// Base32; set from the moment two-factor sign-in is being turned on.
    pub totp_secret: Option<String>,
    /// When its first code confirmed it: logins ask for a code from then on.
    pub totp_enabled_at: Option<Timestamp>,
    /// The last 30-second step a code was accepted for.
    pub totp_last_step: Option<i64>,
    pub created_at: Timestamp,
    pub disabled: bool,
}

/// Never the hash nor the secret, so that a logged row gives neither away.
impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("totp_enabled_at", &self.totp_enabled_at)
            .field("created_at", &self.created_at)
            .field("disabled", &self.disabled)
            .finish_non_exhaustive()
    }
}

/// A role granted to a user, on one channel or (`channel_id` `None`) on every channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleGrantRow {
    pub user_id: UserId,
    /// `admin`, `scheduler`, `ad_ops` or `viewer`.
    pub role: String,
    pub channel_id: Option<ChannelId>,
    /// The channel's slug, for messages and listings.
    pub channel_slug: Option<String>,
}

/// The columns [`user_from_row`] reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "id, username, password_hash, totp_secret, totp_enabled_at, totp_last_step, created_at, \
         disabled"
    };
}

impl Store {
    /// Stores a user without roles. [`StoreError::Conflict`] when the name is taken in any case.
    pub async fn insert_user(&self, user: NewUser<'_>) -> Result<UserRow, StoreError> {
        let sql = concat!(
            "INSERT INTO users (username, password_hash, created_at) VALUES ($1, $2, $3) \
             RETURNING ",
            columns!()
        );
        let row = sqlx::query(sql)
            .bind(user.username)
            .bind(user.password_hash)
            .bind(user.now.0)
            .fetch_one(&self.pool)
            .await
            .map_err(|error| {
                conflict_if_duplicate(error, || {
                    format!("there is already a user {:?}", user.username)
                })
            })?;
        user_from_row(&row)
    }

    /// The user called `username`, in any case.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM users WHERE LOWER(username) = LOWER($1)"
        );
        let row = sqlx::query(sql)
            .bind(username)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    pub async fn user(&self, id: UserId) -> Result<Option<UserRow>, StoreError> {
        let sql = concat!("SELECT ", columns!(), " FROM users WHERE id = $1");
        let row = sqlx::query(sql)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(user_from_row).transpose()
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let sql = concat!("SELECT ", columns!(), " FROM users ORDER BY username");
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(user_from_row).collect()
    }

    /// Replaces a user's password hash and ends every session of the user, in one transaction:
    /// whoever knew the old password is logged out everywhere.
    pub async fn replace_password_hash(
        &self,
        user: UserId,
        password_hash: &str,
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        let updated = sqlx::query("UPDATE users SET password_hash = $2 WHERE id = $1")
            .bind(user.0)
            .bind(password_hash)
            .execute(&mut *transaction)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Disables a user (ending its sessions in the same transaction) or enables it again.
    pub async fn set_user_disabled(&self, user: UserId, disabled: bool) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        let updated = sqlx::query("UPDATE users SET disabled = $2 WHERE id = $1")
            .bind(user.0)
            .bind(disabled)
            .execute(&mut *transaction)
            .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::NotFound(format!("user {user}")));
        }
        if disabled {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                .bind(user.0)
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Grants `role` on `channel` (every channel when `None`). False when the user had it
    /// already: granting is idempotent.
    pub async fn grant_role(
        &self,
        user: UserId,
        channel: Option<ChannelId>,
        role: &str,
    ) -> Result<bool, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO user_roles (user_id, role, channel_id) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(user.0)
        .bind(role)
        .bind(channel.map(|channel| channel.0))
        .execute(&self.pool)
        .await?;
        Ok(inserted.rows_affected() > 0)
    }

    /// Revokes `role` on `channel` (the every-channel grant when `None`; a grant on one channel
    /// is revoked on its own). False when the user did not have it.
    pub async fn revoke_role(
        &self,
        user: UserId,
        channel: Option<ChannelId>,
        role: &str,
    ) -> Result<bool, StoreError> {
        let deleted = sqlx::query(
            "DELETE FROM user_roles WHERE user_id = $1 AND role = $2 \
             AND COALESCE(channel_id, 0) = COALESCE($3, 0)",
        )
        .bind(user.0)
        .bind(role)
        .bind(channel.map(|channel| channel.0))
        .execute(&self.pool)
        .await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// A user's roles: every-channel grants first, then by channel slug and role.
    pub async fn user_roles(&self, user: UserId) -> Result<Vec<RoleGrantRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.user_id, r.role, r.channel_id, c.slug FROM user_roles r \
             LEFT JOIN channels c ON c.id = r.channel_id WHERE r.user_id = $1 \
             ORDER BY r.channel_id IS NOT NULL, c.slug, r.role",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// Every user's roles, by user then as [`Store::user_roles`] orders them.
    pub async fn all_user_roles(&self) -> Result<Vec<RoleGrantRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.user_id, r.role, r.channel_id, c.slug FROM user_roles r \
             LEFT JOIN channels c ON c.id = r.channel_id \
             ORDER BY r.user_id, r.channel_id IS NOT NULL, c.slug, r.role",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(grant_from_row).collect()
    }

    /// Starts turning two-factor sign-in on: stores `secret` (not in force until
    /// [`Store::confirm_totp`]) and replaces the user's recovery codes with `recovery_codes`, in
    /// one transaction. [`StoreError::Conflict`] when it is on already.
    pub async fn begin_totp(
        &self,
        user: UserId,
        secret: &str,
        recovery_codes: &[TokenHash],
    ) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        let updated = sqlx::query(
            "UPDATE users SET totp_secret = $2, totp_last_step = NULL \
             WHERE id = $1 AND totp_enabled_at IS NULL",
        )
        .bind(user.0)
        .bind(secret)
        .execute(&mut *transaction)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(StoreError::Conflict(
                "two-factor sign-in is on already: turn it off first to start again".to_owned(),
            ));
        }
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *transaction)
            .await?;
        for code in recovery_codes {
            sqlx::query("INSERT INTO recovery_codes (user_id, code_hash) VALUES ($1, $2)")
                .bind(user.0)
                .bind(code.as_str())
                .execute(&mut *transaction)
                .await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// Puts the secret [`Store::begin_totp`] stored in force, `step` being the step of the code
    /// that confirmed it (so that code is not accepted again). False when there is nothing to
    /// confirm (never begun, or on already).
    pub async fn confirm_totp(
        &self,
        user: UserId,
        step: i64,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE users SET totp_enabled_at = $3, totp_last_step = $2 \
             WHERE id = $1 AND totp_secret IS NOT NULL AND totp_enabled_at IS NULL",
        )
        .bind(user.0)
        .bind(step)
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    /// Claims a TOTP step for a login: true only for a step later than any claimed before, so
    /// a code is accepted once, even by two replicas at the same moment.
    pub async fn claim_totp_step(&self, user: UserId, step: i64) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE users SET totp_last_step = $2 WHERE id = $1 \
             AND totp_enabled_at IS NOT NULL AND (totp_last_step IS NULL OR totp_last_step < $2)",
        )
        .bind(user.0)
        .bind(step)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    /// Turns two-factor sign-in off: the secret and the recovery codes are deleted.
    pub async fn clear_totp(&self, user: UserId) -> Result<(), StoreError> {
        let mut transaction = self.begin_write().await?;
        sqlx::query(
            "UPDATE users SET totp_secret = NULL, totp_enabled_at = NULL, totp_last_step = NULL \
             WHERE id = $1",
        )
        .bind(user.0)
        .execute(&mut *transaction)
        .await?;
        sqlx::query("DELETE FROM recovery_codes WHERE user_id = $1")
            .bind(user.0)
            .execute(&mut *transaction)
            .await?;
        transaction.commit().await?;
        Ok(())
    }

    /// Uses a recovery code: true the first time only.
    pub async fn use_recovery_code(
        &self,
        user: UserId,
        code: &TokenHash,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let updated = sqlx::query(
            "UPDATE recovery_codes SET used_at = $3 \
             WHERE user_id = $1 AND code_hash = $2 AND used_at IS NULL",
        )
        .bind(user.0)
        .bind(code.as_str())
        .bind(now.0)
        .execute(&self.pool)
        .await?;
        Ok(updated.rows_affected() > 0)
    }

    /// How many of a user's recovery codes are left.
    pub async fn unused_recovery_codes(&self, user: UserId) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM recovery_codes WHERE user_id = $1 AND used_at IS NULL",
        )
        .bind(user.0)
        .fetch_one(&self.pool)
        .await?)
    }
}

pub(super) fn user_from_row(row: &AnyRow) -> Result<UserRow, StoreError> {
    Ok(UserRow {
        id: UserId(int(row, "id")?),
        username: text(row, "username")?,
        password_hash: text(row, "password_hash")?,
        totp_secret: optional_text(row, "totp_secret")?,
        totp_enabled_at: optional_int(row, "totp_enabled_at")?.map(Timestamp),
        totp_last_step: optional_int(row, "totp_last_step")?,
        created_at: Timestamp(int(row, "created_at")?),
        disabled: flag(row, "disabled")?,
    })
}

/// The grants of rows that joined `user_roles` (as `r`) and `channels` (as `c`) with a LEFT JOIN
/// onto one user's row: a row whose `role` is NULL is the user without roles.
pub(super) fn joined_grants(rows: &[AnyRow]) -> Result<Vec<RoleGrantRow>, StoreError> {
    let mut grants = Vec::new();
    for row in rows {
        if optional_text(row, "role")?.is_some() {
            grants.push(grant_from_row(row)?);
        }
    }
    Ok(grants)
}

fn grant_from_row(row: &AnyRow) -> Result<RoleGrantRow, StoreError> {
    Ok(RoleGrantRow {
        user_id: UserId(int(row, "user_id")?),
        role: text(row, "role")?,
        channel_id: optional_int(row, "channel_id")?.map(ChannelId),
        channel_slug: optional_text(row, "slug")?,
    })
}
