//! The live pipeline: the source decoded once and stamped with Unix time, the grid's cuts
//! decided on the conformed video, every rung encoded and packaged, and the bus watched.
//!
//! ```text
//! appsrc (FLV | MPEG-TS bytes) ─ decodebin ┬ video ─[restamp]─ queue ─ videoconvert ─ deinterlace ─ videorate ─ videoconvert ─ I420 @ fps ─[cuts: force key units]─ tee
//!                                          └ audio ─[restamp]─ queue ─ audioconvert ─ audioresample ─ audiorate ─ F32 48 kHz stereo
//!                                                    ─[loudness rider]─[from the first frame]─ tee
//! for each audio track: audio tee ─ queue ─ audioconvert ─ avenc_aac ─ tee ┬ queue ─ aacparse ─[split at the video's cuts]─ cmafmux (manual split) ─ appsink (CMAF writer)
//!                                                                          └ (to the TS muxer of every rung with this bitrate)
//! for each rung: video tee ─ queue ─ videoscale ─ W x H ─ x264enc (zerolatency) ─ profile/level ─ tee ┬ queue ─ h264parse ─[split at cuts]─ cmafmux (manual split) ─ appsink (CMAF writer)
//!                                                                                                     └ queue ─ h264parse ─┐
//!                the track's AAC tee ─ queue ─ aacparse ──────────────────────────────────────────────────────────── mpegtsmux ─ fakesink (TS writer, split at key units)
//! ```
//!
//! The source is demuxed and decoded by `decode` (FLV without waiting for an audio stream that may
//! never come); a source without usable audio feeds the audio chain with silence instead
//! (`silence`), stamped in the video's time.
//!
//! The pipeline is not live (appsrc `is-live=false`): the muxers wait for every stream rather
//! than time out on the audio. Time still comes from
//! the clock: buffers are stamped with its reading as they leave the decoder.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_video as gst_video;
use onair_domain::media::AudioTrack;
use onair_domain::{Ladder, Ticks, Timestamp};

use super::grid::{Cut, Cutter, ns_to_ticks};
use super::loudness::LoudnessRider;
use super::output::{Assembler, CmafWriter, TsWriter};
use super::restamp::{Restamp, Stream};
use super::silence::Silence;
use super::{
    Emit, InputMeter, LiveConfig, LiveInput, LiveOutput, LiveStats, RungStats, StopReason,
};
use crate::align::stopping;
use crate::elements::{capsfilter, make, queue};
use crate::error::MediaError;
use crate::ladder::{
    DROP_BUFFER, VBV_BUFFER, X264_PRESET, add_chain, h264_level, link_request, sink_pad, src_pad,
    ts_inputs,
};

/// Raw media queues hold this much; compressed ones are unbounded.
const RAW_QUEUE: gst::ClockTime = gst::ClockTime::from_seconds(1);
const COMPRESSED_QUEUE: gst::ClockTime = gst::ClockTime::ZERO;
/// How long an audio branch waits for the video to decide a cut before going on without it.
const AUDIO_WAIT: Duration = Duration::from_secs(2);
/// Cuts are kept this long behind the video, for the branches that look them up late (queued
/// audio, muxers).
const MARKS_KEPT: u64 = 60_000_000_000;
/// A buffer matches a cut within this much (the same frame, whatever rounding befell it).
const MATCH: u64 = 1_000_000;
/// The bus message that tells the bus thread to tear the pipeline down.
const STOP_MESSAGE: &str = "onair-live-stop";

pub(super) fn assembling(error: impl std::fmt::Display) -> MediaError {
    MediaError::gst("assembling the live ladder", error)
}

/// The cuts decided on the video (or, per audio track, on its AAC frames), by running time, and
/// how far the video has got.
#[derive(Debug, Default)]
pub(super) struct Marks {
    inner: Mutex<MarksInner>,
    moved: Condvar,
}

#[derive(Debug, Default)]
struct MarksInner {
    cuts: BTreeMap<u64, Cut>,
    /// Where the last frame ends.
    end: u64,
    ended: bool,
}

impl Marks {
    fn insert(&self, at: u64, cut: Cut) {
        let mut inner = self.inner.lock().expect("marks");
        inner.cuts.insert(at, cut);
        let horizon = at.saturating_sub(MARKS_KEPT);
        while inner
            .cuts
            .first_key_value()
            .is_some_and(|(first, _)| *first < horizon)
        {
            inner.cuts.pop_first();
        }
    }

