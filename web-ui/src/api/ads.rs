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
use onair_control::ads::inspect::{CreativeState, InspectRequest};
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

// The schema of `onair_control::ads::inspect::Inspection`'s JSON, whose resolution is the
// ad-decision crate's, a crate without schemas; a test holds the two to the same fields.

/// The tag inspector's answer.
#[derive(ToSchema)]
#[schema(as = Inspection)]
#[allow(dead_code)]
struct InspectionSchema {
    resolution: ResolutionSchema,
    creatives: Vec<CreativeState>,
    /// The VAST error codes the resolution would fire, in order.
    would_fire: Vec<u16>,
    /// Seconds of whole ads that fit the break, of those ready.
    ready_seconds: f64,
    break_seconds: u32,
}

/// What a decision found: every request made, the ads in play order, and the errors to report.
#[derive(ToSchema)]
#[schema(as = Resolution)]
#[allow(dead_code)]
struct ResolutionSchema {
    /// The ad tag as requested (macros expanded), or the VMAP the ads came from.
    tag_url: String,
    hops: Vec<HopSchema>,
    /// The pod in `Ad@sequence` order (a failed pod ad replaced by the next buffet ad), then
    /// the remaining buffet (stand-alone) ads, each once.
    ads: Vec<ResolvedAdSchema>,
    /// Ads that resolved but cannot air (no usable media file: 403).
    rejected: Vec<ResolvedAdSchema>,
    /// VAST errors to fire, `[ERRORCODE]` already expanded.
    errors: Vec<ErrorFiringSchema>,
    elapsed_ms: u64,
}

/// One request of a decision.
#[derive(ToSchema)]
#[schema(as = Hop)]
#[allow(dead_code)]
struct HopSchema {
    url: String,
    /// Where the response came from when redirects were followed.
    final_url: Option<String>,
    kind: HopKindSchema,
    /// Wrappers followed to get here: 0 for the ad tag.
    depth: u8,
    /// The HTTP status, when a response came.
    status: Option<u16>,
    millis: u64,
    bytes: Option<u64>,
    /// The `Ad@id`s of the response.
    ad_ids: Vec<String>,
    /// What went wrong with this response as a whole (an ad's own failure is in `errors`).
    error: Option<String>,
    error_code: Option<u16>,
}

/// What a response turned out to be: a VAST document neither all wrappers nor all inline ads
/// (empty, mixed, or not had at all), wrapper ads only, inline ads only, or a VMAP document.
#[derive(ToSchema)]
#[schema(as = HopKind, rename_all = "snake_case")]
#[allow(dead_code)]
enum HopKindSchema {
    Vast,
    Wrapper,
    Inline,
    Vmap,
}

/// An ad ready to air once its media is transcoded.
#[derive(ToSchema)]
#[schema(as = ResolvedAd)]
#[allow(dead_code)]
struct ResolvedAdSchema {
    ad_id: Option<String>,
    /// Its place in the pod; null for a buffet ad.
    sequence: Option<u32>,
    /// A stand-alone ad, spare to replace pod ads that fail later.
    buffet: bool,
    /// The pod place this buffet ad took because the pod ad there failed.
    replaces_sequence: Option<u32>,
    ad_system: Option<String>,
    title: Option<String>,
    ad_serving_id: Option<String>,
    duration_ms: u64,
    /// `registry:value` of the creative's UniversalAdId, when it names one.
    universal_ad_id: Option<String>,
    /// What the transcoded creative is cached by: the UniversalAdId, or `url-` and the
    /// SHA-256 of the chosen media URL.
    creative_key: String,
    /// What to transcode; null when no file is usable.
    media: Option<ChosenMediaSchema>,
    /// The best MediaFile, the fallback when a chosen Mezzanine cannot be had.
    best_media_file: Option<ChosenMediaSchema>,
    skipped_media: Vec<SkippedMediaSchema>,
    /// Impression URLs of every hop, wrappers first (templates).
    impressions: Vec<String>,
    /// Event (`start`, `firstQuartile`, …, `progress@<offset>`) to URLs of every hop
    /// (templates).
    tracking: std::collections::BTreeMap<String, Vec<String>>,
    /// Error URLs of every hop (templates, `[ERRORCODE]` unexpanded).
    error_urls: Vec<String>,
    /// The documents from the ad tag to the one holding the InLine.
    chain: Vec<String>,
}

