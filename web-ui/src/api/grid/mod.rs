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

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use onair_control::grid::part_kind;
use onair_control::grid::{
    AdPolicyDoc, BlockDoc, FillDoc, GridChange, GridEdited, InfoDoc, MetadataDoc, PlannedProgramme,
    RightsDoc, TemplateDoc,
};
use onair_scheduler::grid::ProgrammeInfo;
use onair_store::grid::GridDocument;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody, path_value};
use super::schedule::{
    ScheduleApiState, WindowQuery, author, if_match, named_version, query_window, with_etag,
};

/// The grid's parts, each the JSON document the control plane keeps
/// ([`onair_control::grid::document`]); those a read does not carry are left out.
#[derive(Debug, Default, Serialize, ToSchema)]
struct GridParts {
    /// Weekly templates.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<TemplateDoc>>)]
    templates: Option<Value>,
    /// Blocks by name.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<BTreeMap<String, BlockDoc>>)]
    blocks: Option<Value>,
    /// Fill rules (playlists, categories).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<FillDoc>)]
    fill: Option<Value>,
    /// The ad policy (`null`: none).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<AdPolicyDoc>)]
    ad_policy: Option<Value>,
    /// Asset rights windows.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<RightsDoc>>)]
    rights: Option<Value>,
    /// Programme metadata.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<MetadataDoc>>)]
    metadata: Option<Value>,
}

impl GridParts {
    fn set(&mut self, kind: onair_store::grid::GridKind, document: Value) {
        use onair_store::grid::GridKind;
        let slot = match kind {
            GridKind::Templates => &mut self.templates,
            GridKind::Blocks => &mut self.blocks,
            GridKind::Fill => &mut self.fill,
            GridKind::AdPolicy => &mut self.ad_policy,
            GridKind::Rights => &mut self.rights,
            GridKind::Metadata => &mut self.metadata,
        };
        *slot = Some(document);
    }
}

/// A part as stored: which version wrote it, by whom, when it applies.
#[derive(Debug, Serialize, ToSchema)]
struct DocumentOut {
    /// `templates`, `blocks`, `fill`, `ad_policy`, `rights` or `metadata`.
    part: String,
    version: i64,
    author: String,
    published_at: String,
    effective_from: String,
}

/// A channel's whole grid.
#[derive(Debug, Serialize, ToSchema)]
struct GridOut {
    channel: String,
    version: i64,
    lock_horizon: String,
    documents: Vec<DocumentOut>,
    #[serde(flatten)]
    parts: GridParts,
}

/// One part of a channel's grid.
#[derive(Debug, Serialize, ToSchema)]
struct GridPartOut {
    channel: String,
    version: i64,
    lock_horizon: String,
    /// None while the part was never written.
    document: Option<DocumentOut>,
    #[serde(flatten)]
    parts: GridParts,
}

/// What a grid edit or restore published (`unchanged`: nothing to change).
#[derive(Debug, Serialize, ToSchema)]
struct GridEditedOut {
    version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    effective_from: Option<String>,
    /// The first instant the plan changes at, if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    first_change: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    unchanged: bool,
}

/// A grid version, as listed.
#[derive(Debug, Serialize, ToSchema)]
struct GridVersionSummary {
    version: i64,
    author: String,
    published_at: String,
    effective_from: String,
    parts: Vec<String>,
}

#[derive(Debug, Serialize, ToSchema)]
struct GridVersionsOut {
    versions: Vec<GridVersionSummary>,
}

/// A grid version with the parts it wrote.
#[derive(Debug, Serialize, ToSchema)]
struct GridVersionOut {
    version: i64,
    author: String,
    published_at: String,
    effective_from: String,
    #[serde(flatten)]
    parts: GridParts,
}

/// Ad time in a clock hour of the channel's zone.
#[derive(Debug, Serialize, ToSchema)]
struct AdsInHour {
    hour: String,
    ads_ms: i64,
}

/// The plan of a window.
#[derive(Debug, Serialize, ToSchema)]
struct PlanOut {
    channel: String,
    version: i64,
    from: String,
    to: String,
    planned_from: String,
    planned_to: String,
    items: Vec<PlannedOut>,
    ads_per_hour: Vec<AdsInHour>,
    problems: Vec<ProblemOut>,
    notes: Vec<String>,
}

/// A problem of the plan, as the scheduler writes it.
#[derive(Debug, Serialize, ToSchema)]
struct ProblemOut {
    /// The stage that found it: `grid`, `template`, `fill`, `ad_policy` or `plan`.
    stage: &'static str,
    /// The problem's kind, stable and unique across stages (`gap_filled`, `unknown_block`, …):
    /// what tools match on.
    kind: &'static str,
    /// What it is, for people.
    message: String,
    /// The instant it is about (RFC 3339), when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    at: Option<String>,
}

