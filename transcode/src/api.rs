//! The farm's HTTP API: create transcode jobs (from a URL, a file in the import folder, or an
//! upload streamed to disk) and report on jobs and assets.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/assets` | `{"title"?, "url" \| "path", "ladder"?}` → 202 `{asset_id, job_id}` |
//! | `POST /api/assets/upload?title=&ladder=&name=` | the raw file as the body → 202 |
//! | `GET /api/assets/{id}` | state, duration, renditions |
//! | `GET /api/jobs/{id}` | state, progress, attempts, error, log tail |
//! | `POST /api/jobs/{id}/cancel` | cancels a queued or running job (and fails its asset) |
//!
//! Every error is `{"error": "…"}` with a 4xx or 5xx status; a 5xx says no more than that
//! something failed on the server (the details go to the log). Who may call each route is not
//! this module's to say: `serve` puts one access guard in front of every route it answers.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post};
use axum::{Json, Router};
use onair_domain::{Asset, AssetId, AssetState, Job, JobId, JobState};
use onair_store::{Store, StoreError};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

use crate::FarmSettings;
use crate::job::{Enqueued, NewTranscode, Source, TranscodeJob, enqueue, resolve_ladder};
use crate::source::{SourceError, check_url, resolve_import, save_upload, too_large};

/// What the API's handlers share.
#[derive(Clone)]
pub struct ApiState {
    pub store: Store,
    pub settings: Arc<FarmSettings>,
}

impl std::fmt::Debug for ApiState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiState")
            .field("store", &self.store)
            .field("settings", &self.settings)
            .finish()
    }
}

/// The `/api` routes, ready to merge into the server's router.
pub fn router(state: ApiState) -> Router {
    Router::new()
        .route("/api/assets", post(create_asset))
        .route("/api/assets/upload", post(upload_asset))
        .route("/api/assets/{id}", get(get_asset))
        .route("/api/jobs/{id}", get(get_job))
        .route("/api/jobs/{id}/cancel", post(cancel_job))
        .route("/api", any(no_such_route))
        .route("/api/{*rest}", any(no_such_route))
        .with_state(state)
}

/// The farm's part of the API's OpenAPI document (`web-ui` merges it into the whole).
#[derive(OpenApi)]
#[openapi(paths(
    create_asset,
    upload_asset,
    get_asset,
    get_job,
    cancel_job,
    crate::uploads::create_upload,
    crate::uploads::get_upload,
    crate::uploads::append_chunk,
    crate::uploads::delete_upload,
    crate::uploads::complete_upload,
))]
struct FarmApi;

/// The OpenAPI description of [`router`]'s and [`crate::uploads::router`]'s routes.
pub fn openapi() -> utoipa::openapi::OpenApi {
    FarmApi::openapi()
}

// ---------------------------------------------------------------------------------------------
// Errors

/// What the farm's routes answer when they refuse: the message, and for a 409 about an
/// upload's offset, the offset to resume from.
#[derive(Debug, Serialize, ToSchema)]
pub struct FarmError {
    pub error: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
}