    fn advance(&self, end: u64) {
        let mut inner = self.inner.lock().expect("marks");
        inner.end = inner.end.max(end);
        self.moved.notify_all();
    }

    fn end(&self) {
        self.inner.lock().expect("marks").ended = true;
        self.moved.notify_all();
    }

    /// The cut at the buffer starting at `at`.
    pub fn at(&self, at: u64) -> Option<Cut> {
        let inner = self.inner.lock().expect("marks");
        inner
            .cuts
            .range(at.saturating_sub(MATCH)..=at + MATCH)
            .next()
            .map(|(_, cut)| *cut)
    }

    /// The first cut's time, once there is one.
    fn first(&self) -> Option<u64> {
        let inner = self.inner.lock().expect("marks");
        inner.cuts.first_key_value().map(|(at, _)| *at)
    }

    /// Cuts after `after` up to `until`, in order.
    fn between(&self, after: Option<u64>, until: u64) -> Vec<(u64, Cut)> {
        let inner = self.inner.lock().expect("marks");
        let from = after.map_or(std::ops::Bound::Unbounded, std::ops::Bound::Excluded);
        if after.is_some_and(|after| after >= until) {
            return Vec::new();
        }
        inner
            .cuts
            .range((from, std::ops::Bound::Included(until)))
            .map(|(at, cut)| (*at, *cut))
            .collect()
    }

    /// Waits until the video reaches `until` (or ends, or `pad` stops, or `AUDIO_WAIT` passes).
    fn wait_past(&self, pad: &gst::Pad, until: u64) {
        let deadline = Instant::now() + AUDIO_WAIT;
        let mut inner = self.inner.lock().expect("marks");
        while !inner.ended && inner.end < until && Instant::now() < deadline && !stopping(pad) {
            inner = self
                .moved
                .wait_timeout(inner, Duration::from_millis(50))
                .expect("marks")
                .0;
        }
    }

    /// Waits until the video has started (or ends, or `pad` stops); its first cut.
    fn wait_for_start(&self, pad: &gst::Pad) -> Option<u64> {
        let mut inner = self.inner.lock().expect("marks");
        loop {
            if let Some((first, _)) = inner.cuts.first_key_value() {
                return Some(*first);
            }
            if inner.ended || stopping(pad) {
                return None;
            }
            inner = self
                .moved
                .wait_timeout(inner, Duration::from_millis(50))
                .expect("marks")
                .0;
        }
    }
}

/// A rung's counters.
#[derive(Debug)]
struct RungCounter {
    name: String,
    frames_out: AtomicU64,
    /// Running time where its last encoded frame starts, 0 before the first.
    last_start: AtomicU64,
}

/// What the pipeline's threads, the bus thread and the handle share.
pub(super) struct Shared {
    pub input: LiveInput,
    emit: Arc<Emit>,
    stop: StopReason,
    meter: InputMeter,
    clock: gst::Clock,
    cutter: Mutex<Cutter>,
    restamp: Mutex<Restamp>,
    video_marks: Arc<Marks>,
    frames_in: AtomicU64,
    /// The first frame's running time and when it was decoded.
    first_frame: OnceLock<(u64, Instant)>,
    /// When the first bytes came.
    first_bytes: OnceLock<Instant>,
    rungs: Vec<RungCounter>,
    segment: Ticks,
    no_video_timeout: Duration,
    /// Streams decodebin found no decoder for.
    pub(super) unsupported: Mutex<Vec<String>>,
    /// The audio chain's input: the source's audio or silence.
    pub(super) silence: Arc<Silence>,
    pipeline: OnceLock<gst::glib::WeakRef<gst::Pipeline>>,
}

impl Shared {
    /// Unix time in nanoseconds, from the pipeline's clock.
    fn now(&self) -> u64 {
        self.clock.time().nseconds()
    }

    pub fn count_input(&self, bytes: usize) {
        self.first_bytes.get_or_init(Instant::now);
        self.meter.count(bytes);
    }

    pub fn stopped_because(&self) -> Option<String> {
        self.stop.get()
    }

    pub fn set_anchor(&self, anchor: Timestamp) {
        self.cutter.lock().expect("cutter").set_anchor(anchor);
    }

    /// Reports `reason` (once) and has the bus thread tear the pipeline down. Safe from any
    /// thread, streaming threads included.
    pub fn fail(&self, pipeline: &gst::Pipeline, reason: String) {
        if self.stop.set(&reason) {
            tracing::warn!(%reason, "the live ladder failed");
            (self.emit)(LiveOutput::Failed { reason });
        }
        let _ = pipeline.post_message(
            gst::message::Application::builder(gst::Structure::new_empty(STOP_MESSAGE)).build(),
        );
    }

