//! Padding an encode to a whole number of segments, for media stitched into a break of whole
//! segments (an ad creative): the picture holds its last frame and the sound is silence until
//! the last segment is as long as every other.
//!
//! Two pass-through stages (`identity`) carry it, one on the conformed video and one on the raw
//! audio (already trimmed to the video's span, see `align`), before their tees, so that every
//! rung and both packagings are cut from the same padded streams:
//!
//! - the video stage counts the frames; when the input ends (its EOS reaches the stage), it
//!   pushes copies of the last frame, timestamped on the ladder's frame grid, until the count is
//!   a multiple of the frames per segment, and only then lets the EOS through;
//! - the audio stage, when its own EOS comes, waits for the video stage to know where the padded
//!   picture ends and pushes silence from where the audio ended to there.
//!
//! The last frame is held rather than replaced by black: a creative nearly always ends on its
//! end card (the brand, the product, the call to action), and holding it for less than a segment
//! reads as the ad's own ending, where a second of black between two ads reads as a fault, and
//! trips the black detectors that monitor a channel's output. A held frame also costs the
//! encoders next to nothing (skipped macroblocks).
//!
//! Both stages clear the stop of the segment they pass on: the video and audio encoders drop
//! what lies past a segment's stop, and a demuxer's segment stops where the input does.

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::align::stopping;
use crate::clip::FrameRate;

/// Where the padded video ends, once its stage has seen the input end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PaddedVideo {
    /// Running time of the first frame's start, in nanoseconds.
    pub start: u64,
    /// Running time where the input's last frame ends.
    pub content_end: u64,
    /// Running time where the last frame ends, held frames included.
    pub end: u64,
    /// Copies of the last frame pushed after it.
    pub held_frames: u64,
}

/// What the video stage has seen.
#[derive(Debug, Default)]
struct VideoSeen {
    /// The segment passed on (its stop cleared).
    segment: Option<gst::FormattedSegment<gst::ClockTime>>,
    first_pts: Option<gst::ClockTime>,
    frames: u64,
    last: Option<gst::Buffer>,
    /// Set once the input has ended: where the padded video ends (`None`: it had no frame).
    decided: Option<Option<PaddedVideo>>,
}

/// The padding of one encode: the video stage decides where both streams end.
#[derive(Debug)]
pub(crate) struct Padding {
    fps: FrameRate,
    gop_frames: u64,
    video: Mutex<VideoSeen>,
    moved: Condvar,
}

