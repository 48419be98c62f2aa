//! API tokens: a user's credentials for scripts. A token is `onair_` and 32 random bytes in
//! URL-safe base64, shown once when created; the store keeps its SHA-256. It stands for its
//! user with the user's roles as they are when it is used (not as they were when it was made),
//! until it is revoked or the user is disabled. The prefix lets a secret scanner (and a person)
//! recognise one.

use onair_domain::Timestamp;
use serde::Serialize;

use super::login::TOUCH_INTERVAL;
use super::secrets::{hash_of, random_token};
use super::{Accounts, Principal};
use crate::refusal::Refusal;

/// What every token starts with.
pub const TOKEN_PREFIX: &str = "onair_";
/// The most characters a token's name has.
const MAX_NAME: usize = 64;

/// A token as its owner sees it (never the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiTokenView {
    pub id: i64,
    pub name: String,
    /// RFC 3339, like the two below.
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// A token just made: `token` is shown this once.
#[derive(Clone, PartialEq, Eq)]
pub struct NewApiToken {
    pub token: String,
    pub view: ApiTokenView,
}

/// Without the token.
impl std::fmt::Debug for NewApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewApiToken")
            .field("view", &self.view)
            .finish_non_exhaustive()
    }
}

impl Accounts {
    /// Makes a token for `username` called `name` (1 to 64 characters, unique among the
    /// user's tokens in force).
    pub async fn create_api_token(
        &self,
        username: &str,
        name: &str,
    ) -> Result<NewApiToken, Refusal> {
        let name = name.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > MAX_NAME || name.chars().any(char::is_control) {
            return Err(Refusal::invalid_field(
                "name",
                format!(
                    "a token's name has 1 to {MAX_NAME} characters, none of them a control \
                     character: say what uses it, e.g. \"ci\""
                ),
            ));
        }
        let user = self.user_row(username).await?;
        let token = format!("{TOKEN_PREFIX}{}", random_token()?);
        let row = self
            .store
            .insert_api_token(onair_store::NewApiToken {
                user: user.id,
                name,
                hash: &hash_of(&token),
                now: self.clock.now(),
            })
            .await?;
        tracing::info!(username = %user.username, name, "API token created");
        Ok(NewApiToken {
            token,
            view: view(row),
        })
    }

    /// A user's tokens, revoked ones too, oldest first.
    pub async fn api_tokens(&self, username: &str) -> Result<Vec<ApiTokenView>, Refusal> {
        let user = self.user_row(username).await?;
        Ok(self
            .store
            .api_tokens(user.id)
            .await?
            .into_iter()
            .map(view)
            .collect())
    }

    /// Revokes the user's token called `name`: it stands for no one from now on.
    pub async fn revoke_api_token(
        &self,
        username: &str,
        name: &str,
    ) -> Result<ApiTokenView, Refusal> {
        let user = self.user_row(username).await?;
        let row = self
            .store
            .revoke_api_token(user.id, name.trim(), self.clock.now())
            .await?
            .ok_or_else(|| {
                Refusal::NotFound(format!(
                    "{} has no token {:?} in force",
                    user.username,
                    name.trim()
                ))
            })?;
        tracing::info!(username = %user.username, name = %row.name, "API token revoked");
        Ok(view(row))
    }

    /// Who `token` (from an `Authorization: Bearer` header) stands for, with the user's roles
    /// now; `None` for an unknown or revoked token or a disabled user. Records its use at most
    /// every minute.
    pub async fn resolve_api_token(&self, token: &str) -> Result<Option<Principal>, Refusal> {
        let token = token.trim();
        if !token.starts_with(TOKEN_PREFIX) || token.len() != TOKEN_PREFIX.len() + 43 {
            return Ok(None);
        }
        let Some(found) = self.store.api_token_by_hash(&hash_of(token)).await? else {
            return Ok(None);
        };
        if found.token.revoked_at.is_some() || found.user_disabled {
            return Ok(None);
        }
        let now = self.clock.now();
        if found
            .token
            .last_used_at
            .is_none_or(|last| now - last >= TOUCH_INTERVAL)
        {
            self.store.touch_api_token(found.token.id, now).await?;
        }
        Ok(Some(super::users::principal_of(
            found.token.user_id,
            &found.username,
            &found.roles,
        )))
    }
}

fn view(row: onair_store::ApiTokenRow) -> ApiTokenView {
    let rfc3339 = |at: Timestamp| at.to_rfc3339_millis();
    ApiTokenView {
        id: row.id,
        name: row.name,
        created_at: rfc3339(row.created_at),
        last_used_at: row.last_used_at.map(rfc3339),
        revoked_at: row.revoked_at.map(rfc3339),
    }
}
