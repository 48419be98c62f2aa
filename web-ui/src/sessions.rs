//! SSAI sessions over HTTP: a viewer's own manifests, with ads in the breaks, and the
//! tracking URLs their ad segments are fetched through. The rules are the control plane's
//! ([`onair_control::ads`]); this module is wire and headers only.
//!
//! | route | what |
//! |---|---|
//! | `GET /channels/{slug}/master.m3u8?NAME=VALUE…` | implicit session: a per-session multivariant playlist (HLS-TS) whose media playlists are the session's; the same for `master-fmp4.m3u8`; `manifest.mpd?…` redirects (302) to the session's MPD. Without a query, or on a channel without ads, the channel's own (the origin's) |
//! | `POST /channels/{slug}/sessions` | explicit session: `{"params": {NAME: VALUE}}` (or none) gives 201 `{"session_id", "manifests": {"hls_ts"?, "hls_fmp4"?, "dash"?}, "tracking_url"}` |
//! | `GET /channels/{slug}/sessions/{id}/master.m3u8`, `…/master-fmp4.m3u8` | the session's multivariant playlists |
//! | `GET /channels/{slug}/sessions/{id}/{rung}/ts.m3u8`, `…/{rung or audio track}/fmp4.m3u8` | the session's media playlists: the channel's, with the session's ads in the breaks |
//! | `GET /channels/{slug}/sessions/{id}/manifest.mpd` | the session's MPD, each ad its own Period |
//! | `GET /channels/{slug}/sessions/{id}/tracking` | the session's breaks, ads and beacons as JSON (client-side tracking) |
//! | `GET /channels/{slug}/sessions/{id}/ads/{break}/{position}/media/{*path}` | an ad segment: records the fetch (beacons) and redirects (302) to the shared `/media/{path}` |
//!
//! A channel whose ads are HLS Interstitials (`insertion = "interstitials"`,
//! [`onair_playout::interstitials`]) gives its sessions multivariant playlists that define the
//! session (`EXT-X-DEFINE:NAME="sid"`) and point at playlists every viewer shares; the ads are in
//! the session's asset lists:
//!
//! | route | what |
//! |---|---|
//! | `GET /channels/{slug}/interstitials/{rung}/ts.m3u8`, `…/{rung or audio track}/fmp4.m3u8` | the channel's media playlist with an interstitial `EXT-X-DATERANGE` per break, its `X-ASSET-LIST` naming `{$sid}`: the same bytes for every viewer, cached as the channel's. 404 unless the channel's ads are interstitials |
//! | `GET /channels/{slug}/sessions/{id}/ads/{break}/assets.json`, `…/assets-fmp4.json` | the session's asset list for the break starting at segment `{break}`: its ads then the slate after them, from its stored decision (`{"ASSETS": []}` without one: the channel's break plays); `_HLS_start_offset` must be a number of seconds, other parameters (`_HLS_primary_id`) are ignored |
//! | `GET /channels/{slug}/sessions/{id}/ads/{break}/{position}/master.m3u8`, `…/master-fmp4.m3u8`, `…/{rung}/ts.m3u8`, `…/{rung or audio track}/fmp4.m3u8` | an asset of that list: the channel's variants, each a VOD playlist of the ad (its segments through the tracking URLs above) or of the slate |
//!
//! A bad session parameter is a 400 with a message; an unknown or expired session a 404. A
//! stitched partner's viewers' sessions are served under the partner's prefix instead
//! (`crate::partner_routes`, with the helpers here): at these URLs they are unknown, as the
//! channel's own are at the partner's.
//!
//! Players run on other sites' pages: every answer here, errors and redirects included, allows
//! any origin (`Access-Control-Allow-Origin: *`), and a preflight (a `POST` with a JSON body
//! asks for one) is answered with 204 (`cors`).

use std::net::SocketAddr;
use std::sync::{Arc, PoisonError};

