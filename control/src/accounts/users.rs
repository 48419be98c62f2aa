//! Users as an admin manages them (add, passwords, roles, disable, list) and as each turns
//! two-factor sign-in on and off.

use onair_domain::ChannelId;
use onair_store::{RoleGrantRow, StoreError, UserId, UserRow};
use serde::Serialize;

use super::secrets::{base32, from_base32, hash_of, random_bytes};
use super::{Accounts, Principal, Role, passwords, totp};
use crate::refusal::Refusal;
use crate::schedule::channel;

/// The most characters a username has.
pub const MAX_USERNAME: usize = 64;
/// How many recovery codes two-factor sign-in comes with.
pub const RECOVERY_CODES: usize = 10;

/// A user as an admin sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    pub id: i64,
    pub username: String,
    pub roles: Vec<RoleView>,
    /// `off`, `pending` (turned on, waiting for its first code) or `on`.
    pub two_factor: &'static str,
    pub disabled: bool,
    /// RFC 3339.
    pub created_at: String,
}

/// A role granted, on one channel or (`channel` `None`) on every channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct RoleView {
    pub role: Role,
    /// The channel's slug; `None` for every channel.
    pub channel: Option<String>,
}

/// What turning two-factor sign-in on gives, once: the secret for the authenticator app (as a
/// URI for a QR code, and in base32 to type) and the recovery codes. Only their hashes are
/// kept: whoever loses them needs an admin to turn two-factor sign-in off.
#[derive(Clone, PartialEq, Eq, Serialize)]
pub struct TotpEnrolment {
    pub otpauth_uri: String,
    pub secret: String,
    pub recovery_codes: Vec<String>,
}

/// Without the secret and the codes.
impl std::fmt::Debug for TotpEnrolment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpEnrolment").finish_non_exhaustive()
    }
}

impl Accounts {
    /// Adds a user with `password` and the roles given (a channel by slug, `None` for every
    /// channel). The username is lowercased, then must be 1 to 64 of `a-z`, `0-9`, `.`, `_`
    /// and `-`; the password must meet [`passwords::check_rules`]. Every channel is checked
    /// before anything is stored.
    pub async fn add_user(
        &self,
        username: &str,
        password: &str,
        roles: &[(Role, Option<&str>)],
    ) -> Result<UserView, Refusal> {
        let username = check_username(username)?;
        passwords::check_rules(password)?;
        let mut grants = Vec::with_capacity(roles.len());
        for (role, slug) in roles {
            grants.push((*role, self.channel_id(*slug).await?));
        }
        if self.store.user_by_name(&username).await?.is_some() {
            return Err(Refusal::Conflict(format!(
                "there is already a user {username:?}"
            )));
        }
        let password_hash = passwords::hash(password.to_owned()).await?;
        let user = self
            .store
            .insert_user(onair_store::NewUser {
                username: &username,
                password_hash: &password_hash,
                now: self.clock.now(),
            })
            .await?;
        for (role, channel) in grants {
            self.store
                .grant_role(user.id, channel, role.as_str())
                .await?;
        }
        tracing::info!(%username, "user added");
        self.view(user).await
    }

    /// A new random password for `username`, an admin on every channel: the user is added if
    /// missing, or gets the new password (its sessions ended) and the role. Returned once, for
    /// `onair demo` to print: a demo's login is good for one run.
    pub async fn fresh_admin_password(&self, username: &str) -> Result<String, Refusal> {
        let password = base32(&random_bytes::<10>()?).to_lowercase();
        if self
            .store
            .user_by_name(&check_username(username)?)
            .await?
            .is_none()
        {
            self.add_user(username, &password, &[(Role::Admin, None)])
                .await?;
            return Ok(password);
        }
        self.set_password(username, &password).await?;
        self.enable_user(username).await?;
        let user = self.user(username).await?;
        let admin = user
            .roles
            .iter()
            .any(|grant| grant.role == Role::Admin && grant.channel.is_none());
        if !admin {
            self.grant_role(username, Role::Admin, None).await?;
        }
        Ok(password)
    }

    /// Sets a user's password (an admin resetting it) and logs the user out everywhere.
    pub async fn set_password(&self, username: &str, password: &str) -> Result<(), Refusal> {
        passwords::check_rules(password)?;
        let user = self.user_row(username).await?;
        let password_hash = passwords::hash(password.to_owned()).await?;
        self.store
            .replace_password_hash(user.id, &password_hash)
            .await?;
        tracing::info!(username = %user.username, "password set; every session ended");
        Ok(())
    }