impl Padding {
    /// Pads the video passing through `stage` (an `identity` on the conformed frames) to a
    /// multiple of `gop_frames` frames at `fps`, holding its last frame.
    pub fn hold_last_frame(stage: &gst::Element, fps: FrameRate, gop_frames: u32) -> Arc<Padding> {
        let padding = Arc::new(Padding {
            fps,
            gop_frames: u64::from(gop_frames.max(1)),
            video: Mutex::new(VideoSeen::default()),
            moved: Condvar::new(),
        });
        let src = stage.static_pad("src").expect("identity has a src pad");
        let sink = stage.static_pad("sink").expect("identity has a sink pad");
        let seen = padding.clone();
        sink.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |_, info| {
                if let Some(buffer) = info.buffer() {
                    seen.saw_frame(buffer);
                    return gst::PadProbeReturn::Ok;
                }
                let Some(event) = info.event() else {
                    return gst::PadProbeReturn::Ok;
                };
                match event.type_() {
                    gst::EventType::Segment => {
                        if let Some((open, segment)) = open_ended(event) {
                            seen.video.lock().expect("video padding").segment = Some(segment);
                            info.data = Some(gst::PadProbeData::Event(open));
                        }
                    }
                    // Before the EOS goes on: the held frames come first.
                    gst::EventType::Eos => seen.hold_until_whole_segments(&src),
                    _ => {}
                }
                gst::PadProbeReturn::Ok
            },
        );
        padding
    }

    fn saw_frame(&self, buffer: &gst::BufferRef) {
        let mut seen = self.video.lock().expect("video padding");
        if seen.decided.is_some() {
            return;
        }
        if let Some(pts) = buffer.pts() {
            seen.first_pts.get_or_insert(pts);
        }
        seen.frames += 1;
        seen.last = Some(buffer.to_owned());
    }

    /// Pushes copies of the last frame out of `src` until the frames fill whole segments, and
    /// records where the video ends.
    fn hold_until_whole_segments(&self, src: &gst::Pad) {
        let mut seen = self.video.lock().expect("video padding");
        if seen.decided.is_some() {
            return;
        }
        let last = seen.last.take();
        let planned = match (&last, seen.first_pts, seen.segment.clone()) {
            (Some(last), Some(first_pts), Some(segment)) => {
                self.plan(last, first_pts, seen.frames, &segment)
            }
            _ => None,
        };
        // The audio stage may go on as soon as it is known: it does not wait for the frames.
        seen.decided = Some(planned.as_ref().map(|(padded, _)| *padded));
        drop(seen);
        self.moved.notify_all();
        let (Some(last), Some((padded, stamps))) = (last, planned) else {
            return;
        };
        for (pts, duration) in stamps {
            let mut frame = last.copy();
            {
                let frame = frame.make_mut();
                frame.set_pts(pts);
                frame.set_dts(gst::ClockTime::NONE);
                frame.set_duration(duration);
                frame.unset_flags(gst::BufferFlags::DISCONT | gst::BufferFlags::GAP);
            }
            if let Err(error) = src.push(frame) {
                tracing::warn!(?error, "holding the last frame stopped short");
                return;
            }
        }
        tracing::debug!(
            held_frames = padded.held_frames,
            "the video is padded to whole segments"
        );
    }

    /// Where the padded video ends, and the timestamps of the held frames: frame `n` (from the
    /// first, `first_pts`) starts at `first_pts + n / fps` as videorate stamps them, or, when the
    /// input's frames are not on that grid, one frame after another from the last.
    fn plan(
        &self,
        last: &gst::Buffer,
        first_pts: gst::ClockTime,
        frames: u64,
        segment: &gst::FormattedSegment<gst::ClockTime>,
    ) -> Option<(PaddedVideo, Vec<(gst::ClockTime, gst::ClockTime)>)> {
        let last_pts = last.pts()?;
        let at = |frame: u64| {
            gst::ClockTime::SECOND
                .mul_div_floor(frame * u64::from(self.fps.den), u64::from(self.fps.num))
                .expect("a frame rate")
        };
        let (anchor_pts, anchor_frame) = if first_pts + at(frames - 1) == last_pts {
            (first_pts, 0)
        } else {
            (last_pts, frames - 1)
        };
        let pts_of = |frame: u64| anchor_pts + (at(frame - anchor_frame));
        let content_end_pts = last
            .duration()
            .map_or(pts_of(frames), |duration| last_pts + duration);
        let whole = frames.div_ceil(self.gop_frames) * self.gop_frames;
        let stamps: Vec<(gst::ClockTime, gst::ClockTime)> = (frames..whole)
            .map(|frame| (pts_of(frame), pts_of(frame + 1) - pts_of(frame)))
            .collect();
        let end_pts = stamps
            .last()
            .map_or(content_end_pts, |(pts, duration)| *pts + *duration);
        let running = |pts: gst::ClockTime| segment.to_running_time(pts).map(|at| at.nseconds());
        Some((
            PaddedVideo {
                start: running(first_pts)?,
                content_end: running(content_end_pts)?,
                end: running(end_pts)?,
                held_frames: whole - frames,
            },
            stamps,
        ))
    }

    /// Where the padded video ends, once the video stage has seen the input end.
    pub fn padded(&self) -> Option<PaddedVideo> {
        self.video.lock().expect("video padding").decided.flatten()
    }

    /// Waits until the video stage has seen the input end; `None` when it had no frame or the
    /// pipeline is stopping (`pad` tells).
    fn wait_for_video(&self, pad: &gst::Pad) -> Option<PaddedVideo> {
        let mut seen = self.video.lock().expect("video padding");
        loop {
            if let Some(decided) = seen.decided {
                return decided;
            }
            if stopping(pad) {
                return None;
            }
            seen = self
                .moved
                .wait_timeout(seen, Duration::from_millis(50))
                .expect("video padding")
                .0;
        }
    }

    /// Ends the raw audio passing through `stage` (an `identity`; interleaved, `bytes_per_frame`
    /// bytes per sample frame at `rate` Hz) where the padded video ends, with silence.
    pub fn fill_silence(self: &Arc<Self>, stage: &gst::Element, rate: u32, bytes_per_frame: usize) {
        #[derive(Default)]
        struct AudioSeen {
            segment: Option<gst::FormattedSegment<gst::ClockTime>>,
            /// Where the last buffer ends, in running time.
            end: Option<u64>,
        }
        let src = stage.static_pad("src").expect("identity has a src pad");
        let sink = stage.static_pad("sink").expect("identity has a sink pad");
        let padding = self.clone();
        let seen = Mutex::new(AudioSeen::default());
        sink.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |pad, info| {
                if let Some(buffer) = info.buffer() {
                    let mut seen = seen.lock().expect("audio padding");
                    let end = buffer
                        .pts()
                        .zip(seen.segment.as_ref())
                        .and_then(|(pts, segment)| {
                            segment.to_running_time(pts + buffer.duration().unwrap_or_default())
                        });
                    if let Some(end) = end {
                        seen.end = Some(
                            seen.end
                                .map_or(end.nseconds(), |before| before.max(end.nseconds())),
                        );
                    }
                    return gst::PadProbeReturn::Ok;
                }
                let Some(event) = info.event() else {
                    return gst::PadProbeReturn::Ok;
                };
                match event.type_() {
                    gst::EventType::Segment => {
                        if let Some((open, segment)) = open_ended(event) {
                            seen.lock().expect("audio padding").segment = Some(segment);
                            info.data = Some(gst::PadProbeData::Event(open));
                        }
                    }
                    gst::EventType::Eos => {
                        let Some(video) = padding.wait_for_video(pad) else {
                            return gst::PadProbeReturn::Ok;
                        };
                        let seen = seen.lock().expect("audio padding");
                        let Some(segment) = seen.segment.clone() else {
                            return gst::PadProbeReturn::Ok;
                        };
                        let from = seen.end.unwrap_or(video.start);
                        drop(seen);
                        push_silence(&src, &segment, from, video.end, rate, bytes_per_frame);
                    }
                    _ => {}
                }
                gst::PadProbeReturn::Ok
            },
        );
    }
}

