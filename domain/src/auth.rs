//! The API's bearer token, checked the same way by every router that needs it.

/// Whether an `Authorization` header value is `Bearer <token>` (the scheme in either case
/// the clients send), compared in constant time so timing tells nothing of the token.
pub fn bearer_matches(authorization: Option<&str>, token: &str) -> bool {
    let Some(given) = authorization.and_then(|value| {
        value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
    }) else {
        return false;
    };
    constant_time_eq(given.trim().as_bytes(), token.as_bytes())
}

/// Compares without stopping at the first difference.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_after_the_bearer_scheme_matches() {
        let token = "s3cret";
        assert!(bearer_matches(Some("Bearer s3cret"), token));
        assert!(bearer_matches(Some("bearer s3cret "), token));
        for wrong in [
            "Bearer s3cre",
            "Bearer s3cret2",
            "Basic s3cret",
            "s3cret",
            "Bearer ",
        ] {
            assert!(!bearer_matches(Some(wrong), token), "{wrong:?}");
        }
        assert!(!bearer_matches(None, token));
    }
}