/// An API failure: a status and a message for the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    BadRequest(String),
    NotFound(String),
    Conflict(String),
    TooLarge(String),
    /// Logged in full; the caller learns only that the server failed.
    Internal(String),
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = self.status();
        let message = match self {
            ApiError::BadRequest(message)
            | ApiError::NotFound(message)
            | ApiError::Conflict(message)
            | ApiError::TooLarge(message) => message,
            ApiError::Internal(detail) => {
                tracing::error!(%detail, "API request failed");
                "the server failed to handle the request; the details are in its log".to_owned()
            }
        };
        let body = FarmError {
            error: message,
            offset: None,
        };
        (status, Json(body)).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        match error {
            StoreError::NotFound(_) => ApiError::NotFound(error.to_string()),
            StoreError::Conflict(message) => ApiError::Conflict(message),
            StoreError::Invalid(message) => ApiError::BadRequest(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<SourceError> for ApiError {
    fn from(error: SourceError) -> ApiError {
        match error {
            SourceError::Invalid(message)
            | SourceError::Refused(message)
            | SourceError::Unavailable(message) => ApiError::BadRequest(message),
            SourceError::TooLarge(message) => ApiError::TooLarge(message),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

/// A store error from resolving a ladder the request named: a missing one is the caller's.
pub(crate) fn ladder_error(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound(what) => ApiError::BadRequest(format!("{what} not found")),
        other => other.into(),
    }
}

fn path_id(id: Result<Path<i64>, PathRejection>, what: &str) -> Result<i64, ApiError> {
    id.map(|Path(id)| id)
        .map_err(|_| ApiError::BadRequest(format!("{what} ids are whole numbers")))
}

async fn no_such_route() -> ApiError {
    ApiError::NotFound("no such API route".to_owned())
}

// ---------------------------------------------------------------------------------------------
// Creating jobs

/// `POST /api/assets`: a URL or a file in the import folder (one of them), and the ladder
/// (the farm's default when none).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreateAsset {
    title: Option<String>,
    url: Option<String>,
    path: Option<String>,
    ladder: Option<String>,
}

#[utoipa::path(post, path = "/api/assets", tag = "assets", request_body = CreateAsset,
    responses(
        (status = 202, description = "The asset, processing, and its transcode job", body = Created),
        (status = 400, description = "Neither or both of url and path, a refused URL or path, an unknown ladder, or a body that is not the JSON described", body = FarmError),
    ))]
async fn create_asset(
    State(state): State<ApiState>,
    body: Result<Json<CreateAsset>, JsonRejection>,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Json(request) = body.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let source = match (request.url, request.path) {
        (Some(url), None) => {
            check_url(url.trim(), state.settings.allow_private_urls)?;
            Source::Url {
                url: url.trim().to_owned(),
            }
        }
        (None, Some(path)) => Source::Import {
            path: resolve_import(state.settings.import_dir.as_deref(), &path)?,
        },
        _ => {
            return Err(ApiError::BadRequest(
                "give either \"url\" or \"path\" (a file in the import folder); to send a file, \
                 POST it to /api/assets/upload"
                    .to_owned(),
            ));
        }
    };
    let enqueued = enqueue(
        &state.store,
        &state.settings,
        NewTranscode {
            title: request.title,
            source,
            ladder: request.ladder,
        },
    )
    .await
    .map_err(ladder_error)?;
    Ok(created(enqueued))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
struct UploadQuery {
    title: Option<String>,
    ladder: Option<String>,
    /// The file's name, for messages and the default title.
    name: Option<String>,
}

/// `POST /api/assets/upload`: the body is the file, streamed to disk.
#[utoipa::path(post, path = "/api/assets/upload", tag = "assets", params(UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The media file"),
    responses(
        (status = 202, description = "The asset, processing, and its transcode job", body = Created),
        (status = 400, description = "An unknown ladder or a malformed query", body = FarmError),
        (status = 413, description = "Larger than the farm takes", body = FarmError),
    ))]
async fn upload_asset(
    State(state): State<ApiState>,
    query: Result<Query<UploadQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<(StatusCode, Json<Created>), ApiError> {
    let Query(query) = query.map_err(|rejection| ApiError::BadRequest(rejection.body_text()))?;
    let limit = state.settings.max_upload_size;
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large("the upload", limit).into());
    }
    // Refuse a ladder that does not exist before taking the file.
    let ladder_name = query
        .ladder
        .clone()
        .unwrap_or_else(|| state.settings.default_ladder.clone());
    resolve_ladder(&state.store, &ladder_name)
        .await
        .map_err(ladder_error)?;

    let saved = save_upload(body.into_data_stream(), &state.settings.incoming_dir, limit).await?;
    let source = Source::Upload {
        path: saved.path.clone(),
        name: query.name.filter(|name| !name.trim().is_empty()),
    };
    let enqueued = enqueue(
        &state.store,
        &state.settings,
        NewTranscode {
            title: query.title,
            source,
            ladder: Some(ladder_name),
        },
    )
    .await;
    match enqueued {
        Ok(enqueued) => Ok(created(enqueued)),
        Err(error) => {
            let _ = tokio::fs::remove_file(&saved.path).await;
            Err(ladder_error(error))
        }
    }
}

/// A transcode job queued, and where to follow it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Created {
    #[schema(value_type = i64)]
    asset_id: AssetId,
    #[schema(value_type = i64)]
    job_id: JobId,
    /// Where to follow the job and the asset.
    job_url: String,
    asset_url: String,
}

pub(crate) fn created(enqueued: Enqueued) -> (StatusCode, Json<Created>) {
    (
        StatusCode::ACCEPTED,
        Json(Created {
            asset_id: enqueued.asset_id,
            job_id: enqueued.job_id,
            job_url: format!("/api/jobs/{}", enqueued.job_id.0),
            asset_url: format!("/api/assets/{}", enqueued.asset_id.0),
        }),
    )
}

// ---------------------------------------------------------------------------------------------
// Jobs

/// A job as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
pub struct JobView {
    pub id: i64,
    pub kind: &'static str,
    /// `queued`, `running`, `done`, `failed` or `cancelled`.
    #[schema(value_type = String)]
    pub state: JobState,
    pub progress: u8,
    pub attempts: u32,
    pub error: Option<String>,
    /// The last lines its workers reported: claims, downloads, failures.
    pub log: String,
    #[schema(value_type = Option<i64>)]
    pub asset_id: Option<AssetId>,
    pub created_at: String,
    pub updated_at: String,
}

async fn job_view(store: &Store, job: Job) -> Result<JobView, ApiError> {
    let log = store.job_log_tail(job.id).await?;
    Ok(JobView {
        id: job.id.0,
        kind: job.kind.as_str(),
        state: job.state,
        progress: job.progress_percent,
        attempts: job.attempts,
        error: job.error,
        log,
        asset_id: TranscodeJob::from_json(&job.payload)
            .ok()
            .map(|payload| payload.asset_id),
        created_at: job.created_at.to_rfc3339_millis(),
        updated_at: job.updated_at.to_rfc3339_millis(),
    })
}

