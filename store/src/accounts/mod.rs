//! Accounts: users and their roles (`users.rs`), cookie sessions and the failed logins every
//! replica counts (`sessions.rs`), API tokens (`tokens.rs`).
//!
//! The store never sees a secret that logs someone in: the control plane hands it Argon2id PHC
//! strings for passwords and [`TokenHash`]es (SHA-256) for session tokens, API tokens and
//! recovery codes, and compares hashes with hashes. Which password is right, what a role
//! implies, how long a session lives and how many failures are too many are the control plane's
//! rules (`onair_control::accounts`); this module only stores and finds.

mod sessions;
mod tokens;
mod users;

use std::fmt;

pub use sessions::{NewSession, SessionRow};
pub use tokens::{ApiTokenRow, NewApiToken, ResolvedApiToken};
pub use users::{NewUser, RoleGrantRow, UserRow};

/// A user's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub i64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// The SHA-256 of a secret its holder presents (a session's cookie token, an API token, a
/// recovery code), as the store keeps and looks it up: 64 lowercase hex digits. Made from the
/// digest only, so a secret cannot reach the store in clear by mistake.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TokenHash(String);

impl TokenHash {
    pub fn from_sha256(digest: [u8; 32]) -> TokenHash {
        let mut hex = String::with_capacity(64);
        for byte in digest {
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
            hex.push(char::from(b"0123456789abcdef"[usize::from(byte & 0x0f)]));
        }
        TokenHash(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Only the first digits: enough to tell two apart in a log, too few to look one up.
impl fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TokenHash({}…)", &self.0[..8])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_hash_is_lowercase_hex_and_debug_shows_only_its_start() {
        let mut digest = [0u8; 32];
        digest[0] = 0xab;
        digest[31] = 0x0f;
        let hash = TokenHash::from_sha256(digest);
        assert_eq!(hash.as_str().len(), 64);
        assert!(hash.as_str().starts_with("ab00"));
        assert!(hash.as_str().ends_with("0f"));
        assert_eq!(format!("{hash:?}"), "TokenHash(ab000000…)");
    }
}
