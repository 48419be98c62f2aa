//! Live sources through the API, through the control plane ([`onair_control::live`]).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/live/sources` | every source with its state: `idle`, `publishing`, `lost` or `failed`, the publish, protocol and peer, the ingest's figures |
//! | `POST /api/live/sources` | `{"name", "ladder"?: "demo"}` creates a source with a new stream key: 201; 400 for a bad name or an unknown ladder; 409 when the name is taken |
//! | `GET /api/live/sources/{name}` | one source, 404 when there is none |
//! | `DELETE /api/live/sources/{name}` | deletes it (its grid items air their fallback): 204 |
//! | `POST /api/live/sources/{name}/rotate-key` | a new stream key; the old one is refused from now on |
//! | `GET /api/live/sources/{name}/events?hours=24` | publishes, losses, refusals and failures, oldest first |
//! | `POST /api/channels/{slug}/live/take` | `{"source", "version"?}` takes the channel to the source at the first segment boundary no playlist has listed (1.5 s on at the earliest): 201 with the take; 404 unknown channel or source, 422 a source on another ladder, 409 off air, already taken or a stale version (`If-Match` or `version`, optional) |
//! | `POST /api/channels/{slug}/slate` | `{"version"?}` (or no body) puts the channel on its slate ("slate now", a take without a source) at the first segment boundary no playlist has listed: 201 with the take (`"kind": "slate"`, `"source": null`); 404 unknown channel, 409 off air, already taken, without a slate that can air, or a stale version |
//! | `POST /api/channels/{slug}/live/return` | `{"version"?}` (or no body) returns it from its take (a live source's or the slate's) to the schedule, which joins in progress, at the next such boundary: 200 with the take; 404 when it is not taken |
//! | `GET /api/channels/{slug}/live/takes?hours=24` | its takes on air or ended in the last hours, oldest first |
//!
//! A take, a slate now and a return are versioned edits of the channel's schedule, published by
//! `X-Onair-Author` (else `api`).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use onair_control::Control;
use onair_control::live::sources::{LiveEventView, LiveSourceView};
use onair_control::live::takes::TakeView;
use onair_domain::Clock;
use onair_store::Store;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use super::schedule::{author, named_version};

/// What the live routes need.
#[derive(Clone)]
pub struct LiveApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
}

impl LiveApiState {
    fn control(&self) -> Control {
        Control::new(self.store.clone(), Arc::clone(&self.clock))
    }
}

/// The live routes, ready to merge into the server's router.
pub fn router(state: LiveApiState) -> Router {
    Router::new()
        .route("/api/live/sources", get(list).post(create))
        .route("/api/live/sources/{name}", get(show).delete(delete))
        .route("/api/live/sources/{name}/rotate-key", post(rotate))
        .route("/api/live/sources/{name}/events", get(events))
        .route("/api/channels/{slug}/live/take", post(take))
        .route("/api/channels/{slug}/slate", post(slate_now))
        .route("/api/channels/{slug}/live/return", post(return_to_schedule))
        .route("/api/channels/{slug}/live/takes", get(takes))
        .with_state(state)
}

#[utoipa::path(get, path = "/api/live/sources", tag = "live",
    responses((status = 200, description = "Every source with its state", body = Vec<LiveSourceView>)))]
async fn list(State(state): State<LiveApiState>) -> Result<Response, ApiError> {
    Ok(Json(state.control().live_sources().await?).into_response())
}

/// A source: its name (lowercase letters, digits, `-`, `_`) and ladder (default `demo`).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    ladder: Option<String>,
}

#[utoipa::path(post, path = "/api/live/sources", tag = "live", request_body = CreateBody,
    responses(
        (status = 201, description = "The source, with a new stream key", body = LiveSourceView),
        (status = 400, description = "A bad name, an unknown ladder, or a body that is not the JSON described", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ))]
async fn create(
    State(state): State<LiveApiState>,
    body: Result<Json<CreateBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let ladder = body.ladder.as_deref().unwrap_or("demo");
    let created = state
        .control()
        .create_live_source(&body.name, ladder)
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(get, path = "/api/live/sources/{name}", tag = "live",
    params(("name" = String, Path, description = "The source")),
    responses(
        (status = 200, description = "The source", body = LiveSourceView),
        (status = 404, description = "No such source", body = ErrorBody),
    ))]
async fn show(
    State(state): State<LiveApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.control().live_source(&name).await?).into_response())
}

#[utoipa::path(delete, path = "/api/live/sources/{name}", tag = "live",
    params(("name" = String, Path, description = "The source")),
    responses(
        (status = 204, description = "Deleted: its grid items air their fallback"),
        (status = 404, description = "No such source", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<LiveApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    state.control().delete_live_source(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/live/sources/{name}/rotate-key", tag = "live",
    params(("name" = String, Path, description = "The source")),
    responses(
        (status = 200, description = "The source with a new stream key; the old one is refused from now on", body = LiveSourceView),
        (status = 404, description = "No such source", body = ErrorBody),
    ))]
async fn rotate(
    State(state): State<LiveApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.control().rotate_live_source_key(&name).await?).into_response())
}

