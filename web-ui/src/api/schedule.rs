//! The schedule API: read a channel's schedule, replace a window of it atomically under a
//! version precondition and a lock horizon, and list and restore published versions.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/channels` | every channel with its settings and schedule version (`manage` creates and edits them) |
//! | `GET /api/channels/{slug}/schedule?from=&to=` | the items starting in `[from, to)` (default: now to now + 24 h), with their ad breaks; `ETag: "<version>"` |
//! | `PUT /api/channels/{slug}/schedule` | `{"version"?, "from", "to", "items": [...]}` replaces the items starting in `[from, to)`; needs `If-Match: "<version>"` or `version` |
//! | `GET /api/channels/{slug}/schedule/versions` | the published versions, newest first |
//! | `GET /api/channels/{slug}/schedule/versions/{n}` | one version's whole schedule |
//! | `POST /api/channels/{slug}/schedule/versions/{n}/restore` | makes version `n`'s schedule current again (a new version) |
//! | `GET /api/channels/{slug}/schedule/export`, `POST …/import`, `POST …/copy` | see the `transfer` module (JSON and CSV, a day or a week) |
//!
//! An item is `{"asset_id", "start", "hard_start", "title", "length_ms"?, "ad_breaks":
//! [{"offset_ms", "duration_ms"}], "info"?}`; instants are RFC 3339 (answers are UTC with milliseconds),
//! ad-break offsets and durations integer milliseconds (offset 0: before the item).
//! `length_ms` is how much of the asset airs, from its start (absent: all of it); the planner
//! cuts it at the nearest segment boundary, and ad breaks past it do not air. A length that is
//! not positive or is longer than the asset is a 422 naming the item and the field.
//! `info` is the item's programme metadata for the EPG (`{"title", "episode_title"?, "season"?,
//! "episode"?, "description"?, "genres"?, "rating"?, "artwork_url"?}`, its title replaced by
//! the item's): reads answer it where the item has some; an edit that gives it stores it in the
//! same version (an `info` of only a title clears it), one that leaves it out keeps what is
//! stored ([`onair_control::schedule::metadata`]).
//!
//! The handlers turn JSON into control-plane calls ([`onair_control::schedule`], which owns the
//! rules below) and refusals into status codes ([`super::error`]).
//!
//! **Serialised edits.** Every edit names the schedule version it was made on. If the schedule
//! moved on since, the edit is refused with 409 and the current version: two clients editing at
//! once never lose an edit, the second reloads and applies again. The check and the write are
//! one transaction (`UPDATE … WHERE schedule_version = $expected`).
//!
//! **Validation.** An edit with any problem (malformed instants, items outside the window,
//! unknown or unready assets, bad ad breaks, hard items that overlap) is refused whole with 422
//! and `{"error", "errors": [{"index", "message"}]}`, every problem listed (`index` is the
//! item's position in `items`, absent for the window itself). Nothing is half-applied.
//!
//! **Lock horizon.** What airs before `now + window + margin` is frozen: `now` is the server's
//! clock, `window` the channel's `window_segments` × its ladder's segment duration (what players
//! may already have listed), `margin` [`DEFAULT_LOCK_MARGIN`] (2 minutes) unless the server says
//! otherwise. An edit or restore whose earliest actual change starts before the horizon is
//! refused with 409 and `lock_horizon` in the answer; unchanged items inside it may be sent back
//! as they are.
//!
//! **Versions.** Every publication through this API is kept with its author (the
//! `X-Onair-Author` header, else `api`), its instant and the whole schedule it left. Schedule
//! changes made outside the API (`onair demo`, the CLI) bump the version but are not kept.

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use onair_control::Control;
use onair_control::grid::InfoDoc;
use onair_control::schedule::placed::{PlacedItem, PlacedSchedule};
use onair_control::schedule::{BreakDraft, ItemDraft, item_draft, read_window};
use onair_domain::{AdBreak, Clock, Ticks};
use onair_store::Store;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

pub use onair_control::DEFAULT_LOCK_MARGIN;
pub use onair_control::schedule::parse_instant;

use super::error::{ApiError, ErrorBody, path_value};
use super::manage::ChannelOut;

/// The author recorded when a request names none.
const DEFAULT_AUTHOR: &str = "api";

/// What the schedule API's handlers share.
#[derive(Clone)]
pub struct ScheduleApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Added to now + the playout window to give the lock horizon.
    pub lock_margin: Ticks,
    /// The plans the preview keeps (see [`onair_control::PlanCache`]).
    pub plan_cache: onair_control::PlanCache,
}

