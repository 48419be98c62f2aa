//! Partners through the API, through the control plane ([`onair_control::partners`]).
//!
//! | route | what |
//! |---|---|
//! | `GET /api/partners` | every partner with its settings, its keys (ids and expiries, never the secrets) and its requests since the server started |
//! | `POST /api/partners` | `{"name", "display_name"?, "channels", "outputs"?, "epg"?, "ad_mode"?, "cue_dialect"?, "ad_tag"?, "signed"?, "key_overlap_hours"?}`: 201 with the partner and its first key (`key`, shown once); 422 with every problem by field; 409 when the name is taken |
//! | `GET /api/partners/{name}` | one partner (`ETag: "<version>"`), 404 when there is none |
//! | `PUT /api/partners/{name}` | the same fields, replacing them all, checked as on create; `If-Match: "<version>"` (optional) refuses a stale edit with 409 |
//! | `DELETE /api/partners/{name}` | 204; its URLs answer 404 from then on |
//! | `POST /api/partners/{name}/rotate-key` | a new key (`key`, shown once); the one before stays valid for `key_overlap_hours` |
//! | `POST /api/partners/{name}/sign` | `{"channel", "hours"?: 24}`: a signed prefix, `/p/{name}/t/{token}/{channel}/`, and when it expires |
//!
//! Writes are `X-Onair-Author`'s (else `api`).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use onair_control::Control;
use onair_control::partners::{PartnerInput, PartnerView, PartnerWithKey, SignedPrefix};
use onair_domain::Clock;
use onair_store::Store;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::error::{ApiError, ErrorBody};
use super::schedule::{author, if_match};
use crate::partner_routes::{PartnerCounters, PartnerRequests};

/// What the partner routes need.
#[derive(Clone)]
pub struct PartnersApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// The requests each partner's URLs had (shared with [`crate::partner_routes`]).
    pub counters: Arc<PartnerCounters>,
}

impl PartnersApiState {
    fn control(&self) -> Control {
        Control::new(self.store.clone(), Arc::clone(&self.clock))
    }
}

/// The partner routes, ready to merge into the server's router.
pub fn router(state: PartnersApiState) -> Router {
    Router::new()
        .route("/api/partners", get(list).post(create))
        .route("/api/partners/{name}", get(show).put(update).delete(delete))
        .route("/api/partners/{name}/rotate-key", post(rotate))
        .route("/api/partners/{name}/sign", post(sign))
        .with_state(state)
}

/// A partner with its request counts.
#[derive(Serialize, ToSchema)]
struct Counted {
    #[serde(flatten)]
    partner: PartnerView,
    /// Its URLs' `requests` since the server started, and those `refused` (403 or 404).
    requests: PartnerRequests,
}

fn counted(state: &PartnersApiState, partner: PartnerView) -> Counted {
    let requests = state.counters.of(&partner.name);
    Counted { partner, requests }
}

fn with_etag(version: i64, body: impl Serialize) -> Response {
    let mut response = Json(body).into_response();
    if let Ok(etag) = HeaderValue::try_from(format!("\"{version}\"")) {
        response.headers_mut().insert(header::ETAG, etag);
    }
    response
}

#[utoipa::path(get, path = "/api/partners", tag = "partners",
    responses((status = 200, description = "Every partner: settings, key ids and expiries (never the secrets), requests", body = Vec<Counted>)))]
async fn list(State(state): State<PartnersApiState>) -> Result<Response, ApiError> {
    let partners = state.control().partners().await?;
    let partners: Vec<Counted> = partners
        .into_iter()
        .map(|partner| counted(&state, partner))
        .collect();
    Ok(Json(partners).into_response())
}

#[utoipa::path(post, path = "/api/partners", tag = "partners", request_body = PartnerInput,
    params(("X-Onair-Author" = Option<String>, Header, description = "Who writes (else `api`)")),
    responses(
        (status = 201, description = "The partner and its first key (`key`, shown once)", body = PartnerWithKey),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
        (status = 422, description = "Every problem, by field", body = ErrorBody),
    ))]
