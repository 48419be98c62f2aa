//! The live ladder: a live source (FLV from RTMP, MPEG-TS from SRT, pushed as bytes) decoded
//! once and encoded to every rung of the channel's ladder in real time, so that live segments
//! match the channel's VOD at the splice: H.264 at each rung's size, profile and level, the
//! ladder's frame rate (videorate), 48 kHz stereo AAC normalised to the ladder's loudness, each
//! rung packaged as MPEG-TS (video and audio) and as a CMAF video track, and each distinct audio
//! bitrate as a CMAF audio track (`audio-96k`), as [`encode_ladder`](crate::encode_ladder) does.
//!
//! # Time and the grid
//!
//! The pipeline runs on the system's realtime clock with base time 0, so running time is Unix
//! time. Decoded media is stamped on arrival: the source's first timestamp maps to the instant
//! it was decoded, and the source's own pacing is kept after that (see `restamp`: timestamps
//! that go back, jump ahead of the clock or fall far behind it anchor the mapping again, never
//! backwards in time). Segments fall on the grid `anchor + k * segment` (2 s by default): the
//! frame nearest each boundary is forced to be a keyframe in every rung, and each rung writes
//! one file per grid segment, named by the boundary in 90 kHz ticks. Within a segment, CMAF
//! chunks of `part` (0.5 s) are the LL-HLS parts, aligned across renditions.
//! [`LiveLadder::set_anchor`] moves the grid while running (a channel's live slot starts on its
//! own grid): the next cut falls on the new grid's next boundary, after a short segment.
//!
//! # One encode, two kinds of segment
//!
//! Keyframes every 2 s on the anchor grid serve both the 2 s LL-HLS segments (with their parts)
//! and the channel's own D-second segments (6 s on the FAST ladder): a channel segment is D / 2
//! consecutive grid segments concatenated. That is valid because one MPEG-TS muxer per rung runs
//! for the whole stream and its output is only split at keyframes (continuity counters, PAT/PMT
//! and timestamps continue across files), and because every CMAF segment of a rung is plain
//! `moof`+`mdat` fragments against the same `init-{n}.mp4`.
//!
//! # Files
//!
//! For each rendition `r` (rung names, then audio tracks) under `out_dir/r/`:
//!
//! - `{start}.ts` (rungs only): the segment's TS packets;
//! - `{start}.m4s`: the segment's CMAF fragments (no init), the concatenation of its parts;
//! - `{start}.{i}.m4s`: part `i` (0, 1, …), written as soon as the muxer closes it;
//! - `init-{n}.mp4`: the CMAF init segment, `n` from 0, a new one when the muxer's header
//!   changes (a caps change it could not hide).
//!
//! Every file is written to a temporary name and renamed, so a reader never sees half of one.
//! Each completed part and segment is reported as a [`LiveOutput`], and so are failures: the
//! ladder never panics on its input.
//!
//! # Latency
//!
//! The VOD ladder's loudness normaliser (`audioloudnorm`) looks 3 s ahead, which would hold
//! every audio part and TS segment back by 3 s. The live ladder rides the gain instead
//! (`loudness::LoudnessRider`: EBU R128 measured over the last 20 s, the gain slewed at
//! 3 dB/s, a −1 dBFS ceiling), which adds no latency: a segment leaves as soon as its last frame
//! is encoded.
//!
//! # Sources without audio
//!
//! A camera feed or a test pattern often sends video only; the channel's segments still need an
//! AAC track (its VOD has one at the splice, and HLS and CMAF audio tracks are always there). So
//! a source without usable audio gets silence, generated in the video's time (Unix time) from
//! just before its first frame, without a gap, and encoded, cut and packaged as a source's audio
//! would be (`silence`). Silence is chosen when the demuxer reports no audio stream (MPEG-TS: at
//! once, from the PMT), when none shows up within a second of the first video frame (FLV:
//! `flvdemux` would wait 6 s for an audio tag; see `decode`), or when the audio has no decoder
//! here (a warning). [`LiveStats::silent_audio`] says why. Audio that shows up after silence was
//! chosen is discarded: the publish keeps silence. A source without video fails.
//!
//! Not done: the source's video is never passed through for the top rung, even when it matches
//! it (an arbitrary encoder's GOPs are not on the grid, so it would need re-encoding anyway).

