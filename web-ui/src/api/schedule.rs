//! The schedule API: read a channel's schedule, replace a window of it atomically under a
//! version precondition and a lock horizon, and list and restore published versions.
//!
//! | route | what |
//! |---|---|
//! | `GET /api/channels` | every channel with its schedule version |
//! | `GET /api/channels/{slug}/schedule?from=&to=` | the items starting in `[from, to)` (default: now to now + 24 h), with their ad breaks; `ETag: "<version>"` |
//! | `PUT /api/channels/{slug}/schedule` | `{"version"?, "from", "to", "items": [...]}` replaces the items starting in `[from, to)`; needs `If-Match: "<version>"` or `version` |
//! | `GET /api/channels/{slug}/schedule/versions` | the published versions, newest first |
//! | `GET /api/channels/{slug}/schedule/versions/{n}` | one version's whole schedule |
//! | `POST /api/channels/{slug}/schedule/versions/{n}/restore` | makes version `n`'s schedule current again (a new version) |
//! | `GET /api/channels/{slug}/schedule/export`, `POST …/import`, `POST …/copy` | see the `transfer` module (JSON and CSV, a day or a week) |
//!
//! An item is `{"asset_id", "start", "hard_start", "title", "ad_breaks": [{"offset_ms",
//! "duration_ms"}]}`; instants are RFC 3339 (answers are UTC with milliseconds), ad-break
//! offsets and durations integer milliseconds (offset 0: before the item).
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

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use onair_domain::{
    AdBreak, AssetId, AssetState, Channel, ChannelSlug, Clock, ScheduleItem, Ticks, Timestamp,
};
use onair_store::{NewAdBreak, NewScheduleItem, ScheduleEdit, ScheduleEntry, Store, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::auth::{ApiToken, require_bearer};

/// The safety margin of the lock horizon unless configured otherwise.
pub const DEFAULT_LOCK_MARGIN: Ticks = Ticks::from_secs(120);

/// The author recorded when a request names none.
const DEFAULT_AUTHOR: &str = "api";

/// What the schedule API's handlers share.
#[derive(Clone)]
pub struct ScheduleApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Added to now + the playout window to give the lock horizon.
    pub lock_margin: Ticks,
    /// When set, every route needs `Authorization: Bearer <token>`.
    pub api_token: ApiToken,
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
        .route_layer(middleware::from_fn_with_state(
            state.api_token.clone(),
            require_bearer,
        ))
        .with_state(state)
}

// ---------------------------------------------------------------------------------------------
// Errors

/// One problem of a refused edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The item's position in the request's `items`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The line of an imported CSV file (the header is line 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
}

impl Problem {
    pub(super) fn at(index: usize, message: impl Into<String>) -> Problem {
        Problem {
            index: Some(index),
            line: None,
            message: message.into(),
        }
    }

    pub(super) fn on_line(line: usize, message: impl Into<String>) -> Problem {
        Problem {
            index: None,
            line: Some(line),
            message: message.into(),
        }
    }

    pub(super) fn whole(message: impl Into<String>) -> Problem {
        Problem {
            index: None,
            line: None,
            message: message.into(),
        }
    }
}

#[derive(Debug)]
pub(super) enum ApiError {
    BadRequest(String),
    NotFound(String),
    Conflict(String),
    /// The edit touches what airs before the lock horizon.
    Locked {
        message: String,
        horizon: Timestamp,
    },
    PreconditionRequired,
    Invalid(Vec<Problem>),
    Internal(String),
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, body) = match self {
            ApiError::BadRequest(message) => (StatusCode::BAD_REQUEST, json!({"error": message})),
            ApiError::NotFound(message) => (StatusCode::NOT_FOUND, json!({"error": message})),
            ApiError::Conflict(message) => (StatusCode::CONFLICT, json!({"error": message})),
            ApiError::Locked { message, horizon } => (
                StatusCode::CONFLICT,
                json!({"error": message, "lock_horizon": horizon.to_rfc3339_millis()}),
            ),
            ApiError::PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                json!({"error": "name the schedule version the edit was made on: send \"If-Match: \\\"<version>\\\"\" or a \"version\" field"}),
            ),
            ApiError::Invalid(problems) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                json!({
                    "error": format!("the schedule was refused with {} problem(s); nothing was changed", problems.len()),
                    "errors": problems,
                }),
            ),
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "schedule API request failed");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    json!({"error": "the server failed to handle the request; the details are in its log"}),
                )
            }
        };
        (status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(_) => ApiError::NotFound(error.to_string()),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Invalid(message) => ApiError::Invalid(vec![Problem::whole(message)]),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        ApiError::BadRequest(format!(
            "the body is not the JSON expected: {}",
            rejection.body_text()
        ))
    }
}

