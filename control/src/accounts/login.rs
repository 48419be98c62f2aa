//! Logins, the second factor, and the cookie sessions they give.
//!
//! **What a refusal says.** A wrong password and an unknown username are refused alike, "wrong
//! username or password", after the same work (an unknown user's login verifies against a hash
//! of no one's password), so neither the words nor the time tell which usernames exist. A
//! disabled user is refused alike too. The one other refusal is the rate limit's, which says
//! when to try again.
//!
//! **The rate limit.** A failed login (or second factor) is recorded in the store under
//! `user:{username}` and `peer:{address}` (an IPv6 peer by its /64, what one host is usually
//! given). A login is refused without checking its password while the username has
//! [`USER_FAILURE_LIMIT`] failures in the last [`FAILURE_WINDOW`], or the peer
//! [`PEER_FAILURE_LIMIT`]: guessing is slowed to 5 passwords per user per quarter hour, whoever
//! guesses, and one address cannot try many usernames. The counts are in the store, so every
//! replica behind a load balancer applies the same limit. A success forgets the username's
//! failures (not the peer's). The price is that anyone can hold a username's logins off for a
//! quarter hour by failing five times; an admin can still set its password from the CLI.
//!
//! **Sessions.** A session lives [`IDLE_TIMEOUT`] after its last use and [`ABSOLUTE_LIFETIME`]
//! at most. Its last use is written at most every [`TOUCH_INTERVAL`], so a page that polls
//! does not write to the database on every request. A login for a user with two-factor sign-in
//! on gives a *pending* session instead, which grants nothing, lives [`PENDING_LIFETIME`], and
//! is exchanged for a new session (a new id) by a TOTP code or a recovery code.

use std::fmt;
use std::net::IpAddr;

use onair_domain::{Ticks, Timestamp};
use onair_store::{NewSession, SessionRow, UserRow};

use super::secrets::{hash_of, random_token};
use super::{Accounts, Principal, passwords, totp};
use crate::refusal::Refusal;

/// How long an unused session lives.
pub const IDLE_TIMEOUT: Ticks = Ticks::from_secs(12 * 3_600);
/// How long a session lives at most, used or not.
pub const ABSOLUTE_LIFETIME: Ticks = Ticks::from_secs(7 * 24 * 3_600);
/// How long a session waiting for its second factor lives.
pub const PENDING_LIFETIME: Ticks = Ticks::from_secs(5 * 60);
/// A session's last use is written at most this often.
pub const TOUCH_INTERVAL: Ticks = Ticks::from_secs(60);
/// The window failed logins are counted in.
pub const FAILURE_WINDOW: Ticks = Ticks::from_secs(15 * 60);
/// Failed logins per username in the window before its logins are refused.
pub const USER_FAILURE_LIMIT: usize = 5;
/// Failed logins per peer address in the window before its logins are refused.
pub const PEER_FAILURE_LIMIT: usize = 20;

/// What a login gives. The tokens are shown here once: the store keeps their hashes.
#[derive(Clone, PartialEq, Eq)]
pub enum Login {
    /// Logged in: `token` goes in the session cookie, `csrf` in the pages' forms.
    Session {
        token: String,
        csrf: String,
        expires_at: Timestamp,
    },
    /// The password was right and the user has two-factor sign-in on: `pending` stands for the
    /// login until a code is given to [`Accounts::second_factor`], and grants nothing.
    SecondFactor {
        pending: String,
        expires_at: Timestamp,
    },
}

/// Without the tokens, so that logging one gives nothing away.
impl fmt::Debug for Login {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Login::Session { expires_at, .. } => f
                .debug_struct("Session")
                .field("expires_at", expires_at)
                .finish_non_exhaustive(),
            Login::SecondFactor { expires_at, .. } => f
                .debug_struct("SecondFactor")
                .field("expires_at", expires_at)
                .finish_non_exhaustive(),
        }
    }
}

