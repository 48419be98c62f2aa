//! Accounts and access: who may use the operator UI and the API, and what each may do.
//!
//! - **Users** ([`users`]) log in with a username and a password, hashed with Argon2id
//!   ([`passwords`]); an admin adds them, sets their passwords, grants and revokes roles, and
//!   disables them.
//! - **Roles** ([`Role`]) are granted per channel or on every channel: `admin` implies every
//!   role, `scheduler` and `ad_ops` imply `viewer`. A [`Principal`] (the user a session or a
//!   token stands for, with its grants) answers [`Principal::require`] with a
//!   [`Refusal::Forbidden`] that names the role needed.
//! - **Logins** ([`login`]) give a cookie session, or, for a user with two-factor sign-in on, a
//!   pending session that only a TOTP code ([`totp`]) or a recovery code turns into one. Failed
//!   logins are counted in the store, per username and per peer, so every replica enforces the
//!   same limit.
//! - **API tokens** ([`tokens`]) are a user's credentials for scripts, carrying the user's roles.
//!
//! **Secrets are only stored hashed.** Passwords as Argon2id PHC strings; session tokens, API
//! tokens and recovery codes as their SHA-256 ([`onair_store::TokenHash`]): they are 256-bit
//! (80-bit for recovery codes) random values, which a fast hash protects as well as a slow one,
//! and looking a session up must be fast. The TOTP secret is the exception: codes are computed
//! from it. **Ids rotate**: every step of a login creates a new session and deletes the one
//! before, so a session id seen before the login (or before the second factor) is worth nothing.
//!
//! Nothing here speaks HTTP: cookies, CSRF checks and pages are the adapters'. The methods
//! that change accounts do not check who asks: the adapter checks the acting principal first
//! (the CLI is trusted, as it holds the database).
//!
//! **The clock** is the [`Accounts`]' own, not the control plane's: a server on a virtual
//! clock (a soak test, `playout.virtual_clock`) still expires sessions and checks TOTP codes
//! on the wall clock, which authenticator apps follow.

mod login;
pub mod passwords;
mod secrets;
mod tokens;
pub mod totp;
mod users;

#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;

use onair_domain::{Channel, ChannelId, Clock};
use onair_store::{Store, UserId};
use serde::Serialize;

use crate::refusal::Refusal;

pub use login::{
    ABSOLUTE_LIFETIME, FAILURE_WINDOW, IDLE_TIMEOUT, Login, LoginRefusal, PEER_FAILURE_LIMIT,
    PENDING_LIFETIME, Session, TOUCH_INTERVAL, USER_FAILURE_LIMIT,
};
pub use tokens::{ApiTokenView, NewApiToken, TOKEN_PREFIX};
pub use users::{RoleView, TotpEnrolment, UserView, check_username};

/// The accounts' handle: the store and the wall clock. Cheap to clone.
#[derive(Clone)]
pub struct Accounts {
    store: Store,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for Accounts {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accounts")
            .field("store", &self.store)
            .field("clock", &self.clock)
            .finish()
    }
}

impl Accounts {
    /// `clock` should be the wall clock ([`onair_domain::SystemClock`]) outside tests: see the
    /// module's documentation.
    pub fn new(store: Store, clock: Arc<dyn Clock>) -> Accounts {
        Accounts { store, clock }
    }

    /// Refuses unless `principal` has `role` on the channel `slug` names (on every channel when
    /// `None`). An unknown channel is a [`Refusal::NotFound`].
    pub async fn require(
        &self,
        principal: &Principal,
        slug: Option<&str>,
        role: Role,
    ) -> Result<(), Refusal> {
        match slug {
            None => principal.require(None, role),
            Some(slug) if principal.has_on_slug(slug, role) => Ok(()),
            Some(slug) => {
                let channel = crate::schedule::channel(&self.store, slug).await?;
                principal.require(Some(&channel), role)
            }
        }
    }
}

/// What a user may do. Stored as `admin`, `scheduler`, `ad_ops`, `viewer`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, users and roles included.
    Admin,
    /// Schedules, grids, takes to air.
    Scheduler,
    /// Ad settings and reports.
    AdOps,
    /// Looking only.
    Viewer,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Admin, Role::Scheduler, Role::AdOps, Role::Viewer];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Scheduler => "scheduler",
            Role::AdOps => "ad_ops",
            Role::Viewer => "viewer",
        }
    }

    /// Whether holding `self` grants `other` too: admin implies every role, scheduler and
    /// ad_ops imply viewer, and every role implies itself.
    pub fn implies(self, other: Role) -> bool {
        self == other
            || self == Role::Admin
            || (other == Role::Viewer && matches!(self, Role::Scheduler | Role::AdOps))
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = Refusal;

    /// `admin`, `scheduler`, `ad_ops` (or `ad-ops`), `viewer`, in any case.
    fn from_str(text: &str) -> Result<Role, Refusal> {
        let wanted = text.trim().to_ascii_lowercase().replace('-', "_");
        Role::ALL
            .into_iter()
            .find(|role| role.as_str() == wanted)
            .ok_or_else(|| {
                Refusal::invalid_field(
                    "role",
                    format!("there is no role {text:?}: use admin, scheduler, ad_ops or viewer"),
                )
            })
    }
}

/// Who a request acts for: the user a session or an API token stands for, with its grants as
/// they were when it was looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub user_id: UserId,
    pub username: String,
    /// Each role granted, on one channel or (`None`) on every channel.
    pub grants: Vec<(Option<ChannelId>, Role)>,
    /// The slug of each channel a grant names, as it was when looked up: a request on a
    /// channel the principal has a grant on needs no lookup of the channel.
    pub channel_slugs: Vec<(ChannelId, String)>,
}

impl Principal {
    /// Whether the principal has `role` on `channel`, or (`None`) on every channel. A grant on
    /// every channel counts for each; a grant on one channel counts for it alone.
    pub fn has(&self, channel: Option<ChannelId>, role: Role) -> bool {
        self.grants.iter().any(|(on, granted)| {
            granted.implies(role) && (on.is_none() || (channel.is_some() && *on == channel))
        })
    }

    /// Whether the principal has `role` on a channel one of its grants names by `slug`: known
    /// to exist then, without a lookup. False for a channel no grant names (even with `role`
    /// on every channel: whether it exists is the store's to say).
    pub fn has_on_slug(&self, slug: &str, role: Role) -> bool {
        self.channel_slugs
            .iter()
            .any(|(channel, known)| known == slug && self.has(Some(*channel), role))
    }

    /// [`Principal::has`], or a [`Refusal::Forbidden`] naming the role needed: "this needs the
    /// scheduler role on channel news". The channel is passed whole for its slug.
    pub fn require(&self, channel: Option<&Channel>, role: Role) -> Result<(), Refusal> {
        if self.has(channel.map(|channel| channel.id), role) {
            return Ok(());
        }
        Err(Refusal::Forbidden(match channel {
            Some(channel) => format!("this needs the {role} role on channel {}", channel.slug),
            None => format!("this needs the {role} role on every channel"),
        }))
    }
}