/// A grid edit: the parts given replace the current ones, in one version. The parts are the
/// documents `GET /api/channels/{slug}/grid` answers.
#[derive(ToSchema)]
#[allow(dead_code)]
struct GridChangeIn {
    version: Option<i64>,
    /// RFC 3339; by default as soon as the lock horizon allows.
    effective_from: Option<String>,
    #[schema(value_type = Option<Vec<TemplateDoc>>)]
    templates: Option<Value>,
    #[schema(value_type = Option<BTreeMap<String, BlockDoc>>)]
    blocks: Option<Value>,
    #[schema(value_type = Option<FillDoc>)]
    fill: Option<Value>,
    #[schema(value_type = Option<AdPolicyDoc>)]
    ad_policy: Option<Value>,
    #[schema(value_type = Option<Vec<RightsDoc>>)]
    rights: Option<Value>,
    #[schema(value_type = Option<Vec<MetadataDoc>>)]
    metadata: Option<Value>,
}

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
fn document_out(document: &GridDocument) -> DocumentOut {
    DocumentOut {
        part: document.kind.as_str().to_owned(),
        version: document.version,
        author: document.author.clone(),
        published_at: document.published_at.to_rfc3339_millis(),
        effective_from: document.effective_from.to_rfc3339_millis(),
    }
}

#[utoipa::path(get, path = "/api/channels/{slug}/grid", tag = "grid",
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "Every part, the schedule version (`ETag`), the lock horizon, and which version wrote each part", body = GridOut),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn get_grid(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let view = state.control().grid(&slug).await?;
    let mut parts = GridParts::default();
    for kind in onair_store::grid::GridKind::ALL {
        parts.set(kind, view.grid.part(kind));
    }
    let body = GridOut {
        channel: view.channel.slug.to_string(),
        version: view.version,
        lock_horizon: view.lock_horizon.to_rfc3339_millis(),
        documents: view.latest.iter().map(document_out).collect(),
        parts,
    };
    Ok(with_etag(view.version, Json(body)))
}

#[utoipa::path(get, path = "/api/channels/{slug}/grid/{part}", tag = "grid",
    params(("slug" = String, Path, description = "The channel"),
        ("part" = String, Path, description = "`templates`, `blocks`, `fill`, `ad_policy`, `rights` or `metadata`")),
    responses(
        (status = 200, description = "The part (`ETag`)", body = GridPartOut),
        (status = 400, description = "No such part", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
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
    let mut parts = GridParts::default();
    parts.set(kind, view.grid.part(kind));
    let body = GridPartOut {
        channel: view.channel.slug.to_string(),
        version: view.version,
        lock_horizon: view.lock_horizon.to_rfc3339_millis(),
        document,
        parts,
    };
    Ok(with_etag(view.version, Json(body)))
}

#[utoipa::path(put, path = "/api/channels/{slug}/grid", tag = "grid", request_body = GridChangeIn,
    params(("slug" = String, Path, description = "The channel"),
        ("If-Match" = Option<String>, Header, description = "The schedule version the edit was made on (or the body's `version`)"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    responses(
        (status = 200, description = "The version published, or `unchanged`", body = GridEditedOut),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "A stale version, or an edit inside the lock horizon", body = ErrorBody),
        (status = 422, description = "Every problem, by path", body = ErrorBody),
        (status = 428, description = "No version named", body = ErrorBody),
    ))]
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

#[utoipa::path(put, path = "/api/channels/{slug}/grid/{part}", tag = "grid", request_body = GridChangeIn,
    params(("slug" = String, Path, description = "The channel"),
        ("part" = String, Path, description = "`templates`, `blocks`, `fill`, `ad_policy`, `rights` or `metadata`: the body carries that part only"),
        ("If-Match" = Option<String>, Header, description = "The schedule version the edit was made on (or the body's `version`)"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    responses(
        (status = 200, description = "The version published, or `unchanged`", body = GridEditedOut),
        (status = 400, description = "No such part, or a body that is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "A stale version, or an edit inside the lock horizon", body = ErrorBody),
        (status = 422, description = "Every problem, by path", body = ErrorBody),
        (status = 428, description = "No version named", body = ErrorBody),
    ))]
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
        Some(effective_from) if !edited.unchanged => GridEditedOut {
            version: edited.version,
            effective_from: Some(effective_from.to_rfc3339_millis()),
            first_change: edited.first_change.map(|at| at.to_rfc3339_millis()),
            unchanged: false,
        },
        _ => GridEditedOut {
            version: edited.version,
            effective_from: None,
            first_change: None,
            unchanged: true,
        },
    };
    with_etag(edited.version, Json(body))
}