use axum::Json;
use axum::Router;
use axum::extract::{ConnectInfo, Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use onair_control::Refusal;
use onair_control::ads::{AdEngine, Insertion, Session, parse_params, tracking};
use onair_domain::{OutputFormat, Packaging, Ticks};
use onair_metrics::{ManifestKind, timed_render};
use onair_playout::{
    ChannelPlayout, InterstitialOptions, MediaPlaylistOptions, MpdOptions, render_asset_playlist,
    render_interstitial_media_playlist, render_interstitial_multivariant, render_multivariant_with,
    render_session_media_playlist, render_session_mpd,
};
use serde::Deserialize;
use serde_json::json;

use crate::api::error::ApiError;

pub(crate) const PLAYLIST: &str = "application/vnd.apple.mpegurl";
pub(crate) const MPD: &str = "application/dash+xml";

/// What the session routes need.
#[derive(Clone)]
pub struct SessionState {
    pub engine: Arc<AdEngine>,
}

/// The session routes, ready to merge into the server's router.
pub fn router(state: SessionState) -> Router {
    Router::new()
        .route("/channels/{slug}/sessions", post(create_session))
        .route("/channels/{slug}/sessions/{id}/master.m3u8", get(master_ts))
        .route(
            "/channels/{slug}/sessions/{id}/master-fmp4.m3u8",
            get(master_fmp4),
        )
        .route("/channels/{slug}/sessions/{id}/manifest.mpd", get(mpd))
        .route(
            "/channels/{slug}/sessions/{id}/tracking",
            get(tracking_json),
        )
        .route(
            "/channels/{slug}/sessions/{id}/{rung}/ts.m3u8",
            get(media_ts),
        )
        .route(
            "/channels/{slug}/sessions/{id}/{rung}/fmp4.m3u8",
            get(media_fmp4),
        )
        .route(
            "/channels/{slug}/sessions/{id}/ads/{break}/{position}/media/{*path}",
            get(ad_segment),
        )
        .route(
            "/channels/{slug}/interstitials/{rung}/ts.m3u8",
            get(interstitial_ts),
        )
        .route(
            "/channels/{slug}/interstitials/{rung}/fmp4.m3u8",
            get(interstitial_fmp4),
        )
        .route(
            "/channels/{slug}/sessions/{id}/ads/{break}/assets.json",
            get(asset_list_ts),
        )
        .route(
            "/channels/{slug}/sessions/{id}/ads/{break}/assets-fmp4.json",
            get(asset_list_fmp4),
        )
        .route(
            "/channels/{slug}/sessions/{id}/ads/{break}/{position}/master.m3u8",
            get(asset_master_ts),
        )
        .route(
            "/channels/{slug}/sessions/{id}/ads/{break}/{position}/master-fmp4.m3u8",
            get(asset_master_fmp4),
        )
        .route(
            "/channels/{slug}/sessions/{id}/ads/{break}/{position}/{rung}/ts.m3u8",
            get(asset_media_ts),
        )
        .route(
            "/channels/{slug}/sessions/{id}/ads/{break}/{position}/{rung}/fmp4.m3u8",
            get(asset_media_fmp4),
        )
        .layer(axum::middleware::from_fn(cors))
        .with_state(state)
}

/// Lets a player on any page use the session routes: answers a preflight, and allows any
/// origin on every answer.
async fn cors(request: Request, next: Next) -> Response {
    if request.method() == Method::OPTIONS {
        return (
            StatusCode::NO_CONTENT,
            [
                (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*"),
                (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, POST"),
                (header::ACCESS_CONTROL_ALLOW_HEADERS, "content-type"),
                (header::ACCESS_CONTROL_MAX_AGE, "600"),
            ],
        )
            .into_response();
    }
    any_origin(next.run(request).await)
}

fn any_origin(mut response: Response) -> Response {
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// Turns a channel manifest requested with session parameters into an implicit session:
/// wrap the origin's router with `middleware::from_fn_with_state(state, implicit)`.
pub async fn implicit(State(state): State<SessionState>, request: Request, next: Next) -> Response {
    // A preflight is the origin's to answer: it must not start a session.
    if !matches!(*request.method(), Method::GET | Method::HEAD) {
        return next.run(request).await;
    }
    let Some(query) = request.uri().query().filter(|query| !query.is_empty()) else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_owned();
    let Some(rest) = path.strip_prefix("/channels/") else {
        return next.run(request).await;
    };
    let Some((slug, manifest)) = rest.split_once('/') else {
        return next.run(request).await;
    };
    if !matches!(
        manifest,
        "master.m3u8" | "master-fmp4.m3u8" | "manifest.mpd"
    ) || state.engine.channel_ads(slug).is_none()
    {
        return next.run(request).await;
    }
    let client = client_of(&request);
    any_origin(implicit_session(&state, client, slug, manifest, query).await)
}

/// Starts the session a channel manifest was asked for with, and answers with its manifest.
async fn implicit_session(
    state: &SessionState,
    (client_ip, user_agent): (Option<String>, Option<String>),
    slug: &str,
    manifest: &str,
    query: &str,
) -> Response {
    let pairs = match query_pairs(query) {
        Ok(pairs) => pairs,
        Err(refusal) => return ApiError(refusal).into_response(),
    };
    let params = match parse_params(&pairs) {
        Ok(params) => params,
        Err(refusal) => return ApiError(refusal).into_response(),
    };
    let session = match state
        .engine
        .create_session(slug, params, client_ip, user_agent)
        .await
    {
        Ok(session) => session,
        Err(refusal) => return ApiError(refusal).into_response(),
    };
    match manifest {
        "manifest.mpd" => {
            let location = format!("/channels/{slug}/sessions/{}/manifest.mpd", session.id);
            (StatusCode::FOUND, [(header::LOCATION, location)]).into_response()
        }
        other => {
            let packaging = if other == "master.m3u8" {
                Packaging::Ts
            } else {
                Packaging::Cmaf
            };
            match multivariant(
                &state.engine,
                &session,
                packaging,
                &format!("sessions/{}/", session.id),
            ) {
                Ok(response) => response,
                Err(refusal) => ApiError(refusal).into_response(),
            }
        }
    }
}

/// `a=1&b=x%20y` as decoded pairs; a malformed escape is a 400.
pub(crate) fn query_pairs(query: &str) -> Result<Vec<(String, String)>, Refusal> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            Ok((percent_decode(name)?, percent_decode(value)?))
        })
        .collect()
}

fn percent_decode(text: &str) -> Result<String, Refusal> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'%' => {
                let hex = text
                    .get(index + 1..index + 3)
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok())
                    .ok_or_else(|| {
                        Refusal::BadRequest(format!("{text:?} has a malformed percent escape"))
                    })?;
                out.push(hex);
                index += 3;
            }
            b'+' => {
                out.push(b' ');
                index += 1;
            }
            byte => {
                out.push(byte);
                index += 1;
            }
        }
    }
    String::from_utf8(out)
        .map_err(|_| Refusal::BadRequest(format!("{text:?} is not UTF-8 once decoded")))
}