impl ScheduleApiState {
    /// The control plane these routes call.
    pub fn control(&self) -> Control {
        Control {
            store: self.store.clone(),
            clock: Arc::clone(&self.clock),
            lock_margin: self.lock_margin,
            plan_cache: self.plan_cache.clone(),
            // No conformance check runs through these routes.
            conformance_limiter: Default::default(),
        }
    }
}

/// The schedule routes, ready to merge into the server's router.
pub fn router(state: ScheduleApiState) -> Router {
    Router::new()
        .route("/api/channels", get(list_channels))
        .route(
            "/api/channels/{slug}/schedule",
            get(get_schedule).put(put_schedule),
        )
        .route("/api/channels/{slug}/schedule/versions", get(list_versions))
        .route(
            "/api/channels/{slug}/schedule/export",
            get(super::transfer::export),
        )
        .route(
            "/api/channels/{slug}/schedule/import",
            post(super::transfer::import),
        )
        .route(
            "/api/channels/{slug}/schedule/copy",
            post(super::transfer::copy),
        )
        .route(
            "/api/channels/{slug}/schedule/versions/{version}",
            get(get_version),
        )
        .route(
            "/api/channels/{slug}/schedule/versions/{version}/restore",
            post(restore_version),
        )
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Wire types

/// An item as answered.
#[derive(Debug, Serialize, ToSchema)]
struct ItemOut {
    id: i64,
    asset_id: i64,
    /// RFC 3339, UTC with milliseconds.
    start: String,
    hard_start: bool,
    title: String,
    /// How much of the asset airs, in milliseconds from its start; absent: all of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    length_ms: Option<i64>,
    ad_breaks: Vec<BreakDraft>,
    /// Its programme metadata for the EPG; absent: it is listed by its title.
    #[serde(skip_serializing_if = "Option::is_none")]
    info: Option<InfoDoc>,
}

/// An item as a grid draws it: with where it ends as it airs.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct PlacedOut {
    id: i64,
    asset_id: i64,
    /// RFC 3339, UTC with milliseconds.
    start: String,
    /// Where it ends as it airs (RFC 3339): its asset up to `length_ms`, cut at the segment
    /// boundary the planner cuts it at, plus the ad breaks that air.
    end: String,
    hard_start: bool,
    title: String,
    /// How much of the asset airs, in milliseconds from its start; null: all of it.
    length_ms: Option<i64>,
    /// The whole asset's length in milliseconds; null: the asset is gone.
    asset_ms: Option<i64>,
    ad_breaks: Vec<BreakDraft>,
    /// Its programme metadata for the EPG; absent: it is listed by its title.
    #[serde(skip_serializing_if = "Option::is_none")]
    info: Option<InfoDoc>,
}

impl PlacedOut {
    /// `placed` as the schedule it was read from places it, with its metadata.
    pub(crate) fn of(schedule: &PlacedSchedule, placed: &PlacedItem) -> PlacedOut {
        PlacedOut {
            id: placed.item.id.0,
            asset_id: placed.item.asset_id.0,
            start: placed.item.start.to_rfc3339_millis(),
            end: placed.end.to_rfc3339_millis(),
            hard_start: placed.item.hard_start,
            title: placed.item.title.clone(),
            length_ms: placed.item.length.map(Ticks::as_millis),
            asset_ms: placed.asset_length.map(Ticks::as_millis),
            ad_breaks: placed.breaks.iter().map(break_draft).collect(),
            info: schedule.info_of(&placed.item).cloned(),
        }
    }
}

/// An ad break on the wire.
fn break_draft(ad_break: &AdBreak) -> BreakDraft {
    BreakDraft {
        offset_ms: ad_break.offset.as_millis(),
        duration_ms: ad_break.duration.as_millis(),
    }
}

/// A window of the schedule replaced: the items starting in `[from, to)` (RFC 3339).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PutSchedule {
    #[serde(default)]
    version: Option<i64>,
    from: String,
    to: String,
    items: Vec<ItemDraft>,
}

/// A window: `[from, to)`, RFC 3339; by default the 24 hours from now.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct WindowQuery {
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
}

/// Every channel.
#[derive(Debug, Serialize, ToSchema)]
struct ChannelsOut {
    channels: Vec<ChannelOut>,
}

/// A window of a channel's schedule, read at `version`.
#[derive(Debug, Serialize, ToSchema)]
struct ScheduleOut {
    channel: String,
    version: i64,
    from: String,
    to: String,
    /// What airs before it is frozen.
    lock_horizon: String,
    items: Vec<ItemOut>,
}