/// The media file chosen, and why.
#[derive(ToSchema)]
#[schema(as = ChosenMedia)]
#[allow(dead_code)]
struct ChosenMediaSchema {
    url: String,
    mime: Option<String>,
    width: Option<u32>,
    height: Option<u32>,
    bitrate_kbps: Option<u32>,
    mezzanine: bool,
    reason: String,
}

/// A media file passed over, and why.
#[derive(ToSchema)]
#[schema(as = SkippedMedia)]
#[allow(dead_code)]
struct SkippedMediaSchema {
    url: String,
    reason: String,
}

/// Error URLs to call with one code.
#[derive(ToSchema)]
#[schema(as = ErrorFiring)]
#[allow(dead_code)]
struct ErrorFiringSchema {
    code: u16,
    /// Every Error URL of every hop of the chain concerned, macros expanded.
    urls: Vec<String>,
    /// The ad concerned, when one is.
    ad_id: Option<String>,
    /// The document (ad tag or wrapper URI) where it happened.
    tag_url: Option<String>,
    /// What went wrong, for people.
    message: String,
}

#[utoipa::path(post, path = "/api/ads/resolve", tag = "ads", request_body = ResolveBody,
    responses(
        (status = 200, description = "What the tag resolves to; nothing is fired", body = InspectionSchema),
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

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use onair_ad_decision::{
        ChosenMedia, ErrorFiring, Hop, HopKind, Resolution, ResolvedAd, SkippedMedia,
    };
    use onair_control::ads::inspect::Inspection;

    use super::*;
    use crate::api::openapi::assert_fields_match;

    fn media() -> ChosenMedia {
        ChosenMedia {
            url: "https://ads.example/spot.mp4".to_owned(),
            mime: Some("video/mp4".to_owned()),
            width: Some(1280),
            height: Some(720),
            bitrate_kbps: Some(2000),
            mezzanine: false,
            reason: "closest to the ladder".to_owned(),
        }
    }

    /// An ad with every optional field set.
    fn ad() -> ResolvedAd {
        ResolvedAd {
            ad_id: Some("a1".to_owned()),
            sequence: Some(1),
            buffet: false,
            replaces_sequence: Some(1),
            ad_system: Some("demo".to_owned()),
            title: Some("Spot".to_owned()),
            ad_serving_id: Some("serving".to_owned()),
            duration_ms: 15_000,
            universal_ad_id: Some("ad-id.org:ABC".to_owned()),
            creative_key: "ABC".to_owned(),
            media: Some(media()),
            best_media_file: Some(media()),
            skipped_media: vec![SkippedMedia {
                url: "https://ads.example/spot.webm".to_owned(),
                reason: "not MP4".to_owned(),
            }],
            impressions: vec!["https://ads.example/i".to_owned()],
            tracking: BTreeMap::from([(
                "start".to_owned(),
                vec!["https://ads.example/s".to_owned()],
            )]),
            error_urls: vec!["https://ads.example/e?c=[ERRORCODE]".to_owned()],
            chain: vec!["https://ads.example/vast.xml".to_owned()],
        }
    }

    #[test]
    fn the_documented_inspection_has_exactly_the_fields_of_the_inspectors_answer() {
        let inspection = Inspection {
            resolution: Resolution {
                tag_url: "https://ads.example/vast.xml".to_owned(),
                hops: vec![Hop {
                    url: "https://ads.example/vast.xml".to_owned(),
                    final_url: Some("https://ads.example/vast2.xml".to_owned()),
                    kind: HopKind::Inline,
                    depth: 0,
                    status: Some(200),
                    millis: 12,
                    bytes: Some(2048),
                    ad_ids: vec!["a1".to_owned()],
                    error: Some("slow".to_owned()),
                    error_code: Some(301),
                }],
                ads: vec![ad()],
                rejected: vec![ad()],
                errors: vec![ErrorFiring {
                    code: 403,
                    urls: vec!["https://ads.example/e?c=403".to_owned()],
                    ad_id: Some("a1".to_owned()),
                    tag_url: Some("https://ads.example/vast.xml".to_owned()),
                    message: "no usable media file".to_owned(),
                }],
                elapsed_ms: 40,
            },
            creatives: vec![CreativeState {
                creative_key: "ABC".to_owned(),
                ad_id: Some("a1".to_owned()),
                status: "ready".to_owned(),
                asset_id: Some(7),
                error: Some("none".to_owned()),
            }],
            would_fire: vec![403],
            ready_seconds: 15.0,
            break_seconds: 60,
        };
        assert_fields_match(&serde_json::to_value(inspection).unwrap(), "Inspection");
    }
}