    pub(super) fn fail_here(&self, reason: String) {
        if let Some(pipeline) = self.pipeline.get().and_then(|weak| weak.upgrade()) {
            self.fail(&pipeline, reason);
        }
    }

    /// Stops without a report (the owner asked).
    pub fn stop(&self, reason: &str) {
        self.stop.set(reason);
    }

    pub fn stats(&self, pipeline: &gst::Pipeline) -> LiveStats {
        let now = self.now();
        let counter = |name: &str| {
            pipeline
                .by_name("video-rate")
                .map(|rate| rate.property::<u64>(name))
                .unwrap_or(0)
        };
        let rungs: Vec<RungStats> = self
            .rungs
            .iter()
            .map(|rung| {
                let end = rung.last_start.load(Ordering::Relaxed);
                RungStats {
                    name: rung.name.clone(),
                    frames_out: rung.frames_out.load(Ordering::Relaxed),
                    last_output: (end > 0).then(|| Timestamp(ns_to_ticks(end))),
                }
            })
            .collect();
        let slowest = self
            .rungs
            .iter()
            .map(|rung| rung.last_start.load(Ordering::Relaxed))
            .min()
            .filter(|end| *end > 0);
        let lag = slowest.map(|end| Duration::from_nanos(now.saturating_sub(end)));
        let realtime_factor = match (self.first_frame.get(), slowest) {
            (Some((first, decoded_at)), Some(end)) => {
                let wall = decoded_at.elapsed().as_secs_f64();
                (wall > 0.0).then(|| end.saturating_sub(*first) as f64 / 1e9 / wall)
            }
            _ => None,
        };
        let limit =
            Duration::from_nanos(super::grid::ticks_to_ns(self.segment.0)) + Duration::from_secs(1);
        LiveStats {
            frames_in: self.frames_in.load(Ordering::Relaxed),
            dropped_frames: counter("drop"),
            duplicated_frames: counter("duplicate"),
            rungs,
            lag,
            realtime_factor,
            keeping_up: lag.is_some_and(|lag| lag <= limit),
            input_bitrate: self.meter.bitrate(),
            bytes_in: self.meter.total.load(Ordering::Relaxed),
            reanchors: self.restamp.lock().expect("restamp").reanchors,
            silent_audio: self.silence.why(),
        }
    }
}