/// The viewer's address (the first `X-Forwarded-For` hop, else the peer) and user agent.
pub(crate) fn client_of(request: &Request) -> (Option<String>, Option<String>) {
    let headers = request.headers();
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.split(',').next())
        .map(|value| value.trim().to_owned())
        .filter(|value| !value.is_empty());
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip().to_string());
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|value| value.to_str().ok())
        .map(str::to_owned);
    (forwarded.or(peer), agent)
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NewSession {
    #[serde(default)]
    params: std::collections::BTreeMap<String, String>,
}

async fn create_session(
    State(state): State<SessionState>,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, ApiError> {
    let (client_ip, user_agent) = client_of(&request);
    let body = axum::body::to_bytes(request.into_body(), 64 * 1024)
        .await
        .map_err(|_| ApiError::bad_request("the body is larger than 64 KiB"))?;
    let new: NewSession = if body.iter().all(u8::is_ascii_whitespace) {
        NewSession::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|error| ApiError::bad_request(format!("the body is not a session: {error}")))?
    };
    let pairs: Vec<(String, String)> = new.params.into_iter().collect();
    let params = parse_params(&pairs).map_err(ApiError)?;
    let session = state
        .engine
        .create_session(&slug, params, client_ip, user_agent)
        .await
        .map_err(ApiError)?;
    let playout = state
        .engine
        .playout(&slug)
        .ok_or_else(|| ApiError(Refusal::NotFound(format!("no channel {slug} is on air"))))?;
    let base = format!("/channels/{slug}/sessions/{}", session.id);
    let mut manifests = serde_json::Map::new();
    for (output, key, name) in [
        (OutputFormat::HlsTs, "hls_ts", "master.m3u8"),
        (OutputFormat::HlsFmp4, "hls_fmp4", "master-fmp4.m3u8"),
        (OutputFormat::Dash, "dash", "manifest.mpd"),
    ] {
        if playout.publishes(output) {
            manifests.insert(key.into(), json!(format!("{base}/{name}")));
        }
    }
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "session_id": session.id,
            "manifests": manifests,
            "tracking_url": format!("{base}/tracking"),
        })),
    )
        .into_response())
}