// ---------------------------------------------------------------------------------------------
// Wire types

#[derive(Debug, Serialize)]
struct ChannelOut {
    slug: String,
    name: String,
    time_zone: String,
    on_air: bool,
    schedule_version: i64,
}

/// An item as answered.
#[derive(Debug, Serialize)]
struct ItemOut {
    id: i64,
    asset_id: i64,
    start: String,
    hard_start: bool,
    title: String,
    ad_breaks: Vec<BreakWire>,
}

/// An item as sent; `start` stays text so that each malformed one is reported.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ItemIn {
    pub asset_id: i64,
    pub start: String,
    #[serde(default = "yes")]
    pub hard_start: bool,
    pub title: String,
    #[serde(default)]
    pub ad_breaks: Vec<BreakWire>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BreakWire {
    pub offset_ms: i64,
    pub duration_ms: i64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PutSchedule {
    #[serde(default)]
    version: Option<i64>,
    from: String,
    to: String,
    items: Vec<ItemIn>,
}

#[derive(Debug, Deserialize)]
pub(super) struct WindowQuery {
    pub(super) from: Option<String>,
    pub(super) to: Option<String>,
}

// ---------------------------------------------------------------------------------------------
// Handlers

async fn list_channels(State(state): State<ScheduleApiState>) -> Result<Response, ApiError> {
    let versions: HashMap<_, _> = state.store.schedule_versions().await?.into_iter().collect();
    let channels: Vec<ChannelOut> = state
        .store
        .channels()
        .await?
        .into_iter()
        .map(|channel| ChannelOut {
            schedule_version: versions.get(&channel.id).copied().unwrap_or(0),
            slug: channel.slug.to_string(),
            name: channel.name,
            time_zone: channel.time_zone.name().to_owned(),
            on_air: channel.on_air,
        })
        .collect();
    Ok(Json(json!({ "channels": channels })).into_response())
}

async fn get_schedule(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    Query(query): Query<WindowQuery>,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let now = state.clock.now();
    let (from, to) = query_window(&query, now)?;
    let (version, items) = read_consistent(&state.store, &channel, from, to).await?;
    let horizon = lock_horizon(&state, &channel, now).await?;
    let items: Vec<ItemOut> = items
        .into_iter()
        .map(|(item, breaks)| ItemOut {
            id: item.id.0,
            asset_id: item.asset_id.0,
            start: item.start.to_rfc3339_millis(),
            hard_start: item.hard_start,
            title: item.title,
            ad_breaks: breaks
                .iter()
                .map(|ad_break| BreakWire {
                    offset_ms: ad_break.offset.as_millis(),
                    duration_ms: ad_break.duration.as_millis(),
                })
                .collect(),
        })
        .collect();
    Ok(with_etag(
        version,
        Json(json!({
            "channel": channel.slug.as_str(),
            "version": version,
            "from": from.to_rfc3339_millis(),
            "to": to.to_rfc3339_millis(),
            "lock_horizon": horizon.to_rfc3339_millis(),
            "items": items,
        })),
    ))
}

async fn put_schedule(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Json<PutSchedule>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let channel = channel(&state.store, &slug).await?;
    let expected = expected_version(&headers, body.version)?;
    let mut problems = Vec::new();
    let window = parse_window(&body.from, &body.to, &mut problems);
    let windows: Vec<(Timestamp, Timestamp)> = window.into_iter().collect();
    submit(
        &state,
        &channel,
        &headers,
        expected,
        &windows,
        &body.items,
        problems,
        |problem| problem,
    )
    .await
}

/// The version an edit was made on: `If-Match` or the body's `version` (428 without either).
pub(super) fn expected_version(
    headers: &HeaderMap,
    body_version: Option<i64>,
) -> Result<i64, ApiError> {
    match (if_match(headers)?, body_version) {
        (Some(header), Some(field)) if header != field => Err(ApiError::BadRequest(format!(
            "If-Match names version {header} but the body names version {field}"
        ))),
        (Some(version), _) | (None, Some(version)) => Ok(version),
        (None, None) => Err(ApiError::PreconditionRequired),
    }
}

/// The window of a read: `?from=&to=` (RFC 3339), by default the 24 hours from now.
pub(super) fn query_window(
    query: &WindowQuery,
    now: Timestamp,
) -> Result<(Timestamp, Timestamp), ApiError> {
    let from = match &query.from {
        Some(text) => {
            parse_instant(text).map_err(|error| ApiError::BadRequest(format!("from: {error}")))?
        }
        None => now,
    };
    let to = match &query.to {
        Some(text) => {
            parse_instant(text).map_err(|error| ApiError::BadRequest(format!("to: {error}")))?
        }
        None => from + Ticks::from_secs(86_400),
    };
    if to <= from {
        return Err(ApiError::BadRequest(format!(
            "the window {} to {} is empty",
            from.to_rfc3339_millis(),
            to.to_rfc3339_millis()
        )));
    }
    Ok((from, to))
}

/// The schedule version and the items starting in `[from, to)`, read so that they agree: the
/// two reads are retried while an edit lands between them.
pub(super) async fn read_consistent(
    store: &Store,
    channel: &Channel,
    from: Timestamp,
    to: Timestamp,
) -> Result<(i64, Vec<(ScheduleItem, Vec<AdBreak>)>), ApiError> {
    for _ in 0..10 {
        let version = store.schedule_version(channel.id).await?;
        let items = store
            .schedule_between_with_ad_breaks(channel.id, from, to)
            .await?;
        if store.schedule_version(channel.id).await? == version {
            return Ok((version, items));
        }
    }
    Err(ApiError::Conflict(format!(
        "the schedule of {} is changing too fast to be read; try again",
        channel.slug
    )))
}

/// `[from, to)` from RFC 3339 text, or `None` after noting the problems.
pub(super) fn parse_window(
    from: &str,
    to: &str,
    problems: &mut Vec<Problem>,
) -> Option<(Timestamp, Timestamp)> {
    let from = parse_instant(from)
        .map_err(|error| problems.push(Problem::whole(format!("from: {error}"))))
        .ok();
    let to = parse_instant(to)
        .map_err(|error| problems.push(Problem::whole(format!("to: {error}"))))
        .ok();
    let (from, to) = (from?, to?);
    if to <= from {
        problems.push(Problem::whole(format!(
            "the window {} to {} is empty",
            from.to_rfc3339_millis(),
            to.to_rfc3339_millis()
        )));
        return None;
    }
    Some((from, to))
}

/// Checks `items` against `windows` (empty when they were malformed: `problems` says why),
/// refuses the whole edit with every problem (each passed through `locate`, which may turn an
/// item's index into a line), checks the lock horizon, and publishes.
#[allow(clippy::too_many_arguments)]
pub(super) async fn submit(
    state: &ScheduleApiState,
    channel: &Channel,
    headers: &HeaderMap,
    expected: i64,
    windows: &[(Timestamp, Timestamp)],
    items: &[ItemIn],
    mut problems: Vec<Problem>,
    locate: impl Fn(Problem) -> Problem,
) -> Result<Response, ApiError> {
    let indexed = check_entries(&state.store, items, windows, &mut problems).await?;
    if windows.is_empty() && problems.is_empty() {
        problems.push(Problem::whole("the edit names no window"));
    }
    if let Some(period) = channel.grid_repeat
        && problems.is_empty()
    {
        check_repeat_period(state, channel, period, windows, &indexed, &mut problems).await?;
    }
    let entries: Vec<ScheduleEntry> = indexed.into_iter().map(|(_, entry)| entry).collect();
    if !problems.is_empty() {
        return Err(ApiError::Invalid(
            problems.into_iter().map(locate).collect(),
        ));
    }
    let now = state.clock.now();
    let mut current: Vec<ScheduleEntry> = Vec::new();
    for (from, to) in windows {
        current.extend(
            state
                .store
                .schedule_between_with_ad_breaks(channel.id, *from, *to)
                .await?
                .into_iter()
                .map(entry_of),
        );
    }
    if let Some(change) = earliest_change(&current, &entries) {
        check_lock(state, channel, now, change).await?;
    }
    let author = author(headers);
    let version = state
        .store
        .publish_schedule_edit(&ScheduleEdit {
            channel: channel.id,
            expected_version: expected,
            windows,
            items: &entries,
            author: &author,
            now,
        })
        .await?;
    Ok(with_etag(version, Json(json!({ "version": version }))))
}

async fn list_versions(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let versions: Vec<Value> = state
        .store
        .published_versions(channel.id)
        .await?
        .into_iter()
        .map(|version| {
            json!({
                "version": version.version,
                "author": version.author,
                "published_at": version.published_at.to_rfc3339_millis(),
                "items": version.items.len(),
            })
        })
        .collect();
    Ok(Json(json!({ "versions": versions })).into_response())
}

async fn get_version(
    State(state): State<ScheduleApiState>,
    Path((slug, number)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let version = published(&state.store, &channel, number).await?;
    let items: Vec<ItemIn> = version.items.iter().map(item_in).collect();
    Ok(Json(json!({
        "version": version.version,
        "author": version.author,
        "published_at": version.published_at.to_rfc3339_millis(),
        "items": items,
    }))
    .into_response())
}

async fn restore_version(
    State(state): State<ScheduleApiState>,
    Path((slug, number)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let channel = channel(&state.store, &slug).await?;
    let expected = match if_match(&headers)? {
        Some(version) => version,
        None => state.store.schedule_version(channel.id).await?,
    };
    let restored =
        super::transfer::restore(&state, &channel, number, expected, &author(&headers)).await?;
    let body = if restored.unchanged {
        json!({ "version": restored.version, "unchanged": true })
    } else {
        json!({ "version": restored.version })
    };
    Ok(with_etag(restored.version, Json(body)))
}

// ---------------------------------------------------------------------------------------------
// Helpers

pub(super) async fn channel(store: &Store, slug: &str) -> Result<Channel, ApiError> {
    let parsed = ChannelSlug::parse(slug)
        .map_err(|_| ApiError::NotFound(format!("channel {slug:?} not found")))?;
    store
        .channel_by_slug(&parsed)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("channel {slug:?} not found")))
}

async fn published(
    store: &Store,
    channel: &Channel,
    number: i64,
) -> Result<onair_store::PublishedVersion, ApiError> {
    store
        .published_version(channel.id, number)
        .await?
        .ok_or_else(|| {
            ApiError::NotFound(format!(
                "channel {} has no published schedule version {number}",
                channel.slug
            ))
        })
}

/// A channel whose grid repeats airs only its first period (from its first item), again and
/// again: refuses items that would start after it, which the planner would cut.
async fn check_repeat_period(
    state: &ScheduleApiState,
    channel: &Channel,
    period: Ticks,
    windows: &[(Timestamp, Timestamp)],
    entries: &[(usize, ScheduleEntry)],
    problems: &mut Vec<Problem>,
) -> Result<(), ApiError> {
    let kept = state
        .store
        .schedule_between_with_ad_breaks(channel.id, Timestamp(i64::MIN), Timestamp(i64::MAX))
        .await?;
    let in_windows = |at: Timestamp| windows.iter().any(|(from, to)| at >= *from && at < *to);
    let origin = kept
        .iter()
        .map(|(item, _)| item.start)
        .filter(|start| !in_windows(*start))
        .chain(entries.iter().map(|(_, (item, _))| item.start))
        .min();
    let Some(origin) = origin else {
        return Ok(());
    };
    for (index, (item, _)) in entries {
        if item.start >= origin + period {
            problems.push(Problem::at(
                *index,
                format!(
                    "starts at {}, after the first period of the channel's repeating grid ({} from {}): it would never air; edit the first period, which repeats",
                    item.start.to_rfc3339_millis(),
                    period,
                    origin.to_rfc3339_millis()
                ),
            ));
        }
    }
    Ok(())
}

/// `now + window + margin`: what airs before it is frozen.
pub(super) async fn lock_horizon(
    state: &ScheduleApiState,
    channel: &Channel,
    now: Timestamp,
) -> Result<Timestamp, ApiError> {
    let ladder = state
        .store
        .ladder(channel.ladder_id)
        .await?
        .ok_or_else(|| {
            ApiError::Internal(format!(
                "channel {} refers to ladder {:?}, which does not exist",
                channel.slug, channel.ladder_id
            ))
        })?;
    let window = Ticks(ladder.segment_duration.0 * i64::from(channel.window_segments));
    Ok(now + window + state.lock_margin)
}

pub(super) async fn check_lock(
    state: &ScheduleApiState,
    channel: &Channel,
    now: Timestamp,
    change: Timestamp,
) -> Result<(), ApiError> {
    let horizon = lock_horizon(state, channel, now).await?;
    if change < horizon {
        return Err(ApiError::Locked {
            message: format!(
                "the edit changes what airs at {}, inside the lock horizon: the schedule of {} is frozen until {} (now, plus the playout window, plus the safety margin)",
                change.to_rfc3339_millis(),
                channel.slug,
                horizon.to_rfc3339_millis()
            ),
            horizon,
        });
    }
    Ok(())
}

/// Parses and checks the items, collecting every problem; returns the entries sorted by start,
/// each with its index in `items`.
pub(super) async fn check_entries(
    store: &Store,
    items: &[ItemIn],
    windows: &[(Timestamp, Timestamp)],
    problems: &mut Vec<Problem>,
) -> Result<Vec<(usize, ScheduleEntry)>, ApiError> {
    let mut ids: Vec<AssetId> = items.iter().map(|item| AssetId(item.asset_id)).collect();
    ids.sort();
    ids.dedup();
    let assets: HashMap<AssetId, (AssetState, Ticks)> = store
        .assets_by_ids(&ids)
        .await?
        .into_iter()
        .map(|asset| (asset.id, (asset.state, asset.duration)))
        .collect();
    let mut entries: Vec<(usize, ScheduleEntry, Option<Ticks>)> = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let start = match parse_instant(&item.start) {
            Ok(start) => Some(start),
            Err(error) => {
                problems.push(Problem::at(index, format!("start: {error}")));
                None
            }
        };
        if let Some(start) = start
            && !windows.is_empty()
            && !windows
                .iter()
                .any(|(from, to)| start >= *from && start < *to)
        {
            let windows: Vec<String> = windows
                .iter()
                .map(|(from, to)| {
                    format!("{} to {}", from.to_rfc3339_millis(), to.to_rfc3339_millis())
                })
                .collect();
            problems.push(Problem::at(
                index,
                format!(
                    "starts at {}, outside the window {}",
                    start.to_rfc3339_millis(),
                    windows.join(", ")
                ),
            ));
        }
        if item.title.trim().is_empty() {
            problems.push(Problem::at(index, "the title is empty"));
        }
        let duration = match assets.get(&AssetId(item.asset_id)) {
            None => {
                problems.push(Problem::at(
                    index,
                    format!("asset {} does not exist", item.asset_id),
                ));
                None
            }
            Some((state, _)) if *state != AssetState::Ready => {
                problems.push(Problem::at(
                    index,
                    format!(
                        "asset {} is {}: only ready assets can be scheduled",
                        item.asset_id,
                        state.as_str()
                    ),
                ));
                None
            }
            Some((_, duration)) => Some(*duration),
        };
        for (position, ad_break) in item.ad_breaks.iter().enumerate() {
            if ad_break.offset_ms < 0 {
                problems.push(Problem::at(
                    index,
                    format!(
                        "ad break {position} has a negative offset_ms {}",
                        ad_break.offset_ms
                    ),
                ));
            }
            if ad_break.duration_ms <= 0 {
                problems.push(Problem::at(
                    index,
                    format!(
                        "ad break {position} lasts {} ms: it must be positive",
                        ad_break.duration_ms
                    ),
                ));
            }
        }
        if let Some(start) = start {
            let breaks: Vec<NewAdBreak> = item
                .ad_breaks
                .iter()
                .map(|ad_break| NewAdBreak {
                    offset: Ticks::from_millis(ad_break.offset_ms),
                    duration: Ticks::from_millis(ad_break.duration_ms),
                })
                .collect();
            let aired = duration.map(|duration| {
                duration
                    + breaks
                        .iter()
                        .map(|ad_break| ad_break.duration)
                        .sum::<Ticks>()
            });
            entries.push((
                index,
                (
                    NewScheduleItem {
                        asset_id: AssetId(item.asset_id),
                        start,
                        hard_start: item.hard_start,
                        title: item.title.clone(),
                    },
                    breaks,
                ),
                aired,
            ));
        }
    }
    entries.sort_by_key(|(index, (item, _), _)| (item.start, *index));
    // Hard items that overlap: one starts before the one before it ends.
    let mut last_hard: Option<(usize, Timestamp, String)> = None;
    for (index, (item, _), aired) in &entries {
        if !item.hard_start {
            continue;
        }
        if let Some((first, end, title)) = &last_hard
            && item.start < *end
        {
            problems.push(Problem::at(
                *index,
                format!(
                    "hard item {:?} at {} overlaps hard item {title:?} (index {first}) by {}",
                    item.title,
                    item.start.to_rfc3339_millis(),
                    *end - item.start
                ),
            ));
        }
        if let Some(aired) = aired {
            last_hard = Some((*index, item.start + *aired, item.title.clone()));
        }
    }
    Ok(entries
        .into_iter()
        .map(|(index, entry, _)| (index, entry))
        .collect())
}