/// Builds the pipeline and starts it.
pub(super) fn build(
    config: &LiveConfig,
    emit: Arc<Emit>,
) -> Result<(gst::Pipeline, gst_app::AppSrc, Arc<Shared>), MediaError> {
    let ladder = &config.ladder;
    let pipeline = gst::Pipeline::with_name("live-ladder");
    let clock = run_on_unix_time(&pipeline);

    let tracks = AudioTrack::of_ladder(ladder);
    let shared = Arc::new(Shared {
        input: config.input,
        emit: emit.clone(),
        stop: StopReason::default(),
        meter: InputMeter::default(),
        clock,
        cutter: Mutex::new(Cutter::new(config.anchor, config.segment, config.part)),
        restamp: Mutex::new(Restamp::default()),
        video_marks: Arc::new(Marks::default()),
        frames_in: AtomicU64::new(0),
        first_frame: OnceLock::new(),
        first_bytes: OnceLock::new(),
        rungs: ladder
            .rungs
            .iter()
            .map(|rung| RungCounter {
                name: rung.name.clone(),
                frames_out: AtomicU64::new(0),
                last_start: AtomicU64::new(0),
            })
            .collect(),
        segment: config.segment,
        no_video_timeout: config.no_video_timeout,
        unsupported: Mutex::new(Vec::new()),
        silence: Arc::new(Silence::new(
            ladder.audio_sample_rate,
            ladder.audio_channels,
        )),
        pipeline: OnceLock::new(),
    });
    let _ = shared.pipeline.set(pipeline.downgrade());
    let assembler = Arc::new(Assembler::new(
        emit,
        ladder.rungs.iter().map(|rung| rung.name.clone()).collect(),
    ));

    // The source.
    let caps = match config.input {
        LiveInput::Flv => gst::Caps::builder("video/x-flv").build(),
        LiveInput::MpegTs => gst::Caps::builder("video/mpegts")
            .field("systemstream", true)
            .field("packetsize", 188i32)
            .build(),
    };
    let appsrc = gst_app::AppSrc::builder()
        .name("source")
        .caps(&caps)
        .format(gst::Format::Bytes)
        .is_live(false)
        .block(false)
        .max_bytes(0)
        .stream_type(gst_app::AppStreamType::Stream)
        .build();
    pipeline.add(&appsrc).map_err(assembling)?;

    // Video, conformed once.
    let frame_rate = gst::Fraction::new(ladder.frame_rate_num as i32, ladder.frame_rate_den as i32);
    let video_in = queue("video-in", RAW_QUEUE)?;
    let to_deinterlace = make("videoconvert", "video-convert-in")?;
    let deinterlace = make("deinterlace", "deinterlace")?;
    let rate = make("videorate", "video-rate")?;
    // From the first frame, not from the segment's start (the epoch).
    rate.set_property("skip-to-first", true);
    let to_i420 = make("videoconvert", "video-convert")?;
    let video_raw = capsfilter(
        "video-raw",
        gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("framerate", frame_rate)
            .build(),
    )?;
    let video_tee = make("tee", "video-tee")?;
    add_chain(
        &pipeline,
        &[
            &video_in,
            &to_deinterlace,
            &deinterlace,
            &rate,
            &to_i420,
            &video_raw,
            &video_tee,
        ],
    )?;
    force_key_units_on_the_grid(&src_pad(&video_raw), &shared);

    // Audio, conformed once (and normalised).
    let audio_in = queue("audio-in", RAW_QUEUE)?;
    let audio_convert = make("audioconvert", "audio-convert-in")?;
    let resample = make("audioresample", "audio-resample")?;
    let audio_rate = make("audiorate", "audio-rate")?;
    audio_rate.set_property("skip-to-first", true);
    let audio_raw = capsfilter(
        "audio-raw",
        gst::Caps::builder("audio/x-raw")
            .field("format", "F32LE")
            .field("layout", "interleaved")
            .field("rate", ladder.audio_sample_rate as i32)
            .field("channels", ladder.audio_channels as i32)
            .build(),
    )?;
    let audio_tee = make("tee", "audio-tee")?;
    let audio_chain = [
        &audio_in,
        &audio_convert,
        &resample,
        &audio_rate,
        &audio_raw,
        &audio_tee,
    ];
    add_chain(&pipeline, &audio_chain)?;
    if config.loudness {
        ride_loudness(&sink_pad(&audio_raw), ladder)?;
    }
    start_audio_with_video(&src_pad(&audio_raw), shared.video_marks.clone());

    super::decode::connect_source(
        &pipeline,
        appsrc.upcast_ref(),
        config.input,
        &shared,
        sink_pad(&video_in),
        sink_pad(&audio_in),
    )?;

    // Audio, encoded once per audio track.
    let part_ns = super::grid::ticks_to_ns(config.part.0);
    let segment_ns = super::grid::ticks_to_ns(config.segment.0);
    let mut aac_tees = Vec::with_capacity(tracks.len());
    for track in &tracks {
        let name = |what: &str| format!("{what}-{}", track.name);
        let audio_queue = queue(&name("audio"), RAW_QUEUE)?;
        let convert = make("audioconvert", &name("audio-convert"))?;
        let encoder = make("avenc_aac", &name("aac"))?;
        encoder.set_property("bitrate", track.bitrate.min(i32::MAX as u32) as i32);
        let aac_tee = make("tee", &name("aac-tee"))?;
        add_chain(&pipeline, &[&audio_queue, &convert, &encoder, &aac_tee])?;
        audio_tee.link(&audio_queue).map_err(assembling)?;

        let cmaf_queue = queue(&name("cmaf-audio"), COMPRESSED_QUEUE)?;
        let parse = make("aacparse", &name("cmaf-aacparse"))?;
        let mux = cmafmux(&name("cmafmux"), segment_ns, part_ns)?;
        let sink = appsink(&name("cmaf-sink"));
        add_chain(&pipeline, &[&cmaf_queue, &parse, &mux, sink.upcast_ref()])?;
        aac_tee.link(&cmaf_queue).map_err(assembling)?;
        let audio_marks = Arc::new(Marks::default());
        split_audio_at_cuts(
            &src_pad(&parse),
            shared.video_marks.clone(),
            audio_marks.clone(),
        );
        CmafWriter::attach(
            &sink,
            track.name.clone(),
            config.out_dir.join(&track.name),
            audio_marks,
            true,
            assembler.clone(),
        )
        .map_err(|error| MediaError::io(config.out_dir.join(&track.name))(error))?;
        aac_tees.push(aac_tee);
    }

    // Every rung.
    let gop_frames = (config.segment.0 as u128 * ladder.frame_rate_num as u128)
        .div_ceil(90_000 * ladder.frame_rate_den as u128) as u32;
    for (index, rung) in ladder.rungs.iter().enumerate() {
        let name = |what: &str| format!("{what}-{index}");
        let video_queue = queue(&name("video"), RAW_QUEUE)?;
        let scale = make("videoscale", &name("scale"))?;
        scale.set_property("add-borders", true);
        let scaled = capsfilter(
            &name("scaled"),
            gst::Caps::builder("video/x-raw")
                .field("width", rung.width as i32)
                .field("height", rung.height as i32)
                .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
                .build(),
        )?;
        let encoder = make("x264enc", &name("x264"))?;
        // The VOD ladder's rate control and preset; zerolatency (no B-frames, no lookahead)
        // for live. Keyframes only where the grid forces them (scenecut off, a long maximum).
        encoder.set_property("bitrate", (rung.video_bitrate / 1000).max(1));
        encoder.set_property_from_str("pass", "cbr");
        encoder.set_property("vbv-buf-capacity", VBV_BUFFER.as_millis() as u32);
        encoder.set_property_from_str("speed-preset", X264_PRESET);
        encoder.set_property_from_str("tune", "zerolatency");
        encoder.set_property("key-int-max", gop_frames.saturating_mul(4).max(1));
        encoder.set_property("option-string", "scenecut=0");
        let h264 = capsfilter(
            &name("h264"),
            gst::Caps::builder("video/x-h264")
                .field("profile", rung.h264_profile_name())
                .field("level", h264_level(rung.h264_level_idc))
                .field("stream-format", "byte-stream")
                .field("alignment", "au")
                .build(),
        )?;
        let h264_tee = make("tee", &name("h264-tee"))?;
        add_chain(
            &pipeline,
            &[&video_queue, &scale, &scaled, &encoder, &h264, &h264_tee],
        )?;
        video_tee.link(&video_queue).map_err(assembling)?;
        count_output(&src_pad(&encoder), shared.clone(), index);

        // MPEG-TS: one muxer for the whole stream, split at the key units.
        let track_index = tracks
            .iter()
            .position(|track| *track == AudioTrack::of_rung(rung))
            .expect("every rung's audio track is among the ladder's");
        let (ts_video_parse, ts_audio_parse) =
            ts_inputs(&pipeline, index, &h264_tee, &aac_tees[track_index])?;
        let muxer = make("mpegtsmux", &name("mpegtsmux"))?;
        let ts_sink = make("fakesink", &name("ts-sink"))?;
        ts_sink.set_property("sync", false);
        ts_sink.set_property("async", false);
        add_chain(&pipeline, &[&muxer, &ts_sink])?;
        link_request(&ts_video_parse, &muxer, "sink_%d")?;
        link_request(&ts_audio_parse, &muxer, "sink_%d")?;
        TsWriter::attach(
            &sink_pad(&ts_sink),
            rung.name.clone(),
            config.out_dir.join(&rung.name),
            shared.video_marks.clone(),
            assembler.clone(),
        )
        .map_err(|error| MediaError::io(config.out_dir.join(&rung.name))(error))?;

        // CMAF video track, split at the same cuts.
        let cmaf_queue = queue(&name("cmaf-video"), COMPRESSED_QUEUE)?;
        let parse = make("h264parse", &name("cmaf-h264parse"))?;
        let mux = cmafmux(&name("cmafmux"), segment_ns, part_ns)?;
        let sink = appsink(&name("cmaf-sink"));
        add_chain(&pipeline, &[&cmaf_queue, &parse, &mux, sink.upcast_ref()])?;
        h264_tee.link(&cmaf_queue).map_err(assembling)?;
        split_video_at_cuts(&src_pad(&parse), shared.video_marks.clone());
        CmafWriter::attach(
            &sink,
            rung.name.clone(),
            config.out_dir.join(&rung.name),
            shared.video_marks.clone(),
            false,
            assembler.clone(),
        )
        .map_err(|error| MediaError::io(config.out_dir.join(&rung.name))(error))?;
    }

    pipeline
        .set_state(gst::State::Playing)
        .map_err(|error| MediaError::gst("starting the live ladder", error))?;
    Ok((pipeline, appsrc, shared))
}