/// Pushes silence out of `src` from running time `from` to `to`, sample-exact at `rate`, in
/// buffers of 20 ms.
fn push_silence(
    src: &gst::Pad,
    segment: &gst::FormattedSegment<gst::ClockTime>,
    from: u64,
    to: u64,
    rate: u32,
    bytes_per_frame: usize,
) {
    let Some(samples) = silent_samples(from, to, rate) else {
        return;
    };
    let Some(first_pts) = segment.position_from_running_time(gst::ClockTime::from_nseconds(from))
    else {
        return;
    };
    let at = |sample: u64| {
        first_pts
            + gst::ClockTime::SECOND
                .mul_div_round(sample, u64::from(rate))
                .expect("a sample rate")
    };
    let per_buffer = u64::from((rate / 50).max(1));
    let mut sample = 0;
    while sample < samples {
        let count = per_buffer.min(samples - sample);
        let mut buffer = gst::Buffer::from_mut_slice(vec![0u8; count as usize * bytes_per_frame]);
        {
            let buffer = buffer.get_mut().expect("a new buffer is writable");
            buffer.set_pts(at(sample));
            buffer.set_duration(at(sample + count) - at(sample));
        }
        if let Err(error) = src.push(buffer) {
            tracing::warn!(?error, "the silence after the audio stopped short");
            return;
        }
        sample += count;
    }
    tracing::debug!(samples, "the audio is padded with silence");
}

/// How many samples at `rate` fill running time `from` to `to` (rounded to the nearest); `None`
/// when there is nothing to fill.
fn silent_samples(from: u64, to: u64, rate: u32) -> Option<u64> {
    let gap = to.checked_sub(from)?;
    let samples = (u128::from(gap) * u128::from(rate) + 500_000_000) / 1_000_000_000;
    (samples > 0).then_some(samples as u64)
}

/// The segment `event` carries with its stop cleared, as an event and as the segment itself;
/// `None` for a segment that is not in time.
fn open_ended(
    event: &gst::EventRef,
) -> Option<(gst::Event, gst::FormattedSegment<gst::ClockTime>)> {
    let gst::EventView::Segment(segment) = event.view() else {
        return None;
    };
    let mut open = segment.segment().downcast_ref::<gst::ClockTime>()?.clone();
    open.set_stop(gst::ClockTime::NONE);
    let event = gst::event::Segment::builder(&open)
        .seqnum(event.seqnum())
        .build();
    Some((event, open))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_fills_the_gap_to_the_nearest_sample() {
        // 1 s at 48 kHz, and 5.333 ms (a fraction of a sample past 256 samples).
        assert_eq!(
            silent_samples(5_000_000_000, 6_000_000_000, 48_000),
            Some(48_000)
        );
        assert_eq!(silent_samples(0, 5_333_340, 48_000), Some(256));
        assert_eq!(silent_samples(6_000_000_000, 6_000_000_000, 48_000), None);
        assert_eq!(silent_samples(6_000_000_001, 6_000_000_000, 48_000), None);
    }
}