#[utoipa::path(get, path = "/api/channels/{slug}/grid/versions", tag = "grid",
    params(("slug" = String, Path, description = "The channel")),
    responses(
        (status = 200, description = "The grid versions, newest first", body = GridVersionsOut),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn list_versions(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
) -> Result<Response, ApiError> {
    let versions: Vec<GridVersionSummary> = state
        .control()
        .grid_versions(&slug)
        .await?
        .into_iter()
        .map(|version| GridVersionSummary {
            version: version.version,
            author: version.author,
            published_at: version.published_at.to_rfc3339_millis(),
            effective_from: version.effective_from.to_rfc3339_millis(),
            parts: version
                .parts
                .iter()
                .map(|(kind, _)| kind.as_str().to_owned())
                .collect(),
        })
        .collect();
    Ok(Json(GridVersionsOut { versions }).into_response())
}

#[utoipa::path(get, path = "/api/channels/{slug}/grid/versions/{version}", tag = "grid",
    params(("slug" = String, Path, description = "The channel"), ("version" = i64, Path, description = "The version")),
    responses(
        (status = 200, description = "The parts the version wrote", body = GridVersionOut),
        (status = 400, description = "The version is not a whole number", body = ErrorBody),
        (status = 404, description = "No such channel or version", body = ErrorBody),
    ))]
async fn get_version(
    State(state): State<ScheduleApiState>,
    path: Result<Path<(String, i64)>, PathRejection>,
) -> Result<Response, ApiError> {
    let (slug, number) = path_value(path, "version", "a whole number")?;
    let version = state.control().grid_version(&slug, number).await?;
    let mut parts = GridParts::default();
    for (kind, document) in version.parts {
        parts.set(kind, document);
    }
    let body = GridVersionOut {
        version: version.version,
        author: version.author,
        published_at: version.published_at.to_rfc3339_millis(),
        effective_from: version.effective_from.to_rfc3339_millis(),
        parts,
    };
    Ok(Json(body).into_response())
}

#[utoipa::path(post, path = "/api/channels/{slug}/grid/versions/{version}/restore", tag = "grid",
    params(("slug" = String, Path, description = "The channel"), ("version" = i64, Path, description = "The version made current again"),
        ("If-Match" = Option<String>, Header, description = "The current schedule version"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who publishes (else `api`)")),
    responses(
        (status = 200, description = "The version published, or `unchanged`", body = GridEditedOut),
        (status = 400, description = "The version is not a whole number, or a malformed If-Match", body = ErrorBody),
        (status = 404, description = "No such channel or version", body = ErrorBody),
        (status = 409, description = "A stale version, or an edit inside the lock horizon", body = ErrorBody),
        (status = 428, description = "No version named", body = ErrorBody),
    ))]
async fn restore_version(
    State(state): State<ScheduleApiState>,
    path: Result<Path<(String, i64)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let (slug, number) = path_value(path, "version", "a whole number")?;
    let expected = if_match(&headers)?;
    let edited = state
        .control()
        .restore_grid(&slug, number, expected, &author(&headers))
        .await?;
    Ok(edited_response(edited))
}

/// A planned break.
#[derive(Debug, Serialize, ToSchema)]
struct BreakOut {
    start: String,
    duration_ms: i64,
}

/// A planned programme.
#[derive(Debug, Serialize, ToSchema)]
struct PlannedOut {
    start: String,
    end: String,
    title: String,
    asset_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_source: Option<String>,
    /// What the EPG shows of it (`title`, `episode_title`, …).
    #[schema(value_type = InfoDoc)]
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

#[utoipa::path(get, path = "/api/channels/{slug}/plan", tag = "grid",
    params(("slug" = String, Path, description = "The channel"), WindowQuery),
    responses(
        (status = 200, description = "The plan of the window (at most 31 days): items with their breaks, ad time per clock hour, every problem", body = PlanOut),
        (status = 400, description = "A malformed, reversed or too long window", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
    ))]
async fn preview_plan(
    State(state): State<ScheduleApiState>,
    Path(slug): Path<String>,
    query: Result<Query<WindowQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let control = state.control();
    let (from, to) = query_window(&query, &control)?;
    let preview = control.preview_plan(&slug, from, to).await?;
    let items: Vec<PlannedOut> = preview.items.into_iter().map(PlannedOut::of).collect();
    let ads_per_hour: Vec<AdsInHour> = preview
        .ads_per_hour
        .iter()
        .map(|(hour, ads)| AdsInHour {
            hour: hour.to_rfc3339_millis(),
            ads_ms: ads.as_millis(),
        })
        .collect();
    let problems: Vec<ProblemOut> = preview
        .problems
        .iter()
        .map(|problem| ProblemOut {
            stage: problem.stage(),
            kind: problem.kind(),
            message: problem.to_string(),
            at: problem.at().map(|at| at.to_rfc3339_millis()),
        })
        .collect();
    Ok(with_etag(
        preview.version,
        Json(PlanOut {
            channel: preview.channel.slug.to_string(),
            version: preview.version,
            from: from.to_rfc3339_millis(),
            to: to.to_rfc3339_millis(),
            planned_from: preview.planned_from.to_rfc3339_millis(),
            planned_to: preview.planned_to.to_rfc3339_millis(),
            items,
            ads_per_hour,
            problems,
            notes: preview.notes,
        }),
    ))
}

#[cfg(test)]
mod tests;