/// Why a login or a second factor was refused. An HTTP adapter answers 401 for the first
/// three, 429 with `Retry-After` for [`LoginRefusal::TooManyFailures`], 500 for the last.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoginRefusal {
    /// An unknown user, a wrong password or a disabled user: never which.
    #[error("wrong username or password")]
    WrongUsernameOrPassword,
    /// Neither the current TOTP code nor an unused recovery code.
    #[error("wrong code: give the code your authenticator app shows now, or a recovery code")]
    WrongCode,
    /// The pending session is unknown or expired.
    #[error("the login has expired: log in again")]
    LoginExpired,
    #[error("too many failed logins: try again in {retry_after_secs} s")]
    TooManyFailures { retry_after_secs: i64 },
    /// Something failed that the user cannot fix; the detail is for the log.
    #[error("{0}")]
    Internal(String),
}

impl From<Refusal> for LoginRefusal {
    fn from(refusal: Refusal) -> LoginRefusal {
        LoginRefusal::Internal(refusal.to_string())
    }
}

impl From<onair_store::StoreError> for LoginRefusal {
    fn from(error: onair_store::StoreError) -> LoginRefusal {
        LoginRefusal::Internal(error.to_string())
    }
}

/// A session in force, as a request sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub principal: Principal,
    /// The token the pages' forms must echo.
    pub csrf: String,
    /// When it ends if used no more.
    pub idle_expires_at: Timestamp,
    /// When it ends at the latest.
    pub expires_at: Timestamp,
}

