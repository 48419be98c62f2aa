//! The grid API: a channel's weekly templates, blocks, fill rules, ad policy, asset rights
//! windows and programme metadata, versioned with its schedule, and a preview of the plan they
//! make. The parts, their checks, versions, lock horizon and planning are the control plane's
//! ([`onair_control::grid`], whose module doc describes them); these handlers translate JSON
//! and refusals (422 for problems, each named by its path; 409 for a stale version or an edit
//! inside the lock horizon, with `lock_horizon`; 428 without a version; 400 for a body that is
//! not the JSON described).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/channels/{slug}/grid` | every part of the grid, the schedule version (`ETag`), the lock horizon, and which version wrote each part |
//! | `PUT /api/channels/{slug}/grid` | `{"version"?, "effective_from"?, "templates"?, "blocks"?, "fill"?, "ad_policy"?, "rights"?, "metadata"?}`: replaces the parts given, in one version; needs `If-Match: "<version>"` or `version` |
//! | `GET /api/channels/{slug}/grid/{part}` | one part (`templates`, `blocks`, `fill`, `ad_policy`, `rights`, `metadata`) |
//! | `PUT /api/channels/{slug}/grid/{part}` | the same body as `PUT …/grid`, carrying that part only |
//! | `GET /api/channels/{slug}/grid/versions` | the grid versions, newest first: author, instants, parts |
//! | `GET /api/channels/{slug}/grid/versions/{n}` | the parts version `n` wrote |
//! | `POST /api/channels/{slug}/grid/versions/{n}/restore` | makes the grid as it stood at version `n` current again (a new version) |
//! | `GET /api/channels/{slug}/plan?from=&to=` | the plan of `[from, to)` (default: now to now + 24 h, at most 31 days): items with their breaks, ad time per clock hour, and every problem (`at`: the instant it is about, when it has one) |
//!

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use onair_control::grid::part_kind;
use onair_control::grid::{GridChange, GridEdited, PlannedProgramme};
use onair_scheduler::grid::ProgrammeInfo;
use onair_store::grid::GridDocument;
use serde::Serialize;
use serde_json::{Value, json};

use super::error::ApiError;
use super::schedule::{
    ScheduleApiState, WindowQuery, author, if_match, named_version, query_window, with_etag,
};

/// The grid routes, ready to merge into the server's router (same state and token as the
/// schedule API).
pub fn router(state: ScheduleApiState) -> Router {
    Router::new()
        .route("/api/channels/{slug}/grid", get(get_grid).put(put_grid))
        .route("/api/channels/{slug}/grid/versions", get(list_versions))
        .route(
            "/api/channels/{slug}/grid/versions/{version}",
            get(get_version),
        )
        .route(
            "/api/channels/{slug}/grid/versions/{version}/restore",
            post(restore_version),
        )
        .route(
            "/api/channels/{slug}/grid/{part}",
            get(get_part).put(put_part),
        )
        .route("/api/channels/{slug}/plan", get(preview_plan))
        .with_state(state)
}

/// Who wrote a part last, and when it applies.
fn document_out(document: &GridDocument) -> Value {
    json!({
        "part": document.kind.as_str(),
        "version": document.version,
        "author": document.author,
        "published_at": document.published_at.to_rfc3339_millis(),
        "effective_from": document.effective_from.to_rfc3339_millis(),
    })
}

async fn get_grid(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let view = state.control().grid(&slug).await?;
    let mut body = json!({
        "channel": view.channel.slug.as_str(),
        "version": view.version,
        "lock_horizon": view.lock_horizon.to_rfc3339_millis(),
        "documents": view.latest.iter().map(document_out).collect::<Vec<_>>(),
    });
    for kind in onair_store::grid::GridKind::ALL {
        body[kind.as_str()] = view.grid.part(kind);
    }
    Ok(with_etag(view.version, Json(body)))
}