    /// Changes one's own password, given the current one, and logs out everywhere (the
    /// adapter logs the caller in again). A wrong current password is [`Refusal::Invalid`] on
    /// `current_password`.
    pub async fn change_password(
        &self,
        username: &str,
        current: &str,
        new: &str,
    ) -> Result<(), Refusal> {
        passwords::check_rules(new)?;
        let user = self.user_row(username).await?;
        if !passwords::verify(current.to_owned(), Some(user.password_hash.clone())).await? {
            return Err(Refusal::invalid_field(
                "current_password",
                "the current password is wrong",
            ));
        }
        self.set_password(username, new).await
    }

    /// Whether `password` is the user's: for confirming a change to one's own account (turning
    /// two-factor sign-in off). A wrong one is [`Refusal::Invalid`] on `password`.
    pub async fn check_password(&self, username: &str, password: &str) -> Result<(), Refusal> {
        let user = self.user_row(username).await?;
        if passwords::verify(password.to_owned(), Some(user.password_hash.clone())).await? {
            Ok(())
        } else {
            Err(Refusal::invalid_field("password", "the password is wrong"))
        }
    }

    /// Disables a user: it logs in no more, its sessions end and its API tokens stop working.
    /// The last admin on every channel cannot be disabled.
    pub async fn disable_user(&self, username: &str) -> Result<(), Refusal> {
        let user = self.user_row(username).await?;
        self.refuse_if_last_admin(&user, "disabled").await?;
        self.store.set_user_disabled(user.id, true).await?;
        tracing::info!(username = %user.username, "user disabled");
        Ok(())
    }

    pub async fn enable_user(&self, username: &str) -> Result<(), Refusal> {
        let user = self.user_row(username).await?;
        self.store.set_user_disabled(user.id, false).await?;
        Ok(())
    }

    /// Grants `role` on channel `slug` (every channel when `None`); granting it again changes
    /// nothing.
    pub async fn grant_role(
        &self,
        username: &str,
        role: Role,
        slug: Option<&str>,
    ) -> Result<UserView, Refusal> {
        let user = self.user_row(username).await?;
        let channel = self.channel_id(slug).await?;
        self.store
            .grant_role(user.id, channel, role.as_str())
            .await?;
        tracing::info!(username = %user.username, %role, channel = slug.unwrap_or("*"), "role granted");
        self.view(user).await
    }

    /// Revokes `role` on channel `slug` (the grant on every channel when `None`: a grant on
    /// one channel is revoked on its own). Refused when the user does not have that grant, and
    /// for the last admin on every channel.
    pub async fn revoke_role(
        &self,
        username: &str,
        role: Role,
        slug: Option<&str>,
    ) -> Result<UserView, Refusal> {
        let user = self.user_row(username).await?;
        let channel = self.channel_id(slug).await?;
        if role == Role::Admin && channel.is_none() {
            self.refuse_if_last_admin(&user, "revoked").await?;
        }
        if !self
            .store
            .revoke_role(user.id, channel, role.as_str())
            .await?
        {
            return Err(Refusal::NotFound(format!(
                "{} has no {role} role {}",
                user.username,
                on_words(slug)
            )));
        }
        tracing::info!(username = %user.username, %role, channel = slug.unwrap_or("*"), "role revoked");
        self.view(user).await
    }

    /// Every user, by name.
    pub async fn users(&self) -> Result<Vec<UserView>, Refusal> {
        let users = self.store.users().await?;
        let grants = self.store.all_user_roles().await?;
        Ok(users
            .into_iter()
            .map(|user| {
                let roles = grants
                    .iter()
                    .filter(|grant| grant.user_id == user.id)
                    .map(role_view)
                    .collect();
                user_view(user, roles)
            })
            .collect())
    }

    pub async fn user(&self, username: &str) -> Result<UserView, Refusal> {
        let user = self.user_row(username).await?;
        self.view(user).await
    }

    /// Starts turning two-factor sign-in on for a user: a new secret and
    /// [`RECOVERY_CODES`] recovery codes, shown once. Logins ask for a code only once
    /// [`Accounts::confirm_totp`] has seen the first one, so a secret that never reached an
    /// app locks no one out. Starting again replaces the secret and the codes. Refused when it
    /// is on already.
    pub async fn enable_totp(&self, username: &str) -> Result<TotpEnrolment, Refusal> {
        let user = self.user_row(username).await?;
        let secret = base32(&random_bytes::<{ totp::SECRET_BYTES }>()?);
        let mut recovery_codes = Vec::with_capacity(RECOVERY_CODES);
        for _ in 0..RECOVERY_CODES {
            recovery_codes.push(new_recovery_code()?);
        }
        let hashes: Vec<_> = recovery_codes
            .iter()
            .map(|code| hash_of(&normalize_recovery_code(code)))
            .collect();
        self.store
            .begin_totp(user.id, &secret, &hashes)
            .await
            .map_err(|error| match error {
                StoreError::Conflict(_) => Refusal::Conflict(format!(
                    "two-factor sign-in is on already for {}: turn it off first to start again",
                    user.username
                )),
                other => other.into(),
            })?;
        Ok(TotpEnrolment {
            otpauth_uri: totp::otpauth_uri(&user.username, &secret),
            secret,
            recovery_codes,
        })
    }