/// The session's multivariant playlist, its URIs prefixed with `prefix` (empty when served
/// under the session's own path, `sessions/{id}/` when it answers the channel's URL).
fn multivariant(
    engine: &AdEngine,
    session: &Session,
    packaging: Packaging,
    prefix: &str,
) -> Result<Response, Refusal> {
    let playout = published(
        engine,
        &session.slug,
        if packaging == Packaging::Ts {
            OutputFormat::HlsTs
        } else {
            OutputFormat::HlsFmp4
        },
    )?;
    if interstitials(engine, &session.slug) {
        let text = render_interstitial_multivariant(
            &playout,
            packaging,
            &interstitials_prefix(&session.slug),
            &[(SESSION_VARIABLE, &session.id)],
        );
        return Ok(playlist_response(text, PLAYLIST));
    }
    let text = timed_render(ManifestKind::HlsMultivariant, || {
        render_multivariant_with(&playout, packaging)
    });
    let text = if prefix.is_empty() {
        text
    } else {
        prefix_uris(&text, prefix)
    };
    Ok(playlist_response(text, PLAYLIST))
}

/// The variable an interstitial multivariant playlist defines as the session's id, for its
/// shared media playlists' asset-list URLs.
const SESSION_VARIABLE: &str = "sid";

/// Whether `slug`'s ads are HLS Interstitials.
fn interstitials(engine: &AdEngine, slug: &str) -> bool {
    engine
        .channel_ads(slug)
        .is_some_and(|ads| ads.config.insertion == Insertion::Interstitials)
}

/// Where the channel's shared interstitial media playlists are.
fn interstitials_prefix(slug: &str) -> String {
    format!("/channels/{slug}/interstitials/")
}

/// The asset list of a break in `packaging`, under the session's tracking prefix of the break.
fn asset_list_name(packaging: Packaging) -> &'static str {
    if packaging == Packaging::Ts {
        "assets.json"
    } else {
        "assets-fmp4.json"
    }
}

/// An interstitial asset's multivariant playlist in `packaging`.
fn asset_manifest_name(packaging: Packaging) -> &'static str {
    if packaging == Packaging::Ts {
        "master.m3u8"
    } else {
        "master-fmp4.m3u8"
    }
}