async fn get_part(
    State(state): State<ScheduleApiState>,
    Path((slug, part)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let kind = part_kind(&part)?;
    let view = state.control().grid(&slug).await?;
    let document = view
        .latest
        .iter()
        .find(|document| document.kind == kind)
        .map(document_out);
    let mut body = json!({
        "channel": view.channel.slug.as_str(),
        "version": view.version,
        "lock_horizon": view.lock_horizon.to_rfc3339_millis(),
        "document": document,
    });
    body[kind.as_str()] = view.grid.part(kind);
    Ok(with_etag(view.version, Json(body)))
}

async fn put_grid(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    headers: HeaderMap,
    body: Result<Json<GridChange>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(change) = body?;
    let expected = named_version(&headers, change.version)?;
    let edited = state
        .control()
        .edit_grid(&slug, expected, change, None, &author(&headers))
        .await?;
    Ok(edited_response(edited))
}

async fn put_part(
    State(state): State<ScheduleApiState>,
    Path((slug, part)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Json<GridChange>, JsonRejection>,
) -> Result<Response, ApiError> {
    let kind = part_kind(&part)?;
    let Json(change) = body?;
    let expected = named_version(&headers, change.version)?;
    let edited = state
        .control()
        .edit_grid(&slug, expected, change, Some(kind), &author(&headers))
        .await?;
    Ok(edited_response(edited))
}

fn edited_response(edited: GridEdited) -> Response {
    let body = match edited.effective_from {
        Some(effective_from) if !edited.unchanged => json!({
            "version": edited.version,
            "effective_from": effective_from.to_rfc3339_millis(),
            "first_change": edited.first_change.map(|at| at.to_rfc3339_millis()),
        }),
        _ => json!({ "version": edited.version, "unchanged": true }),
    };
    with_etag(edited.version, Json(body))
}

async fn list_versions(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let versions: Vec<Value> = state
        .control()
        .grid_versions(&slug)
        .await?
        .into_iter()
        .map(|version| {
            json!({
                "version": version.version,
                "author": version.author,
                "published_at": version.published_at.to_rfc3339_millis(),
                "effective_from": version.effective_from.to_rfc3339_millis(),
                "parts": version.parts.iter().map(|(kind, _)| kind.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({ "versions": versions })).into_response())
}

async fn get_version(
    State(state): State<ScheduleApiState>,
    Path((slug, number)): Path<(String, i64)>,
) -> Result<Response, ApiError> {
    let version = state.control().grid_version(&slug, number).await?;
    let mut body = json!({
        "version": version.version,
        "author": version.author,
        "published_at": version.published_at.to_rfc3339_millis(),
        "effective_from": version.effective_from.to_rfc3339_millis(),
    });
    for (kind, document) in version.parts {
        body[kind.as_str()] = document;
    }
    Ok(Json(body).into_response())
}

async fn restore_version(
    State(state): State<ScheduleApiState>,
    Path((slug, number)): Path<(String, i64)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let edited = state
        .control()
        .restore_grid(&slug, number, expected, &author(&headers))
        .await?;
    Ok(edited_response(edited))
}

#[derive(Debug, Serialize)]
struct BreakOut {
    start: String,
    duration_ms: i64,
}

#[derive(Debug, Serialize)]
struct PlannedOut {
    start: String,
    end: String,
    title: String,
    asset_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_source: Option<String>,
    info: ProgrammeInfo,
    breaks: Vec<BreakOut>,
}

impl PlannedOut {
    fn of(programme: PlannedProgramme) -> PlannedOut {
        PlannedOut {
            start: programme.start.to_rfc3339_millis(),
            end: programme.end.to_rfc3339_millis(),
            title: programme.title,
            asset_id: programme.asset_id.0,
            id: programme.id.map(|id| id.0),
            live_source: programme.live_source,
            info: programme.info,
            breaks: programme
                .breaks
                .iter()
                .map(|planned| BreakOut {
                    start: planned.start.to_rfc3339_millis(),
                    duration_ms: planned.duration.as_millis(),
                })
                .collect(),
        }
    }
}

async fn preview_plan(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    Query(query): Query<WindowQuery>,
) -> Result<Response, ApiError> {
    let control = state.control();
    let (from, to) = query_window(&query, &control)?;
    let preview = control.preview_plan(&slug, from, to).await?;
    let items: Vec<PlannedOut> = preview.items.into_iter().map(PlannedOut::of).collect();
    let ads_per_hour: Vec<Value> = preview
        .ads_per_hour
        .iter()
        .map(|(hour, ads)| json!({"hour": hour.to_rfc3339_millis(), "ads_ms": ads.as_millis()}))
        .collect();
    // Each problem as the scheduler serialises it, with the instant it is about when it has one.
    let problems: Vec<Value> = preview
        .problems
        .iter()
        .map(|problem| {
            let mut out = json!(problem);
            if let Some(at) = problem.at() {
                out["at"] = json!(at.to_rfc3339_millis());
            }
            out
        })
        .collect();
    Ok(with_etag(
        preview.version,
        Json(json!({
            "channel": preview.channel.slug.as_str(),
            "version": preview.version,
            "from": from.to_rfc3339_millis(),
            "to": to.to_rfc3339_millis(),
            "planned_from": preview.planned_from.to_rfc3339_millis(),
            "planned_to": preview.planned_to.to_rfc3339_millis(),
            "items": items,
            "ads_per_hour": ads_per_hour,
            "problems": problems,
            "notes": preview.notes,
        })),
    ))
}

#[cfg(test)]
mod tests;
