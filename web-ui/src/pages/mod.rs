//! The operator pages, rendered on the server (askama), with htmx where a page changes in
//! place. Every page but the login works from a logged-in [`crate::access::Actor`]; its
//! layout ([`Nav`]) carries the user's name and the session's CSRF token for the forms.

pub mod account;
pub mod ads;
pub mod channels;
pub mod conformance;
pub mod desk;
pub mod grid;
pub mod guide;
pub mod library;
pub mod login;
pub mod users;

use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use onair_control::Control;
use onair_control::accounts::{Accounts, Role};
use onair_control::registry::PlanDirectory;
use onair_control::status::StatusBoard;
use onair_domain::{Clock, Ticks};
use onair_playout::origin::Directory;
use onair_store::Store;

use crate::access::{AccessState, Actor, SESSION_COOKIE};

/// What the pages share: the guard's state (the accounts, the cookie settings), the store and
/// the control plane's clock, the registry's plans and playout's channel directory.
#[derive(Clone)]
pub struct PagesState {
    pub access: AccessState,
    pub store: Store,
    /// The control plane's clock (virtual under `playout.virtual_clock`).
    pub clock: Arc<dyn Clock>,
    /// `playout.lock_margin`, as the schedule API has it.
    pub lock_margin: Ticks,
    pub plans: Arc<PlanDirectory>,
    pub directory: Arc<Directory>,
    /// Where assets' files are (`storage.media_dir`), to remove a deleted asset's.
    pub media_root: std::path::PathBuf,
    /// Every channel's status, computed once a second on one task (the channels page, its
    /// event stream and the desk read it).
    pub status: StatusBoard,
    /// The plans the preview keeps, shared with the API's (see [`onair_control::PlanCache`]).
    pub plan_cache: onair_control::PlanCache,
    /// Probes segments and measures loudness for the conformance checks (the binary's, as the
    /// API's); without one, reports say they measured no media.
    pub inspector: Option<Arc<dyn onair_control::conformance::MediaInspector>>,
    /// The conformance checks running and started lately, shared with the API's.
    pub conformance_limiter: onair_control::conformance::ConformanceLimiter,
}

impl PagesState {
    pub fn accounts(&self) -> &Accounts {
        &self.access.accounts
    }

    /// The control plane, as the API's handlers make it.
    pub fn control(&self) -> Control {
        Control {
            store: self.store.clone(),
            clock: Arc::clone(&self.clock),
            lock_margin: self.lock_margin,
            plan_cache: self.plan_cache.clone(),
            conformance_limiter: self.conformance_limiter.clone(),
        }
    }
}

/// Every page route, merged: what `serve` mounts.
pub fn router(state: PagesState) -> Router {
    Router::new()
        .merge(login::router(state.clone()))
        .merge(account::router(state.clone()))
        .merge(users::router(state.clone()))
        .merge(guide::router(state.clone()))
        .merge(grid::router(state.clone()))
        .merge(library::router(state.clone()))
        .merge(channels::router(state.clone()))
        .merge(desk::router(state.clone()))
        .merge(conformance::router(state.clone()))
        .merge(ads::router(state))
}

/// The layout's view of who is logged in.
#[derive(Debug, Clone, Default)]
pub struct Nav {
    pub username: String,
    pub csrf: String,
    pub is_admin: bool,
    /// The page's own nav entry, for `aria-current`.
    pub current: &'static str,
}

impl Nav {
    pub fn of(actor: &Actor, current: &'static str) -> Nav {
        Nav {
            username: actor.principal.username.clone(),
            csrf: actor.csrf.clone().unwrap_or_default(),
            is_admin: actor.principal.has(None, Role::Admin),
            current,
        }
    }
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    message: &'a str,
}

/// A short page saying what went wrong (escaped), for refusals of page routes.
pub fn error_page(status: StatusCode, message: &str) -> Html<String> {
    let title = status.canonical_reason().unwrap_or("Error");
    Html(
        ErrorPage { title, message }
            .render()
            .unwrap_or_else(|_| "error".to_owned()),
    )
}

/// A control-plane refusal as a page: its status and message (and `Retry-After` for a 429); a
/// server failure logged in full and told only as a failure.
pub fn refused(refusal: onair_control::Refusal) -> Response {
    let status = crate::api::error::status_of(&refusal);
    if status.is_server_error() {
        tracing::error!(%refusal, "a page failed");
        let message = "the server failed; the details are in its log";
        return (status, error_page(status, message)).into_response();
    }
    let retry_after = crate::api::error::retry_after(&refusal);
    (
        status,
        retry_after.into_iter().collect::<HeaderMap>(),
        error_page(status, &refusal.to_string()),
    )
        .into_response()
}