    /// Turns two-factor sign-in on with the first code the app shows.
    pub async fn confirm_totp(&self, username: &str, code: &str) -> Result<(), Refusal> {
        let user = self.user_row(username).await?;
        let secret = match (&user.totp_secret, user.totp_enabled_at) {
            (_, Some(_)) => {
                return Err(Refusal::Conflict(format!(
                    "two-factor sign-in is on already for {}",
                    user.username
                )));
            }
            (None, None) => {
                return Err(Refusal::Conflict(format!(
                    "two-factor sign-in is not being turned on for {}: turn it on first",
                    user.username
                )));
            }
            (Some(secret), None) => from_base32(secret).ok_or_else(|| {
                Refusal::Internal(format!("{}'s TOTP secret is not base32", user.username))
            })?,
        };
        let now = self.clock.now();
        let Some(step) = totp::matching_step(&secret, code, now) else {
            return Err(Refusal::invalid_field(
                "code",
                "wrong code: give the 6 digits the authenticator app shows now (is its clock \
                 right?)",
            ));
        };
        if !self.store.confirm_totp(user.id, step, now).await? {
            return Err(Refusal::Conflict(
                "two-factor sign-in changed meanwhile: look again".to_owned(),
            ));
        }
        tracing::info!(username = %user.username, "two-factor sign-in on");
        Ok(())
    }

    /// Turns two-factor sign-in off: the secret and the recovery codes are deleted.
    pub async fn disable_totp(&self, username: &str) -> Result<(), Refusal> {
        let user = self.user_row(username).await?;
        self.store.clear_totp(user.id).await?;
        tracing::info!(username = %user.username, "two-factor sign-in off");
        Ok(())
    }

    /// How many of a user's recovery codes are left.
    pub async fn recovery_codes_left(&self, username: &str) -> Result<i64, Refusal> {
        let user = self.user_row(username).await?;
        Ok(self.store.unused_recovery_codes(user.id).await?)
    }

    /// The user's row, or a refusal naming the username.
    pub(super) async fn user_row(&self, username: &str) -> Result<UserRow, Refusal> {
        self.store
            .user_by_name(username.trim())
            .await?
            .ok_or_else(|| Refusal::NotFound(format!("there is no user {:?}", username.trim())))
    }

    async fn view(&self, user: UserRow) -> Result<UserView, Refusal> {
        let roles = self
            .store
            .user_roles(user.id)
            .await?
            .iter()
            .map(role_view)
            .collect();
        Ok(user_view(user, roles))
    }

    async fn channel_id(&self, slug: Option<&str>) -> Result<Option<ChannelId>, Refusal> {
        match slug {
            None => Ok(None),
            Some(slug) => Ok(Some(channel(&self.store, slug).await?.id)),
        }
    }

    /// Whether an enabled user holds the admin role on every channel: `onair serve` listens
    /// beyond this machine only then.
    pub async fn has_admin(&self) -> Result<bool, Refusal> {
        let admins = self.admins().await?;
        Ok(self.enabled_among(&admins, None).await? > 0)
    }

    /// The users holding the admin role on every channel, enabled or not.
    async fn admins(&self) -> Result<Vec<UserId>, Refusal> {
        Ok(self
            .store
            .all_user_roles()
            .await?
            .into_iter()
            .filter(|grant| grant.channel_id.is_none() && grant.role == Role::Admin.as_str())
            .map(|grant| grant.user_id)
            .collect())
    }

    /// How many of `users`, `except` aside, are enabled.
    async fn enabled_among(
        &self,
        users: &[UserId],
        except: Option<UserId>,
    ) -> Result<usize, Refusal> {
        let mut enabled = 0;
        for &admin in users {
            if Some(admin) != except
                && self
                    .store
                    .user(admin)
                    .await?
                    .is_some_and(|other| !other.disabled)
            {
                enabled += 1;
            }
        }
        Ok(enabled)
    }

