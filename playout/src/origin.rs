//! The HTTP origin: channel manifests rendered on request from a [`Directory`] and a clock, and
//! segment files from the media root.
//!
//! Routes (GET and HEAD):
//! - `/channels/{slug}/master.m3u8`: the multivariant playlist of the HLS-TS output.
//! - `/channels/{slug}/{rung}/ts.m3u8`: a live HLS-TS media playlist.
//! - `/channels/{slug}/master-fmp4.m3u8`: the multivariant playlist of the HLS-fMP4 output.
//! - `/channels/{slug}/{rung}/fmp4.m3u8`: a live HLS-fMP4 media playlist of a rung's video
//!   (EXT-X-MAP after every discontinuity), and `/channels/{slug}/{audio track}/fmp4.m3u8`
//!   (e.g. `audio-96k/fmp4.m3u8`) the same of an audio track.
//! - `/channels/{slug}/manifest.mpd`: the dynamic DASH MPD, over the same CMAF tracks.
//! - `/time`: the origin's clock as ISO 8601 with milliseconds, for the MPD's `UTCTiming`
//!   (`urn:mpeg:dash:utc:http-iso:2014`); never cached.
//! - `/media/{*path}`: a segment or init file (MPEG-TS, CMAF video or CMAF audio alike), with
//!   byte ranges; `..` is refused.
//!
//! Each manifest exists only for a channel published in its format (`hls-ts`, `hls-fmp4`,
//! `dash`): otherwise, as for an unknown or stopped channel, a 404 that says why.
//!
//! Manifests carry a weak ETag (If-None-Match gives 304), are served gzipped to clients that
//! accept it (compressed once per rendering, not per request), and are cached by players and
//! CDNs for half a segment (media playlists and the MPD) or a few seconds (multivariant). Media
//! playlists and MPDs are rendered once per window position and channel. Segment files never
//! change once written, so they are cached for a year. Every response allows any origin, for
//! browser players.

use std::path::PathBuf;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, RawPathParams, Request, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::header::{self, HeaderMap, HeaderValue};
use http::{StatusCode, Uri};
use onair_domain::{Clock, OutputFormat, Packaging};
use rustc_hash::FxHashMap;
use tower::ServiceExt as _;
use tower_http::services::ServeDir;

use crate::ChannelPlayout;
use crate::dash::{MPD_CONTENT_TYPE, MpdOptions};
use crate::hls::MediaPlaylistOptions;
use crate::playlist_cache::{PlaylistCache, Rendered};
use cors::OriginCorsLayer;

mod cors;

/// The content type of every HLS playlist.
pub const PLAYLIST_CONTENT_TYPE: &str = "application/vnd.apple.mpegurl";

/// Segment files never change once written.
pub const SEGMENT_CACHE_CONTROL: &str = "public, max-age=31536000, immutable";

/// How long a multivariant playlist may be cached: it changes only when the channel's ladder or
/// assets do.
pub const MULTIVARIANT_MAX_AGE_SECS: i64 = 5;

/// Where the origin serves its clock, and the MPD's `UTCTiming` points.
pub const TIME_PATH: &str = "/time";

/// The channels the origin serves, by slug. The binary fills it and refreshes it; requests read
/// it. Reads take a shared lock for a hash lookup and an `Arc` clone. FxHash: a request's slug
/// is looked up, never added, so a client cannot choose keys that collide.
#[derive(Debug, Default)]
pub struct Directory {
    channels: RwLock<FxHashMap<String, Arc<ChannelPlayout>>>,
}

impl Directory {
    pub fn new() -> Directory {
        Directory::default()
    }

    /// Serves `playout` under `slug` from now on; returns what it served before.
    pub fn replace(&self, slug: &str, playout: Arc<ChannelPlayout>) -> Option<Arc<ChannelPlayout>> {
        self.channels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(slug.to_owned(), playout)
    }

    /// Stops serving `slug`; returns what it served.
    pub fn remove(&self, slug: &str) -> Option<Arc<ChannelPlayout>> {
        self.channels
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(slug)
    }

    pub fn get(&self, slug: &str) -> Option<Arc<ChannelPlayout>> {
        self.channels
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .get(slug)
            .cloned()
    }

