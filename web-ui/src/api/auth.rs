//! The bearer-token guard of `/api`: with a token configured, every request needs
//! `Authorization: Bearer <token>`; without one, the API is open (bind it to a private address).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// The configured token, if any: the state of [`require_bearer`].
pub type ApiToken = Option<Arc<str>>;

/// Middleware (`axum::middleware::from_fn_with_state(token, require_bearer)`): answers 401 with
/// `WWW-Authenticate: Bearer` and `{"error": …}` unless the request carries the token.
pub async fn require_bearer(
    State(token): State<ApiToken>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(token) = &token
        && !bearer_matches(request.headers(), token)
    {
        return unauthorized();
    }
    next.run(request).await
}

/// The 401 answer.
pub fn unauthorized() -> Response {
    let mut response = (
        StatusCode::UNAUTHORIZED,
        Json(json!({
            "error": "this API needs a token: send the header \"Authorization: Bearer <token>\""
        })),
    )
        .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Whether `headers` carry `Authorization: Bearer <token>`.
pub fn bearer_matches(headers: &HeaderMap, token: &str) -> bool {
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok());
    onair_domain::auth::bearer_matches(authorization, token)
}
