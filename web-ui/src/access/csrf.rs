//! Cross-site request forgery: a request that changes something on the strength of a session
//! cookie must come from our own pages. Two checks, both needed:
//!
//! 1. **Where it came from.** Browsers say so in `Sec-Fetch-Site`: only `same-origin` (or
//!    `none`, typed by the user) passes. Browsers too old to send it send `Origin` on unsafe
//!    requests, whose host must be the request's own `Host`. A client that sends neither is not
//!    a browser acting behind the user's back, and only the token is asked of it.
//! 2. **A token** only our pages know: the session's CSRF token, in the `X-CSRF-Token` header
//!    (htmx and the pages' scripts send it from `<meta name="csrf-token">`) or, for a plain
//!    HTML form, in its `csrf` field.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, header};

/// The header the pages' scripts send the token in.
pub const TOKEN_HEADER: &str = "x-csrf-token";
/// The form field plain HTML forms send it in.
pub const TOKEN_FIELD: &str = "csrf";
/// The largest form read to find the token; larger forms must send the header.
const FORM_LIMIT: usize = 1 << 20;

/// Refuses a request a browser says came from another site.
pub fn check_origin(headers: &HeaderMap) -> Result<(), &'static str> {
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err("cross-site request refused: this form only works from onair's own pages"),
        };
    }
    let Some(origin) = headers.get(header::ORIGIN) else {
        return Ok(());
    };
    let host = headers
        .get(header::HOST)
        .and_then(|host| host.to_str().ok());
    let origin_host = origin
        .to_str()
        .ok()
        .and_then(|origin| origin.split_once("://"))
        .map(|(_, host)| host);
    match (origin_host, host) {
        (Some(origin), Some(host)) if origin.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err("cross-site request refused: its Origin is not this server"),
    }
}

/// Passes the request on if it carries `expected` in the header or in its form; gives it back
/// with the reason otherwise. A form body read to look is put back unchanged.
pub async fn check_token(
    request: Request,
    expected: &str,
) -> Result<Request, (Request, &'static str)> {
    const MISSING: &str = "missing or wrong CSRF token: reload the page and try again";
    if expected.is_empty() {
        return Err((request, MISSING));
    }
    if let Some(given) = request.headers().get(TOKEN_HEADER) {
        return if equal(given.as_bytes(), expected.as_bytes()) {
            Ok(request)
        } else {
            Err((request, MISSING))
        };
    }
    let is_form = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err((request, MISSING));
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = to_bytes(body, FORM_LIMIT).await else {
        let request = Request::from_parts(parts, Body::empty());
        return Err((request, "the form is too large"));
    };
    let given = form_urlencoded::parse(&bytes)
        .find(|(name, _)| name == TOKEN_FIELD)
        .map(|(_, value)| value.into_owned());
    let passes = given.is_some_and(|given| equal(given.as_bytes(), expected.as_bytes()));
    let request = Request::from_parts(parts, Body::from(bytes));
    if passes {
        Ok(request)
    } else {
        Err((request, MISSING))
    }
}

/// Compares without stopping at the first difference.
fn equal(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.insert(*name, HeaderValue::from_static(value));
        }
        headers
    }

    #[test]
    fn a_same_origin_request_passes_and_a_cross_site_one_does_not() {
        assert!(check_origin(&headers(&[("sec-fetch-site", "same-origin")])).is_ok());
        assert!(check_origin(&headers(&[("sec-fetch-site", "none")])).is_ok());
        for site in ["cross-site", "same-site"] {
            let mut map = headers(&[]);
            map.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert!(check_origin(&map).is_err(), "{site}");
        }
    }

    #[test]
    fn without_sec_fetch_site_the_origin_must_be_the_host() {
        let ours = headers(&[
            ("origin", "http://127.0.0.1:8080"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert!(check_origin(&ours).is_ok());
        let theirs = headers(&[
            ("origin", "https://evil.example"),
            ("host", "127.0.0.1:8080"),
        ]);
        assert!(check_origin(&theirs).is_err());
        let null = headers(&[("origin", "null"), ("host", "127.0.0.1:8080")]);
        assert!(check_origin(&null).is_err());
        assert!(check_origin(&headers(&[("host", "127.0.0.1:8080")])).is_ok());
    }

    fn form(body: &'static str) -> Request {
        Request::post("/")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(body))
            .unwrap()
    }

    #[tokio::test]
    async fn the_token_passes_in_the_header_or_in_a_form_which_is_kept_whole() {
        let request = Request::post("/")
            .header(TOKEN_HEADER, "abc")
            .body(Body::empty())
            .unwrap();
        assert!(check_token(request, "abc").await.is_ok());
        let passed = check_token(form("title=x&csrf=abc"), "abc").await.unwrap();
        let body = to_bytes(passed.into_body(), 1024).await.unwrap();
        assert_eq!(&body[..], b"title=x&csrf=abc");
    }

    #[tokio::test]
    async fn a_wrong_or_missing_token_is_refused() {
        assert!(check_token(form("csrf=abd"), "abc").await.is_err());
        assert!(check_token(form("title=x"), "abc").await.is_err());
        let json = Request::post("/")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from("{\"csrf\":\"abc\"}"))
            .unwrap();
        assert!(check_token(json, "abc").await.is_err());
        let request = Request::post("/")
            .header(TOKEN_HEADER, "abc")
            .body(Body::empty())
            .unwrap();
        assert!(
            check_token(request, "").await.is_err(),
            "an empty expected token never passes"
        );
    }
}