/// Runs `pipeline` on the system's realtime clock with base time 0, so that running time is
/// Unix time; returns the clock.
pub(super) fn run_on_unix_time(pipeline: &gst::Pipeline) -> gst::Clock {
    let clock: gst::Clock = gst::glib::Object::builder::<gst::SystemClock>()
        .property("clock-type", gst::ClockType::Realtime)
        .build()
        .upcast();
    pipeline.use_clock(Some(&clock));
    pipeline.set_start_time(gst::ClockTime::NONE);
    pipeline.set_base_time(gst::ClockTime::ZERO);
    clock
}

fn cmafmux(name: &str, segment_ns: u64, part_ns: u64) -> Result<gst::Element, MediaError> {
    let mux = make("cmafmux", name)?;
    mux.set_property("manual-split", true);
    // Only for the latency it reports, in manual-split mode.
    mux.set_property("fragment-duration", segment_ns);
    mux.set_property("chunk-duration", part_ns);
    Ok(mux)
}

fn appsink(name: &str) -> gst_app::AppSink {
    gst_app::AppSink::builder()
        .name(name)
        .buffer_list(true)
        .sync(false)
        .build()
}

/// Start and duration of a buffer in running time.
fn timing(pad: &gst::Pad, buffer: &gst::BufferRef) -> Option<(u64, u64)> {
    let start = crate::ladder::running_time(pad, buffer.pts()?)?;
    Some((start, buffer.duration().map_or(0, |d| d.nseconds())))
}

