//! Operations: `/healthz` (the process is up), `/readyz` (the database answers, every migration
//! is applied, the media folder can be written), `/metrics` (Prometheus text: what
//! `onair_metrics` recorded, and what is read at scrape time), and [`RequestLayer`], in front
//! of every route: each request counted by route template and timed, its `X-Request-Id` taken
//! or made, returned, and carried by a span over everything the request logs; [`layered`] puts
//! it, the access guard and the implicit sessions in front of the server's routes.

mod bypass;
mod request;

use std::path::PathBuf;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onair_control::ads::AdEngine;
use onair_control::status::{AirState, StatusBoard};
use onair_metrics::{Exposition, Kind};
use onair_store::{LiveState, Store};
use serde::Serialize;

use crate::access::{AccessState, ROUTES};
use crate::partner_routes::PartnerCounters;
use crate::sessions::SessionState;

pub use bypass::{BypassLayer, no_session_query, public_route};
pub use request::{REQUEST_ID, RequestLayer};

/// What the operations routes read.
#[derive(Clone)]
pub struct OpsState {
    pub store: Store,
    pub media_root: PathBuf,
    /// `http.metrics_token`: when set, `/metrics` needs it as a bearer token.
    pub metrics_token: Option<Arc<str>>,
    pub status: StatusBoard,
    pub ads: Arc<AdEngine>,
    /// Requests at each partner's URLs (`/p/{partner}/…`), by partner.
    pub partners: Arc<PartnerCounters>,
}

impl std::fmt::Debug for OpsState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpsState")
            .field("media_root", &self.media_root)
            .field("metrics_token", &self.metrics_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// `app` with what stands in front of every route, outermost first: [`RequestLayer`] (every
/// request counted, timed and given its id), the access guard (unless the route is public),
/// and the implicit sessions (for a channel manifest asked for with a query string).
///
/// One `Router::layer`, not one per layer: axum boxes each layered route, and clones the boxes
/// below on every call, so each layer applied on its own costs allocations on every request.
/// The session layer is the origin's, but applying it here is the same: it acts only on the
/// origin's manifest paths (`/channels/{slug}/master.m3u8`, `…/master-fmp4.m3u8`,
/// `…/manifest.mpd`) and passes everything else on.
pub fn layered(app: Router, access: AccessState, sessions: SessionState) -> Router {
    app.layer(
        tower::ServiceBuilder::new()
            .layer(RequestLayer::new(ROUTES.iter().map(|route| route.path)))
            .layer(BypassLayer::new(
                axum::middleware::from_fn_with_state(access, crate::access::guard),
                public_route,
            ))
            .layer(BypassLayer::new(
                axum::middleware::from_fn_with_state(sessions, crate::sessions::implicit),
                no_session_query,
            )),
    )
}

pub fn router(state: OpsState) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn healthz() -> Response {
    (
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({ "status": "ok" })),
    )
        .into_response()
}

/// One readiness check's result.
#[derive(Debug, Serialize)]
struct Check {
    name: &'static str,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

impl Check {
    fn of(name: &'static str, result: Result<(), String>) -> Check {
        match result {
            Ok(()) => Check {
                name,
                ok: true,
                reason: None,
            },
            Err(reason) => Check {
                name,
                ok: false,
                reason: Some(reason),
            },
        }
    }
}

/// 200 when every check passes, else 503; either way the checks as JSON
/// (`{"status": "ready"|"not ready", "checks": [{"name", "ok", "reason"?}]}`).
async fn readyz(State(state): State<OpsState>) -> Response {
    let database = state
        .store
        .ping()
        .await
        .map_err(|error| format!("the database does not answer: {error}"));
    let migrations = match &database {
        Err(_) => Err("unknown: the database does not answer".to_owned()),
        Ok(()) => match state.store.pending_migrations().await {
            Ok(pending) if pending.is_empty() => Ok(()),
            Ok(pending) => Err(format!(
                "not applied: {} (run onair migrate)",
                pending
                    .iter()
                    .map(|migration| format!("{} {}", migration.version, migration.description))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Err(error) => Err(format!("cannot read the applied migrations: {error}")),
        },
    };
    let media = media_writable(state.media_root.clone()).await;
    let checks = [
        Check::of("database", database),
        Check::of("migrations", migrations),
        Check::of("media_dir", media),
    ];
    let ready = checks.iter().all(|check| check.ok);
    for check in checks.iter().filter(|check| !check.ok) {
        tracing::warn!(
            check = check.name,
            reason = check.reason.as_deref(),
            "not ready"
        );
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        [(header::CACHE_CONTROL, "no-store")],
        Json(serde_json::json!({
            "status": if ready { "ready" } else { "not ready" },
            "checks": checks,
        })),
    )
        .into_response()
}

/// Creates and removes a probe file in the media folder.
async fn media_writable(dir: PathBuf) -> Result<(), String> {
    tokio::task::spawn_blocking(move || {
        let probe = dir.join(format!(".onair-ready-{}", std::process::id()));
        std::fs::write(&probe, b"ok")
            .map_err(|error| format!("{} cannot be written: {error}", dir.display()))?;
        std::fs::remove_file(&probe)
            .map_err(|error| format!("{} cannot be written: {error}", dir.display()))
    })
    .await
    .unwrap_or_else(|error| Err(format!("the probe did not finish: {error}")))
}

async fn metrics(State(state): State<OpsState>, headers: HeaderMap) -> Response {
    if let Some(token) = &state.metrics_token {
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok());
        if !onair_domain::auth::bearer_matches(authorization, token) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "/metrics needs the bearer token http.metrics_token names",
            )
                .into_response();
        }
    }
    let mut out = Exposition::new();
    onair_metrics::metrics().write(&mut out);
    write_scraped(&state, &mut out).await;
    (
        [
            (header::CONTENT_TYPE, onair_metrics::CONTENT_TYPE),
            (header::CACHE_CONTROL, "no-store"),
        ],
        out.into_text(),
    )
        .into_response()
}