async fn find_job(store: &Store, id: i64) -> Result<Job, ApiError> {
    store
        .job(JobId(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("job {id} not found")))
}

#[utoipa::path(get, path = "/api/jobs/{id}", tag = "assets",
    params(("id" = i64, Path, description = "The job")),
    responses(
        (status = 200, description = "The job: state, progress, attempts, error, log tail", body = JobView),
        (status = 400, description = "The id is not a whole number", body = FarmError),
        (status = 404, description = "No such job", body = FarmError),
    ))]
async fn get_job(
    State(state): State<ApiState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<JobView>, ApiError> {
    let id = path_id(id, "job")?;
    let job = find_job(&state.store, id).await?;
    Ok(Json(job_view(&state.store, job).await?))
}

#[utoipa::path(post, path = "/api/jobs/{id}/cancel", tag = "assets",
    params(("id" = i64, Path, description = "The job")),
    responses(
        (status = 200, description = "The job, cancelled (and its asset failed)", body = JobView),
        (status = 400, description = "The id is not a whole number", body = FarmError),
        (status = 404, description = "No such job", body = FarmError),
        (status = 409, description = "The job already ended", body = FarmError),
    ))]
async fn cancel_job(
    State(state): State<ApiState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<JobView>, ApiError> {
    let id = path_id(id, "job")?;
    let before = find_job(&state.store, id).await?;
    state.store.cancel_job(JobId(id), crate::now()).await?;
    if let Ok(payload) = TranscodeJob::from_json(&before.payload) {
        match state
            .store
            .fail_asset(payload.asset_id, "the job was cancelled")
            .await
        {
            Ok(()) | Err(StoreError::Conflict(_)) | Err(StoreError::NotFound(_)) => {}
            Err(error) => return Err(error.into()),
        }
        // A running job's worker cleans up after itself; a queued one has no worker.
        if before.state == JobState::Queued
            && let Source::Upload { path, .. } = &payload.source
        {
            let _ = tokio::fs::remove_file(path).await;
        }
    }
    let job = find_job(&state.store, id).await?;
    Ok(Json(job_view(&state.store, job).await?))
}

// ---------------------------------------------------------------------------------------------
// Assets

/// An asset as the API shows it: segments are counted, not listed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AssetView {
    #[schema(value_type = i64)]
    pub id: AssetId,
    pub title: String,
    pub source: String,
    /// `processing`, `ready` or `failed`.
    #[schema(value_type = String)]
    pub state: AssetState,
    pub error: Option<String>,
    pub ladder_id: i64,
    pub duration_seconds: f64,
    pub duration_ticks: i64,
    pub renditions: Vec<RenditionView>,
    /// Where the origin serves the poster JPEG, once published.
    pub poster_url: Option<String>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RenditionView {
    pub rung: String,
    pub packaging: &'static str,
    pub codecs: String,
    pub width: u32,
    pub height: u32,
    pub peak_bandwidth: u32,
    pub average_bandwidth: u32,
    pub segments: usize,
}

fn asset_view(asset: Asset, error: Option<String>, poster_path: Option<String>) -> AssetView {
    AssetView {
        poster_url: poster_path.map(|path| format!("/media/{path}")),
        id: asset.id,
        title: asset.title,
        source: asset.source,
        state: asset.state,
        error,
        ladder_id: asset.ladder_id.0,
        duration_seconds: asset.duration.as_secs_f64(),
        duration_ticks: asset.duration.0,
        renditions: asset
            .renditions
            .into_iter()
            .map(|rendition| RenditionView {
                rung: rendition.rung,
                packaging: rendition.packaging.as_str(),
                codecs: rendition.codecs,
                width: rendition.width,
                height: rendition.height,
                peak_bandwidth: rendition.peak_bandwidth,
                average_bandwidth: rendition.average_bandwidth,
                segments: rendition.segments.len(),
            })
            .collect(),
    }
}

#[utoipa::path(get, path = "/api/assets/{id}", tag = "assets",
    params(("id" = i64, Path, description = "The asset")),
    responses(
        (status = 200, description = "The asset: state, duration, renditions", body = AssetView),
        (status = 400, description = "The id is not a whole number", body = FarmError),
        (status = 404, description = "No such asset", body = FarmError),
    ))]
async fn get_asset(
    State(state): State<ApiState>,
    id: Result<Path<i64>, PathRejection>,
) -> Result<Json<AssetView>, ApiError> {
    let id = path_id(id, "asset")?;
    let asset = state
        .store
        .asset(AssetId(id))
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("asset {id} not found")))?;
    let error = if asset.state == AssetState::Failed {
        state.store.asset_error(asset.id).await?
    } else {
        None
    };
    let poster = state.store.asset_poster(asset.id).await?;
    Ok(Json(asset_view(asset, error, poster)))
}
