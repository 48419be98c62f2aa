//! Random secrets and their hashes: the tokens handed out once (session cookies, CSRF tokens,
//! API tokens, recovery codes) and what the store keeps of them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use onair_store::TokenHash;
use sha2::{Digest, Sha256};

use crate::refusal::Refusal;

/// `N` bytes from the operating system's generator.
pub(super) fn random_bytes<const N: usize>() -> Result<[u8; N], Refusal> {
    let mut bytes = [0u8; N];
    getrandom::getrandom(&mut bytes).map_err(|error| {
        Refusal::Internal(format!("the system's random generator failed: {error}"))
    })?;
    Ok(bytes)
}

/// 32 random bytes in URL-safe base64 without padding: 43 characters, 256 bits.
pub(super) fn random_token() -> Result<String, Refusal> {
    Ok(URL_SAFE_NO_PAD.encode(random_bytes::<32>()?))
}

/// What the store keeps of a secret: its SHA-256.
pub(super) fn hash_of(secret: &str) -> TokenHash {
    TokenHash::from_sha256(Sha256::digest(secret.as_bytes()).into())
}

/// RFC 4648 base32 without padding, upper case, as authenticator apps read TOTP secrets.
pub(super) fn base32(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut text = String::with_capacity(bytes.len().div_ceil(5) * 8);
    let mut buffer = 0u32;
    let mut bits = 0;
    for byte in bytes {
        buffer = (buffer << 8) | u32::from(*byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            text.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        text.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    text
}

/// The bytes of base32 text (either case, padding and spaces ignored); `None` when it is not
/// base32.
pub(super) fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut bytes = Vec::with_capacity(text.len() * 5 / 8);
    let mut buffer = 0u32;
    let mut bits = 0;
    for character in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = match character.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u32 - 'A' as u32,
            c @ '2'..='7' => c as u32 - '2' as u32 + 26,
            _ => return None,
        };
        buffer = (buffer << 5) | value;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            bytes.push((buffer >> bits) as u8);
        }
    }
    Some(bytes)
}

/// Compares without stopping at the first difference.
pub(super) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base32_reads_back_what_it_writes_and_matches_rfc_4648() {
        // RFC 4648 section 10, without padding.
        for (bytes, text) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(bytes.as_bytes()), text);
            assert_eq!(from_base32(text).unwrap(), bytes.as_bytes());
        }
        assert_eq!(from_base32("mzxw 6ytb oi==").unwrap(), b"foobar");
        assert_eq!(from_base32("MZ1"), None);
    }

    #[test]
    fn a_random_token_is_43_url_safe_characters_and_never_the_same() {
        let a = random_token().unwrap();
        let b = random_token().unwrap();
        assert_eq!(a.len(), 43);
        assert!(
            a.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_ne!(a, b);
        assert_eq!(hash_of(&a), hash_of(&a));
        assert_ne!(hash_of(&a), hash_of(&b));
    }
}