/// The start of the earliest item that differs between two schedules (each item with its ad
/// breaks), or `None` when they are the same.
pub(super) fn earliest_change(old: &[ScheduleEntry], new: &[ScheduleEntry]) -> Option<Timestamp> {
    let key = |(item, breaks): &ScheduleEntry| {
        let mut breaks: Vec<(i64, i64)> = breaks
            .iter()
            .map(|ad_break| (ad_break.offset.0, ad_break.duration.0))
            .collect();
        breaks.sort();
        (
            item.start,
            item.asset_id,
            item.hard_start,
            item.title.clone(),
            breaks,
        )
    };
    let mut old: Vec<_> = old.iter().map(key).collect();
    let mut new: Vec<_> = new.iter().map(key).collect();
    old.sort();
    new.sort();
    let mut position = 0;
    loop {
        match (old.get(position), new.get(position)) {
            (None, None) => return None,
            (Some(a), None) => return Some(a.0),
            (None, Some(b)) => return Some(b.0),
            (Some(a), Some(b)) if a != b => return Some(a.0.min(b.0)),
            _ => position += 1,
        }
    }
}

pub(super) fn entry_of(
    (item, breaks): (onair_domain::ScheduleItem, Vec<onair_domain::AdBreak>),
) -> ScheduleEntry {
    (
        NewScheduleItem {
            asset_id: item.asset_id,
            start: item.start,
            hard_start: item.hard_start,
            title: item.title,
        },
        breaks
            .into_iter()
            .map(|ad_break| NewAdBreak {
                offset: ad_break.offset,
                duration: ad_break.duration,
            })
            .collect(),
    )
}

