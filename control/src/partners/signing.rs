//! Signed partner URLs: a token `{expiry}.{signature}` carried in the path,
//! `/p/{partner}/t/{expiry}.{signature}/{slug}/…`, so that every playlist and segment under one
//! channel's prefix shares it (a CDN caches them under one key; players' relative URLs keep it).
//!
//! The signature is the hex HMAC-SHA256, with one of the partner's keys, of
//! `onair-partner-url\n{partner}\n/p/{partner}/{slug}/\n{expiry}` (expiry in Unix seconds). A
//! token is accepted while `now < expiry` and one of the partner's keys valid at `now` (the
//! newest, or an older one within its overlap) made it. Pure: the caller says what `now` is.

use hmac::{Hmac, KeyInit, Mac};
use onair_domain::Timestamp;
use onair_store::PartnerKeyRow;
use sha2_v011::Sha256;

/// Why a signed request is refused (each a 403 at the origin).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenRefusal {
    #[error(
        "partner {partner} needs signed URLs: /p/{partner}/t/{{expiry}}.{{signature}}/{{channel}}/…"
    )]
    Unsigned { partner: String },
    #[error("the URL token is not {{expiry}}.{{signature}} (Unix seconds, 64 hex digits)")]
    Malformed,
    #[error("the signed URL expired at {expired_at}")]
    Expired { expired_at: String },
    #[error("the URL's signature does not match partner {partner}'s keys for channel {slug}")]
    BadSignature { partner: String, slug: String },
}

/// What a signature covers.
fn message(partner: &str, slug: &str, expiry_unix_secs: i64) -> String {
    format!("onair-partner-url\n{partner}\n/p/{partner}/{slug}/\n{expiry_unix_secs}")
}

fn mac(secret: &str, partner: &str, slug: &str, expiry_unix_secs: i64) -> Hmac<Sha256> {
    let mut mac =
        Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length");
    mac.update(message(partner, slug, expiry_unix_secs).as_bytes());
    mac
}

/// The token for `slug` under `partner`, valid until `expiry_unix_secs`, signed with `secret`.
pub fn token(secret: &str, partner: &str, slug: &str, expiry_unix_secs: i64) -> String {
    let signature = mac(secret, partner, slug, expiry_unix_secs)
        .finalize()
        .into_bytes();
    let hex: String = signature.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{expiry_unix_secs}.{hex}")
}

/// The signed prefix of a channel's partner URLs: `/p/{partner}/t/{token}/{slug}/`.
pub fn signed_prefix(secret: &str, partner: &str, slug: &str, expiry_unix_secs: i64) -> String {
    format!(
        "/p/{partner}/t/{}/{slug}/",
        token(secret, partner, slug, expiry_unix_secs)
    )
}

/// Whether `token` is a valid token for `slug` under `partner` at `now`, with one of `keys`.
pub fn check_token(
    keys: &[PartnerKeyRow],
    partner: &str,
    slug: &str,
    token: &str,
    now: Timestamp,
) -> Result<(), TokenRefusal> {
    let (expiry, signature) = parse_token(token).ok_or(TokenRefusal::Malformed)?;
    let expires = Timestamp::from_unix_secs(expiry);
    if now >= expires {
        return Err(TokenRefusal::Expired {
            expired_at: expires.to_rfc3339_millis(),
        });
    }
    let matches = keys.iter().filter(|key| key.valid_at(now)).any(|key| {
        mac(&key.secret, partner, slug, expiry)
            .verify_slice(&signature)
            .is_ok()
    });
    if matches {
        Ok(())
    } else {
        Err(TokenRefusal::BadSignature {
            partner: partner.to_owned(),
            slug: slug.to_owned(),
        })
    }
}

/// Whether a path segment looks like a token (what tells `/p/{partner}/t/{token}/…` from a
/// channel named `t`).
pub fn is_token(segment: &str) -> bool {
    parse_token(segment).is_some()
}

