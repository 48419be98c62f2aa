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

use std::sync::Arc;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router, middleware};
use onair_control::Control;
use onair_domain::Clock;
use onair_store::Store;
use serde::Deserialize;

use super::auth::{ApiToken, require_bearer};
use super::error::ApiError;

/// What the live routes need.
#[derive(Clone)]
pub struct LiveApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// When set, every route needs `Authorization: Bearer <token>`.
    pub api_token: ApiToken,
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
        .route_layer(middleware::from_fn_with_state(
            state.api_token.clone(),
            require_bearer,
        ))
        .with_state(state)
}

async fn list(State(state): State<LiveApiState>) -> Result<Response, ApiError> {
    Ok(Json(state.control().live_sources().await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    name: String,
    ladder: Option<String>,
}

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

async fn show(
    State(state): State<LiveApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.control().live_source(&name).await?).into_response())
}

async fn delete(
    State(state): State<LiveApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    state.control().delete_live_source(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

async fn rotate(
    State(state): State<LiveApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.control().rotate_live_source_key(&name).await?).into_response())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsQuery {
    hours: Option<u32>,
}

async fn events(
    State(state): State<LiveApiState>,
    Path(name): Path<String>,
    query: Result<Query<EventsQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(query) = query?;
    let hours = query.hours.unwrap_or(24).clamp(1, 24 * 31);
    Ok(Json(state.control().live_source_events(&name, hours).await?).into_response())
}