    /// Every channel served, ordered by slug.
    pub fn all(&self) -> Vec<Arc<ChannelPlayout>> {
        let channels = self.channels.read().unwrap_or_else(PoisonError::into_inner);
        let mut entries: Vec<(&String, &Arc<ChannelPlayout>)> = channels.iter().collect();
        entries.sort_unstable_by_key(|(slug, _)| *slug);
        entries
            .into_iter()
            .map(|(_, playout)| Arc::clone(playout))
            .collect()
    }
}

/// What the origin needs: the channels, where "now" comes from, and where segment files are.
#[derive(Debug, Clone)]
pub struct OriginState {
    pub directory: Arc<Directory>,
    pub clock: Arc<dyn Clock>,
    /// Segment paths in renditions are relative to this folder.
    pub media_root: PathBuf,
}

struct Origin {
    state: OriginState,
    cache: PlaylistCache,
    media: ServeDir,
    mpd_options: MpdOptions,
}

/// The origin's routes, ready to be served or nested.
pub fn router(state: OriginState) -> Router {
    let media = ServeDir::new(&state.media_root).append_index_html_on_directories(false);
    let origin = Arc::new(Origin {
        state,
        cache: PlaylistCache::default(),
        media,
        mpd_options: MpdOptions {
            utc_timing_url: TIME_PATH.into(),
            ..MpdOptions::default()
        },
    });
    Router::new()
        .route("/channels/{slug}/master.m3u8", get(multivariant_ts))
        .route("/channels/{slug}/master-fmp4.m3u8", get(multivariant_fmp4))
        .route("/channels/{slug}/{rung}/ts.m3u8", get(media_playlist_ts))
        .route(
            "/channels/{slug}/{rung}/fmp4.m3u8",
            get(media_playlist_fmp4),
        )
        .route("/channels/{slug}/manifest.mpd", get(mpd))
        .route(TIME_PATH, get(time))
        .route("/media/{*path}", get(media_file))
        .layer(OriginCorsLayer::new())
        .with_state(origin)
}

// The handlers read the request's headers in place (`Request` last) rather than as a
// `HeaderMap` extractor, which would copy them on every request.

async fn multivariant_ts(
    State(origin): State<Arc<Origin>>,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, OriginError> {
    origin.multivariant(&slug, Packaging::Ts, request.headers())
}

async fn multivariant_fmp4(
    State(origin): State<Arc<Origin>>,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, OriginError> {
    origin.multivariant(&slug, Packaging::Cmaf, request.headers())
}

async fn media_playlist_ts(
    State(origin): State<Arc<Origin>>,
    params: RawPathParams,
    request: Request,
) -> Result<Response, OriginError> {
    origin.media_playlist(
        param(&params, "slug"),
        param(&params, "rung"),
        &MediaPlaylistOptions::ts_with_cues_in_segments(),
        request.headers(),
    )
}

async fn media_playlist_fmp4(
    State(origin): State<Arc<Origin>>,
    params: RawPathParams,
    request: Request,
) -> Result<Response, OriginError> {
    origin.media_playlist(
        param(&params, "slug"),
        param(&params, "rung"),
        &MediaPlaylistOptions::fmp4(),
        request.headers(),
    )
}

/// A parameter of the route, as the router decoded it: borrowed, where `Path<(String, String)>`
/// would copy each one on every request. Every route that reads one names it.
fn param<'a>(params: &'a RawPathParams, name: &str) -> &'a str {
    params
        .iter()
        .find_map(|(key, value)| (key == name).then_some(value))
        .unwrap_or_default()
}

async fn mpd(
    State(origin): State<Arc<Origin>>,
    Path(slug): Path<String>,
    request: Request,
) -> Result<Response, OriginError> {
    let playout = origin.published(&slug, OutputFormat::Dash)?;
    let now = origin.state.clock.now();
    let rendered = origin
        .cache
        .mpd(&slug, &playout, now, &origin.mpd_options)
        .ok_or(OriginError::NotPublished {
            slug: slug.clone(),
            output: OutputFormat::Dash,
        })?;
    Ok(manifest_response(
        &rendered,
        request.headers(),
        MPD_CONTENT_TYPE,
        playlist_max_age(&playout),
    ))
}

/// The clock, for `UTCTiming`: never cached, since it is the one thing that is not a function
/// of the window.
async fn time(State(origin): State<Arc<Origin>>) -> Response {
    let now = origin.state.clock.now().to_rfc3339_millis();
    let headers = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        ),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ];
    (headers, now).into_response()
}