/// `{expiry}.{signature}`: the expiry in Unix seconds, the signature as 32 bytes.
fn parse_token(token: &str) -> Option<(i64, Vec<u8>)> {
    let (expiry, hex) = token.split_once('.')?;
    if expiry.is_empty() || expiry.len() > 12 || !expiry.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let expiry = expiry.parse().ok()?;
    if hex.len() != 64 {
        return None;
    }
    let bytes = (0..64)
        .step_by(2)
        .map(|at| u8::from_str_radix(hex.get(at..at + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()?;
    Some((expiry, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(key_id: i64, secret: &str, expires_at: Option<Timestamp>) -> PartnerKeyRow {
        PartnerKeyRow {
            key_id,
            secret: secret.to_owned(),
            created_at: Timestamp::from_unix_secs(0),
            expires_at,
        }
    }

    const NOW: i64 = 1_790_000_000;

    fn now() -> Timestamp {
        Timestamp::from_unix_secs(NOW)
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_partner_prefix_and_expiry() {
        // From `printf 'onair-partner-url\nacme\n/p/acme/demo/\n1790003600' |
        // openssl dgst -sha256 -hmac secret`.
        let token = token("secret", "acme", "demo", 1_790_003_600);
        assert_eq!(
            token,
            "1790003600.6caf09eaa5371f30e73335f0c36303e58f66a65ab882ce50407ef474e448ad3b"
        );
        assert_eq!(
            signed_prefix("secret", "acme", "demo", 1_790_003_600),
            format!("/p/acme/t/{token}/demo/")
        );
    }

    #[test]
    fn a_token_is_accepted_until_its_expiry_with_a_valid_key_only() {
        let keys = [
            key(1, "old", Some(Timestamp::from_unix_secs(NOW + 60))),
            key(2, "new", None),
        ];
        let expiry = NOW + 3600;
        for secret in ["old", "new"] {
            let token = token(secret, "acme", "demo", expiry);
            assert_eq!(check_token(&keys, "acme", "demo", &token, now()), Ok(()));
        }
        // The old key's overlap over, its tokens are refused; the new key's still work.
        let later = Timestamp::from_unix_secs(NOW + 60);
        let old = token("old", "acme", "demo", expiry);
        let refused = check_token(&keys, "acme", "demo", &old, later);
        assert!(
            matches!(refused, Err(TokenRefusal::BadSignature { .. })),
            "{refused:?}"
        );
        let new = token("new", "acme", "demo", expiry);
        assert_eq!(check_token(&keys, "acme", "demo", &new, later), Ok(()));
    }

    #[test]
    fn expired_tampered_malformed_and_other_partners_tokens_are_refused() {
        let keys = [key(1, "k", None)];
        let good = token("k", "acme", "demo", NOW + 10);
        let cases: Vec<(String, &str, &str, &str)> = vec![
            (token("k", "acme", "demo", NOW), "acme", "demo", "expired"),
            (
                good.replace(&format!("{}", NOW + 10), &format!("{}", NOW + 99)),
                "acme",
                "demo",
                "signature",
            ),
            (good.clone(), "acme", "news", "signature"),
            (good.clone(), "other", "demo", "signature"),
            (
                token("another partner's key", "acme", "demo", NOW + 10),
                "acme",
                "demo",
                "signature",
            ),
            ("12.zz".to_owned(), "acme", "demo", "not {expiry}"),
            (
                format!("{}.{}", NOW + 10, "0".repeat(63)),
                "acme",
                "demo",
                "not {expiry}",
            ),
            ("".to_owned(), "acme", "demo", "not {expiry}"),
        ];
        for (token, partner, slug, expected) in cases {
            let refused = check_token(&keys, partner, slug, &token, now()).unwrap_err();
            assert!(refused.to_string().contains(expected), "{token}: {refused}");
        }
        assert_eq!(check_token(&keys, "acme", "demo", &good, now()), Ok(()));
    }

    #[test]
    fn only_a_token_shaped_segment_is_a_token() {
        assert!(is_token(&token("k", "acme", "demo", NOW)));
        assert!(!is_token("master.m3u8"));
        assert!(!is_token("360p"));
    }
}