mod decode;
mod grid;
mod loudness;
mod output;
mod pipeline;
mod restamp;
mod silence;
mod source;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use onair_domain::{Ladder, Ticks, Timestamp};

use crate::elements::init;
use crate::error::MediaError;

pub use source::{TestStream, TestStreamSpec, test_source_args};

/// The container the source's bytes come in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LiveInput {
    /// FLV, as an RTMP publisher sends it (the FLV header, then tags).
    Flv,
    /// MPEG-TS, as SRT carries it (188-byte packets).
    MpegTs,
}

/// What to encode and where.
#[derive(Debug, Clone)]
pub struct LiveConfig {
    /// The channel's ladder: rungs, frame rate, audio, loudness. Its segment duration is not
    /// used: live segments are `segment` long.
    pub ladder: Ladder,
    pub input: LiveInput,
    /// Each rendition writes into `out_dir/{name}/`.
    pub out_dir: PathBuf,
    /// The grid's step: every segment is this long (but around a gap or an anchor move).
    pub segment: Ticks,
    /// The LL-HLS part target: CMAF chunks this long within each segment.
    pub part: Ticks,
    /// A boundary of the grid.
    pub anchor: Timestamp,
    /// Ride the audio's loudness to the ladder's target (no look-ahead, no latency).
    pub loudness: bool,
    /// Fail when no video frame has been decoded this long after the first bytes.
    pub no_video_timeout: Duration,
}

impl LiveConfig {
    /// 2 s segments with 0.5 s parts on the grid of the Unix epoch, loudness normalised.
    pub fn new(ladder: Ladder, input: LiveInput, out_dir: impl Into<PathBuf>) -> LiveConfig {
        LiveConfig {
            ladder,
            input,
            out_dir: out_dir.into(),
            segment: Ticks::from_secs(2),
            part: Ticks::from_millis(500),
            anchor: Timestamp(0),
            loudness: true,
            no_video_timeout: Duration::from_secs(10),
        }
    }
}

/// One part of a CMAF segment, as reported with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LivePart {
    pub index: u32,
    pub duration: Ticks,
    /// Starts with a keyframe (the first part of a video segment; every audio part).
    pub independent: bool,
    pub path: PathBuf,
}

/// What the live ladder reports, in order per rendition.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveOutput {
    /// A CMAF part was written (before its segment completes).
    Part {
        rendition: String,
        segment_start: Timestamp,
        part: LivePart,
    },
    /// A segment is complete in every packaging of the rendition.
    Segment {
        /// A rung's name or an audio track's (`audio-96k`).
        rendition: String,
        /// The grid boundary that names the segment's files.
        start: Timestamp,
        /// Where its media starts: within half a frame of `start`, except for the first
        /// segment and after a gap, which start later.
        media_start: Timestamp,
        duration: Ticks,
        /// `None` for audio tracks.
        ts: Option<PathBuf>,
        cmaf: PathBuf,
        /// The init segment the CMAF segment plays with.
        init: PathBuf,
        parts: Vec<LivePart>,
    },
    /// The ladder stopped on something it cannot go on with; nothing more will be written.
    Failed { reason: String },
    /// The stream ended (after [`LiveLadder::end_of_stream`]) and every file is written.
    Ended,
}

/// A rung's share of [`LiveStats`].
#[derive(Debug, Clone, PartialEq)]
pub struct RungStats {
    pub name: String,
    pub frames_out: u64,
    /// Where its last encoded frame starts.
    pub last_output: Option<Timestamp>,
}

/// How the live ladder is doing, on demand.
#[derive(Debug, Clone, PartialEq)]
pub struct LiveStats {
    /// Decoded frames of the source.
    pub frames_in: u64,
    /// Frames dropped to conform to the ladder's frame rate.
    pub dropped_frames: u64,
    /// Frames repeated to conform to the ladder's frame rate (or to fill a gap).
    pub duplicated_frames: u64,
    pub rungs: Vec<RungStats>,
    /// Now minus where the slowest rung's last encoded frame starts.
    pub lag: Option<Duration>,
    /// Media encoded by the slowest rung over wall time since the first frame: 1.0 keeps up.
    pub realtime_factor: Option<f64>,
    /// The lag is within a segment and a second (the first output excepted).
    pub keeping_up: bool,
    /// Bits per second pushed over the last few seconds.
    pub input_bitrate: u64,
    pub bytes_in: u64,
    /// Times the source's timestamps jumped and were anchored again.
    pub reanchors: u64,
    /// Why the audio tracks carry silence rather than the source's audio, when they do: the
    /// source sends video only, or audio no decoder here takes (also logged as a warning).
    pub silent_audio: Option<String>,
}

