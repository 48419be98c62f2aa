//! Keeping the audio within the video's span, so that every rendition's audio starts and ends
//! with its pictures: no trailing seconds of sound after the last frame, which would overhang
//! the last segment and overlap whatever airs next.
//!
//! The video branch reports how far it has got; the audio branch holds each raw buffer until
//! the video has reached past it (or ended), then drops or trims what lies outside the video.
//!
//! The same span tells the audio-only CMAF muxers where to cut: the video branch notes where
//! every segment starts (each GOP's first frame), and each encoded audio stream asks its muxer
//! for a new fragment before the AAC frame nearest to each of those instants.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

/// Running time covered by the video so far, in nanoseconds.
#[derive(Debug, Default, Clone)]
struct Extent {
    start: Option<u64>,
    end: u64,
    ended: bool,
    /// Frames seen so far.
    frames: u64,
    /// Where each segment starts: every `gop_frames`-th frame, from the first.
    segment_starts: Vec<u64>,
}

#[derive(Debug, Default)]
pub(crate) struct VideoSpan {
    extent: Mutex<Extent>,
    moved: Condvar,
}

/// The custom downstream event that makes an fMP4 muxer in `manual-split` mode start a new
/// fragment with the next buffer (gst-plugin-fmp4 0.14, `GstFMP4Mux:manual-split`).
const SPLIT_NOW: &str = "FMP4MuxSplitNow";

impl VideoSpan {
    /// Follows the conformed video leaving `pad`, where every `gop_frames`-th frame starts a
    /// segment (the encoders make an IDR frame there and nowhere else).
    pub fn follow(pad: &gst::Pad, gop_frames: u32) -> Arc<VideoSpan> {
        let span = Arc::new(VideoSpan::default());
        let follower = span.clone();
        let gop_frames = u64::from(gop_frames.max(1));
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |pad, info| {
                if let Some(buffer) = info.buffer()
                    && let Some((start, end)) = span_of(pad, buffer)
                {
                    let mut extent = follower.extent.lock().expect("video span");
                    extent.start.get_or_insert(start);
                    extent.end = extent.end.max(end);
                    if extent.frames.is_multiple_of(gop_frames) {
                        extent.segment_starts.push(start);
                    }
                    extent.frames += 1;
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
            let Some((video_start, video_end, ended)) =
                span.wait_past(pad, end, |extent| (extent.start, extent.end, extent.ended))
            else {
                return crate::ladder::DROP_BUFFER;
            };
            let keep_from = video_start.map_or(start, |video_start| video_start.max(start));
            let keep_to = if ended { end.min(video_end) } else { end };
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

    /// Cuts the encoded audio leaving `pad` (into an fMP4 muxer with `manual-split=true`) into
    /// fragments that start with the AAC frame nearest to each video segment's start: before
    /// the first frame `f` with `f.start + f.duration / 2 >= segment start`, so `|f.start -
    /// segment start| <= f.duration / 2`. The first fragment starts with the first frame.
    pub fn split_audio_at_segments(self: &Arc<Self>, pad: &gst::Pad) {
        let span = self.clone();
        // The next segment start to cut at: the first one starts the first fragment anyway.
        let next_segment = Mutex::new(1usize);
        pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some((start, end)) = info.buffer().and_then(|buffer| span_of(pad, buffer)) else {
                return gst::PadProbeReturn::Ok;
            };
            let middle = start + (end - start) / 2;
            // Every segment start up to the middle of this frame is known once the video
            // covers it: frames come in order, on the frame grid.
            let mut next = next_segment.lock().expect("audio cuts");
            let Some(cut_here) = span.wait_past(pad, middle + 1, |extent| {
                extent
                    .segment_starts
                    .get(*next)
                    .is_some_and(|segment_start| *segment_start <= middle)
            }) else {
                return gst::PadProbeReturn::Ok;
            };
            if cut_here {
                *next += 1;
                drop(next);
                let split = gst::event::CustomDownstream::new(
                    gst::Structure::builder(SPLIT_NOW)
                        .field("chunk", false)
                        .build(),
                );
                if !pad.push_event(split) {
                    tracing::warn!(pad = %pad.name(), "the muxer refused a split-now event");
                }
            }
            gst::PadProbeReturn::Ok
        });
    }

    /// Waits until the video covers `until` or has ended, then reads the extent with `read`;
    /// `None` when the pad starts flushing.
    fn wait_past<R>(
        &self,
        pad: &gst::Pad,
        until: u64,
        read: impl FnOnce(&Extent) -> R,
    ) -> Option<R> {
        let mut extent = self.extent.lock().expect("video span");
        loop {
            if extent.ended || extent.end >= until {
                return Some(read(&extent));
            }
            if stopping(pad) {
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

/// Whether the pipeline `pad` is in is stopping: the pad flushes, or an element it is in (the
/// pipeline first of all) is on its way down to READY or NULL. A streaming thread that waits
/// for the video must let go then: the state change waits for it, and the video branch, whose
/// sinks are being shut down, will not move on (a cancelled encode hung there).
pub(crate) fn stopping(pad: &gst::Pad) -> bool {
    if pad.pad_flags().contains(gst::PadFlags::FLUSHING) {
        return true;
    }
    let mut element = pad.parent_element();
    while let Some(current) = element {
        if matches!(
            current.pending_state(),
            gst::State::Null | gst::State::Ready
        ) {
            return true;
        }
        element = current
            .parent()
            .and_then(|parent| parent.downcast::<gst::Element>().ok());
    }
    false
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