/// Half a segment: a player or CDN never sees a window more than that late.
fn playlist_max_age(playout: &ChannelPlayout) -> i64 {
    (playout.target_duration_secs() / 2).max(1)
}

impl Origin {
    fn multivariant(
        &self,
        slug: &str,
        packaging: Packaging,
        headers: &HeaderMap,
    ) -> Result<Response, OriginError> {
        let output = MediaPlaylistOptions {
            packaging,
            ..MediaPlaylistOptions::default()
        }
        .output_format();
        let playout = self.published(slug, output)?;
        let rendered = self.cache.multivariant(slug, &playout, packaging);
        Ok(manifest_response(
            &rendered,
            headers,
            PLAYLIST_CONTENT_TYPE,
            MULTIVARIANT_MAX_AGE_SECS,
        ))
    }

    /// The channel under `slug`, if it is on air and published as `output`.
    fn published(
        &self,
        slug: &str,
        output: OutputFormat,
    ) -> Result<Arc<ChannelPlayout>, OriginError> {
        let Some(playout) = self.state.directory.get(slug) else {
            self.cache.forget(slug);
            return Err(OriginError::UnknownChannel(slug.to_owned()));
        };
        if !playout.channel().on_air {
            return Err(OriginError::OffAir(slug.to_owned()));
        }
        if !playout.publishes(output) {
            return Err(OriginError::NotPublished {
                slug: slug.to_owned(),
                output,
            });
        }
        Ok(playout)
    }

    fn media_playlist(
        &self,
        slug: &str,
        rung: &str,
        options: &MediaPlaylistOptions,
        headers: &HeaderMap,
    ) -> Result<Response, OriginError> {
        let playout = self.published(slug, options.output_format())?;
        let unknown_rung = || OriginError::UnknownRung {
            slug: slug.to_owned(),
            rung: rung.to_owned(),
        };
        let track = playout
            .media_track(rung, options.packaging)
            .ok_or_else(unknown_rung)?;
        let now = self.state.clock.now();
        let rendered = self
            .cache
            .media_playlist(slug, &playout, track, now, options)
            .ok_or_else(unknown_rung)?;
        Ok(manifest_response(
            &rendered,
            headers,
            PLAYLIST_CONTENT_TYPE,
            playlist_max_age(&playout),
        ))
    }
}

/// The most headers a manifest response carries: its own five (with Content-Encoding), CORS's
/// three, the request id, and a spare.
const MANIFEST_HEADERS: usize = 10;

fn manifest_response(
    rendered: &Rendered,
    request: &HeaderMap,
    content_type: &'static str,
    max_age_secs: i64,
) -> Response {
    let (mut response, gzipped) = if none_match(request, &rendered.etag) {
        (StatusCode::NOT_MODIFIED.into_response(), false)
    } else if accepts_gzip(request) {
        (Response::new(Body::from(rendered.gzip.clone())), true)
    } else {
        (Response::new(Body::from(rendered.identity.clone())), false)
    };
    // Room for these, CORS's and the request id's at once, rather than growing three times.
    let headers = response.headers_mut();
    headers.reserve(MANIFEST_HEADERS);
    if gzipped {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    headers.insert(header::CACHE_CONTROL, public_max_age(max_age_secs));
    headers.insert(header::ETAG, rendered.etag.clone());
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    response
}

/// `Cache-Control: public, max-age=N`: made once for the ages a channel's segments give (up
/// to a minute), on each request beyond that.
fn public_max_age(max_age_secs: i64) -> HeaderValue {
    const MADE_UP_TO: usize = 60;
    static MADE: LazyLock<Vec<HeaderValue>> = LazyLock::new(|| {
        (0..=MADE_UP_TO)
            .map(|secs| {
                HeaderValue::try_from(format!("public, max-age={secs}"))
                    .expect("a number is a valid header value")
            })
            .collect()
    });
    usize::try_from(max_age_secs)
        .ok()
        .and_then(|secs| MADE.get(secs))
        .cloned()
        .unwrap_or_else(|| {
            HeaderValue::try_from(format!("public, max-age={max_age_secs}"))
                .expect("a number is a valid header value")
        })
}

/// Whether If-None-Match names `etag`, compared weakly (RFC 9110, section 13.1.2).
fn none_match(request: &HeaderMap, etag: &HeaderValue) -> bool {
    let ours = opaque_tag(etag.to_str().unwrap_or_default());
    request
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
        .map(str::trim)
        .any(|tag| tag == "*" || opaque_tag(tag) == ours)
}

fn opaque_tag(tag: &str) -> &str {
    tag.strip_prefix("W/").unwrap_or(tag)
}

/// Whether Accept-Encoding admits gzip: named (or `x-gzip`, or `*`) with a non-zero quality.
fn accepts_gzip(request: &HeaderMap) -> bool {
    let (mut gzip, mut any) = (None, None);
    for item in request
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|list| list.split(','))
    {
        let mut parts = item.split(';');
        let coding = parts.next().unwrap_or_default().trim();
        let acceptable = !parts.any(|parameter| {
            let parameter = parameter.trim();
            let quality = parameter
                .strip_prefix("q=")
                .or_else(|| parameter.strip_prefix("Q="));
            quality.is_some_and(is_zero_quality)
        });
        if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
            gzip = Some(acceptable);
        } else if coding == "*" {
            any = Some(acceptable);
        }
    }
    gzip.or(any).unwrap_or(false)
}