pub(super) fn item_in((item, breaks): &ScheduleEntry) -> ItemIn {
    ItemIn {
        asset_id: item.asset_id.0,
        start: item.start.to_rfc3339_millis(),
        hard_start: item.hard_start,
        title: item.title.clone(),
        ad_breaks: breaks
            .iter()
            .map(|ad_break| BreakWire {
                offset_ms: ad_break.offset.as_millis(),
                duration_ms: ad_break.duration.as_millis(),
            })
            .collect(),
    }
}

/// An RFC 3339 instant.
pub fn parse_instant(text: &str) -> Result<Timestamp, String> {
    chrono::DateTime::parse_from_rfc3339(text.trim())
        .map(|at| Timestamp::from_datetime(at.to_utc()))
        .map_err(|error| format!("{text:?} is not an RFC 3339 instant ({error})"))
}

/// The version in `If-Match: "<n>"` (quotes optional, `W/` accepted).
fn if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(value) = headers.get(header::IF_MATCH) else {
        return Ok(None);
    };
    let text = value.to_str().unwrap_or_default().trim();
    let text = text.strip_prefix("W/").unwrap_or(text).trim_matches('"');
    text.parse().map(Some).map_err(|_| {
        ApiError::BadRequest(format!(
            "If-Match must name a schedule version, like \"3\", not {text:?}"
        ))
    })
}

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
