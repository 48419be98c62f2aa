//! Starting GStreamer once, and the elements we use with the Debian packages that carry them.

use std::sync::OnceLock;

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::error::MediaError;

/// Every element this crate creates, with the Debian package to install when it is missing.
const REQUIRED: &[(&str, &str)] = &[
    ("queue", "libgstreamer1.0-0"),
    ("tee", "libgstreamer1.0-0"),
    ("identity", "libgstreamer1.0-0"),
    ("capsfilter", "libgstreamer1.0-0"),
    ("fakesink", "libgstreamer1.0-0"),
    ("filesink", "libgstreamer1.0-0"),
    ("uridecodebin", "gstreamer1.0-plugins-base"),
    ("decodebin", "gstreamer1.0-plugins-base"),
    ("appsrc", "gstreamer1.0-plugins-base"),
    ("videotestsrc", "gstreamer1.0-plugins-base"),
    ("audiotestsrc", "gstreamer1.0-plugins-base"),
    ("videoconvert", "gstreamer1.0-plugins-base"),
    ("videoscale", "gstreamer1.0-plugins-base"),
    ("videorate", "gstreamer1.0-plugins-base"),
    ("audioconvert", "gstreamer1.0-plugins-base"),
    ("audioresample", "gstreamer1.0-plugins-base"),
    ("audiorate", "gstreamer1.0-plugins-base"),
    ("appsink", "gstreamer1.0-plugins-base"),
    ("textoverlay", "gstreamer1.0-x"),
    ("timeoverlay", "gstreamer1.0-x"),
    ("deinterlace", "gstreamer1.0-plugins-good"),
    ("aacparse", "gstreamer1.0-plugins-good"),
    ("flvdemux", "gstreamer1.0-plugins-good"),
    ("tsdemux", "gstreamer1.0-plugins-bad"),
    ("mp4mux", "gstreamer1.0-plugins-good"),
    ("splitmuxsink", "gstreamer1.0-plugins-good"),
    ("h264parse", "gstreamer1.0-plugins-bad"),
    ("mpegtsmux", "gstreamer1.0-plugins-bad"),
    ("x264enc", "gstreamer1.0-plugins-ugly"),
    ("avenc_aac", "gstreamer1.0-libav"),
    ("jpegenc", "gstreamer1.0-plugins-good"),
    // Registered from the gst-plugin-fmp4 crate linked into this binary, not from the system.
    (
        "cmafmux",
        "(none: built into onair; a failed static registration of gst-plugin-fmp4)",
    ),
    // Registered from the gst-plugin-audiofx crate linked into this binary.
    (
        "audioloudnorm",
        "(none: built into onair; a failed static registration of gst-plugin-audiofx)",
    ),
];

/// Starts GStreamer (once per process), registers the fragmented-MP4 muxers and the loudness
/// normaliser linked into this binary, and checks that every element the crate uses exists. A missing element names the
/// Debian package to install. Every public function of this crate calls it, so calling it
/// up front is only a way to fail early, at startup.
pub fn init() -> Result<(), MediaError> {
    static STARTED: OnceLock<Result<(), String>> = OnceLock::new();
    STARTED
        .get_or_init(|| {
            gst::init().map_err(|error| error.to_string())?;
            gstfmp4::plugin_register_static().map_err(|error| {
                format!("registering the fragmented MP4 muxers (gst-plugin-fmp4) failed: {error}")
            })?;
            gstrsaudiofx::plugin_register_static().map_err(|error| {
                format!("registering the loudness normaliser (gst-plugin-audiofx) failed: {error}")
            })
        })
        .clone()
        .map_err(MediaError::Init)?;
    for (element, package) in REQUIRED {
        if gst::ElementFactory::find(element).is_none() {
            return Err(MediaError::MissingElement { element, package });
        }
    }
    Ok(())
}

/// `factory` named `name`, with no properties set.
pub(crate) fn make(factory: &str, name: &str) -> Result<gst::Element, MediaError> {
    gst::ElementFactory::make(factory)
        .name(name)
        .build()
        .map_err(|error| MediaError::gst(&format!("creating {factory}"), error))
}

/// A queue bounded by time only: raw media is large, so a byte or buffer bound would stall a
/// high-resolution branch long before a second of it is queued.
pub(crate) fn queue(name: &str, max_time: gst::ClockTime) -> Result<gst::Element, MediaError> {
    let queue = make("queue", name)?;
    queue.set_property("max-size-buffers", 0u32);
    queue.set_property("max-size-bytes", 0u32);
    queue.set_property("max-size-time", max_time.nseconds());
    Ok(queue)
}

pub(crate) fn capsfilter(name: &str, caps: gst::Caps) -> Result<gst::Element, MediaError> {
    let filter = make("capsfilter", name)?;
    filter.set_property("caps", caps);
    Ok(filter)
}
