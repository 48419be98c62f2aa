//! Who may call what: the guard in front of every route `onair serve` answers.
//!
//! Each request's route is looked up in [`routes::ROUTES`]; a route with no declared policy is
//! refused (403, and an error in the log), so forgetting one closes a route rather than opening
//! it. For a route that is not [`Access::Public`] the guard finds who is asking ([`Actor`]):
//!
//! - `Authorization: Bearer onair_…`: a user's API token, with the user's roles;
//! - `Authorization: Bearer <http.api_token>`: the bootstrap token from the configuration, an
//!   admin on every channel (for scripts before the first user exists);
//! - the `onair_session` cookie a login sets ([`crate::pages::login`]).
//!
//! Nobody: the API answers 401 (`WWW-Authenticate: Bearer`), a page redirects to `/login`. Too
//! few roles: 403 naming the role needed. A request that changes something with a session
//! cookie must also pass the CSRF checks ([`csrf`]); a bearer token is not sent by browsers on
//! their own, so it needs none. The [`Actor`] goes into the request's extensions, and its name
//! into `X-Onair-Author`, so versions and the audit trail name who made each edit.

pub mod csrf;
pub mod routes;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;

use axum::Json;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use onair_control::Refusal;
use onair_control::accounts::{Accounts, Principal, Role, TOKEN_PREFIX};
use onair_store::UserId;
use serde_json::json;

pub use routes::{Access, ROUTES, RoutePolicy, policy};

/// The cookie a login sets.
pub const SESSION_COOKIE: &str = "onair_session";

/// What the guard needs.
#[derive(Clone)]
pub struct AccessState {
    pub accounts: Accounts,
    /// `http.api_token`: an admin on every channel, for bootstrapping.
    pub bootstrap_token: Option<Arc<str>>,
    /// Whether cookies are marked `Secure` whatever the request says (`http.secure_cookies`);
    /// they are anyway when the request came through a proxy over TLS.
    pub secure_cookies: bool,
    /// Reverse proxies whose `X-Forwarded-For` names the client (`http.trusted_proxies`).
    pub trusted_proxies: Vec<IpAddr>,
}

impl std::fmt::Debug for AccessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessState")
            .field(
                "bootstrap_token",
                &self.bootstrap_token.as_ref().map(|_| "***"),
            )
            .field("secure_cookies", &self.secure_cookies)
            .field("trusted_proxies", &self.trusted_proxies)
            .finish_non_exhaustive()
    }
}

/// How a request proved who it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Session,
    ApiToken,
    BootstrapToken,
}

/// Who a request acts for, in the request's extensions once the guard let it through.
#[derive(Debug, Clone)]
pub struct Actor {
    pub principal: Principal,
    pub credential: Credential,
    /// The session's CSRF token, for the pages' forms (sessions only).
    pub csrf: Option<String>,
}

impl Actor {
    /// Whether the actor holds `role` on at least one channel.
    pub fn has_on_any(&self, role: Role) -> bool {
        self.principal
            .grants
            .iter()
            .any(|(_, granted)| granted.implies(role))
    }
}

/// The bootstrap token's principal: an admin on every channel.
fn bootstrap_principal() -> Principal {
    Principal {
        user_id: UserId(0),
        username: "api_token".to_owned(),
        grants: vec![(None, Role::Admin)],
        channel_slugs: Vec::new(),
    }
}