/// Stamps the decoded stream leaving `pad` with Unix time: its segment becomes a plain TIME
/// segment from 0 (running time = timestamp) and every buffer's timestamp the source's running
/// time mapped by [`Restamp`].
pub(super) fn restamp(pad: &gst::Pad, stream: Stream, shared: Arc<Shared>) {
    let original: Mutex<Option<gst::FormattedSegment<gst::ClockTime>>> = Mutex::new(None);
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |_, info| {
            if let Some(gst::PadProbeData::Event(event)) = &info.data {
                if let gst::EventView::Segment(segment) = event.view() {
                    *original.lock().expect("segment") =
                        segment.segment().downcast_ref::<gst::ClockTime>().cloned();
                    let fresh = gst::FormattedSegment::<gst::ClockTime>::new();
                    info.data = Some(gst::PadProbeData::Event(gst::event::Segment::new(&fresh)));
                }
                return gst::PadProbeReturn::Ok;
            }
            let Some(buffer) = info.buffer_mut() else {
                return gst::PadProbeReturn::Ok;
            };
            let source = buffer.pts().and_then(|pts| {
                original
                    .lock()
                    .expect("segment")
                    .as_ref()
                    .and_then(|segment| segment.to_running_time(pts))
            });
            let Some(source) = source else {
                return DROP_BUFFER;
            };
            let duration = buffer.duration().map_or(0, |d| d.nseconds());
            let now = shared.now();
            let (at, why) = shared.restamp.lock().expect("restamp").map(
                stream,
                source.nseconds(),
                duration,
                now,
            );
            if let Some(why) = why {
                tracing::info!(
                    ?stream,
                    ?why,
                    "the live source's timestamps jumped: anchored again"
                );
            }
            if stream == Stream::Video {
                shared.frames_in.fetch_add(1, Ordering::Relaxed);
                shared.first_frame.get_or_init(|| (at, Instant::now()));
            }
            let buffer = buffer.make_mut();
            buffer.set_pts(gst::ClockTime::from_nseconds(at));
            buffer.set_dts(gst::ClockTime::NONE);
            if why.is_some() {
                buffer.set_flags(gst::BufferFlags::DISCONT);
            }
            gst::PadProbeReturn::Ok
        },
    );
}

/// Decides the grid's cuts on the conformed video leaving `pad` (see [`Cutter`]), records them,
/// and asks every encoder for a keyframe at each segment's first frame.
fn force_key_units_on_the_grid(pad: &gst::Pad, shared: &Arc<Shared>) {
    let shared = shared.clone();
    let count = Mutex::new(0u32);
    pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |pad, info| {
            if let Some(event) = info.event() {
                if event.type_() == gst::EventType::Eos {
                    shared.video_marks.end();
                }
                return gst::PadProbeReturn::Ok;
            }
            let Some((start, duration)) = info.buffer().and_then(|buffer| timing(pad, buffer))
            else {
                return gst::PadProbeReturn::Ok;
            };
            let cut = shared
                .cutter
                .lock()
                .expect("cutter")
                .frame(ns_to_ticks(start), ns_to_ticks(duration));
            if let Some(cut) = cut {
                shared.video_marks.insert(start, cut);
                if matches!(cut, Cut::Segment { .. }) {
                    let mut count = count.lock().expect("count");
                    *count += 1;
                    let at = gst::ClockTime::from_nseconds(start);
                    let event = gst_video::DownstreamForceKeyUnitEvent::builder()
                        .timestamp(at)
                        .stream_time(at)
                        .running_time(at)
                        .all_headers(true)
                        .count(*count)
                        .build();
                    if !pad.push_event(event) {
                        tracing::warn!("an encoder refused a force-key-unit event");
                    }
                }
            }
            shared.video_marks.advance(start + duration);
            gst::PadProbeReturn::Ok
        },
    );
}

