//! Passwords: the rules a new one must meet, and Argon2id hashes as PHC strings.
//!
//! The parameters are OWASP's first recommendation for Argon2id (19 MiB of memory, 2 passes,
//! 1 lane). They travel in each PHC string, and a hash is verified with its own, so raising
//! them later leaves every stored password checkable. A hash takes tens of milliseconds of
//! CPU, so it runs on Tokio's blocking threads, never on the runtime's workers.

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use argon2::{Algorithm, Argon2, Params, Version};

use super::secrets::random_bytes;
use crate::refusal::Refusal;

/// Argon2id's memory, KiB.
pub const MEMORY_KIB: u32 = 19_456;
/// Argon2id's passes.
pub const PASSES: u32 = 2;
/// Argon2id's lanes.
pub const LANES: u32 = 1;
/// Bytes of salt per hash.
const SALT_BYTES: usize = 16;

/// The fewest characters a new password may have.
pub const MIN_CHARS: usize = 10;
/// The most bytes a new password may have: enough for any passphrase, and a bound on what a
/// hash reads.
pub const MAX_BYTES: usize = 1_024;

/// A hash with the parameters above of no password anyone knows: a login for an unknown user
/// verifies against it, so it takes as long as one for a known user with a wrong password.
const NO_ONES_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bm8tb25lLXVzZXMtdGhpcw\
                            $R2hMRkWLR3WQ6SxtI4Cu1fI6r3yJqzqEPA8O6h0mUbM";

fn hasher() -> Argon2<'static> {
    let params = Params::new(MEMORY_KIB, PASSES, LANES, None)
        .expect("the OWASP parameters are within Argon2's bounds");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// Refuses a new password that breaks the rules, saying which.
pub fn check_rules(password: &str) -> Result<(), Refusal> {
    let chars = password.chars().count();
    if chars < MIN_CHARS {
        return Err(Refusal::invalid_field(
            "password",
            format!(
                "a password needs at least {MIN_CHARS} characters; this one has {chars}: a few \
                 words make a long one easy to remember"
            ),
        ));
    }
    if password.len() > MAX_BYTES {
        return Err(Refusal::invalid_field(
            "password",
            format!("a password has at most {MAX_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// The Argon2id PHC string of `password`, with a new random salt, computed on a blocking thread.
pub async fn hash(password: String) -> Result<String, Refusal> {
    let salt = random_bytes::<SALT_BYTES>()?;
    tokio::task::spawn_blocking(move || {
        hasher()
            .hash_password_with_salt(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| Refusal::Internal(format!("cannot hash a password: {error}")))
    })
    .await
    .map_err(|error| Refusal::Internal(format!("the password hash stopped: {error}")))?
}

/// Whether `password` is the one `phc` is the hash of, computed on a blocking thread; with
/// `None`, verifies against a hash of no one's password (false, in the same time).
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, Refusal> {
    tokio::task::spawn_blocking(move || {
        let phc = phc.as_deref().unwrap_or(NO_ONES_HASH);
        match hasher().verify_password(password.as_bytes(), phc) {
            Ok(()) => Ok(true),
            Err(argon2::password_hash::Error::PasswordInvalid) => Ok(false),
            Err(error) => Err(Refusal::Internal(format!(
                "a stored password hash cannot be checked: {error}"
            ))),
        }
    })
    .await
    .map_err(|error| Refusal::Internal(format!("the password check stopped: {error}")))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_and_huge_passwords_are_refused_with_the_reason() {
        let short = check_rules("nine char").unwrap_err().to_string();
        assert!(
            short.contains("at least 10 characters; this one has 9"),
            "{short}"
        );
        // Characters, not bytes.
        assert!(check_rules("ééééééééé").is_err());
        assert!(check_rules("éééééééééé").is_ok());
        assert!(check_rules(&"x".repeat(MAX_BYTES + 1)).is_err());
    }

    #[tokio::test]
    async fn a_hash_is_argon2id_with_owasps_parameters_and_verifies_only_its_password() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{phc}");
        assert!(
            verify("correct horse battery".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        assert!(
            !verify("correct horse battery!".into(), Some(phc.clone()))
                .await
                .unwrap()
        );
        // Salted: the same password hashes differently each time.
        assert_ne!(hash("correct horse battery".into()).await.unwrap(), phc);
    }

    #[tokio::test]
    async fn no_ones_hash_has_the_same_parameters_and_matches_nothing() {
        let real = hash("whatever it is".into()).await.unwrap();
        let params = |phc: &str| phc.split('$').nth(3).unwrap().to_owned();
        assert_eq!(params(NO_ONES_HASH), params(&real));
        assert!(!verify("".into(), None).await.unwrap());
        assert!(!verify("no-one-uses-this".into(), None).await.unwrap());
    }

    /// The cost of one hash on this machine: `cargo test -p onair-control --release --
    /// --ignored --nocapture one_argon2id_hash`.
    #[tokio::test]
    #[ignore = "a timing, not a test: run it by hand"]
    async fn one_argon2id_hash_takes() {
        let runs = 10;
        let started = std::time::Instant::now();
        for _ in 0..runs {
            hash("correct horse battery".into()).await.unwrap();
        }
        let each = started.elapsed() / runs;
        println!("one Argon2id hash (m=19456 KiB, t=2, p=1): {each:?}");
    }
}