/// The middleware (`axum::middleware::from_fn_with_state(state, guard)`, applied with
/// `Router::layer` to the whole app, so that it sees each request's [`MatchedPath`]).
pub async fn guard(State(state): State<AccessState>, request: Request, next: Next) -> Response {
    let Some(matched) = request.extensions().get::<MatchedPath>().cloned() else {
        // No route matched (a 404), or a nested service: the demo ad server's files.
        if request.uri().path().starts_with("/demo-ads/media/") {
            return next.run(request).await;
        }
        return (StatusCode::NOT_FOUND, "no such page").into_response();
    };
    // A CORS preflight carries no credentials and changes nothing: the route's CORS layer
    // answers it (players on partners' pages preflight their POST for a session).
    if request.method() == Method::OPTIONS {
        return next.run(request).await;
    }
    let Some(policy) = policy(request.method().as_str(), matched.as_str()) else {
        let allowed = routes::methods_for(matched.as_str());
        if !allowed.is_empty() {
            // A method the route does not serve (TRACE, PATCH): the client's mistake, not a
            // route the table forgot.
            tracing::debug!(
                method = %request.method(),
                route = matched.as_str(),
                "a method the route does not serve"
            );
            let message = format!(
                "{} is not a method of this route; it takes {}",
                request.method(),
                allowed.join(", ")
            );
            let mut response = refuse(&request, StatusCode::METHOD_NOT_ALLOWED, &message);
            if let Ok(value) = HeaderValue::try_from(allowed.join(", ")) {
                response.headers_mut().insert(header::ALLOW, value);
            }
            return response;
        }
        tracing::error!(
            method = %request.method(),
            route = matched.as_str(),
            "a route has no access policy: add it to web-ui/src/access/routes.rs"
        );
        return refuse(
            &request,
            StatusCode::FORBIDDEN,
            "this route has no access policy yet, so it is closed",
        );
    };
    if policy.access == Access::Public {
        return next.run(request).await;
    }
    let actor = match identify(&state, request.headers()).await {
        Ok(Some(actor)) => actor,
        Ok(None) => return unauthenticated(&request),
        Err(refusal) => return refusal_response(&request, refusal),
    };
    if actor.credential == Credential::Session
        && !is_safe(request.method())
        && let Err(why) = csrf::check_origin(request.headers())
    {
        tracing::info!(user = %actor.principal.username, route = matched.as_str(), why, "cross-site request refused");
        return refuse(&request, StatusCode::FORBIDDEN, why);
    }
    let slug = path_param(&request, "slug");
    if let Err(refusal) = authorize(&state, &actor, policy.access, slug.as_deref()).await {
        return refusal_response(&request, refusal);
    }
    let mut request = request;
    if actor.credential == Credential::Session && !is_safe(request.method()) {
        let expected = actor.csrf.clone().unwrap_or_default();
        request = match csrf::check_token(request, &expected).await {
            Ok(request) => request,
            Err((request, why)) => {
                tracing::info!(user = %actor.principal.username, route = matched.as_str(), why, "CSRF token refused");
                return refuse(&request, StatusCode::FORBIDDEN, why);
            }
        };
    }
    // Edits name who made them: a user always; the bootstrap token as the header says.
    if (actor.credential != Credential::BootstrapToken
        || !request.headers().contains_key("x-onair-author"))
        && let Ok(name) = HeaderValue::from_str(&actor.principal.username)
    {
        request.headers_mut().insert("x-onair-author", name);
    }
    request.extensions_mut().insert(actor);
    next.run(request).await
}

/// The actor behind a request's credentials, if any. A credential that is present but wrong
/// (an unknown token, an expired session) is the same as none.
pub async fn identify(state: &AccessState, headers: &HeaderMap) -> Result<Option<Actor>, Refusal> {
    if let Some(bearer) = bearer(headers) {
        if let Some(token) = &state.bootstrap_token
            && onair_domain::auth::bearer_matches(Some(&format!("Bearer {bearer}")), token)
        {
            return Ok(Some(Actor {
                principal: bootstrap_principal(),
                credential: Credential::BootstrapToken,
                csrf: None,
            }));
        }
        if bearer.starts_with(TOKEN_PREFIX) {
            return Ok(state
                .accounts
                .resolve_api_token(bearer)
                .await?
                .map(|principal| Actor {
                    principal,
                    credential: Credential::ApiToken,
                    csrf: None,
                }));
        }
        return Ok(None);
    }
    let Some(token) = cookie(headers, SESSION_COOKIE) else {
        return Ok(None);
    };
    Ok(state.accounts.session(&token).await?.map(|session| Actor {
        principal: session.principal,
        credential: Credential::Session,
        csrf: Some(session.csrf),
    }))
}

async fn authorize(
    state: &AccessState,
    actor: &Actor,
    access: Access,
    slug: Option<&str>,
) -> Result<(), Refusal> {
    match access {
        Access::Public | Access::LoggedIn => Ok(()),
        Access::OnEveryChannel { role } => actor.principal.require(None, role),
        Access::OnAnyChannel { role } => {
            if actor.has_on_any(role) {
                Ok(())
            } else {
                Err(Refusal::Forbidden(format!(
                    "this needs the {role} role on at least one channel"
                )))
            }
        }
        Access::OnChannel { role } => {
            let slug =
                slug.ok_or_else(|| Refusal::Internal("a channel route without {slug}".to_owned()))?;
            // Known to have the role on every channel: no need to look the channel up.
            if actor.principal.has(None, role) {
                return Ok(());
            }
            if !actor.has_on_any(role) {
                return Err(Refusal::Forbidden(format!(
                    "this needs the {role} role on channel {slug}"
                )));
            }
            state
                .accounts
                .require(&actor.principal, Some(slug), role)
                .await
        }
    }
}