type Emit = dyn Fn(LiveOutput) + Send + Sync;

/// The live ladder: a running pipeline fed through [`LiveLadder::push`].
pub struct LiveLadder {
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    shared: Arc<pipeline::Shared>,
    bus_thread: Option<JoinHandle<()>>,
    /// The first bytes, held until they show the container is the one expected.
    head: Mutex<Option<Vec<u8>>>,
}

/// What is checked of the first bytes before any reach the demuxer.
#[derive(Debug, PartialEq, Eq)]
enum Verdict {
    Yes,
    NeedMore,
    No(String),
}

/// Bytes of MPEG-TS it takes to find four sync bytes 188 apart.
const TS_PROBE: usize = 188 * 4;

fn sniff(input: LiveInput, head: &[u8]) -> Verdict {
    match input {
        LiveInput::Flv => {
            if head.len() < 3 {
                Verdict::NeedMore
            } else if &head[..3] == b"FLV" {
                Verdict::Yes
            } else {
                Verdict::No(format!(
                    "the input is not FLV: it starts with {:02x?} rather than \"FLV\"",
                    &head[..head.len().min(8)]
                ))
            }
        }
        LiveInput::MpegTs => {
            if head.len() < TS_PROBE {
                return Verdict::NeedMore;
            }
            let synced = (0..188).any(|offset| {
                (0..3).all(|k| head.get(offset + 188 * k).is_some_and(|byte| *byte == 0x47))
            });
            if synced {
                Verdict::Yes
            } else {
                Verdict::No(
                    "the input is not MPEG-TS: no 188-byte packets (sync byte 0x47) in its first bytes"
                        .to_owned(),
                )
            }
        }
    }
}

impl LiveLadder {
    /// Builds and starts the pipeline. `on_output` is called from GStreamer's threads: keep it
    /// short (send into a channel).
    pub fn start(
        config: LiveConfig,
        on_output: impl Fn(LiveOutput) + Send + Sync + 'static,
    ) -> Result<LiveLadder, MediaError> {
        init()?;
        config
            .ladder
            .validate()
            .map_err(|error| MediaError::Invalid(error.to_string()))?;
        if config.segment.0 <= 0 || config.part.0 <= 0 || config.part > config.segment {
            return Err(MediaError::Invalid(format!(
                "live segments of {} with parts of {}: both must be positive, parts no longer",
                config.segment, config.part
            )));
        }
        std::fs::create_dir_all(&config.out_dir).map_err(MediaError::io(&config.out_dir))?;
        let emit: Arc<Emit> = Arc::new(on_output);
        let (pipeline, appsrc, shared) = pipeline::build(&config, emit)?;
        let bus_thread = pipeline::watch_bus(&pipeline, shared.clone())?;
        Ok(LiveLadder {
            pipeline,
            appsrc,
            shared,
            bus_thread: Some(bus_thread),
            head: Mutex::new(Some(Vec::new())),
        })
    }

    /// Feeds the next bytes of the source. Fails once the ladder has stopped (failed, ended or
    /// stopped), and with the reason when the first bytes are not the container expected.
    pub fn push(&self, bytes: bytes::Bytes) -> Result<(), MediaError> {
        if let Some(reason) = self.shared.stopped_because() {
            return Err(MediaError::LiveStopped { reason });
        }
        self.shared.count_input(bytes.len());
        let mut head = self.head.lock().expect("head");
        let bytes = match head.as_mut() {
            None => bytes,
            Some(held) => {
                held.extend_from_slice(&bytes);
                match sniff(self.shared.input, held) {
                    Verdict::NeedMore => return Ok(()),
                    Verdict::No(reason) => {
                        self.shared.fail(&self.pipeline, reason.clone());
                        return Err(MediaError::LiveStopped { reason });
                    }
                    Verdict::Yes => bytes::Bytes::from(head.take().expect("held")),
                }
            }
        };
        drop(head);
        self.appsrc
            .push_buffer(gst::Buffer::from_slice(bytes))
            .map(|_| ())
            .map_err(|flow| MediaError::LiveStopped {
                reason: self
                    .shared
                    .stopped_because()
                    .unwrap_or_else(|| format!("the pipeline refused the input ({flow:?})")),
            })
    }