impl Accounts {
    /// Logs `username` in with `password` from `peer`: a session, or a pending one when the
    /// user has two-factor sign-in on. See the module's documentation for the refusals and the
    /// rate limit.
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        peer: IpAddr,
    ) -> Result<Login, LoginRefusal> {
        let now = self.clock.now();
        let username = username.trim().to_lowercase();
        let keys = failure_keys(&username, peer);
        self.refuse_when_limited(&keys, now).await?;

        let user = if username.is_empty() || username.len() > super::users::MAX_USERNAME {
            None
        } else {
            self.store.user_by_name(&username).await?
        };
        let right = passwords::verify(
            password.to_owned(),
            user.as_ref().map(|user| user.password_hash.clone()),
        )
        .await?;
        let user = match user {
            Some(user) if right && !user.disabled => user,
            user => {
                // A disabled user with the right password is counted and refused alike: the
                // answer and the work are the same whatever was wrong.
                self.record_failure(&keys, now).await?;
                let why = match user {
                    Some(_) if right => "the user is disabled",
                    Some(_) => "wrong password",
                    None => "unknown user",
                };
                tracing::info!(%username, %peer, why, "login refused");
                return Err(LoginRefusal::WrongUsernameOrPassword);
            }
        };
        self.store.clear_login_failures(&keys[0].0).await?;
        if user.totp_enabled_at.is_some() {
            let pending = random_token()?;
            let expires_at = now + PENDING_LIFETIME;
            self.store
                .insert_session(NewSession {
                    id: &hash_of(&pending),
                    user: user.id,
                    now,
                    expires_at,
                    second_factor_pending: true,
                    csrf_token: &random_token()?,
                })
                .await?;
            tracing::info!(username = %user.username, %peer, "password accepted; waiting for the second factor");
            return Ok(Login::SecondFactor {
                pending,
                expires_at,
            });
        }
        let (token, csrf, expires_at) = self.new_session(&user, now).await?;
        tracing::info!(username = %user.username, %peer, "logged in");
        Ok(Login::Session {
            token,
            csrf,
            expires_at,
        })
    }

    /// Completes a login waiting for its second factor: `code` is the TOTP code of now (or of
    /// the step before or after, each accepted once) or an unused recovery code. The pending
    /// session is replaced by a new one, with a new token. A wrong code counts as a failed
    /// login against the user and the peer.
    pub async fn second_factor(
        &self,
        pending: &str,
        code: &str,
        peer: IpAddr,
    ) -> Result<Login, LoginRefusal> {
        let now = self.clock.now();
        let pending_id = hash_of(pending);
        let session = match self.store.session(&pending_id, now).await? {
            Some(session) if session.second_factor_pending && !session.user_disabled => session,
            _ => return Err(LoginRefusal::LoginExpired),
        };
        let keys = failure_keys(&session.username, peer);
        self.refuse_when_limited(&keys, now).await?;
        let user = self
            .store
            .user(session.user_id)
            .await?
            .ok_or(LoginRefusal::LoginExpired)?;
        if !self.second_factor_is_right(&user, code, now).await? {
            self.record_failure(&keys, now).await?;
            tracing::info!(username = %user.username, %peer, "second factor refused");
            return Err(LoginRefusal::WrongCode);
        }
        let token = random_token()?;
        let csrf = random_token()?;
        let expires_at = now + ABSOLUTE_LIFETIME;
        let exchanged = self
            .store
            .exchange_pending_session(
                &pending_id,
                NewSession {
                    id: &hash_of(&token),
                    user: user.id,
                    now,
                    expires_at,
                    second_factor_pending: false,
                    csrf_token: &csrf,
                },
            )
            .await?;
        if !exchanged {
            return Err(LoginRefusal::LoginExpired);
        }
        self.store.clear_login_failures(&keys[0].0).await?;
        tracing::info!(username = %user.username, %peer, "logged in with a second factor");
        Ok(Login::Session {
            token,
            csrf,
            expires_at,
        })
    }

    /// The session `token` (a cookie's) stands for, if it is in force: not pending, not idle
    /// for [`IDLE_TIMEOUT`], not past its absolute expiry, its user not disabled. Records its
    /// use at most every [`TOUCH_INTERVAL`].
    pub async fn session(&self, token: &str) -> Result<Option<Session>, Refusal> {
        let now = self.clock.now();
        let id = hash_of(token);
        let Some(row) = self.store.session(&id, now).await? else {
            return Ok(None);
        };
        if row.second_factor_pending || row.user_disabled {
            return Ok(None);
        }
        if row.last_seen_at + IDLE_TIMEOUT <= now {
            self.store.delete_session(&id).await?;
            return Ok(None);
        }
        let last_seen_at = if now - row.last_seen_at >= TOUCH_INTERVAL {
            self.store.touch_session(&id, now).await?;
            now
        } else {
            row.last_seen_at
        };
        let principal = super::users::principal_of(row.user_id, &row.username, &row.roles);
        Ok(Some(session_view(row, principal, last_seen_at)))
    }

    /// Ends the session `token` stands for (pending or not). Nothing happens for an unknown one.
    pub async fn logout(&self, token: &str) -> Result<(), Refusal> {
        self.store.delete_session(&hash_of(token)).await?;
        Ok(())
    }

    /// Ends every session of `username`; how many there were.
    pub async fn logout_everywhere(&self, username: &str) -> Result<u64, Refusal> {
        let user = self.user_row(username).await?;
        Ok(self.store.delete_user_sessions(user.id).await?)
    }

    /// Deletes the sessions that have expired, idle or not; how many. For a housekeeping loop:
    /// an expired session is refused whether it is deleted or not.
    pub async fn purge_expired_sessions(&self) -> Result<u64, Refusal> {
        let now = self.clock.now();
        Ok(self
            .store
            .delete_expired_sessions(now, now - IDLE_TIMEOUT)
            .await?)
    }

    /// Stores a new session for `user`: its token, CSRF token and absolute expiry.
    async fn new_session(
        &self,
        user: &UserRow,
        now: Timestamp,
    ) -> Result<(String, String, Timestamp), Refusal> {
        let token = random_token()?;
        let csrf = random_token()?;
        let expires_at = now + ABSOLUTE_LIFETIME;
        self.store
            .insert_session(NewSession {
                id: &hash_of(&token),
                user: user.id,
                now,
                expires_at,
                second_factor_pending: false,
                csrf_token: &csrf,
            })
            .await?;
        Ok((token, csrf, expires_at))
    }

    /// Whether `code` is the user's TOTP code of now (claimed, so it is accepted once) or one
    /// of its unused recovery codes (used up).
    async fn second_factor_is_right(
        &self,
        user: &UserRow,
        code: &str,
        now: Timestamp,
    ) -> Result<bool, Refusal> {
        let code = code.trim();
        if code.len() == totp::DIGITS as usize && code.bytes().all(|byte| byte.is_ascii_digit()) {
            let Some(secret) = user
                .totp_secret
                .as_deref()
                .and_then(super::secrets::from_base32)
            else {
                return Ok(false);
            };
            return Ok(match totp::matching_step(&secret, code, now) {
                Some(step) => self.store.claim_totp_step(user.id, step).await?,
                None => false,
            });
        }
        let normalized = super::users::normalize_recovery_code(code);
        Ok(self
            .store
            .use_recovery_code(user.id, &hash_of(&normalized), now)
            .await?)
    }

    /// Refuses while any key has reached its limit in the window, saying when the earliest of
    /// them allows a try again.
    async fn refuse_when_limited(
        &self,
        keys: &[(String, usize)],
        now: Timestamp,
    ) -> Result<(), LoginRefusal> {
        let mut retry_after: Option<Ticks> = None;
        for (key, limit) in keys {
            let failures = self.store.login_failures(key, now - FAILURE_WINDOW).await?;
            if failures.len() >= *limit {
                // Tries are allowed again once fewer than `limit` failures are in the window:
                // when the `limit`-th latest leaves it.
                let leaves = failures[failures.len() - limit] + FAILURE_WINDOW;
                let wait = leaves - now;
                retry_after = Some(retry_after.map_or(wait, |longest| longest.max(wait)));
            }
        }
        match retry_after {
            None => Ok(()),
            Some(wait) => Err(LoginRefusal::TooManyFailures {
                retry_after_secs: wait.ceil_secs().max(1),
            }),
        }
    }

    async fn record_failure(
        &self,
        keys: &[(String, usize)],
        now: Timestamp,
    ) -> Result<(), LoginRefusal> {
        let names: Vec<&str> = keys.iter().map(|(key, _)| key.as_str()).collect();
        self.store
            .record_login_failure(&names, now, now - FAILURE_WINDOW)
            .await?;
        Ok(())
    }
}