async fn create(
    State(state): State<PartnersApiState>,
    headers: HeaderMap,
    body: Result<Json<PartnerInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(input) = body?;
    let created = state
        .control()
        .create_partner(&input, &author(&headers))
        .await?;
    Ok((StatusCode::CREATED, Json(created)).into_response())
}

#[utoipa::path(get, path = "/api/partners/{name}", tag = "partners",
    params(("name" = String, Path, description = "The partner")),
    responses(
        (status = 200, description = "The partner (`ETag: \"<version>\"`)", body = Counted),
        (status = 404, description = "No such partner", body = ErrorBody),
    ))]
async fn show(
    State(state): State<PartnersApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    let partner = state.control().partner(&name).await?;
    Ok(with_etag(partner.version, counted(&state, partner)))
}

#[utoipa::path(put, path = "/api/partners/{name}", tag = "partners", request_body = PartnerInput,
    params(("name" = String, Path, description = "The partner"),
        ("If-Match" = Option<String>, Header, description = "The partner's version, `\"<version>\"`: a stale edit is refused"),
        ("X-Onair-Author" = Option<String>, Header, description = "Who writes (else `api`)")),
    responses(
        (status = 200, description = "The partner, every field replaced", body = Counted),
        (status = 400, description = "The body is not the JSON described, or a malformed If-Match", body = ErrorBody),
        (status = 404, description = "No such partner", body = ErrorBody),
        (status = 409, description = "A stale version", body = ErrorBody),
        (status = 422, description = "Every problem, by field", body = ErrorBody),
    ))]
async fn update(
    State(state): State<PartnersApiState>,
    Path(name): Path<String>,
    headers: HeaderMap,
    body: Result<Json<PartnerInput>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(input) = body?;
    let expected = if_match(&headers)?;
    let partner = state
        .control()
        .update_partner(&name, &input, expected, &author(&headers))
        .await?;
    Ok(with_etag(partner.version, counted(&state, partner)))
}

#[utoipa::path(delete, path = "/api/partners/{name}", tag = "partners",
    params(("name" = String, Path, description = "The partner")),
    responses(
        (status = 204, description = "Deleted: its URLs answer 404 from now on"),
        (status = 404, description = "No such partner", body = ErrorBody),
    ))]
async fn delete(
    State(state): State<PartnersApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    state.control().delete_partner(&name).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

#[utoipa::path(post, path = "/api/partners/{name}/rotate-key", tag = "partners",
    params(("name" = String, Path, description = "The partner")),
    responses(
        (status = 200, description = "A new key (`key`, shown once); the one before stays valid for `key_overlap_hours`", body = PartnerWithKey),
        (status = 404, description = "No such partner", body = ErrorBody),
    ))]
async fn rotate(
    State(state): State<PartnersApiState>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    Ok(Json(state.control().rotate_partner_key(&name).await?).into_response())
}

/// A channel the partner carries, and for how many hours the URL is valid (default 24).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignBody {
    channel: String,
    hours: Option<u32>,
}

#[utoipa::path(post, path = "/api/partners/{name}/sign", tag = "partners", request_body = SignBody,
    params(("name" = String, Path, description = "The partner")),
    responses(
        (status = 200, description = "A signed prefix, `/p/{name}/t/{token}/{channel}/`, and when it expires", body = SignedPrefix),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such partner", body = ErrorBody),
        (status = 422, description = "Every problem, by field", body = ErrorBody),
    ))]
async fn sign(
    State(state): State<PartnersApiState>,
    Path(name): Path<String>,
    body: Result<Json<SignBody>, JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(body) = body?;
    let signed = state
        .control()
        .signed_partner_prefix(&name, &body.channel, body.hours.unwrap_or(24))
        .await?;
    Ok(Json(signed).into_response())
}
