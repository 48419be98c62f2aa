//! The errors of the media crate, worded for the person who has to act on them.

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    #[error("GStreamer could not start: {0}")]
    Init(String),

    #[error("the GStreamer element {element:?} is missing: install the Debian package {package}")]
    MissingElement {
        element: &'static str,
        package: &'static str,
    },

    /// The request itself is wrong (a clip spec, a ladder, a path), before any media is touched.
    #[error("{0}")]
    Invalid(String),

    /// The input could not be probed: not a media file, damaged, or in a format we cannot decode.
    #[error("{}: {reason}", path.display())]
    Unreadable { path: PathBuf, reason: String },

    #[error("{}: no video stream to encode{}", path.display(), .detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    NoVideo {
        path: PathBuf,
        detail: Option<String>,
    },

    /// GStreamer reported an error while running a pipeline.
    #[error("{context}: {message}{}", .element.as_deref().map(|e| format!(" (in {e})")).unwrap_or_default())]
    Pipeline {
        context: String,
        message: String,
        /// The element that reported it.
        element: Option<String>,
        /// GStreamer's debug details, for logs.
        debug: Option<String>,
    },

    #[error("{context}: {reason} after {:.1} s", .after.as_secs_f64())]
    Timeout {
        context: String,
        reason: String,
        after: Duration,
    },

    #[error("{}: decoding stopped at {decoded:.2} s of {expected:.2} s: the file looks truncated or damaged", path.display())]
    Truncated {
        path: PathBuf,
        decoded: f64,
        expected: f64,
    },

    /// The encoded segments break an invariant (boundaries differ across rungs, keyframes off the grid).
    #[error("{context}: {detail}")]
    Segments { context: String, detail: String },

    /// The input's picture is larger than [`EncodeOptions`](crate::EncodeOptions) allow.
    #[error("{}: the video is {width}x{height}, larger than the {max_width}x{max_height} this farm accepts", path.display())]
    TooLarge {
        path: PathBuf,
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
    },

    /// No decoder is installed for a stream of the input.
    #[error("{}: unsupported codec: no decoder for {codec}{}", path.display(), .detail.as_deref().map(|d| format!(" ({d})")).unwrap_or_default())]
    UnsupportedCodec {
        path: PathBuf,
        /// What the stream is, e.g. "video/x-h265 (H.265 / HEVC)".
        codec: String,
        detail: Option<String>,
    },

    /// The encode was cancelled through [`EncodeOptions::cancel`](crate::EncodeOptions); nothing
    /// it wrote is left.
    #[error("the encode was cancelled")]
    Cancelled,

    /// The live ladder no longer takes input: it failed, ended or was stopped.
    #[error("the live ladder has stopped: {reason}")]
    LiveStopped { reason: String },

    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl MediaError {
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> MediaError {
        let path = path.into();
        move |source| MediaError::Io { path, source }
    }

    /// Wraps a GStreamer API failure (an element that would not build, link or change state).
    pub(crate) fn gst(context: &str, failure: impl std::fmt::Display) -> MediaError {
        MediaError::Pipeline {
            context: context.to_owned(),
            message: failure.to_string(),
            element: None,
            debug: None,
        }
    }
}
