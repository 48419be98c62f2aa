//! The segments that open and close a break, served with the break's SCTE-35 cue inside:
//! `/channels/{slug}/{rung}/scte35/{event}/{cue}/{pts_time}/{duration}/{*path}`, the URL the
//! channel's HLS-TS playlists give those segments (see `playout::hls`). Public, like the
//! playlists.
//!
//! The handler reads the shared file under the media root, adds the cue the URL names with
//! `playout::ts_scte35` (pure), and serves it with the segments' caching headers: the URL is a
//! function of the timeline, so the same URL gives the same bytes on every replica. A file the
//! rewriter refuses is served as it is (the playlist still carries the cue), with a warning.
//!
//! Refusals: 404 for a channel not on air or not published as HLS-TS, a rung it does not have
//! or a file that does not exist; 400 for a cue or path the route does not accept.

use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use onair_domain::OutputFormat;
use onair_playout::Directory;
use onair_playout::origin::SEGMENT_CACHE_CONTROL;
use onair_playout::ts_scte35::{self, SegmentCue};

#[derive(Clone)]
pub struct Scte35SegmentState {
    pub directory: Arc<Directory>,
    /// Segment paths in renditions are relative to this folder.
    pub media_root: PathBuf,
}

/// The route, ready to be merged beside the origin's.
pub fn router(state: Scte35SegmentState) -> Router {
    Router::new()
        .route(
            "/channels/{slug}/{rung}/scte35/{event}/{cue}/{pts}/{duration}/{*path}",
            get(cued_segment),
        )
        .with_state(state)
}

type CuedPath = (String, String, String, String, String, String, String);

async fn cued_segment(
    State(state): State<Scte35SegmentState>,
    Path((slug, rung, event, cue, pts, duration, path)): Path<CuedPath>,
) -> Response {
    let cue = match SegmentCue::parse(&event, &cue, &pts, &duration) {
        Ok(cue) => cue,
        Err(error) => return refused(StatusCode::BAD_REQUEST, error.to_string()),
    };
    if !is_plain_ts_path(&path) {
        return refused(
            StatusCode::BAD_REQUEST,
            format!("refused segment path {path:?}: only plain relative paths to .ts files"),
        );
    }
    let Some(playout) = state.directory.get(&slug) else {
        return refused(StatusCode::NOT_FOUND, format!("unknown channel {slug}"));
    };
    if !playout.publishes(OutputFormat::HlsTs) {
        return refused(
            StatusCode::NOT_FOUND,
            format!("channel {slug} is not published as hls-ts"),
        );
    }
    if playout.rung_index(&rung).is_none() {
        return refused(
            StatusCode::NOT_FOUND,
            format!("channel {slug} has no rung {rung}"),
        );
    }
    let segment = match tokio::fs::read(state.media_root.join(&path)).await {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            return refused(StatusCode::NOT_FOUND, format!("no segment {path}"));
        }
        Err(error) => {
            tracing::error!(%error, path, "cannot read a segment to cue");
            return refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                "cannot read the segment".to_owned(),
            );
        }
    };
    (
        segment_headers("video/mp2t"),
        with_cue(segment, &cue, &slug, &path),
    )
        .into_response()
}

/// `segment` (a TS file's bytes) with `cue` inside, or as it is, with a warning, when the
/// rewriter refuses it: the channel's `scte35/` URLs and the partners' serve it alike.
pub(crate) fn with_cue(segment: Vec<u8>, cue: &SegmentCue, slug: &str, path: &str) -> Vec<u8> {
    let (body, refusal) = ts_scte35::insert_cue_or_original(segment, &cue.section());
    if let Some(error) = refusal {
        tracing::warn!(%error, slug, path, "segment served without its SCTE-35 cue");
    }
    body
}

/// The headers a segment is served with: the origin's caching, readable from any origin.
pub(crate) fn segment_headers(
    content_type: &'static str,
) -> [(header::HeaderName, HeaderValue); 3] {
    [
        (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
        (
            header::CACHE_CONTROL,
            HeaderValue::from_static(SEGMENT_CACHE_CONTROL),
        ),
        (
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        ),
    ]
}

/// Relative, with no `.`, `..` or empty component, no backslash or NUL.
pub(crate) fn is_plain_path(path: &str) -> bool {
    !path.contains(['\\', '\0'])
        && path
            .split('/')
            .all(|part| !part.is_empty() && part != "." && part != "..")
}

/// [`is_plain_path`], ending in `.ts`.
fn is_plain_ts_path(path: &str) -> bool {
    path.ends_with(".ts") && is_plain_path(path)
}

fn refused(status: StatusCode, message: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/plain; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
            (
                header::ACCESS_CONTROL_ALLOW_ORIGIN,
                HeaderValue::from_static("*"),
            ),
        ],
        format!("{message}\n"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_plain_relative_ts_paths_are_read() {
        for (path, plain) in [
            ("assets/4/360p/ts/00000.ts", true),
            ("assets/4/360p/ts/../../../etc/passwd.ts", false),
            ("assets/4/360p/fmp4/00000.m4s", false),
            ("assets//00000.ts", false),
            ("assets/./00000.ts", false),
            ("assets\\00000.ts", false),
        ] {
            assert_eq!(is_plain_ts_path(path), plain, "{path}");
        }
    }
}