/// The keys a login's failures are counted under, with their limits: the username's first.
fn failure_keys(username: &str, peer: IpAddr) -> [(String, usize); 2] {
    let name: String = username.chars().take(super::users::MAX_USERNAME).collect();
    [
        (format!("user:{name}"), USER_FAILURE_LIMIT),
        (format!("peer:{}", peer_key(peer)), PEER_FAILURE_LIMIT),
    ]
}

/// An IPv4 address as it is (an IPv4-mapped IPv6 one too), an IPv6 address by its /64.
fn peer_key(peer: IpAddr) -> String {
    match peer.to_canonical() {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => {
            let [a, b, c, d, ..] = v6.segments();
            format!("{a:x}:{b:x}:{c:x}:{d:x}::/64")
        }
    }
}

fn session_view(row: SessionRow, principal: Principal, last_seen_at: Timestamp) -> Session {
    Session {
        principal,
        csrf: row.csrf_token,
        idle_expires_at: (last_seen_at + IDLE_TIMEOUT).min(row.expires_at),
        expires_at: row.expires_at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_peer_is_counted_by_its_64_and_a_mapped_ipv4_one_as_ipv4() {
        assert_eq!(peer_key("192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(peer_key("::ffff:192.0.2.7".parse().unwrap()), "192.0.2.7");
        assert_eq!(
            peer_key("2001:db8:1:2:aaaa::1".parse().unwrap()),
            peer_key("2001:db8:1:2:bbbb::9".parse().unwrap())
        );
        assert_eq!(
            peer_key("2001:db8:1:2::1".parse().unwrap()),
            "2001:db8:1:2::/64"
        );
    }
}