    /// Ends the stream: what is buffered is encoded, every file is written, then
    /// [`LiveOutput::Ended`] is reported.
    pub fn end_of_stream(&self) {
        let mut head = self.head.lock().expect("head");
        if let Some(held) = head.take()
            && !held.is_empty()
        {
            // Too short to judge: let the demuxer have it.
            let _ = self.appsrc.push_buffer(gst::Buffer::from_slice(held));
        }
        drop(head);
        let _ = self.appsrc.end_of_stream();
    }

    /// Moves the grid to `anchor + k * segment`: the next segment starts at the new grid's first
    /// boundary after the current segment's start.
    pub fn set_anchor(&self, anchor: Timestamp) {
        self.shared.set_anchor(anchor);
    }

    pub fn stats(&self) -> LiveStats {
        self.shared.stats(&self.pipeline)
    }

    /// Waits up to `timeout` for the stream to end or fail; whether it did.
    pub fn wait(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if self.shared.stopped_because().is_some() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Stops at once: what is not written yet is lost.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.shared.stop("stopped");
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some(thread) = self.bus_thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for LiveLadder {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Counts bytes pushed over a sliding window.
#[derive(Debug, Default)]
struct InputMeter {
    total: AtomicU64,
    window: Mutex<std::collections::VecDeque<(Instant, usize)>>,
}

/// The window the input bitrate is measured over.
const BITRATE_WINDOW: Duration = Duration::from_secs(4);

impl InputMeter {
    fn count(&self, bytes: usize) {
        self.total.fetch_add(bytes as u64, Ordering::Relaxed);
        let now = Instant::now();
        let mut window = self.window.lock().expect("meter");
        window.push_back((now, bytes));
        while window
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > BITRATE_WINDOW)
        {
            window.pop_front();
        }
    }

    fn bitrate(&self) -> u64 {
        let window = self.window.lock().expect("meter");
        let (Some(first), Some(_)) = (window.front(), window.back()) else {
            return 0;
        };
        let span = Instant::now()
            .duration_since(first.0)
            .max(Duration::from_millis(500));
        let bytes: usize = window.iter().map(|(_, bytes)| bytes).sum();
        (bytes as f64 * 8.0 / span.as_secs_f64()) as u64
    }
}

/// Set once: why the ladder stopped.
#[derive(Debug, Default)]
struct StopReason {
    set: AtomicBool,
    reason: Mutex<Option<String>>,
}

impl StopReason {
    /// Records `reason` if none is yet; whether this call set it.
    fn set(&self, reason: &str) -> bool {
        let mut current = self.reason.lock().expect("stop reason");
        if current.is_some() {
            return false;
        }
        *current = Some(reason.to_owned());
        self.set.store(true, Ordering::Release);
        true
    }

    fn get(&self) -> Option<String> {
        if !self.set.load(Ordering::Acquire) {
            return None;
        }
        self.reason.lock().expect("stop reason").clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_bytes_say_whether_the_container_is_the_one_expected() {
        assert_eq!(sniff(LiveInput::Flv, b"FL"), Verdict::NeedMore);
        assert_eq!(sniff(LiveInput::Flv, b"FLV\x01\x05"), Verdict::Yes);
        assert!(matches!(
            sniff(LiveInput::Flv, b"\x47\x40\x00"),
            Verdict::No(_)
        ));
        let mut ts = vec![0u8; TS_PROBE + 10];
        assert_eq!(sniff(LiveInput::MpegTs, &ts[..100]), Verdict::NeedMore);
        assert!(matches!(sniff(LiveInput::MpegTs, &ts), Verdict::No(_)));
        // Joined mid-packet: the sync bytes are 7 bytes in.
        for k in 0..4 {
            ts[7 + 188 * k] = 0x47;
        }
        assert_eq!(sniff(LiveInput::MpegTs, &ts), Verdict::Yes);
    }
}
