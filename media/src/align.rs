//! Keeping the audio within the video's span, so that every rendition's audio starts and ends
//! with its pictures: no trailing seconds of sound after the last frame, which would overhang
//! the last segment and overlap whatever airs next.
//!
//! The video branch reports how far it has got; the audio branch holds each raw buffer until
//! the video has reached past it (or ended), then drops or trims what lies outside the video.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

/// Running time covered by the video so far, in nanoseconds.
#[derive(Debug, Default, Clone, Copy)]
struct Extent {
    start: Option<u64>,
    end: u64,
    ended: bool,
}

#[derive(Debug, Default)]
pub(crate) struct VideoSpan {
    extent: Mutex<Extent>,
    moved: Condvar,
}

impl VideoSpan {
    /// Follows the video leaving `pad`.
    pub fn follow(pad: &gst::Pad) -> Arc<VideoSpan> {
        let span = Arc::new(VideoSpan::default());
        let follower = span.clone();
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |pad, info| {
                if let Some(buffer) = info.buffer()
                    && let Some((start, end)) = span_of(pad, buffer)
                {
                    let mut extent = follower.extent.lock().expect("video span");
                    extent.start.get_or_insert(start);
                    extent.end = extent.end.max(end);
                    follower.moved.notify_all();
                } else if info
                    .event()
                    .is_some_and(|event| event.type_() == gst::EventType::Eos)
                {
                    follower.extent.lock().expect("video span").ended = true;
                    follower.moved.notify_all();
                }
                gst::PadProbeReturn::Ok
            },
        );
        span
    }

    /// Trims the raw audio leaving `pad` (interleaved, `bytes_per_frame` bytes per sample frame
    /// at `rate` Hz) to the video's span. Blocks the audio's streaming thread while the video
    /// lags, and lets go when the pad flushes (the pipeline is stopping).
    pub fn trim_audio(self: &Arc<Self>, pad: &gst::Pad, rate: u32, bytes_per_frame: usize) {
        let span = self.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some((start, end)) = info.buffer().and_then(|buffer| span_of(pad, buffer)) else {
                return gst::PadProbeReturn::Ok;
            };
            let Some(extent) = span.wait_past(pad, end) else {
                return crate::ladder::DROP_BUFFER;
            };
            let keep_from = extent
                .start
                .map_or(start, |video_start| video_start.max(start));
            let keep_to = if extent.ended {
                end.min(extent.end)
            } else {
                end
            };
            if keep_to <= keep_from {
                return crate::ladder::DROP_BUFFER;
            }
            if keep_from == start && keep_to == end {
                return gst::PadProbeReturn::Ok;
            }
            let Some(buffer) = info.buffer_mut() else {
                return gst::PadProbeReturn::Ok;
            };
            match trimmed(buffer, start, keep_from, keep_to, rate, bytes_per_frame) {
                Some(trimmed) => {
                    *buffer = trimmed;
                    gst::PadProbeReturn::Ok
                }
                None => crate::ladder::DROP_BUFFER,
            }
        });
    }

    /// Waits until the video covers `until` or has ended; `None` when the pad starts flushing.
    fn wait_past(&self, pad: &gst::Pad, until: u64) -> Option<Extent> {
        let mut extent = self.extent.lock().expect("video span");
        loop {
            if extent.ended || extent.end >= until {
                return Some(*extent);
            }
            if pad.pad_flags().contains(gst::PadFlags::FLUSHING) {
                return None;
            }
            extent = self
                .moved
                .wait_timeout(extent, Duration::from_millis(50))
                .expect("video span")
                .0;
        }
    }
}

/// Start and end running time of a buffer.
fn span_of(pad: &gst::Pad, buffer: &gst::BufferRef) -> Option<(u64, u64)> {
    let pts = buffer.pts()?;
    let event = pad.sticky_event::<gst::event::Segment>(0)?;
    let segment = event.segment().downcast_ref::<gst::ClockTime>()?;
    let start = segment.to_running_time(pts)?.nseconds();
    Some((
        start,
        start + buffer.duration().map_or(0, |duration| duration.nseconds()),
    ))
}

/// The part of `buffer` (starting at running time `start`) between `from` and `to`.
fn trimmed(
    buffer: &gst::Buffer,
    start: u64,
    from: u64,
    to: u64,
    rate: u32,
    bytes_per_frame: usize,
) -> Option<gst::Buffer> {
    let frames_at =
        |at: u64| ((at - start) as u128 * rate as u128).div_ceil(1_000_000_000) as usize;
    let size = buffer.size();
    let first = (frames_at(from) * bytes_per_frame).min(size);
    let last = (frames_at(to) * bytes_per_frame).min(size);
    if last <= first {
        return None;
    }
    let mut part = buffer
        .copy_region(gst::BufferCopyFlags::all(), first..last)
        .ok()?;
    let nanos = |frames: usize| {
        gst::ClockTime::from_nseconds((frames as u128 * 1_000_000_000 / rate as u128) as u64)
    };
    let pts = buffer.pts()?;
    let part_mut = part.get_mut()?;
    part_mut.set_pts(pts + nanos(first / bytes_per_frame));
    part_mut.set_duration(nanos((last - first) / bytes_per_frame));
    Some(part)
}