/// What is read at scrape time: channels, sessions, live sources, the transcode queue, the
/// database pool. A figure that cannot be read is left out (and logged), never made up.
async fn write_scraped(state: &OpsState, out: &mut Exposition) {
    let snapshot = state.status.current();
    let mut by_state = [("on_air", 0u64), ("slate", 0), ("live", 0), ("off_air", 0)];
    for channel in &snapshot.channels {
        let index = match channel.state {
            AirState::OnAir => 0,
            AirState::Slate => 1,
            AirState::Live { .. } => 2,
            AirState::OffAir => 3,
        };
        by_state[index].1 += 1;
    }
    out.family(
        "onair_channels_on_air",
        Kind::Gauge,
        "Channels on air (their programmes, gap fill or live), as of the last status pass.",
    );
    out.sample(
        "onair_channels_on_air",
        &[],
        (by_state[0].1 + by_state[1].1 + by_state[2].1) as f64,
    );
    out.family(
        "onair_channels",
        Kind::Gauge,
        "Channels by what airs now: on_air (programmes), slate (gap fill), live, off_air.",
    );
    for (name, count) in by_state {
        out.sample("onair_channels", &[("state", name)], count as f64);
    }

    out.family(
        "onair_ssai_sessions",
        Kind::Gauge,
        "Viewer sessions with server-side ad insertion this replica holds.",
    );
    out.sample("onair_ssai_sessions", &[], state.ads.session_count() as f64);

    match state.store.live_sources().await {
        Ok(sources) => {
            out.family(
                "onair_live_source_connected",
                Kind::Gauge,
                "1 while a publisher sends to the live source, else 0.",
            );
            for source in &sources {
                let connected = source.state == LiveState::Publishing;
                out.sample(
                    "onair_live_source_connected",
                    &[("source", &source.name)],
                    if connected { 1.0 } else { 0.0 },
                );
            }
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot read the live sources"),
    }

    match state.store.active_jobs().await {
        Ok(jobs) => {
            let running = jobs
                .iter()
                .filter(|job| job.state == onair_domain::JobState::Running)
                .count();
            out.family(
                "onair_transcode_jobs",
                Kind::Gauge,
                "Transcode jobs waiting (queued) and being encoded (running).",
            );
            out.sample(
                "onair_transcode_jobs",
                &[("state", "queued")],
                (jobs.len() - running) as f64,
            );
            out.sample(
                "onair_transcode_jobs",
                &[("state", "running")],
                running as f64,
            );
        }
        Err(error) => tracing::warn!(%error, "metrics: cannot read the transcode queue"),
    }

    let partners = state.partners.all();
    out.family(
        "onair_partner_requests_total",
        Kind::Counter,
        "Requests at a partner's URLs (/p/{partner}/...) since the server started.",
    );
    for (name, counts) in &partners {
        out.sample(
            "onair_partner_requests_total",
            &[("partner", name)],
            counts.requests as f64,
        );
    }
    out.family(
        "onair_partner_requests_refused_total",
        Kind::Counter,
        "Requests at a partner's URLs answered 403 or 404 since the server started.",
    );
    for (name, counts) in &partners {
        out.sample(
            "onair_partner_requests_refused_total",
            &[("partner", name)],
            counts.refused as f64,
        );
    }

    let pool = state.store.pool_status();
    out.family(
        "onair_db_pool_connections",
        Kind::Gauge,
        "Open database connections in the pool (in use or idle).",
    );
    out.sample("onair_db_pool_connections", &[], f64::from(pool.size));
    out.family(
        "onair_db_pool_idle_connections",
        Kind::Gauge,
        "Idle database connections in the pool.",
    );
    out.sample("onair_db_pool_idle_connections", &[], pool.idle as f64);
    out.family(
        "onair_db_pool_max_connections",
        Kind::Gauge,
        "The most connections the pool opens.",
    );
    out.sample("onair_db_pool_max_connections", &[], f64::from(pool.max));
}