/// `0`, `0.`, `0.0`, `0.00` or `0.000`.
fn is_zero_quality(quality: &str) -> bool {
    let quality = quality.trim();
    quality == "0"
        || quality
            .strip_prefix("0.")
            .is_some_and(|decimals| decimals.bytes().all(|b| b == b'0'))
}

async fn media_file(
    State(origin): State<Arc<Origin>>,
    Path(path): Path<String>,
    request: Request,
) -> Result<Response, OriginError> {
    if !is_plain_relative_path(&path) {
        return Err(OriginError::RefusedPath(path));
    }
    let (mut parts, body) = request.into_parts();
    // ServeDir serves its URI path from the media root: drop `/media`, keep the percent-encoding.
    let within_root = parts
        .uri
        .path()
        .strip_prefix("/media")
        .unwrap_or(parts.uri.path())
        .to_owned();
    parts.uri = Uri::builder()
        .path_and_query(within_root)
        .build()
        .map_err(|_| OriginError::RefusedPath(path.clone()))?;
    let Ok(response) = origin
        .media
        .clone()
        .oneshot(Request::from_parts(parts, body))
        .await;
    let mut response = response.map(Body::new);
    let status = response.status();
    if status.is_success() || status == StatusCode::NOT_MODIFIED {
        let headers = response.headers_mut();
        headers.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static(SEGMENT_CACHE_CONTROL),
        );
        if let Some(content_type) = media_content_type(&path).filter(|_| status.is_success()) {
            headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        }
    }
    Ok(response)
}

/// Relative, with no `.`, `..` or empty component, no backslash and no NUL.
fn is_plain_relative_path(path: &str) -> bool {
    !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

fn media_content_type(path: &str) -> Option<&'static str> {
    match path.rsplit_once('.')?.1 {
        "ts" => Some("video/mp2t"),
        "m4s" => Some("video/iso.segment"),
        "mp4" => Some("video/mp4"),
        "m3u8" => Some(PLAYLIST_CONTENT_TYPE),
        "mpd" => Some(MPD_CONTENT_TYPE),
        _ => None,
    }
}

/// Why a request gets no manifest or file: each a 404 but a refused path, which is a 400.
#[derive(Debug, thiserror::Error)]
enum OriginError {
    #[error("unknown channel {0}")]
    UnknownChannel(String),
    #[error("channel {0} is off air")]
    OffAir(String),
    #[error("channel {slug} is not published as {}", .output.as_str())]
    NotPublished { slug: String, output: OutputFormat },
    #[error("channel {slug} has no rung {rung}")]
    UnknownRung { slug: String, rung: String },
    #[error("refused media path {0:?}: only plain relative paths are served")]
    RefusedPath(String),
}

impl IntoResponse for OriginError {
    fn into_response(self) -> Response {
        let status = match self {
            OriginError::RefusedPath(_) => StatusCode::BAD_REQUEST,
            _ => StatusCode::NOT_FOUND,
        };
        let headers = [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
        ];
        (status, headers, format!("{self}\n")).into_response()
    }
}

#[cfg(test)]
mod tests;
