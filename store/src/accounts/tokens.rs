//! API tokens, by the hash of the token.

use onair_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use super::{TokenHash, UserId};
use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{flag, int, optional_int, text};

/// A token to store: see [`Store::insert_api_token`].
#[derive(Debug, Clone, Copy)]
pub struct NewApiToken<'a> {
    pub user: UserId,
    /// What its holder calls it, to revoke it by.
    pub name: &'a str,
    pub hash: &'a TokenHash,
    pub now: Timestamp,
}

/// A stored token (never the token: it was shown once, when created).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiTokenRow {
    pub id: i64,
    pub user_id: UserId,
    pub name: String,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

/// A token found by its hash, with what its user is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedApiToken {
    pub token: ApiTokenRow,
    pub username: String,
    pub user_disabled: bool,
    /// The user's roles, as [`Store::user_roles`] gives them, read in the same query.
    pub roles: Vec<super::RoleGrantRow>,
}

/// The columns [`token_from_row`] reads, as a literal for `concat!`.
macro_rules! columns {
    () => {
        "t.id, t.user_id, t.name, t.created_at, t.last_used_at, t.revoked_at"
    };
}

impl Store {
    /// Stores a token. [`StoreError::Conflict`] when the user has a live token of that name.
    pub async fn insert_api_token(
        &self,
        token: NewApiToken<'_>,
    ) -> Result<ApiTokenRow, StoreError> {
        let row = sqlx::query(
            "INSERT INTO api_tokens (user_id, name, token_hash, created_at) \
             VALUES ($1, $2, $3, $4) \
             RETURNING id, user_id, name, created_at, last_used_at, revoked_at",
        )
        .bind(token.user.0)
        .bind(token.name)
        .bind(token.hash.as_str())
        .bind(token.now.0)
        .fetch_one(&self.pool)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::UniqueViolation) if is_about_the_hash(&error) => {
                StoreError::Conflict("that token exists already: make another".to_owned())
            }
            Some(ErrorKind::UniqueViolation) => StoreError::Conflict(format!(
                "there is already a token named {:?}: revoke it or pick another name",
                token.name
            )),
            _ => StoreError::Database(error),
        })?;
        token_from_row(&row)
    }

    /// A user's tokens, revoked ones too, oldest first.
    pub async fn api_tokens(&self, user: UserId) -> Result<Vec<ApiTokenRow>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            " FROM api_tokens t WHERE t.user_id = $1 ORDER BY t.created_at, t.id"
        );
        let rows = sqlx::query(sql).bind(user.0).fetch_all(&self.pool).await?;
        rows.iter().map(token_from_row).collect()
    }

    /// Revokes the user's live token called `name`; `None` when there is none.
    pub async fn revoke_api_token(
        &self,
        user: UserId,
        name: &str,
        now: Timestamp,
    ) -> Result<Option<ApiTokenRow>, StoreError> {
        let row = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $3 \
             WHERE user_id = $1 AND name = $2 AND revoked_at IS NULL \
             RETURNING id, user_id, name, created_at, last_used_at, revoked_at",
        )
        .bind(user.0)
        .bind(name)
        .bind(now.0)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(token_from_row).transpose()
    }

    /// The token with this hash, revoked or not, with its user and the user's roles: one
    /// query, since every request on an API token asks it.
    pub async fn api_token_by_hash(
        &self,
        hash: &TokenHash,
    ) -> Result<Option<ResolvedApiToken>, StoreError> {
        let sql = concat!(
            "SELECT ",
            columns!(),
            ", u.username, u.disabled, r.role, r.channel_id, c.slug \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             LEFT JOIN user_roles r ON r.user_id = u.id \
             LEFT JOIN channels c ON c.id = r.channel_id \
             WHERE t.token_hash = $1 \
             ORDER BY r.channel_id IS NOT NULL, c.slug, r.role"
        );
        let rows = sqlx::query(sql)
            .bind(hash.as_str())
            .fetch_all(&self.pool)
            .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        Ok(Some(ResolvedApiToken {
            token: token_from_row(first)?,
            username: text(first, "username")?,
            user_disabled: flag(first, "disabled")?,
            roles: super::users::joined_grants(&rows)?,
        }))
    }

    /// Records that the token was used at `now`.
    pub async fn touch_api_token(&self, id: i64, now: Timestamp) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(now.0)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}

/// Whether a unique violation is the token hash's (rather than the name's).
fn is_about_the_hash(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(database) => {
            database
                .constraint()
                .is_some_and(|name| name.contains("token_hash"))
                || database.message().contains("token_hash")
        }
        _ => false,
    }
}

fn token_from_row(row: &AnyRow) -> Result<ApiTokenRow, StoreError> {
    Ok(ApiTokenRow {
        id: int(row, "id")?,
        user_id: UserId(int(row, "user_id")?),
        name: text(row, "name")?,
        created_at: Timestamp(int(row, "created_at")?),
        last_used_at: optional_int(row, "last_used_at")?.map(Timestamp),
        revoked_at: optional_int(row, "revoked_at")?.map(Timestamp),
    })
}