/// How many hours back (default 24, 1 to 744).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    hours: Option<u32>,
}

#[utoipa::path(get, path = "/api/live/sources/{name}/events", tag = "live",
    params(("name" = String, Path, description = "The source"), EventsQuery),
    responses(
        (status = 200, description = "Publishes, losses, refusals and failures, oldest first", body = Vec<LiveEventView>),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 404, description = "No such source", body = ErrorBody),
    ))]
async fn events(
    State(state): State<LiveApiState>,
    Path(name): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let hours = query.hours.unwrap_or(24).clamp(1, 24 * 31);
    Ok(Json(state.control().live_source_events(&name, hours).await?).into_response())
}

/// The source to take to air, made on schedule `version`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TakeBody {
    source: String,
    version: Option<i64>,
}

#[utoipa::path(post, path = "/api/channels/{slug}/live/take", tag = "live", request_body = TakeBody,
    params(("slug" = String, Path, description = "The channel"), ("If-Match" = Option<String>, Header, description = "The channel's schedule version (or the body's `version`)"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    responses(
        (status = 201, description = "The take, at the first segment boundary no playlist has listed", body = TakeView),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such channel or source", body = ErrorBody),
        (status = 409, description = "Off air, already taken, or a stale version", body = ErrorBody),
        (status = 422, description = "A source on another ladder", body = ErrorBody),
    ))]
async fn take(
    State(state): State<LiveApiState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Json<TakeBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let expected = named_version(&headers, body.version)?;
    let take = state
        .control()
        .take_live(&slug, &body.source, &author(&headers), expected)
        .await?;
    Ok((StatusCode::CREATED, Json(take)).into_response())
}

/// The schedule version a slate now or a return was decided on (the body is optional).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ReturnBody {
    version: Option<i64>,
}

/// The version a body names: none, or a JSON object `{"version"?: n}`.
fn optional_version(body: &Bytes) -> Result<Option<i64>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let body: ReturnBody = serde_json::from_slice(body).map_err(|error| {
        ApiError::bad_request(format!("the body must be {{\"version\"?: n}}: {error}"))
    })?;
    Ok(body.version)
}

#[utoipa::path(post, path = "/api/channels/{slug}/slate", tag = "live",
    request_body(content = Option<ReturnBody>, description = "Optional"),
    params(("slug" = String, Path, description = "The channel"), ("If-Match" = Option<String>, Header, description = "The channel's schedule version (or the body's `version`)"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    responses(
        (status = 201, description = "The take to the slate (`kind: slate`, `source: null`)", body = TakeView),
        (status = 400, description = "A body that is not `{\"version\"?: n}`", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "Off air, already taken, no slate that can air, or a stale version", body = ErrorBody),
    ))]
async fn slate_now(
    State(state): State<LiveApiState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let expected = named_version(&headers, optional_version(&body)?)?;
    let take = state
        .control()
        .slate_now(&slug, &author(&headers), expected)
        .await?;
    Ok((StatusCode::CREATED, Json(take)).into_response())
}

#[utoipa::path(post, path = "/api/channels/{slug}/live/return", tag = "live",
    request_body(content = Option<ReturnBody>, description = "Optional"),
    params(("slug" = String, Path, description = "The channel"), ("If-Match" = Option<String>, Header, description = "The channel's schedule version (or the body's `version`)"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    responses(
        (status = 200, description = "The take, returning at the next segment boundary no playlist has listed", body = TakeView),
        (status = 400, description = "A body that is not `{\"version\"?: n}`", body = ErrorBody),
        (status = 404, description = "No such channel, or it is not taken", body = ErrorBody),
        (status = 409, description = "A stale version", body = ErrorBody),
    ))]
async fn return_to_schedule(
    State(state): State<LiveApiState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let expected = named_version(&headers, optional_version(&body)?)?;
    let take = state
        .control()
        .return_to_schedule(&slug, &author(&headers), expected)
        .await?;
    Ok(Json(take).into_response())
}

#[utoipa::path(get, path = "/api/channels/{slug}/live/takes", tag = "live",
    params(("slug" = String, Path, description = "The channel"), EventsQuery),
    responses(
        (status = 200, description = "Its takes on air or ended in the last hours, oldest first", body = Vec<TakeView>),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn takes(
    State(state): State<LiveApiState>,
    Path(slug): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let hours = query.hours.unwrap_or(24).clamp(1, 24 * 31);
    Ok(Json(state.control().live_takes(&slug, hours).await?).into_response())
}
