//! Each live source on its own as LL-HLS: the operator's preview and a low-latency output for
//! events, served from the [`LlOutputs`] the ingest feeds (`playout::llhls` writes the playlists
//! and says when to answer; this holds the requests and reads the ladder's files).
//!
//! Routes (GET and HEAD), public like the channels' playlists:
//! - `/live/{source}/llhls.m3u8`: the multivariant playlist of the publish in progress; 404
//!   for a source that is not publishing, 503 (with `Retry-After`) until every rendition has
//!   a complete segment.
//! - `/live/{source}/{rendition}/llhls.m3u8`: a rendition's media playlist, with blocking reload
//!   (`_HLS_msn`, `_HLS_part`): 400 for a request the rules refuse, held until the playlist has
//!   what it asks, 503 after three target durations. An ended publish's playlists end with
//!   EXT-X-ENDLIST (its multivariant playlist is 404).
//! - `/live/{source}/{rendition}/{file}`: `init-{n}.mp4`, segments `{start}.m4s` and parts
//!   `{start}.{i}.m4s` of the current publish, from `{media_root}/live/{source}/{publish}/`. The
//!   part the playlist hints that is not written yet is held until it is (then served), or
//!   answered 404 once the hint moves on without it, or after three target durations.
//!
//! Every answer carries `playout::llhls::cache_control` and allows any origin.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onair_domain::{Ticks, Timestamp};
use onair_playout::llhls::{
    self, LlConfig, LlOutputs, LlPublish, LlResponse, LlSource, MEDIA_PLAYLIST_NAME, Reload, Waited,
};
use tokio::time::Instant;

/// The content type of every HLS playlist.
const PLAYLIST_CONTENT_TYPE: &str = "application/vnd.apple.mpegurl";

#[derive(Clone)]
pub struct LlHlsState {
    pub outputs: Arc<LlOutputs>,
    /// Where the ladder writes: the publish's files are under `live/{source}/{publish}/`.
    pub media_root: PathBuf,
}

pub fn router(state: LlHlsState) -> Router {
    Router::new()
        .route("/live/{source}/llhls.m3u8", get(multivariant))
        .route("/live/{source}/{rendition}/{file}", get(rendition_file))
        .with_state(state)
}

async fn multivariant(State(state): State<LlHlsState>, Path(source): Path<String>) -> Response {
    let Some(output) = state.outputs.source(&source) else {
        return not_publishing(&source);
    };
    output.read(|publish| match publish {
        Some(publish) if !publish.has_ended() => {
            if publish.is_playable() {
                playlist(
                    publish.multivariant(),
                    LlResponse::Multivariant,
                    &publish.config,
                )
            } else {
                let mut response = refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "live source {source} is publishing; its first segment is not ready yet"
                    ),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                response
            }
        }
        _ => not_publishing(&source),
    })
}

async fn rendition_file(
    State(state): State<LlHlsState>,
    Path((source, rendition, file)): Path<(String, String, String)>,
    RawQuery(query): RawQuery,
) -> Response {
    let Some(output) = state.outputs.source(&source) else {
        return not_publishing(&source);
    };
    if file == MEDIA_PLAYLIST_NAME {
        return media_playlist(&output, &source, &rendition, query.as_deref()).await;
    }
    let Some(kind) = FileKind::parse(&file) else {
        return refused(
            StatusCode::NOT_FOUND,
            format!("no such LL-HLS file: {file}"),
        );
    };
    media_file(&state, &output, &source, &rendition, &file, kind).await
}

/// What a playlist request gets at first.
enum First {
    Answer(Response),
    Hold { msn: u64, part: Option<u32> },
}

/// What a held request does next.
enum Step {
    Answer(Response),
    Wait(Duration),
}

async fn media_playlist(
    output: &LlSource,
    source: &str,
    rendition: &str,
    query: Option<&str>,
) -> Response {
    let mut changes = output.subscribe();
    changes.borrow_and_update();
    let first = output.read(|publish| match find(publish, rendition) {
        Err(missing) => First::Answer(missing.response(source, rendition)),
        Ok((publish, listed)) => match llhls::reload(listed, query) {
            Reload::Now => {
                let kind = if has_msn(query) {
                    LlResponse::BlockingMediaPlaylist
                } else {
                    LlResponse::MediaPlaylist
                };
                First::Answer(render(publish, rendition, kind))
            }
            Reload::BadRequest(reason) => First::Answer(refused(StatusCode::BAD_REQUEST, reason)),
            Reload::WaitFor { msn, part } => First::Hold { msn, part },
        },
    });
    let (msn, part) = match first {
        First::Hold { msn, part } => (msn, part),
        First::Answer(response) => return response,
    };
    let started = Instant::now();
    loop {
        let waited = ticks(started.elapsed());
        let step = output.read(|publish| match find(publish, rendition) {
            Err(missing) => Step::Answer(missing.response(source, rendition)),
            Ok((publish, listed)) => match llhls::poll_wait(listed, msn, part, waited) {
                Waited::Ready => Step::Answer(render(
                    publish,
                    rendition,
                    LlResponse::BlockingMediaPlaylist,
                )),
                Waited::Unavailable => Step::Answer(refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "{rendition} of live source {source} has no segment {msn}{} after {} ms",
                        part.map_or(String::new(), |part| format!(" part {part}")),
                        waited.as_millis()
                    ),
                )),
                Waited::Wait { at_most } => Step::Wait(duration(at_most)),
            },
        });
        match step {
            Step::Wait(at_most) => {
                // A timeout or a change: look again either way (the sender lives with `output`).
                let _ = tokio::time::timeout(at_most, changes.changed()).await;
                changes.borrow_and_update();
            }
            Step::Answer(response) => return response,
        }
    }
}