/// Prefixes every URI of a multivariant playlist (lines and `URI="…"`) with `prefix`.
pub(crate) fn prefix_uris(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len() + 16 * prefix.len());
    for line in text.lines() {
        if line.is_empty() {
        } else if !line.starts_with('#') {
            out.push_str(prefix);
            out.push_str(line);
        } else if let Some((before, after)) = line.split_once("URI=\"") {
            out.push_str(before);
            out.push_str("URI=\"");
            out.push_str(prefix);
            out.push_str(after);
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    out
}

fn published(
    engine: &AdEngine,
    slug: &str,
    output: OutputFormat,
) -> Result<Arc<ChannelPlayout>, Refusal> {
    let playout = engine
        .playout(slug)
        .filter(|playout| playout.channel().on_air)
        .ok_or_else(|| Refusal::NotFound(format!("no channel {slug} is on air")))?;
    if !playout.publishes(output) {
        return Err(Refusal::NotFound(format!(
            "channel {slug} is not published as {}",
            output.as_str()
        )));
    }
    Ok(playout)
}

pub(crate) fn playlist_response(text: String, content_type: &'static str) -> Response {
    let mut response = text.into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=1"),
    );
    response
}

async fn master_ts(
    State(state): State<SessionState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let session = state.engine.session(&slug, &id).await.map_err(ApiError)?;
    multivariant(&state.engine, &session, Packaging::Ts, "").map_err(ApiError)
}

async fn master_fmp4(
    State(state): State<SessionState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let session = state.engine.session(&slug, &id).await.map_err(ApiError)?;
    multivariant(&state.engine, &session, Packaging::Cmaf, "").map_err(ApiError)
}