/// The schedule version an edit published (`unchanged`: a restore found nothing to change).
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct Published {
    pub(super) version: i64,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) unchanged: bool,
}

impl Published {
    pub(super) fn new(version: i64) -> Published {
        Published {
            version,
            unchanged: false,
        }
    }
}

/// A schedule edit published: its version, and the window's items as they now air (with
/// those that started before it and run into it first).
#[derive(Debug, Serialize, ToSchema)]
struct PublishedSchedule {
    version: i64,
    items: Vec<PlacedOut>,
}

/// A published version, as listed.
#[derive(Debug, Serialize, ToSchema)]
struct VersionSummary {
    version: i64,
    author: String,
    published_at: String,
    /// How many items it held.
    items: usize,
}

#[derive(Debug, Serialize, ToSchema)]
struct VersionsOut {
    versions: Vec<VersionSummary>,
}

/// A published version with its whole schedule.
#[derive(Debug, Serialize, ToSchema)]
struct VersionOut {
    version: i64,
    author: String,
    published_at: String,
    items: Vec<ItemDraft>,
}

// ---------------------------------------------------------------------------------------------
// Handlers

#[utoipa::path(get, path = "/api/channels", tag = "channels",
    responses((status = 200, description = "Every channel, retired ones too", body = ChannelsOut)))]
async fn list_channels(State(state): State<ScheduleApiState>) -> Result<Response, ApiError> {
    let channels: Vec<ChannelOut> = state
        .control()
        .channels()
        .await?
        .into_iter()
        .map(ChannelOut::of)
        .collect();
    Ok(Json(ChannelsOut { channels }).into_response())
}

#[utoipa::path(get, path = "/api/channels/{slug}/schedule", tag = "schedule",
    params(("slug" = String, Path, description = "The channel"), WindowQuery),
    responses(
        (status = 200, description = "The items starting in the window, with their ad breaks (`ETag: \"<version>\"`)", body = ScheduleOut),
        (status = 400, description = "A malformed or reversed window", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn get_schedule(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    query: Result<Query<WindowQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let control = state.control();
    let (from, to) = query_window(&query, &control)?;
    let window = control.schedule(&slug, from, to).await?;
    let items: Vec<ItemOut> = window
        .items
        .iter()
        .map(|(item, breaks)| ItemOut {
            info: window.info_of(item).cloned(),
            id: item.id.0,
            asset_id: item.asset_id.0,
            start: item.start.to_rfc3339_millis(),
            hard_start: item.hard_start,
            title: item.title.clone(),
            length_ms: item.length.map(Ticks::as_millis),
            ad_breaks: breaks.iter().map(break_draft).collect(),
        })
        .collect();
    Ok(with_etag(
        window.version,
        Json(ScheduleOut {
            channel: window.channel.slug.to_string(),
            version: window.version,
            from: from.to_rfc3339_millis(),
            to: to.to_rfc3339_millis(),
            lock_horizon: window.lock_horizon.to_rfc3339_millis(),
            items,
        }),
    ))
}

#[utoipa::path(put, path = "/api/channels/{slug}/schedule", tag = "schedule", request_body = PutSchedule,
    params(("slug" = String, Path, description = "The channel"),
        ("If-Match" = Option<String>, Header, description = "The schedule version the edit was made on, `\"<version>\"` (or the body's `version`)"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    responses(
        (status = 200, description = "The version published (`ETag`), with the window's items as they now air, each with its `end`", body = PublishedSchedule),
        (status = 400, description = "The body is not the JSON described, or If-Match contradicts it", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "A stale version, or a change inside the lock horizon (`lock_horizon`)", body = ErrorBody),
        (status = 422, description = "Every problem, by item `index`", body = ErrorBody),
        (status = 428, description = "No version named", body = ErrorBody),
    ))]
async fn put_schedule(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Json<PutSchedule>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let expected = named_version(&headers, body.version)?;
    let control = state.control();
    let version = control
        .replace_schedule(
            &slug,
            expected,
            &body.from,
            &body.to,
            &body.items,
            &author(&headers),
        )
        .await?;
    // The window parsed, or the edit would have been refused.
    let (from, to) = (parse_instant(&body.from), parse_instant(&body.to));
    let items = match (from, to) {
        (Ok(from), Ok(to)) => {
            let schedule = control.placed_schedule(&slug, from, to).await?;
            schedule
                .items
                .iter()
                .map(|placed| PlacedOut::of(&schedule, placed))
                .collect()
        }
        _ => Vec::new(),
    };
    Ok(with_etag(
        version,
        Json(PublishedSchedule { version, items }),
    ))
}

#[utoipa::path(get, path = "/api/channels/{slug}/schedule/versions", tag = "schedule",
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "The published versions, newest first", body = VersionsOut),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn list_versions(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let versions: Vec<VersionSummary> = state
        .control()
        .schedule_versions(&slug)
        .await?
        .into_iter()
        .map(|version| VersionSummary {
            version: version.version,
            author: version.author,
            published_at: version.published_at.to_rfc3339_millis(),
            items: version.items.len(),
        })
        .collect();
    Ok(Json(VersionsOut { versions }).into_response())
}

#[utoipa::path(get, path = "/api/channels/{slug}/schedule/versions/{version}", tag = "schedule",
    params(("slug" = String, Path, description = "The channel"), ("version" = i64, Path, description = "The version")),
    responses(
        (status = 200, description = "The version's whole schedule", body = VersionOut),
        (status = 400, description = "The version is not a whole number", body = ErrorBody),
        (status = 404, description = "No such channel or version", body = ErrorBody),
    ))]