/// Why [`find`] found nothing: a 404 that says so.
enum Missing {
    Publish,
    Rendition,
}

impl Missing {
    fn response(self, source: &str, rendition: &str) -> Response {
        match self {
            Missing::Publish => not_publishing(source),
            Missing::Rendition => refused(
                StatusCode::NOT_FOUND,
                format!("live source {source} has no rendition {rendition}"),
            ),
        }
    }
}

/// The publish and its rendition `rendition`.
fn find<'a>(
    publish: Option<&'a LlPublish>,
    rendition: &str,
) -> Result<(&'a LlPublish, &'a llhls::LlRendition), Missing> {
    let publish = publish.ok_or(Missing::Publish)?;
    let listed = publish.rendition(rendition).ok_or(Missing::Rendition)?;
    Ok((publish, listed))
}

fn render(publish: &LlPublish, rendition: &str, kind: LlResponse) -> Response {
    let text = publish.media_playlist(rendition).unwrap_or_default();
    playlist(text, kind, &publish.config)
}

fn has_msn(query: Option<&str>) -> bool {
    llhls::parse_directives(query).is_ok_and(|directives| directives.msn.is_some())
}

/// The files of a rendition the routes serve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileKind {
    Init,
    Segment,
    Part { segment: Timestamp, index: u32 },
}

impl FileKind {
    /// `init-{n}.mp4`, `{start}.m4s`, `{start}.{i}.m4s`: digits only, so no path escapes.
    fn parse(file: &str) -> Option<FileKind> {
        let digits = |text: &str| !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        if let Some(n) = file
            .strip_prefix("init-")
            .and_then(|rest| rest.strip_suffix(".mp4"))
        {
            return digits(n).then_some(FileKind::Init);
        }
        let stem = file.strip_suffix(".m4s")?;
        match stem.split_once('.') {
            None => digits(stem).then_some(FileKind::Segment),
            Some((start, index)) if digits(start) && digits(index) => Some(FileKind::Part {
                segment: Timestamp(start.parse().ok()?),
                index: index.parse().ok()?,
            }),
            Some(_) => None,
        }
    }
}

async fn media_file(
    state: &LlHlsState,
    output: &LlSource,
    source: &str,
    rendition: &str,
    file: &str,
    kind: FileKind,
) -> Response {
    let mut changes = output.subscribe();
    changes.borrow_and_update();
    let found: Result<(PathBuf, i64, LlConfig, Ticks), Missing> = output.read(|publish| {
        let (publish, listed) = find(publish, rendition)?;
        Ok((
            state
                .media_root
                .join(&publish.files)
                .join(rendition)
                .join(file),
            publish.publish,
            publish.config,
            llhls::block_timeout(listed),
        ))
    });
    let (path, publish, config, timeout) = match found {
        Ok(found) => found,
        Err(missing) => return missing.response(source, rendition),
    };
    let started = Instant::now();
    loop {
        match tokio::fs::read(&path).await {
            Ok(bytes) => return media(bytes, kind, &config),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
            Err(error) => {
                tracing::warn!(path = %path.display(), %error, "cannot read an LL-HLS file");
                return refused(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("cannot read {file}"),
                );
            }
        }
        // Only the hinted part is worth waiting for.
        let FileKind::Part { segment, index } = kind else {
            return missing(file);
        };
        let hinted = output.read(|current| {
            current.is_some_and(|current| {
                current.publish == publish
                    && current
                        .rendition(rendition)
                        .and_then(llhls::LlRendition::preload_hint)
                        == Some((segment, index))
            })
        });
        let left = timeout_left(timeout, started);
        if !hinted || left.is_zero() {
            return missing(file);
        }
        let _ = tokio::time::timeout(left, changes.changed()).await;
        changes.borrow_and_update();
    }
}

fn timeout_left(timeout: Ticks, started: Instant) -> Duration {
    duration(timeout).saturating_sub(started.elapsed())
}

fn ticks(elapsed: Duration) -> Ticks {
    Ticks::from_millis(i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
}

fn duration(ticks: Ticks) -> Duration {
    Duration::from_millis(u64::try_from(ticks.as_millis()).unwrap_or(0).max(1))
}

fn playlist(text: String, kind: LlResponse, config: &LlConfig) -> Response {
    answer(
        StatusCode::OK,
        PLAYLIST_CONTENT_TYPE,
        kind,
        config,
        text.into(),
    )
}

fn media(bytes: Vec<u8>, kind: FileKind, config: &LlConfig) -> Response {
    let (content_type, response) = match kind {
        FileKind::Init => ("video/mp4", LlResponse::Init),
        FileKind::Segment | FileKind::Part { .. } => ("video/iso.segment", LlResponse::Media),
    };
    answer(StatusCode::OK, content_type, response, config, bytes.into())
}

fn answer(
    status: StatusCode,
    content_type: &'static str,
    kind: LlResponse,
    config: &LlConfig,
    body: axum::body::Body,
) -> Response {
    let cache_control = llhls::cache_control(kind, config);
    (
        status,
        [
            (header::CONTENT_TYPE, content_type.to_owned()),
            (header::CACHE_CONTROL, cache_control),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, "*".to_owned()),
        ],
        body,
    )
        .into_response()
}

fn refused(status: StatusCode, message: String) -> Response {
    answer(
        status,
        "text/plain; charset=utf-8",
        LlResponse::Refused,
        &LlConfig::default(),
        format!("{message}\n").into(),
    )
}

fn not_publishing(source: &str) -> Response {
    refused(
        StatusCode::NOT_FOUND,
        format!("live source {source} is not publishing"),
    )
}

fn missing(file: &str) -> Response {
    refused(
        StatusCode::NOT_FOUND,
        format!("no such LL-HLS file: {file}"),
    )
}

#[cfg(test)]
mod tests;