async fn media_ts(
    State(state): State<SessionState>,
    Path((slug, id, rung)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    media(&state, &slug, &id, &rung, &MediaPlaylistOptions::ts()).await
}

async fn media_fmp4(
    State(state): State<SessionState>,
    Path((slug, id, rung)): Path<(String, String, String)>,
) -> Result<Response, ApiError> {
    media(&state, &slug, &id, &rung, &MediaPlaylistOptions::fmp4()).await
}

async fn media(
    state: &SessionState,
    slug: &str,
    id: &str,
    rung: &str,
    options: &MediaPlaylistOptions,
) -> Result<Response, ApiError> {
    let session = state.engine.session(slug, id).await.map_err(ApiError)?;
    let playout = published(&state.engine, slug, options.output_format()).map_err(ApiError)?;
    let text = session_media_text(&state.engine, &playout, &session, rung, options);
    let text = text.ok_or_else(|| {
        ApiError(Refusal::NotFound(format!(
            "channel {slug} has no rendition {rung}"
        )))
    })?;
    Ok(playlist_response(text, PLAYLIST))
}

/// A session's media playlist as it airs now: the channel's with the session's fills (`None`
/// for a rendition the channel lacks). Timed for the metrics.
pub(crate) fn session_media_text(
    engine: &AdEngine,
    playout: &ChannelPlayout,
    session: &Session,
    rung: &str,
    options: &MediaPlaylistOptions,
) -> Option<String> {
    let now = engine.now();
    let breaks = session
        .breaks
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    timed_render(ManifestKind::HlsMedia, || {
        render_session_media_playlist(playout, rung, now, options, &*breaks)
    })
}

/// A session's MPD as it airs now, each ad its own Period. Timed for the metrics.
pub(crate) fn session_mpd_text(
    engine: &AdEngine,
    playout: &ChannelPlayout,
    session: &Session,
    options: &MpdOptions,
) -> Option<String> {
    let now = engine.now();
    let breaks = session
        .breaks
        .read()
        .unwrap_or_else(PoisonError::into_inner);
    timed_render(ManifestKind::DashMpd, || {
        render_session_mpd(playout, now, options, &*breaks)
    })
}

async fn mpd(
    State(state): State<SessionState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let session = state.engine.session(&slug, &id).await.map_err(ApiError)?;
    let playout = published(&state.engine, &slug, OutputFormat::Dash).map_err(ApiError)?;
    let text = session_mpd_text(&state.engine, &playout, &session, &MpdOptions::default());
    let text = text.ok_or_else(|| {
        ApiError(Refusal::Internal(format!(
            "the MPD of {slug} could not be rendered"
        )))
    })?;
    Ok(playlist_response(text, MPD))
}

async fn tracking_json(
    State(state): State<SessionState>,
    Path((slug, id)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let session = state.engine.session(&slug, &id).await.map_err(ApiError)?;
    let since = state.engine.now() - Ticks::from_secs(600);
    let mut response = Json(tracking(&session, since)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

async fn ad_segment(
    State(state): State<SessionState>,
    Path((slug, id, break_sequence, position, path)): Path<(String, String, u64, u32, String)>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let _ = headers;
    let target = state
        .engine
        .segment_fetched(&slug, None, &id, break_sequence, position, &path)
        .await
        .map_err(ApiError)?;
    Ok((
        StatusCode::FOUND,
        [
            (header::LOCATION, target),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
    )
        .into_response())
}

async fn interstitial_ts(
    State(state): State<SessionState>,
    Path((slug, rung)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    interstitial_media(&state, &slug, &rung, &MediaPlaylistOptions::ts())
}

async fn interstitial_fmp4(
    State(state): State<SessionState>,
    Path((slug, rung)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    interstitial_media(&state, &slug, &rung, &MediaPlaylistOptions::fmp4())
}

/// A shared interstitial media playlist: no session in it, so players and CDNs cache it as the
/// channel's own, for half a segment.
fn interstitial_media(
    state: &SessionState,
    slug: &str,
    rung: &str,
    options: &MediaPlaylistOptions,
) -> Result<Response, ApiError> {
    if !interstitials(&state.engine, slug) {
        return Err(ApiError(Refusal::NotFound(format!(
            "channel {slug} does not insert its ads as HLS interstitials"
        ))));
    }
    let playout = published(&state.engine, slug, options.output_format()).map_err(ApiError)?;
    let asset_list_url = format!(
        "/channels/{slug}/sessions/{{${SESSION_VARIABLE}}}/ads/{{break}}/{}",
        asset_list_name(options.packaging)
    );
    let text = render_interstitial_media_playlist(
        &playout,
        rung,
        state.engine.now(),
        options,
        &InterstitialOptions {
            asset_list_url: &asset_list_url,
            imports: &[SESSION_VARIABLE],
        },
    )
    .ok_or_else(|| {
        ApiError(Refusal::NotFound(format!(
            "channel {slug} has no rendition {rung}"
        )))
    })?;
    let mut response = playlist_response(text, PLAYLIST);
    let max_age = (playout.target_duration_secs() / 2).max(1);
    if let Ok(value) = HeaderValue::try_from(format!("public, max-age={max_age}")) {
        response.headers_mut().insert(header::CACHE_CONTROL, value);
    }
    Ok(response)
}

async fn asset_list_ts(
    State(state): State<SessionState>,
    Path((slug, id, break_sequence)): Path<(String, String, u64)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asked = (&slug[..], &id[..], break_sequence);
    asset_list(&state, asked, Packaging::Ts, &uri, &headers).await
}

async fn asset_list_fmp4(
    State(state): State<SessionState>,
    Path((slug, id, break_sequence)): Path<(String, String, u64)>,
    uri: Uri,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let asked = (&slug[..], &id[..], break_sequence);
    asset_list(&state, asked, Packaging::Cmaf, &uri, &headers).await
}

/// The session's asset list for a break, its URIs on the scheme and host the player reached
/// (hls.js loads an asset's URI as it is, so it must be absolute).
async fn asset_list(
    state: &SessionState,
    (slug, id, break_sequence): (&str, &str, u64),
    packaging: Packaging,
    uri: &Uri,
    headers: &HeaderMap,
) -> Result<Response, ApiError> {
    check_asset_list_query(uri.query().unwrap_or_default()).map_err(ApiError)?;
    let session = state.engine.session(slug, id).await.map_err(ApiError)?;
    let base_url = base_url_of(headers).unwrap_or_else(|| state.engine.origin());
    let list = state
        .engine
        .asset_list(
            &session,
            break_sequence,
            &base_url,
            asset_manifest_name(packaging),
        )
        .map_err(ApiError)?;
    let mut response = Json(list).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// A player adds `_HLS_primary_id` and, joining a break late, `_HLS_start_offset` (seconds into
/// it) to an asset list's URL: the list is the whole break either way (the player starts within
/// it), but a malformed query or offset is a 400.
fn check_asset_list_query(query: &str) -> Result<(), Refusal> {
    for (name, value) in query_pairs(query)? {
        if name == "_HLS_start_offset"
            && !value
                .parse::<f64>()
                .is_ok_and(|offset| offset.is_finite() && offset >= 0.0)
        {
            return Err(Refusal::BadRequest(format!(
                "_HLS_start_offset {value:?} is not a number of seconds"
            )));
        }
    }
    Ok(())
}

/// `scheme://host` of a request: its `Host`, on https when a proxy says so.
fn base_url_of(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    if host.is_empty() || host.contains(['/', ' ', '"']) {
        return None;
    }
    let https = headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.split(',').next().map(str::trim) == Some("https"));
    Some(format!("{}://{host}", if https { "https" } else { "http" }))
}

/// An interstitial asset of a session's break, and the channel it airs on.
async fn interstitial_asset(
    state: &SessionState,
    (slug, id, break_sequence, position): (&str, &str, u64, usize),
    output: OutputFormat,
) -> Result<(Arc<ChannelPlayout>, onair_control::ads::InterstitialAsset), ApiError> {
    let session = state.engine.session(slug, id).await.map_err(ApiError)?;
    let playout = published(&state.engine, slug, output).map_err(ApiError)?;
    let asset = state
        .engine
        .interstitial_assets(&session, break_sequence)
        .map_err(ApiError)?
        .into_iter()
        .nth(position)
        .ok_or_else(|| {
            ApiError(Refusal::NotFound(format!(
                "session {id} has no asset {position} in break {break_sequence}"
            )))
        })?;
    Ok((playout, asset))
}

type AssetPath = Path<(String, String, u64, usize)>;
type AssetMediaPath = Path<(String, String, u64, usize, String)>;

async fn asset_master_ts(
    State(state): State<SessionState>,
    Path(key): AssetPath,
) -> Result<Response, ApiError> {
    asset_master(&state, key, Packaging::Ts).await
}

async fn asset_master_fmp4(
    State(state): State<SessionState>,
    Path(key): AssetPath,
) -> Result<Response, ApiError> {
    asset_master(&state, key, Packaging::Cmaf).await
}

/// An interstitial asset's multivariant playlist: the channel's variants, relative.
async fn asset_master(
    state: &SessionState,
    (slug, id, break_sequence, position): (String, String, u64, usize),
    packaging: Packaging,
) -> Result<Response, ApiError> {
    let key = (slug.as_str(), id.as_str(), break_sequence, position);
    let output = MediaPlaylistOptions {
        packaging,
        ..MediaPlaylistOptions::default()
    }
    .output_format();
    let (playout, _) = interstitial_asset(state, key, output).await?;
    Ok(playlist_response(
        render_multivariant_with(&playout, packaging),
        PLAYLIST,
    ))
}

async fn asset_media_ts(
    State(state): State<SessionState>,
    Path((slug, id, break_sequence, position, rung)): AssetMediaPath,
) -> Result<Response, ApiError> {
    let key = (slug.as_str(), id.as_str(), break_sequence, position);
    asset_media(&state, key, &rung, Packaging::Ts).await
}

async fn asset_media_fmp4(
    State(state): State<SessionState>,
    Path((slug, id, break_sequence, position, rung)): AssetMediaPath,
) -> Result<Response, ApiError> {
    let key = (slug.as_str(), id.as_str(), break_sequence, position);
    asset_media(&state, key, &rung, Packaging::Cmaf).await
}

/// The VOD playlist of an interstitial asset's run for `rung`.
async fn asset_media(
    state: &SessionState,
    key: (&str, &str, u64, usize),
    rung: &str,
    packaging: Packaging,
) -> Result<Response, ApiError> {
    let output = MediaPlaylistOptions {
        packaging,
        ..MediaPlaylistOptions::default()
    }
    .output_format();
    let (playout, asset) = interstitial_asset(state, key, output).await?;
    let text = render_asset_playlist(
        &playout,
        &asset.runs,
        asset.assets(),
        rung,
        packaging,
        asset.tracking.as_deref(),
    )
    .ok_or_else(|| {
        ApiError(Refusal::NotFound(format!(
            "asset {} of break {} has no rendition {rung}",
            key.3, key.2
        )))
    })?;
    Ok(playlist_response(text, PLAYLIST))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_asset_list_takes_the_players_parameters_and_refuses_a_bad_offset() {
        assert!(check_asset_list_query("").is_ok());
        assert!(check_asset_list_query("_HLS_primary_id=ab-12&_HLS_start_offset=12.5").is_ok());
        for bad in ["_HLS_start_offset=soon", "_HLS_start_offset=-1", "x=%zz"] {
            assert!(
                matches!(check_asset_list_query(bad), Err(Refusal::BadRequest(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn asset_uris_are_on_the_host_the_player_reached() {
        let request = |headers: &[(&'static str, &'static str)]| {
            let mut map = HeaderMap::new();
            for (name, value) in headers {
                map.insert(
                    header::HeaderName::from_static(name),
                    HeaderValue::from_static(value),
                );
            }
            map
        };
        assert_eq!(
            base_url_of(&request(&[("host", "127.0.0.1:8080")])).as_deref(),
            Some("http://127.0.0.1:8080")
        );
        assert_eq!(
            base_url_of(&request(&[
                ("host", "tv.example"),
                ("x-forwarded-proto", "https")
            ]))
            .as_deref(),
            Some("https://tv.example")
        );
        assert_eq!(base_url_of(&request(&[])), None);
    }

    #[test]
    fn a_multivariant_playlist_points_into_the_session() {
        let text = "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"audio-96k/fmp4.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\n360p/ts.m3u8\n";
        assert_eq!(
            prefix_uris(text, "sessions/ab/"),
            "#EXTM3U\n#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"a\",URI=\"sessions/ab/audio-96k/fmp4.m3u8\"\n#EXT-X-STREAM-INF:BANDWIDTH=1\nsessions/ab/360p/ts.m3u8\n"
        );
    }

    #[tokio::test]
    async fn a_page_on_any_origin_may_create_a_session_and_read_the_answer() {
        use tower::ServiceExt;
        let app = Router::new()
            .route(
                "/channels/{slug}/sessions",
                post(|| async { StatusCode::CREATED }),
            )
            .layer(axum::middleware::from_fn(cors));
        let ask = |method: Method| {
            axum::http::Request::builder()
                .method(method)
                .uri("/channels/demo/sessions")
                .header(header::ORIGIN, "https://player.example")
                .body(axum::body::Body::empty())
                .unwrap()
        };

        let preflight = app.clone().oneshot(ask(Method::OPTIONS)).await.unwrap();
        assert_eq!(preflight.status(), StatusCode::NO_CONTENT);
        let allowed = |name| preflight.headers().get(name).unwrap().to_str().unwrap();
        assert_eq!(allowed(header::ACCESS_CONTROL_ALLOW_ORIGIN), "*");
        assert!(allowed(header::ACCESS_CONTROL_ALLOW_METHODS).contains("POST"));
        assert_eq!(
            allowed(header::ACCESS_CONTROL_ALLOW_HEADERS),
            "content-type"
        );

        let created = app.oneshot(ask(Method::POST)).await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(created.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    }

    #[test]
    fn query_parameters_are_percent_decoded_and_a_bad_escape_is_refused() {
        assert_eq!(
            query_pairs("aid=4%202&us_privacy=1YNN").unwrap(),
            [
                ("aid".into(), "4 2".into()),
                ("us_privacy".into(), "1YNN".into())
            ]
        );
        assert!(query_pairs("aid=%zz").is_err());
    }
}