/// The `{name}` parameter of the matched route, read from the path against the route.
fn path_param(request: &Request, name: &str) -> Option<String> {
    let matched = request.extensions().get::<MatchedPath>()?;
    let wanted = format!("{{{name}}}");
    matched
        .as_str()
        .split('/')
        .zip(request.uri().path().split('/'))
        .find(|(pattern, _)| *pattern == wanted)
        .map(|(_, value)| percent_decode(value))
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        let escaped = (bytes[index] == b'%' && index + 2 < bytes.len())
            .then(|| std::str::from_utf8(&bytes[index + 1..index + 3]).ok())
            .flatten()
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(byte) => {
                out.push(byte);
                index += 3;
            }
            None => {
                out.push(bytes[index]);
                index += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// The token after `Authorization: Bearer `.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    value
        .strip_prefix("Bearer ")
        .or_else(|| value.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
}

/// The value of cookie `name` in the request's `Cookie` headers.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"').to_owned())
        .filter(|value| !value.is_empty())
}

/// Whether a request is for the API (JSON answers) rather than a page (HTML, redirects).
fn is_api(request: &Request) -> bool {
    let path = request.uri().path();
    path == "/api" || path.starts_with("/api/")
}

/// Nobody logged in: 401 for the API, a redirect to the login page for a page.
fn unauthenticated(request: &Request) -> Response {
    if is_api(request) || !is_safe(request.method()) {
        let mut response = refuse(
            request,
            StatusCode::UNAUTHORIZED,
            "log in first: send \"Authorization: Bearer <token>\" (make one with `onair user token`) or log in at /login",
        );
        response
            .headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return response;
    }
    let next = request
        .uri()
        .path_and_query()
        .map(|path| path.as_str())
        .unwrap_or("/");
    Redirect::to(&format!("/login?next={}", crate::pages::encode_query(next))).into_response()
}

fn refusal_response(request: &Request, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Forbidden(message) => refuse(request, StatusCode::FORBIDDEN, &message),
        Refusal::NotFound(message) => refuse(request, StatusCode::NOT_FOUND, &message),
        other => {
            tracing::error!(refusal = %other, "the access check failed");
            refuse(
                request,
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server failed to check who you are; the details are in its log",
            )
        }
    }
}

/// A refusal as the API says it (`{"error": …}`) or as a page does (a short HTML page).
fn refuse(request: &Request, status: StatusCode, message: &str) -> Response {
    if is_api(request) {
        (status, Json(json!({ "error": message }))).into_response()
    } else {
        (status, crate::pages::error_page(status, message)).into_response()
    }
}

/// The client a request came from, for the login rate limit: the connection's address, or,
/// when that is one of `state.trusted_proxies`, the nearest address in `X-Forwarded-For` that
/// is not a trusted proxy (a client can prepend anything to the header, so it is read from the
/// right). `0.0.0.0` when unknown (tests without connection info).
pub fn peer(
    state: &AccessState,
    headers: &HeaderMap,
    request_extensions: &axum::http::Extensions,
) -> IpAddr {
    let connected = request_extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    if !state.trusted_proxies.contains(&connected) {
        return connected;
    }
    let forwarded: Vec<IpAddr> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .filter_map(|address| address.trim().parse().ok())
        .collect();
    forwarded
        .into_iter()
        .rev()
        .find(|address| !state.trusted_proxies.contains(address))
        .unwrap_or(connected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use onair_domain::SystemClock;

    async fn state(trusted: &[&str]) -> AccessState {
        let store = onair_store::Store::connect("sqlite::memory:")
            .await
            .unwrap();
        AccessState {
            accounts: Accounts::new(store, Arc::new(SystemClock)),
            bootstrap_token: None,
            secure_cookies: false,
            trusted_proxies: trusted.iter().map(|ip| ip.parse().unwrap()).collect(),
        }
    }

    fn from(address: &str) -> axum::http::Extensions {
        let mut extensions = axum::http::Extensions::new();
        extensions.insert(ConnectInfo::<SocketAddr>(address.parse().unwrap()));
        extensions
    }

    fn forwarded(value: &'static str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static(value));
        headers
    }

    #[tokio::test]
    async fn the_client_is_the_connection_unless_it_is_a_trusted_proxy() {
        let state = state(&["10.0.0.2"]).await;
        let headers = forwarded("203.0.113.7");
        // Anyone else's X-Forwarded-For is ignored: it could say anything.
        let direct = peer(&state, &headers, &from("198.51.100.1:5000"));
        assert_eq!(direct, "198.51.100.1".parse::<IpAddr>().unwrap());
        let proxied = peer(&state, &headers, &from("10.0.0.2:5000"));
        assert_eq!(proxied, "203.0.113.7".parse::<IpAddr>().unwrap());
    }

    #[tokio::test]
    async fn a_forged_address_prepended_by_the_client_is_not_taken() {
        let state = state(&["10.0.0.2", "10.0.0.3"]).await;
        // The client sent "1.2.3.4"; the proxies appended what they saw.
        let headers = forwarded("1.2.3.4, 203.0.113.7, 10.0.0.3");
        let client = peer(&state, &headers, &from("10.0.0.2:5000"));
        assert_eq!(client, "203.0.113.7".parse::<IpAddr>().unwrap());
    }
}