/// The custom event that makes an fMP4 muxer in `manual-split` mode start a new fragment (or,
/// with `chunk`, a new chunk) with the next buffer.
fn split_now(chunk: bool) -> gst::Event {
    gst::event::CustomDownstream::new(
        gst::Structure::builder("FMP4MuxSplitNow")
            .field("chunk", chunk)
            .build(),
    )
}

/// Splits the encoded video leaving `pad` into fragments at the segment cuts and chunks at the
/// part cuts (the frames the cuts were decided on: same timestamps).
fn split_video_at_cuts(pad: &gst::Pad, marks: Arc<Marks>) {
    let first = Mutex::new(true);
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some((start, _)) = info.buffer().and_then(|buffer| timing(pad, buffer)) else {
            return gst::PadProbeReturn::Ok;
        };
        if std::mem::replace(&mut *first.lock().expect("first"), false) {
            return gst::PadProbeReturn::Ok;
        }
        if let Some(cut) = marks.at(start) {
            pad.push_event(split_now(matches!(cut, Cut::Part { .. })));
        }
        gst::PadProbeReturn::Ok
    });
}

/// Splits an encoded audio track leaving `pad` at the AAC frames nearest to the video's cuts,
/// recording them in `own` for its writer. Waits for the video to decide the cuts first.
fn split_audio_at_cuts(pad: &gst::Pad, video: Arc<Marks>, own: Arc<Marks>) {
    let last = Mutex::new(None::<u64>);
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some((start, duration)) = info.buffer().and_then(|buffer| timing(pad, buffer)) else {
            return gst::PadProbeReturn::Ok;
        };
        let middle = start + duration / 2;
        video.wait_past(pad, middle + 1);
        let mut last = last.lock().expect("last cut");
        let first = last.is_none();
        let mut cuts = video.between(*last, middle);
        if first && cuts.is_empty() {
            // The audio starts a little before the first frame: it belongs to its segment.
            cuts = video.between(None, u64::MAX).into_iter().take(1).collect();
        }
        let Some(&(latest, _)) = cuts.last() else {
            return gst::PadProbeReturn::Ok;
        };
        *last = Some(latest);
        // A segment cut among them wins over the parts after it (a gap in the audio).
        let cut = match cuts
            .iter()
            .rev()
            .find(|(_, cut)| matches!(cut, Cut::Segment { .. }))
        {
            Some(&(_, segment)) => segment,
            None => cuts.last().expect("not empty").1,
        };
        own.insert(start, cut);
        own.advance(start + duration);
        if !first {
            pad.push_event(split_now(matches!(cut, Cut::Part { .. })));
        }
        gst::PadProbeReturn::Ok
    });
}

/// Drops the raw audio that ends before the video's first frame, waiting for that frame.
fn start_audio_with_video(pad: &gst::Pad, video: Arc<Marks>) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some((start, duration)) = info.buffer().and_then(|buffer| timing(pad, buffer)) else {
            return gst::PadProbeReturn::Ok;
        };
        match video.first().or_else(|| video.wait_for_start(pad)) {
            Some(first) if start + duration <= first => DROP_BUFFER,
            _ => gst::PadProbeReturn::Ok,
        }
    });
}

/// Rides the conformed audio's gain to the ladder's loudness target as it passes `pad`
/// (interleaved F32): no look-ahead, so no latency (see [`LoudnessRider`]).
fn ride_loudness(pad: &gst::Pad, ladder: &Ladder) -> Result<(), MediaError> {
    let rider = LoudnessRider::new(
        ladder.audio_channels,
        ladder.audio_sample_rate,
        ladder.loudness.lufs(),
    )
    .map_err(MediaError::Invalid)?;
    let rider = Mutex::new(rider);
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let Some(buffer) = info.buffer_mut() else {
            return gst::PadProbeReturn::Ok;
        };
        let Ok(mut map) = buffer.make_mut().map_writable() else {
            return gst::PadProbeReturn::Ok;
        };
        // F32LE, copied out and back: the probe sees a few thousand samples per buffer.
        let bytes = map.as_mut_slice();
        let mut samples: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect();
        rider.lock().expect("loudness rider").process(&mut samples);
        for (chunk, sample) in bytes.chunks_exact_mut(4).zip(samples) {
            chunk.copy_from_slice(&sample.to_le_bytes());
        }
        gst::PadProbeReturn::Ok
    });
    Ok(())
}

