//! TOTP (RFC 6238) as every authenticator app computes it: HMAC-SHA-1, 6 digits, 30-second
//! steps from the Unix epoch, and a code of the step before or after accepted too, for clocks
//! and fingers a little late or early.
//!
//! Our own, on the RustCrypto `hmac` and `sha1` crates (already in the tree for sqlx's
//! PostgreSQL driver), rather than `totp-rs`: the algorithm is a dozen lines (RFC 4226's
//! dynamic truncation), the RFC's test vectors pin it below, and `totp-rs` would bring its own
//! base32, URL and random-secret crates for the two things we need besides (base32 and the
//! `otpauth://` URI, a few lines more).

use hmac::{Hmac, KeyInit, Mac};
use onair_domain::Timestamp;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use sha1::Sha1;

use super::secrets::constant_time_eq;

/// Seconds per step.
pub const STEP_SECS: i64 = 30;
/// Digits per code.
pub const DIGITS: u32 = 6;
/// Steps either side of now whose codes are accepted.
pub const SKEW_STEPS: i64 = 1;
/// Bytes of a generated secret: 160 bits, as RFC 4226 recommends for HMAC-SHA-1.
pub const SECRET_BYTES: usize = 20;
/// The issuer authenticator apps show beside the username.
pub const ISSUER: &str = "onair";

/// The step `at` falls in.
pub fn step_at(at: Timestamp) -> i64 {
    at.unix_millis().div_euclid(STEP_SECS * 1_000)
}

/// The code for `step` (RFC 4226 HOTP with the step as the counter), zero-padded.
pub fn code_at_step(secret: &[u8], step: i64) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(secret).expect("HMAC takes a key of any length");
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[digest.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    format!(
        "{:0width$}",
        binary % 10u32.pow(DIGITS),
        width = DIGITS as usize
    )
}

/// The step within [`SKEW_STEPS`] of `now` whose code `code` is, latest first; `None` when it
/// is none of them. Every candidate is computed and compared in full, whichever matches.
pub fn matching_step(secret: &[u8], code: &str, now: Timestamp) -> Option<i64> {
    let code = code.trim();
    if code.len() != DIGITS as usize || !code.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let current = step_at(now);
    let mut found = None;
    for step in (current - SKEW_STEPS..=current + SKEW_STEPS).rev() {
        let matches = constant_time_eq(code_at_step(secret, step).as_bytes(), code.as_bytes());
        if matches && found.is_none() {
            found = Some(step);
        }
    }
    found
}

/// The characters left as they are in an `otpauth://` label and parameters.
const UNRESERVED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// The URI authenticator apps read (usually from a QR code): Google Authenticator's Key Uri
/// Format, `otpauth://totp/ISSUER:USER?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
pub fn otpauth_uri(username: &str, secret_base32: &str) -> String {
    let issuer = utf8_percent_encode(ISSUER, UNRESERVED);
    let user = utf8_percent_encode(username, UNRESERVED);
    format!(
        "otpauth://totp/{issuer}:{user}?secret={secret_base32}&issuer={issuer}\
         &algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    fn at_unix(secs: i64) -> Timestamp {
        Timestamp::from_unix_secs(secs)
    }

    #[test]
    fn codes_are_rfc_6238s_test_vectors_cut_to_six_digits() {
        // Appendix B gives 8 digits; 6 digits are their last six (the modulus is 10^6).
        for (secs, eight) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ] {
            assert_eq!(
                code_at_step(RFC_SECRET, step_at(at_unix(secs))),
                eight[2..],
                "at {secs}"
            );
        }
    }

    #[test]
    fn a_code_of_the_step_before_or_after_is_accepted_and_no_other() {
        let now = at_unix(1_234_567_890);
        let step = step_at(now);
        for offset in -1..=1 {
            let code = code_at_step(RFC_SECRET, step + offset);
            assert_eq!(matching_step(RFC_SECRET, &code, now), Some(step + offset));
        }
        for offset in [-2, 2] {
            let code = code_at_step(RFC_SECRET, step + offset);
            assert_eq!(matching_step(RFC_SECRET, &code, now), None);
        }
        assert_eq!(matching_step(RFC_SECRET, "12345", now), None);
        assert_eq!(matching_step(RFC_SECRET, "abcdef", now), None);
    }

    #[test]
    fn the_uri_names_the_issuer_the_user_and_the_parameters() {
        assert_eq!(
            otpauth_uri("ann.b", "JBSWY3DPEHPK3PXP"),
            "otpauth://totp/onair:ann.b?secret=JBSWY3DPEHPK3PXP&issuer=onair&algorithm=SHA1\
             &digits=6&period=30"
        );
    }
}