    /// Refuses to take the admin role on every channel from the last enabled user holding it:
    /// no one could grant it again but from the CLI.
    async fn refuse_if_last_admin(&self, user: &UserRow, what: &str) -> Result<(), Refusal> {
        let admins = self.admins().await?;
        if !admins.contains(&user.id) {
            return Ok(());
        }
        if self.enabled_among(&admins, Some(user.id)).await? == 0 {
            return Err(Refusal::Conflict(format!(
                "{} is the last admin: grant admin to someone else before this is {what}",
                user.username
            )));
        }
        Ok(())
    }
}

/// The username as stored (lowercase), or a refusal saying what is wrong with it.
pub fn check_username(username: &str) -> Result<String, Refusal> {
    let lowered = username.trim().to_lowercase();
    let chars = lowered.chars().count();
    let problem = if chars == 0 {
        Some("a username is needed".to_owned())
    } else if chars > MAX_USERNAME {
        Some(format!(
            "a username has at most {MAX_USERNAME} characters; this one has {chars}"
        ))
    } else {
        lowered
            .chars()
            .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '.' | '_' | '-'))
            .map(|c| {
                format!(
                    "a username is made of a-z, 0-9, '.', '_' and '-'; {c:?} is not one of them"
                )
            })
    };
    match problem {
        Some(message) => Err(Refusal::invalid_field("username", message)),
        None => Ok(lowered),
    }
}

/// A recovery code: 80 random bits as 16 base32 characters, `abcd-efgh-ijkl-mnop`.
fn new_recovery_code() -> Result<String, Refusal> {
    let text = base32(&random_bytes::<10>()?).to_ascii_lowercase();
    Ok(text
        .as_bytes()
        .chunks(4)
        .map(|chunk| std::str::from_utf8(chunk).expect("base32 is ASCII"))
        .collect::<Vec<_>>()
        .join("-"))
}

/// A recovery code as it is hashed: lowercase, without dashes or spaces, so it can be typed
/// either way.
pub(super) fn normalize_recovery_code(code: &str) -> String {
    code.chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn on_words(slug: Option<&str>) -> String {
    match slug {
        Some(slug) => format!("on channel {slug}"),
        None => "on every channel".to_owned(),
    }
}

fn role_view(grant: &RoleGrantRow) -> RoleView {
    RoleView {
        role: grant.role.parse().unwrap_or(Role::Viewer),
        channel: grant.channel_slug.clone(),
    }
}

fn user_view(user: UserRow, roles: Vec<RoleView>) -> UserView {
    let two_factor = match (&user.totp_secret, user.totp_enabled_at) {
        (_, Some(_)) => "on",
        (Some(_), None) => "pending",
        (None, None) => "off",
    };
    UserView {
        id: user.id.0,
        username: user.username,
        roles,
        two_factor,
        disabled: user.disabled,
        created_at: user.created_at.to_rfc3339_millis(),
    }
}

/// The principal of a user with these grants (stored roles that do not parse are left out).
pub(super) fn principal_of(
    user: UserId,
    username: &str,
    roles: &[onair_store::RoleGrantRow],
) -> Principal {
    Principal {
        user_id: user,
        username: username.to_owned(),
        grants: roles
            .iter()
            .filter_map(|grant| Some((grant.channel_id, grant.role.parse::<Role>().ok()?)))
            .collect(),
        channel_slugs: roles
            .iter()
            .filter_map(|grant| Some((grant.channel_id?, grant.channel_slug.clone()?)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn usernames_are_lowercased_and_checked_with_the_reason() {
        assert_eq!(check_username(" Ann.B_2-x ").unwrap(), "ann.b_2-x");
        for (bad, reason) in [
            ("", "is needed"),
            ("ann b", "' ' is not one of them"),
            ("anné", "'é' is not one of them"),
            ("ann@example.com", "'@' is not one of them"),
        ] {
            let refusal = check_username(bad).unwrap_err().to_string();
            assert!(refusal.contains(reason), "{bad:?}: {refusal}");
        }
        assert!(check_username(&"a".repeat(64)).is_ok());
        let long = check_username(&"a".repeat(65)).unwrap_err().to_string();
        assert!(
            long.contains("at most 64 characters; this one has 65"),
            "{long}"
        );
    }

    #[test]
    fn a_recovery_code_is_four_groups_of_four_and_reads_back_in_any_form() {
        let code = new_recovery_code().unwrap();
        assert_eq!(code.len(), 19, "{code}");
        assert_eq!(code.split('-').count(), 4);
        let bare = normalize_recovery_code(&code);
        assert_eq!(bare.len(), 16);
        assert_eq!(
            normalize_recovery_code(&code.to_uppercase().replace('-', " ")),
            bare
        );
    }
}
