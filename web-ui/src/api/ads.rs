//! A channel's ads through the API: its ad settings (versioned, check-and-set), the report
//! and the tag inspector, through the control plane ([`onair_control::ads`]).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/channels/{slug}/ads` | the current ad settings `{"version", "author", "created_at", "config"}`, 404 when none |
//! | `PUT /api/channels/{slug}/ads` | `{"version"?: N, "config": {…}}` stores the next version if `version` is the current one (none for the first): 200 with it; 409 when another edit landed first; 422 with every problem by field |
//! | `GET /api/channels/{slug}/ads/versions` | every version, newest first |
//! | `POST /api/channels/{slug}/ads/restore` | `{"version"?: current, "restore": N}` stores version N again as the newest |
//! | `GET /api/channels/{slug}/ads/report?from=&to=&format=json\|csv` | per break and in all: decisions, fill rate, ads aired, slate seconds, VAST errors by code, beacons sent and failed |
//! | `POST /api/ads/resolve` | `{"tag", "duration"?: 60, "channel"?, "allow_private"?, "device_ip"?, "device_ua"?}`: what the tag resolves to (hops, ads, media, creative keys and readiness, errors that would fire); fires nothing |

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use onair_control::Control;
use onair_control::ads::AdConfig;
use onair_control::ads::config::AdConfigVersion;
use onair_control::ads::inspect::InspectRequest;
use onair_control::ads::inspect::Inspection;
use onair_control::ads::report::AdReport;
use onair_control::as_run::interval;
use onair_domain::Clock;
use onair_store::Store;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};

/// What the ad routes need.
#[derive(Clone)]
pub struct AdsApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
}

impl AdsApiState {
    fn control(&self) -> Control {
        Control::new(self.store.clone(), Arc::clone(&self.clock))
    }
}

/// The ad routes, ready to merge into the server's router.
pub fn router(state: AdsApiState) -> Router {
    Router::new()
        .route("/api/channels/{slug}/ads", get(current).put(put))
        .route("/api/channels/{slug}/ads/versions", get(versions))
        .route("/api/channels/{slug}/ads/restore", post(restore))
        .route("/api/channels/{slug}/ads/report", get(report))
        .route("/api/ads/resolve", post(resolve))
        .with_state(state)
}

/// Who made an edit, for the versions' history.
const AUTHOR: &str = "api";

#[utoipa::path(get, path = "/api/channels/{slug}/ads", tag = "ads",
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "The current ad settings", body = AdConfigVersion),
        (status = 404, description = "No such channel, or no ad settings yet", body = ErrorBody),
    ))]
async fn current(
    State(state): State<AdsApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    match state.control().ad_config(&slug).await? {
        Some(version) => Ok(Json(version).into_response()),
        None => Err(ApiError(onair_control::Refusal::NotFound(format!(
            "{slug} has no ad settings yet: PUT them"
        )))),
    }
}

/// The next version of the ad settings, made on `version` (none for the first).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PutBody {
    version: Option<i64>,
    config: AdConfig,
}

#[utoipa::path(put, path = "/api/channels/{slug}/ads", tag = "ads", request_body = PutBody,
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "The version stored", body = AdConfigVersion),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "Another edit landed first", body = ErrorBody),
        (status = 422, description = "Every problem, by field", body = ErrorBody),
    ))]
async fn put(
    State(state): State<AdsApiState>,
    Path(slug): Path<String>,
    body: Result<Json<PutBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let stored = state
        .control()
        .put_ad_config(&slug, body.version, &body.config, AUTHOR)
        .await?;
    Ok(Json(stored).into_response())
}

#[utoipa::path(get, path = "/api/channels/{slug}/ads/versions", tag = "ads",
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "Every version, newest first", body = Vec<AdConfigVersion>),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn versions(
    State(state): State<AdsApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.control().ad_config_versions(&slug).await?).into_response())
}

/// Version `restore` stored again as the newest, made on `version` (the current one).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RestoreBody {
    version: Option<i64>,
    restore: i64,
}

#[utoipa::path(post, path = "/api/channels/{slug}/ads/restore", tag = "ads", request_body = RestoreBody,
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "The version stored", body = AdConfigVersion),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such channel or version", body = ErrorBody),
        (status = 409, description = "Another edit landed first", body = ErrorBody),
    ))]
async fn restore(
    State(state): State<AdsApiState>,
    Path(slug): Path<String>,
    body: Result<Json<RestoreBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let stored = state
        .control()
        .restore_ad_config(&slug, body.version, body.restore, AUTHOR)
        .await?;
    Ok(Json(stored).into_response())
}

/// The interval `[from, to)` (RFC 3339; by default the 24 hours up to now) and the format:
/// `json` (default) or `csv`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct ReportQuery {
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
}

#[utoipa::path(get, path = "/api/channels/{slug}/ads/report", tag = "ads",
    params(("slug" = String, Path, description = "The channel"), ReportQuery),
    responses(
        (status = 200, description = "Per break and in all: decisions, fill rate, ads aired, slate seconds, VAST errors by code, beacons",
            content((AdReport = "application/json"), (String = "text/csv"))),
        (status = 400, description = "A malformed interval or an unknown format", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn report(
    State(state): State<AdsApiState>,
    Path(slug): Path<String>,
    query: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let (from, to) = interval(
        query.from.as_deref(),
        query.to.as_deref(),
        state.clock.now(),
    )
    .map_err(ApiError::bad_request)?;
    let report = state.control().ad_report(&slug, from, to).await?;
    match query.format.as_deref() {
        None | Some("json") => Ok(Json(report).into_response()),
        Some("csv") => Ok((
            [(header::CONTENT_TYPE, "text/csv; charset=utf-8")],
            report.to_csv(),
        )
            .into_response()),
        Some(other) => Err(ApiError::bad_request(format!(
            "format {other:?} is neither json nor csv"
        ))),
    }
}

/// A tag to inspect: the break's `duration` in seconds (1 to 3600, default 60), a `channel`
/// whose ladder the creatives are checked against, the device to stand for.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ResolveBody {
    tag: String,
    #[serde(default = "default_duration")]
    duration: u32,
    channel: Option<String>,
    #[serde(default)]
    allow_private: bool,
    device_ip: Option<String>,
    device_ua: Option<String>,
    #[serde(default = "default_timeout")]
    timeout_ms: u32,
}

fn default_duration() -> u32 {
    60
}

fn default_timeout() -> u32 {
    3000
}

#[utoipa::path(post, path = "/api/ads/resolve", tag = "ads", request_body = ResolveBody,
    responses(
        (status = 200, description = "What the tag resolves to; nothing is fired", body = Inspection),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 422, description = "Every problem, by field", body = ErrorBody),
    ))]
async fn resolve(
    State(state): State<AdsApiState>,
    body: Result<Json<ResolveBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let inspection = state
        .control()
        .inspect_tag(&InspectRequest {
            tag: body.tag,
            duration_secs: body.duration,
            channel: body.channel,
            allow_private: body.allow_private,
            device_ip: body.device_ip,
            device_ua: body.device_ua,
            timeout_ms: body.timeout_ms,
        })
        .await?;
    Ok(Json(inspection).into_response())
}