/// What every page answers with: never cached (it shows a user's data and CSRF token), never
/// framed by another site (clickjacking), no sniffing, no referrer beyond this server, and
/// [`CONTENT_SECURITY_POLICY`].
pub const PAGE_HEADERS: [(header::HeaderName, &str); 5] = [
    (header::CACHE_CONTROL, "no-store"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::REFERRER_POLICY, "same-origin"),
    (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
];

/// The pages' Content-Security-Policy. Scripts only from this server's files (the pages have
/// no inline script nor handler attribute: an injected `<script>` does not run), no plugins, no
/// framing, forms and requests to this server only. Styles may be inline: FullCalendar and htmx
/// inject theirs at run time, and a style cannot run code; FullCalendar's icon font is a
/// `data:` URL. The previews' hls.js feeds the `<video>` from `blob:` media sources, probes
/// captions with a `data:` WebVTT and transmuxes in a `blob:` worker.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
     style-src 'self' 'unsafe-inline'; font-src 'self' data:; img-src 'self' data:; \
     media-src 'self' blob: data:; worker-src 'self' blob:; connect-src 'self'; \
     object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'";

/// Renders a page, or a plain 500 if the template fails.
pub fn render(status: StatusCode, page: &impl Template) -> Response {
    match page.render() {
        Ok(html) => (status, PAGE_HEADERS, Html(html)).into_response(),
        Err(error) => {
            tracing::error!(%error, "a page could not be rendered");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "the page could not be rendered",
            )
                .into_response()
        }
    }
}

/// `text` escaped for a URL's query.
pub fn encode_query(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// Where to go after a login: a path on this server only (never `//host` or a URL), `/`
/// otherwise.
pub fn local_target(next: Option<&str>) -> String {
    match next {
        Some(next)
            if next.starts_with('/')
                && !next.starts_with("//")
                && !next.starts_with("/\\")
                && !next.chars().any(|c| c.is_control()) =>
        {
            next.to_owned()
        }
        _ => "/".to_owned(),
    }
}

/// Whether the cookies of this request's answer should be `Secure`: configured so, or the
/// request came through a TLS-terminating proxy.
pub fn secure(state: &PagesState, headers: &HeaderMap) -> bool {
    state.access.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .is_some_and(|proto| proto.as_bytes().eq_ignore_ascii_case(b"https"))
}

/// A `Set-Cookie` value: HttpOnly, SameSite=Lax, `Secure` when asked, on `path`, for
/// `max_age_secs` (0 deletes it).
pub fn cookie(name: &str, value: &str, path: &str, max_age_secs: i64, secure: bool) -> HeaderValue {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{name}={value}; Path={path}; Max-Age={}; HttpOnly; SameSite=Lax{secure}",
        max_age_secs.max(0)
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("invalid=1; Max-Age=0"))
}

/// The `Set-Cookie` that deletes the session cookie.
pub fn clear_session_cookie(secure: bool) -> HeaderValue {
    cookie(SESSION_COOKIE, "", "/", 0, secure)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_only_sends_the_user_on_to_a_path_of_this_server() {
        assert_eq!(
            local_target(Some("/grid/news?day=2026-12-04")),
            "/grid/news?day=2026-12-04"
        );
        for outside in [
            "//evil.example/",
            "https://evil.example/",
            "/\\evil.example",
            "grid",
        ] {
            assert_eq!(local_target(Some(outside)), "/", "{outside}");
        }
        assert_eq!(local_target(None), "/");
    }

    #[test]
    fn the_session_cookie_is_http_only_and_same_site_and_secure_when_asked() {
        let plain = cookie(SESSION_COOKIE, "t", "/", 60, false);
        assert_eq!(
            plain.to_str().unwrap(),
            "onair_session=t; Path=/; Max-Age=60; HttpOnly; SameSite=Lax"
        );
        let secure = cookie(SESSION_COOKIE, "t", "/", 60, true);
        assert!(secure.to_str().unwrap().ends_with("; Secure"));
    }

    #[test]
    fn pages_are_never_cached_nor_framed() {
        let page = ErrorPage {
            title: "t",
            message: "m",
        };
        let response = render(StatusCode::OK, &page);
        assert_eq!(response.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(response.headers()[header::X_FRAME_OPTIONS], "DENY");
        let policy = response.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap();
        assert!(policy.contains("script-src 'self';"), "{policy}");
        assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
        assert!(
            !policy.contains("  "),
            "one space between directives: {policy}"
        );
    }

    #[test]
    fn error_pages_escape_the_message() {
        let html = error_page(StatusCode::FORBIDDEN, "<script>alert(1)</script>").0;
        assert!(!html.contains("<script>alert"), "{html}");
    }
}