/// Counts a rung's encoded frames and where the last one starts.
fn count_output(pad: &gst::Pad, shared: Arc<Shared>, index: usize) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        if let Some((start, _)) = info.buffer().and_then(|buffer| timing(pad, buffer)) {
            let rung = &shared.rungs[index];
            rung.frames_out.fetch_add(1, Ordering::Relaxed);
            rung.last_start.fetch_max(start, Ordering::Relaxed);
        }
        gst::PadProbeReturn::Ok
    });
}

/// Watches the bus on a thread of its own: errors and missing decoders become
/// [`LiveOutput::Failed`], the end of the stream [`LiveOutput::Ended`], a source that sends no
/// video for [`LiveConfig::no_video_timeout`] fails; each stops the pipeline.
pub(super) fn watch_bus(
    pipeline: &gst::Pipeline,
    shared: Arc<Shared>,
) -> Result<JoinHandle<()>, MediaError> {
    let bus = pipeline.bus().expect("a pipeline has a bus");
    let pipeline = pipeline.clone();
    std::thread::Builder::new()
        .name("live-ladder-bus".into())
        .spawn(move || {
            loop {
                if shared.stop.get().is_some() {
                    break;
                }
                if shared.frames_in.load(Ordering::Relaxed) == 0
                    && shared
                        .first_bytes
                        .get()
                        .is_some_and(|first| first.elapsed() > shared.no_video_timeout)
                {
                    shared.fail(
                        &pipeline,
                        format!(
                            "no video decoded {:.0} s after the first bytes: not a stream with video, or damaged",
                            shared.no_video_timeout.as_secs_f64()
                        ),
                    );
                    break;
                }
                let first_frame = shared.first_frame.get().map(|(_, at)| *at);
                if let Err(reason) = shared.silence.give_up_waiting(&pipeline, first_frame) {
                    shared.fail(&pipeline, reason);
                    break;
                }
                let Some(message) = bus.timed_pop(gst::ClockTime::from_mseconds(100)) else {
                    continue;
                };
                match message.view() {
                    gst::MessageView::Eos(_) => {
                        if shared.stop.set("the stream ended") {
                            (shared.emit)(LiveOutput::Ended);
                        }
                        break;
                    }
                    gst::MessageView::Error(error) => {
                        let unsupported = shared.unsupported.lock().expect("unsupported").clone();
                        // Audio without a decoder airs silence: it is not why anything fails.
                        let codec = unsupported.iter().find(|codec| !codec.starts_with("audio/"));
                        let reason = match codec {
                            Some(codec) => format!(
                                "unsupported codec: no decoder for {codec} ({})",
                                error.error()
                            ),
                            None => format!(
                                "{}{}",
                                error.error(),
                                error
                                    .src()
                                    .map(|src| format!(" (in {})", src.name()))
                                    .unwrap_or_default()
                            ),
                        };
                        tracing::debug!(debug = ?error.debug(), "live ladder error");
                        shared.fail(&pipeline, reason);
                        break;
                    }
                    gst::MessageView::Element(_)
                        if gstreamer_pbutils::MissingPluginMessage::is(&message) =>
                    {
                        if let Ok(missing) = gstreamer_pbutils::MissingPluginMessage::parse(&message)
                        {
                            shared
                                .unsupported
                                .lock()
                                .expect("unsupported")
                                .push(missing.description().to_string());
                        }
                    }
                    gst::MessageView::Warning(warning) => {
                        tracing::warn!(
                            element = ?warning.src().map(|src| src.name()),
                            debug = ?warning.debug(),
                            "live ladder: {}",
                            warning.error()
                        );
                    }
                    gst::MessageView::Application(application)
                        if application
                            .structure()
                            .is_some_and(|s| s.name() == STOP_MESSAGE) =>
                    {
                        break;
                    }
                    _ => {}
                }
            }
            let _ = pipeline.set_state(gst::State::Null);
        })
        .map_err(|error| MediaError::gst("starting the live ladder's bus thread", error))
}