async fn get_version(
    State(state): State<ScheduleApiState>,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (slug, number) = path_value(path, "version", "a whole number")?;
    let version = state.control().schedule_version(&slug, number).await?;
    let items: Vec<ItemDraft> = version.items.iter().map(item_draft).collect();
    Ok(Json(VersionOut {
        version: version.version,
        author: version.author,
        published_at: version.published_at.to_rfc3339_millis(),
        items,
    })
    .into_response())
}

#[utoipa::path(post, path = "/api/channels/{slug}/schedule/versions/{version}/restore", tag = "schedule",
    params(("slug" = String, Path, description = "The channel"), ("version" = i64, Path, description = "The version made current again"),
        ("If-Match" = Option<String>, Header, description = "The current schedule version, `\"<version>\"`"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    responses(
        (status = 200, description = "The version published, or `unchanged`", body = Published),
        (status = 400, description = "The version is not a whole number, or a malformed If-Match", body = ErrorBody),
        (status = 404, description = "No such channel or version", body = ErrorBody),
        (status = 409, description = "A stale version, or a change inside the lock horizon", body = ErrorBody),
        (status = 428, description = "No version named", body = ErrorBody),
    ))]
async fn restore_version(
    State(state): State<ScheduleApiState>,
    path: Result<Path<(String, i64)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (slug, number) = path_value(path, "version", "a whole number")?;
    let expected = if_match(&headers)?;
    let restored = state
        .control()
        .restore_schedule(&slug, number, expected, &author(&headers))
        .await?;
    let body = Published {
        version: restored.version,
        unchanged: restored.unchanged,
    };
    Ok(with_etag(restored.version, Json(body)))
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// The window of a read: `?from=&to=` (RFC 3339), by default the 24 hours from now.
pub(super) fn query_window(
    query: &WindowQuery,
    control: &Control,
) -> Result<(onair_domain::Timestamp, onair_domain::Timestamp), ApiError> {
    Ok(read_window(
        query.from.as_deref(),
        query.to.as_deref(),
        control.clock.now(),
    )?)
}

/// The version an edit names: `If-Match` or the body's `version` (a contradiction is a 400;
/// neither is left to the control plane, which refuses with 428).
pub(super) fn named_version(
    headers: &HeaderMap,
    body_version: Option<i64>,
) -> Result<Option<i64>, ApiError> {
    match (if_match(headers)?, body_version) {
        (Some(header), Some(field)) if header != field => Err(ApiError::bad_request(format!(
            "If-Match names version {header} but the body names version {field}"
        ))),
        (header, field) => Ok(header.or(field)),
    }
}

/// The version in `If-Match: "<n>"` (quotes optional, `W/` accepted).
pub(super) fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse().map(Some).map_err(|_| {
        ApiError::bad_request(format!(
            "If-Match must name a schedule version, like \"3\", not {text:?}"
        ))
    })
}

/// Who publishes: `X-Onair-Author`, else `api`.
pub(super) fn author(headers: &HeaderMap) -> String {
    headers
        .get("x-onair-author")
        .and_then(|value| value.to_str().ok())
        .map(str::trim)
        .filter(|author| !author.is_empty())
        .unwrap_or(DEFAULT_AUTHOR)
        .chars()
        .take(200)
        .collect()
}

pub(super) fn with_etag(version: i64, body: impl IntoResponse) -> Response {
    let mut response = body.into_response();
    if let Ok(value) = HeaderValue::from_str(&format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, value);
    }
    response
}
