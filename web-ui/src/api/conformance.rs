//! Conformance checks through the API, through the control plane
//! ([`onair_control::conformance`]): the channel's (or the partner's) playlists rendered in
//! process over the hours asked, a few segments probed and their loudness measured by the
//! server's media inspector, judged against a profile.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/channels/{slug}/check?profile=&hours=` | the channel as its own URLs serve it, against `profile` (`hls` by default, `pluto`, `wurl`, `roku`) over `hours` (2 by default, 1 to 48): `{channel, profile, passed, findings, skipped, checked, observed, notes}`; 409 when it is not on air; 422 naming `profile` or `hours` |
//! | `POST /api/partners/{name}/check` | body optional: `{"profile"?, "hours"?}`; the partner's view of every channel it carries, against the profile named or the partner's own: `{partner, profile, passed, channels: [<channel's report>], not_on_air}`; 404 for no such partner, 409 when none of its channels is on air |
//!
//! A report answers 200 whether it passed or not: `passed` says, and each finding names its
//! rule, where it was seen and the fix.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use onair_control::conformance::{CheckOptions, DEFAULT_HOURS, MediaInspector, parse_profile};
use onair_control::{Control, Refusal};
use onair_domain::Clock;
use onair_store::Store;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};

/// What the check routes need.
#[derive(Clone)]
pub struct ConformanceApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Probes segments and measures loudness (the binary's, on the media folder); without
    /// one, reports say they measured no media.
    pub inspector: Option<Arc<dyn MediaInspector>>,
}

impl ConformanceApiState {
    fn control(&self) -> Control {
        Control::new(self.store.clone(), Arc::clone(&self.clock))
    }
}

/// The check routes, ready to merge into the server's router.
pub fn router(state: ConformanceApiState) -> Router {
    Router::new()
        .route("/api/channels/{slug}/check", post(check_channel))
        .route("/api/partners/{name}/check", post(check_partner))
        .with_state(state)
}

/// What to check against, and for how long.
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckRequest {
    /// `hls`, `pluto`, `wurl` or `roku`.
    profile: Option<String>,
    /// Hours of playlists observed from now: 1 to 48, default 2.
    hours: Option<u32>,
}

impl CheckRequest {
    fn options(&self) -> Result<CheckOptions, Refusal> {
        Ok(CheckOptions {
            profile: self.profile.as_deref().map(parse_profile).transpose()?,
            hours: self.hours.unwrap_or(DEFAULT_HOURS),
        })
    }
}

#[utoipa::path(post, path = "/api/channels/{slug}/check", tag = "conformance",
    params(("slug" = String, Path, description = "The channel"), CheckRequest),
    responses(
        (status = 200, description = "The report: `{channel, profile, passed, findings, skipped, checked, observed, notes}`", body = Object),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "The channel is not on air", body = ErrorBody),
        (status = 422, description = "An unknown profile or hours out of range, by field", body = ErrorBody),
    ))]
pub(crate) async fn check_channel(
    State(state): State<ConformanceApiState>,
    Path(slug): Path<String>,
    query: Result<Query<CheckRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(request) = query?;
    let check = state
        .control()
        .check_channel(&slug, request.options()?, state.inspector.clone())
        .await?;
    Ok(Json(check).into_response())
}

#[utoipa::path(post, path = "/api/partners/{name}/check", tag = "conformance",
    params(("name" = String, Path, description = "The partner")),
    request_body(content = Option<CheckRequest>, description = "Optional: the profile (the partner's own by default) and hours"),
    responses(
        (status = 200, description = "`{partner, profile, passed, channels, not_on_air}`, a report per channel on air", body = Object),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such partner", body = ErrorBody),
        (status = 409, description = "None of its channels is on air", body = ErrorBody),
        (status = 422, description = "An unknown profile or hours out of range, by field", body = ErrorBody),
    ))]
pub(crate) async fn check_partner(
    State(state): State<ConformanceApiState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CheckRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CheckRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| {
            ApiError::bad_request(format!("the body is not the JSON expected: {error}"))
        })?
    };
    let check = state
        .control()
        .check_partner(&name, request.options()?, state.inspector.clone())
        .await?;
    Ok(Json(check).into_response())
}
