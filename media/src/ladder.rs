//! The ladder encoder: the input decoded once, every rung encoded from it and packaged as
//! MPEG-TS segments (video and audio muxed) and as a CMAF video track, and every distinct audio
//! bitrate encoded once and packaged as a CMAF audio track, all cut at the same instants.
//!
//! One pipeline per input:
//!
//! ```text
//! uridecodebin ┬ video ─ queue ─ videoconvert ─ deinterlace ─ videorate ─ videoconvert ─ I420 @ ladder fps ─ tee
//!              │   (no video in the input: videotestsrc black + textoverlay title, as long as the audio)
//!              └ audio ─ queue ─ audioconvert ─ audioresample ─ audiorate ─ F64 192 kHz ─ audioloudnorm
//!                        ─ audioconvert ─ audioresample ─ ladder rate/channels ─ tee
//!                (no audio in the input: audiotestsrc wave=silence instead; either way the raw
//!                audio is trimmed to the video's span before the tee, see `align`)
//!   (padded to whole segments: an identity before each tee holds the last frame and adds
//!   silence until the last segment is whole, see `pad`)
//! for each audio track (distinct audio bitrate of the ladder):
//!   audio tee ─ queue ─ audioconvert ─ avenc_aac ─ tee ┬ queue ─ aacparse ─ cmafmux (manual split) ─ appsink
//!                                                      └ (to the TS muxer of every rung with this bitrate)
//! for each rung:
//!   video tee ─ queue ─ videoscale (borders) ─ W x H ─ x264enc ─ profile/level ─ tee ┬ queue ─ h264parse ─ cmafmux ─ appsink
//!                                                                                    └ queue ─ h264parse ─┐
//!   the track's AAC tee ─ queue ─ aacparse ───────────────────────────────────────── splitmuxsink(mpegtsmux)
//! ```
//!
//! The top rung's scaled frame at a tenth of the duration is copied out (a pad probe) and made
//! into the poster JPEG after the run.
//!
//! Decoding, deinterlacing, conforming the frame rate (videorate: VFR, 25, 29.97, 50 or 60 fps
//! in, the ladder's rate out), downmixing (audioconvert: mono or 5.1 in, stereo out) and loudness
//! normalisation (to the ladder's EBU R128 or ATSC A/85 target) happen once, before the tees.
//! Scaling keeps the picture's aspect ratio and pads with black to the rung's (even) size.
//!
//! x264 makes an IDR frame every `frames_per_segment` frames and nowhere else (no scene cuts), so
//! every segment starts with one and both packagings cut at the same frames. Segment boundaries
//! come from timestamps (splitmuxsink's fragment messages, the encoder's last frame, the CMAF
//! muxers' fragments), never from counting, and are checked to be identical across rungs and
//! packagings. AAC frames (1024 samples) do not fall on video frames: each audio track's
//! fragments start with the AAC frame nearest to each segment's start (see `align`), which is
//! checked to be within half an AAC frame of it, so an audio fragment covers its video segment's
//! time to within ±10.7 ms at 48 kHz, as the audio in a TS segment does. An encode padded to
//! whole segments ([`EncodeOptions::pad_to_whole_segments`]) is also checked to have every
//! segment, the last one too, exactly the ladder's segment duration.
//!
//! Inputs are refused before any pipeline runs when they are empty, not media, need a decoder
//! that is not installed, or are larger than [`EncodeOptions`] allow.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use onair_domain::media::{AAC_LC_CODEC, AudioTrack};
use onair_domain::{Ladder, Packaging, Rendition, SegmentInfo, Ticks};

use crate::align::VideoSpan;
use crate::bus::{Limits, StopOnDrop, Watch, run_to_eos};
use crate::clip::{FrameRate, ticks_to_nanos};
use crate::cmaf::{self, Written};
use crate::elements::{capsfilter, init, make, queue};
use crate::error::MediaError;
use crate::pad::Padding;
use crate::probe::{ProbeInfo, file_uri, probe};
use crate::segments::{Cuts, bandwidth, check_identical, check_whole_segments, secs};

/// What [`encode_ladder`] produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedAsset {
    /// Exact: the sum of the segment durations, the same in every rendition. Padded to whole
    /// segments when [`EncodeOptions::pad_to_whole_segments`] asked for it.
    pub duration: Ticks,
    /// How long the input's own pictures last on the ladder's frame grid, before any padding:
    /// `duration` when nothing was padded.
    pub content_duration: Ticks,
    /// Every rung as MPEG-TS (video and audio), in ladder order, then every rung as a CMAF
    /// video track, then every audio track of the ladder ([`AudioTrack::of_ladder`]) as a CMAF
    /// audio track. All have the same segment durations.
    pub renditions: Vec<Rendition>,
    /// The poster JPEG (one frame at the top rung's size), relative to the media root.
    pub poster_path: Option<String>,
}

/// Limits and controls of one [`encode_ladder`] run.
#[derive(Debug, Clone)]
pub struct EncodeOptions {
    /// Inputs wider than this are refused.
    pub max_width: u32,
    /// Inputs taller than this are refused.
    pub max_height: u32,
    /// Set it to `true` to stop the encode: it stops promptly, removes what it wrote and returns
    /// [`MediaError::Cancelled`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// Extends the output to a whole number of the ladder's segments, every one of them (the
    /// last too) exactly the segment duration: the picture holds its last frame and the sound
    /// is silence for the padding. For media stitched into a break of whole segments (an ad),
    /// which must keep the break's length and media sequence numbers.
    pub pad_to_whole_segments: bool,
}

impl Default for EncodeOptions {
    /// 4096x2304 at most (DCI 4K width, UHD-ish height), not cancellable, not padded.
    fn default() -> EncodeOptions {
        EncodeOptions {
            max_width: 4096,
            max_height: 2304,
            cancel: None,
            pad_to_whole_segments: false,
        }
    }
}

/// Raw media queues hold this much; compressed ones are unbounded (they are small, and a bound
/// there can deadlock a muxer waiting for a GOP of the other stream).
const RAW_QUEUE: gst::ClockTime = gst::ClockTime::from_seconds(1);
/// Decoded audio waits here for the video to catch up (see [`VideoSpan`]): raw audio is small,
/// and a short bound would stall the demuxer that feeds both.
const AUDIO_IN_QUEUE: gst::ClockTime = gst::ClockTime::from_seconds(60);
const COMPRESSED_QUEUE: gst::ClockTime = gst::ClockTime::ZERO;

/// What a buffer probe returns to drop the buffer. Not `Drop`: gstreamer-rs takes the buffer out
/// of the probe info and frees it, and GStreamer 1.22 then unrefs the NULL it left behind (a
/// CRITICAL per buffer). `Handled` frees it once, in Rust.
pub(crate) const DROP_BUFFER: gst::PadProbeReturn = gst::PadProbeReturn::Handled;

/// x264's speed preset for every rung.
const X264_PRESET: &str = "veryfast";
/// The VBV buffer of every rung, in time at its bitrate.
const VBV_BUFFER: Duration = Duration::from_secs(1);

/// The only rate `audioloudnorm` works at.
const LOUDNORM_RATE: i32 = 192_000;

/// Decoding may stop this much, plus a thousandth, short of the declared duration before the
/// input counts as truncated: the streams of an intact file end within a frame or two of it.
const TRUNCATION_TOLERANCE: Duration = Duration::from_millis(500);

/// Encodes `input` to every rung of `ladder`, into `media_root/asset_dir/{rung}/ts/NNNNN.ts`,
/// `media_root/asset_dir/{rung}/cmaf/{init.mp4, NNNNN.m4s}` (video only) and
/// `media_root/asset_dir/{audio track}/cmaf-audio/{init.mp4, NNNNN.m4s}` (AAC only, one folder
/// per distinct audio bitrate, e.g. `audio-96k`), replacing what those directories held, plus
/// `media_root/asset_dir/poster.jpg`. `progress` gets percentages as encoding goes.
/// Paths in the result are relative to `media_root`.
///
/// Fails before encoding when the ladder does not validate, the input is empty, not media, needs
/// a decoder that is not installed, or is larger than `options` allow; fails after when it turns
/// out truncated or an invariant of the segments breaks; and returns [`MediaError::Cancelled`]
/// within a fraction of a second of `options.cancel` becoming true. A failed or cancelled encode
/// removes everything it wrote.
pub fn encode_ladder(
    input: &Path,
    ladder: &Ladder,
    media_root: &Path,
    asset_dir: &str,
    options: &EncodeOptions,
    progress: &mut dyn FnMut(u8),
) -> Result<EncodedAsset, MediaError> {
    init()?;
    let grid = Grid::of(ladder)?;
    check_asset_dir(asset_dir)?;
    let cancel = options.cancel.as_deref();
    let cancelled = || cancel.is_some_and(|cancel| cancel.load(Ordering::Relaxed));
    if cancelled() {
        return Err(MediaError::Cancelled);
    }
    let info = probe(input)?;
    if let Some(video) = &info.video
        && (video.width > options.max_width || video.height > options.max_height)
    {
        return Err(MediaError::TooLarge {
            path: input.to_owned(),
            width: video.width,
            height: video.height,
            max_width: options.max_width,
            max_height: options.max_height,
        });
    }
    let slate = match &info.video {
        Some(_) => None,
        None => Some(Slate::for_audio_only(input, &info, ladder, &grid)?),
    };
    let uri = file_uri(input)?;
    let context = format!("encoding {}", input.display());

    let out = Layout {
        root: media_root.to_owned(),
        asset_dir: asset_dir.trim_end_matches('/').to_owned(),
    };
    let mut cleanup = RemoveOnFailure {
        dirs: Vec::new(),
        files: vec![out.root.join(out.poster())],
        parents: Vec::new(),
    };
    let tracks = AudioTrack::of_ladder(ladder);
    let folders = ladder
        .rungs
        .iter()
        .flat_map(|rung| {
            [Packaging::Ts, Packaging::Cmaf].map(|packaging| (rung.name.as_str(), packaging))
        })
        .chain(
            tracks
                .iter()
                .map(|track| (track.name.as_str(), Packaging::CmafAudio)),
        );
    for (name, packaging) in folders {
        let dir = out.dir(name, packaging);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(MediaError::io(&dir))?;
        }
        std::fs::create_dir_all(&dir).map_err(MediaError::io(&dir))?;
        cleanup.dirs.push(dir);
        let parent = out.root.join(&out.asset_dir).join(name);
        if !cleanup.parents.contains(&parent) {
            cleanup.parents.push(parent);
        }
    }
    cleanup.parents.push(out.root.join(&out.asset_dir));
    let poster_file = out.root.join(out.poster());
    if poster_file.exists() {
        std::fs::remove_file(&poster_file).map_err(MediaError::io(&poster_file))?;
    }

    let pipeline = gst::Pipeline::with_name("ladder");
    let stop = StopOnDrop(pipeline.clone());
    let expected = info
        .duration
        .map(|duration| gst::ClockTime::from_nseconds(ticks_to_nanos(duration)));
    let taps = build(
        &pipeline,
        &uri,
        &info,
        ladder,
        &tracks,
        &grid,
        &out,
        slate.as_ref(),
        expected,
        options.pad_to_whole_segments,
    )?;

    let mut opened: Vec<Vec<(String, u64)>> = vec![Vec::new(); ladder.rungs.len()];
    let encoded = taps.encoded.clone();
    let watch = Watch {
        // The slowest rung's encoder output: sinks that write files answer position queries poorly.
        position: &mut || {
            let traces = encoded.iter().map(|trace| trace.lock().expect("trace").end);
            traces.min().flatten().map(gst::ClockTime::from_nseconds)
        },
        expected,
        progress,
        on_element: &mut |message| record_fragment(message, &mut opened),
        cancel,
    };
    let media = expected.map(|expected| Duration::from_nanos(expected.nseconds()));
    run_to_eos(&pipeline, &context, Limits::for_media(media), watch)?;
    // Closes every file before they are measured.
    drop(stop);
    if cancelled() {
        return Err(MediaError::Cancelled);
    }

    let decoded = *taps.decoded.lock().expect("decoded");
    if let (Some(expected), Some(decoded)) = (expected, decoded)
        && decoded + TRUNCATION_TOLERANCE.as_nanos() as u64 + expected.nseconds() / 1000
            < expected.nseconds()
    {
        return Err(MediaError::Truncated {
            path: input.to_owned(),
            decoded: decoded as f64 / 1e9,
            expected: expected.seconds_f64(),
        });
    }

    let mut asset =
        collect(ladder, &tracks, &out, &taps, &opened).map_err(|detail| MediaError::Segments {
            context: context.clone(),
            detail,
        })?;
    match poster_jpeg(&taps.poster)? {
        Some(jpeg) => {
            std::fs::write(&poster_file, jpeg).map_err(MediaError::io(&poster_file))?;
            asset.poster_path = Some(out.poster());
        }
        None => tracing::warn!(input = %input.display(), "no frame was captured for the poster"),
    }
    cleanup.dirs.clear();
    cleanup.files.clear();
    cleanup.parents.clear();
    progress(100);
    Ok(asset)
}

/// Removes what a failed or cancelled encode wrote when dropped: no half renditions are left.
struct RemoveOnFailure {
    /// Removed with everything in them.
    dirs: Vec<PathBuf>,
    files: Vec<PathBuf>,
    /// Removed when they are left empty.
    parents: Vec<PathBuf>,
}

impl Drop for RemoveOnFailure {
    fn drop(&mut self) {
        for dir in &self.dirs {
            if let Err(error) = std::fs::remove_dir_all(dir) {
                tracing::warn!(dir = %dir.display(), %error, "could not remove the output of a failed encode");
            }
        }
        for file in &self.files {
            let _ = std::fs::remove_file(file);
        }
        for parent in &self.parents {
            // Fails, as it should, when something else lives there.
            let _ = std::fs::remove_dir(parent);
        }
    }
}

/// The picture of an input that has none: black, with the input's name, for exactly as many
/// whole frames as its audio lasts (the audio is trimmed to the frames, see `align`).
struct Slate {
    title: String,
    frames: u64,
    width: u32,
    height: u32,
}

impl Slate {
    fn for_audio_only(
        input: &Path,
        info: &ProbeInfo,
        ladder: &Ladder,
        grid: &Grid,
    ) -> Result<Slate, MediaError> {
        let no_video = |detail: &str| MediaError::NoVideo {
            path: input.to_owned(),
            detail: Some(detail.to_owned()),
        };
        if info.audio.is_none() {
            return Err(no_video("and no audio either: nothing to encode"));
        }
        let duration = info.duration.ok_or_else(|| {
            no_video("it only has audio, of a length the file does not declare: no slate can be made to match it")
        })?;
        let frames = duration.0.max(0) as u128 * grid.fps.num as u128
            / (onair_domain::TICKS_PER_SECOND as u128 * grid.fps.den as u128);
        if frames == 0 {
            return Err(no_video("it only has audio, shorter than one frame"));
        }
        let top = &ladder.rungs[0];
        let title = input
            .file_stem()
            .map(|stem| stem.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Slate {
            title,
            frames: frames as u64,
            width: top.width,
            height: top.height,
        })
    }
}

/// Where the renditions go.
struct Layout {
    root: PathBuf,
    asset_dir: String,
}

impl Layout {
    /// The folder of a rung's (or an audio track's) rendition, relative to the root.
    fn relative(&self, name: &str, packaging: Packaging) -> String {
        format!("{}/{name}/{}", self.asset_dir, packaging.as_str())
    }

    fn dir(&self, name: &str, packaging: Packaging) -> PathBuf {
        self.root.join(self.relative(name, packaging))
    }

    /// The poster JPEG, relative to the root.
    fn poster(&self) -> String {
        format!("{}/{POSTER_NAME}", self.asset_dir)
    }
}

/// The poster's file name in the asset directory.
const POSTER_NAME: &str = "poster.jpg";

/// The ladder's time grid: every segment is one GOP of whole frames.
struct Grid {
    fps: FrameRate,
    frame_rate: gst::Fraction,
    gop_frames: u32,
    gop: gst::ClockTime,
    frame: gst::ClockTime,
}

impl Grid {
    fn of(ladder: &Ladder) -> Result<Grid, MediaError> {
        ladder
            .validate()
            .map_err(|error| MediaError::Invalid(error.to_string()))?;
        let fps = FrameRate::new(ladder.frame_rate_num, ladder.frame_rate_den);
        if fps.num > i32::MAX as u32 || fps.den > i32::MAX as u32 {
            return Err(MediaError::Invalid(format!(
                "ladder {:?}: frame rate {fps} is not a frame rate",
                ladder.name
            )));
        }
        let gop_frames = fps
            .whole_frames(ladder.segment_duration)
            .filter(|frames| *frames > 0 && *frames <= u32::MAX as u64)
            .ok_or_else(|| {
                MediaError::Invalid(format!(
                    "ladder {:?}: segment duration {} is not a whole number of frames at {fps} fps",
                    ladder.name, ladder.segment_duration
                ))
            })?;
        Ok(Grid {
            fps,
            frame_rate: gst::Fraction::new(fps.num as i32, fps.den as i32),
            gop_frames: gop_frames as u32,
            gop: gst::ClockTime::from_nseconds(ticks_to_nanos(ladder.segment_duration)),
            frame: gst::ClockTime::SECOND
                .mul_div_floor(fps.den as u64, fps.num as u64)
                .expect("a frame rate"),
        })
    }
}

fn check_asset_dir(asset_dir: &str) -> Result<(), MediaError> {
    let path = Path::new(asset_dir);
    let plain = !asset_dir.is_empty()
        && !asset_dir.contains('\\')
        && path
            .components()
            .all(|component| matches!(component, std::path::Component::Normal(_)));
    if plain {
        Ok(())
    } else {
        Err(MediaError::Invalid(format!(
            "asset directory {asset_dir:?} must be a relative path without '..'"
        )))
    }
}

/// Timing taken from the encoder output of one rung.
#[derive(Debug, Default)]
struct EncodedTrace {
    /// Running time of every keyframe.
    keyframes: Vec<u64>,
    /// Running time where the last frame ends.
    end: Option<u64>,
}

/// What the pipeline reports while it runs, read once it has finished.
struct Taps {
    /// Per rung.
    encoded: Vec<Arc<Mutex<EncodedTrace>>>,
    /// Per rung: the CMAF video tracks.
    cmaf_video: Vec<Arc<Mutex<Written>>>,
    /// Per audio track: the CMAF audio tracks.
    cmaf_audio: Vec<Arc<Mutex<Written>>>,
    /// How far decoding got, video or audio, in running time.
    decoded: Arc<Mutex<Option<u64>>>,
    /// The poster's frame.
    poster: Arc<Mutex<PosterFrame>>,
    /// Where the padded video ends, when the encode pads to whole segments.
    padding: Option<Arc<Padding>>,
}

/// Running time of `pts` in the segment `pad` last received.
fn running_time(pad: &gst::Pad, pts: gst::ClockTime) -> Option<u64> {
    let event = pad.sticky_event::<gst::event::Segment>(0)?;
    let segment = event.segment().downcast_ref::<gst::ClockTime>()?;
    segment.to_running_time(pts).map(|at| at.nseconds())
}

/// Where each buffer through `pad` ends, in running time: `record(end, buffer)`.
fn watch_buffers(pad: &gst::Pad, record: impl Fn(u64, &gst::BufferRef) + Send + Sync + 'static) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        if let Some(buffer) = info.buffer()
            && let Some(pts) = buffer.pts()
            && let Some(start) = running_time(pad, pts)
        {
            let end = start
                + buffer
                    .duration()
                    .map(|duration| duration.nseconds())
                    .unwrap_or(0);
            record(end, buffer);
        }
        gst::PadProbeReturn::Ok
    });
}

fn src_pad(element: &gst::Element) -> gst::Pad {
    element
        .static_pad("src")
        .expect("the element has a src pad")
}

fn sink_pad(element: &gst::Element) -> gst::Pad {
    element
        .static_pad("sink")
        .expect("the element has a sink pad")
}

fn add_chain(pipeline: &gst::Pipeline, chain: &[&gst::Element]) -> Result<(), MediaError> {
    pipeline
        .add_many(chain.iter().copied())
        .map_err(|error| MediaError::gst("assembling the encoder", error))?;
    gst::Element::link_many(chain.iter().copied()).map_err(|error| {
        let names: Vec<String> = chain
            .iter()
            .map(|element| element.name().to_string())
            .collect();
        MediaError::gst(
            "assembling the encoder",
            format!("{error}: {}", names.join(" ! ")),
        )
    })
}

fn link_request(from: &gst::Element, to: &gst::Element, template: &str) -> Result<(), MediaError> {
    let pad = to.request_pad_simple(template).ok_or_else(|| {
        MediaError::gst(
            "assembling the encoder",
            format!("{} gave no {template} pad", to.name()),
        )
    })?;
    src_pad(from).link(&pad).map(|_| ()).map_err(|error| {
        MediaError::gst(
            "assembling the encoder",
            format!("linking {} to {}: {error:?}", from.name(), to.name()),
        )
    })
}

/// x264's level string for a `level_idc`: 30 is "3", 21 is "2.1", 9 is "1b".
fn h264_level(level_idc: u8) -> String {
    match level_idc {
        9 => "1b".to_owned(),
        idc if idc % 10 == 0 => format!("{}", idc / 10),
        idc => format!("{}.{}", idc / 10, idc % 10),
    }
}

#[allow(clippy::too_many_arguments)]
fn build(
    pipeline: &gst::Pipeline,
    uri: &str,
    info: &ProbeInfo,
    ladder: &Ladder,
    tracks: &[AudioTrack],
    grid: &Grid,
    out: &Layout,
    slate: Option<&Slate>,
    expected: Option<gst::ClockTime>,
    pad_to_whole_segments: bool,
) -> Result<Taps, MediaError> {
    let decoded = Arc::new(Mutex::new(None::<u64>));
    let reach = |pad: &gst::Pad| {
        let decoded = decoded.clone();
        watch_buffers(pad, move |end, _| {
            let mut decoded = decoded.lock().expect("decoded");
            *decoded = Some(decoded.map_or(end, |before| before.max(end)));
        });
    };

    // Video, decoded once (or a slate when the input has none).
    let decode = make("uridecodebin", "decode")?;
    decode.set_property("uri", uri);
    pipeline
        .add(&decode)
        .map_err(|error| MediaError::gst("assembling the encoder", error))?;
    let video_in = queue("video-in", RAW_QUEUE)?;
    let to_deinterlace = make("videoconvert", "video-convert-in")?;
    let deinterlace = make("deinterlace", "deinterlace")?;
    let rate = make("videorate", "video-rate")?;
    let to_i420 = make("videoconvert", "video-convert")?;
    let video_caps = gst::Caps::builder("video/x-raw")
        .field("format", "I420")
        .field("framerate", grid.frame_rate)
        .build();
    let video_raw = capsfilter("video-raw", video_caps)?;
    let video_tee = make("tee", "video-tee")?;
    // Padding to whole segments happens between the conformed streams and their tees (see
    // `pad`), so that every rung and packaging is cut from the same padded streams.
    let (video_pad, audio_pad) = if pad_to_whole_segments {
        (
            Some(make("identity", "video-pad")?),
            Some(make("identity", "audio-pad")?),
        )
    } else {
        (None, None)
    };
    let video_chain: Vec<&gst::Element> = [
        &video_in,
        &to_deinterlace,
        &deinterlace,
        &rate,
        &to_i420,
        &video_raw,
    ]
    .into_iter()
    .chain(video_pad.as_ref())
    .chain([&video_tee])
    .collect();
    add_chain(pipeline, &video_chain)?;
    match slate {
        // Measured as decoded: videorate and audiorate would fill a truncated stream's gaps.
        None => reach(&src_pad(&video_in)),
        Some(slate) => {
            let source = slate_source(pipeline, slate, grid)?;
            source
                .link(&video_in)
                .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        }
    }

    // Audio, decoded once and brought to the ladder's loudness, or silence when the input has
    // none.
    let audio_in = queue("audio-in", AUDIO_IN_QUEUE)?;
    let audio_convert = make("audioconvert", "audio-convert-in")?;
    let resample = make("audioresample", "audio-resample")?;
    let audio_rate = make("audiorate", "audio-rate")?;
    let audio_caps = gst::Caps::builder("audio/x-raw")
        .field("format", "F32LE")
        .field("layout", "interleaved")
        .field("rate", ladder.audio_sample_rate as i32)
        .field("channels", ladder.audio_channels as i32)
        .build();
    let audio_raw = capsfilter("audio-raw", audio_caps)?;
    let audio_tee = make("tee", "audio-tee")?;
    let silence = if info.audio.is_none() {
        let silence = make("audiotestsrc", "silence")?;
        silence.set_property_from_str("wave", "silence");
        silence.set_property(
            "samplesperbuffer",
            (ladder.audio_sample_rate / 50).max(1) as i32,
        );
        let chain: Vec<&gst::Element> = [
            &silence,
            &audio_in,
            &audio_convert,
            &resample,
            &audio_rate,
            &audio_raw,
        ]
        .into_iter()
        .chain(audio_pad.as_ref())
        .chain([&audio_tee])
        .collect();
        add_chain(pipeline, &chain)?;
        Some(silence)
    } else {
        // audioloudnorm works on 192 kHz doubles (it measures true peaks); the downmix to the
        // ladder's channels happens before, where it is cheapest.
        let loudness_caps = gst::Caps::builder("audio/x-raw")
            .field("format", "F64LE")
            .field("layout", "interleaved")
            .field("rate", LOUDNORM_RATE)
            .field("channels", ladder.audio_channels as i32)
            .build();
        let to_loudnorm = capsfilter("loudnorm-in", loudness_caps)?;
        let loudnorm = make("audioloudnorm", "loudnorm")?;
        loudnorm.set_property("loudness-target", ladder.loudness.lufs());
        let from_loudnorm = make("audioconvert", "audio-convert-out")?;
        let resample_out = make("audioresample", "audio-resample-out")?;
        let chain: Vec<&gst::Element> = [
            &audio_in,
            &audio_convert,
            &resample,
            &audio_rate,
            &to_loudnorm,
            &loudnorm,
            &from_loudnorm,
            &resample_out,
            &audio_raw,
        ]
        .into_iter()
        .chain(audio_pad.as_ref())
        .chain([&audio_tee])
        .collect();
        add_chain(pipeline, &chain)?;
        reach(&src_pad(&audio_in));
        None
    };
    // Before the span is followed: frames dropped here are not part of it.
    end_on_nearest_frame(&src_pad(&video_in), &src_pad(&video_raw), grid.frame);
    let bytes_per_frame = 4 * ladder.audio_channels as usize;
    let span = VideoSpan::follow(&src_pad(&video_raw), grid.gop_frames);
    span.trim_audio(
        &src_pad(&audio_raw),
        ladder.audio_sample_rate,
        bytes_per_frame,
    );
    if let Some(silence) = &silence {
        end_silence_with_video(silence, &video_raw);
    }
    // The audio is trimmed to the input's pictures above, then padded with silence to the held
    // frames' end: the padding is silent even where the input's sound ran on.
    let padding = match (&video_pad, &audio_pad) {
        (Some(video_pad), Some(audio_pad)) => {
            let padding = Padding::hold_last_frame(video_pad, grid.fps, grid.gop_frames);
            padding.fill_silence(audio_pad, ladder.audio_sample_rate, bytes_per_frame);
            Some(padding)
        }
        _ => None,
    };
    connect_decoder(
        pipeline,
        &decode,
        slate.is_none().then(|| sink_pad(&video_in)),
        silence.is_none().then(|| sink_pad(&audio_in)),
    );

    // Audio, encoded once per audio track (distinct bitrate): to the track's CMAF audio
    // rendition, and to the MPEG-TS segments of every rung with that bitrate.
    let mut aac_tees = Vec::with_capacity(tracks.len());
    let mut cmaf_audio = Vec::with_capacity(tracks.len());
    for track in tracks {
        let name = |what: &str| format!("{what}-{}", track.name);
        let audio_queue = queue(&name("audio"), RAW_QUEUE)?;
        let audio_convert = make("audioconvert", &name("audio-convert"))?;
        let audio_encoder = make("avenc_aac", &name("aac"))?;
        audio_encoder.set_property("bitrate", track.bitrate.min(i32::MAX as u32) as i32);
        let aac_tee = make("tee", &name("aac-tee"))?;
        add_chain(
            pipeline,
            &[&audio_queue, &audio_convert, &audio_encoder, &aac_tee],
        )?;
        audio_tee
            .link(&audio_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;

        // The CMAF audio track: fragments cut by hand at the video's segment starts.
        let cmaf_queue = queue(&name("cmaf-audio"), COMPRESSED_QUEUE)?;
        let cmaf_parse = make("aacparse", &name("cmaf-aacparse"))?;
        let cmafmux = make("cmafmux", &name("cmafmux"))?;
        cmafmux.set_property("manual-split", true);
        // Only for the latency it reports, in manual-split mode.
        cmafmux.set_property("fragment-duration", grid.gop.nseconds());
        let appsink = cmaf_sink(&name("cmaf-sink"));
        add_chain(
            pipeline,
            &[&cmaf_queue, &cmaf_parse, &cmafmux, appsink.upcast_ref()],
        )?;
        aac_tee
            .link(&cmaf_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        span.split_audio_at_segments(&src_pad(&cmaf_parse));
        cmaf_audio.push(cmaf::write_into(
            &appsink,
            out.dir(&track.name, Packaging::CmafAudio),
        ));
        aac_tees.push(aac_tee);
    }

    let mut encoded = Vec::new();
    let mut cmaf_video = Vec::new();
    let mut poster = None;
    for (index, rung) in ladder.rungs.iter().enumerate() {
        let name = |what: &str| format!("{what}-{index}");

        let video_queue = queue(&name("video"), RAW_QUEUE)?;
        let scale = make("videoscale", &name("scale"))?;
        scale.set_property("add-borders", true);
        let scaled_caps = gst::Caps::builder("video/x-raw")
            .field("width", rung.width as i32)
            .field("height", rung.height as i32)
            .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
            .build();
        let scaled = capsfilter(&name("scaled"), scaled_caps)?;
        if index == 0 {
            poster = Some(keep_poster_frame(&src_pad(&scaled), expected));
        }
        let encoder = make("x264enc", &name("x264"))?;
        // Rate control: x264enc's `pass=cbr` is x264's ABR at the target with the VBV capped at
        // it (vbv-maxrate = bitrate, a buffer of VBV_BUFFER): it holds the average on busy
        // pictures and never overshoots, and spends no filler bits on easy ones. Everything else
        // is x264's `veryfast` preset (3 B-frames, rc-lookahead 10, threads auto); the
        // benchmark's ffmpeg command uses exactly these.
        encoder.set_property("bitrate", (rung.video_bitrate / 1000).max(1));
        encoder.set_property_from_str("pass", "cbr");
        encoder.set_property("vbv-buf-capacity", VBV_BUFFER.as_millis() as u32);
        encoder.set_property_from_str("speed-preset", X264_PRESET);
        encoder.set_property("key-int-max", grid.gop_frames);
        // No scene-cut keyframes: IDRs on the segment grid and nowhere else.
        encoder.set_property(
            "option-string",
            format!("scenecut=0:keyint_min={}", grid.gop_frames),
        );
        let h264_caps = gst::Caps::builder("video/x-h264")
            .field("profile", rung.h264_profile_name())
            .field("level", h264_level(rung.h264_level_idc))
            .field("stream-format", "byte-stream")
            .field("alignment", "au")
            .build();
        let h264 = capsfilter(&name("h264"), h264_caps)?;
        let h264_tee = make("tee", &name("h264-tee"))?;
        add_chain(
            pipeline,
            &[&video_queue, &scale, &scaled, &encoder, &h264, &h264_tee],
        )?;
        video_tee
            .link(&video_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;

        // MPEG-TS segments: the rung's video and its audio track, muxed.
        let track_index = tracks
            .iter()
            .position(|track| *track == AudioTrack::of_rung(rung))
            .expect("every rung's audio track is among the ladder's");
        let ts_video_queue = queue(&name("ts-video"), COMPRESSED_QUEUE)?;
        let ts_video_parse = make("h264parse", &name("ts-h264parse"))?;
        ts_video_parse.set_property("config-interval", -1i32);
        let ts_audio_queue = queue(&name("ts-audio"), COMPRESSED_QUEUE)?;
        let ts_audio_parse = make("aacparse", &name("ts-aacparse"))?;
        let splitmux = make("splitmuxsink", &ts_sink_name(index))?;
        let muxer = make("mpegtsmux", &name("mpegtsmux"))?;
        splitmux.set_property("muxer", &muxer);
        splitmux.set_property("max-size-time", grid.gop.nseconds());
        let ts_dir = out.dir(&rung.name, Packaging::Ts);
        // splitmuxsink formats the location with printf: a '%' in the directory must be doubled.
        let pattern = format!("{}/%05d.ts", ts_dir.to_string_lossy().replace('%', "%%"));
        splitmux.set_property("location", pattern);
        add_chain(pipeline, &[&ts_video_queue, &ts_video_parse])?;
        add_chain(pipeline, &[&ts_audio_queue, &ts_audio_parse])?;
        pipeline
            .add(&splitmux)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        h264_tee
            .link(&ts_video_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        aac_tees[track_index]
            .link(&ts_audio_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        link_request(&ts_video_parse, &splitmux, "video")?;
        link_request(&ts_audio_parse, &splitmux, "audio_%u")?;

        // The CMAF video track, fragments cut at the same keyframes. The fragment duration is
        // half a frame short of the GOP so that rounding in frame timestamps never skips a
        // keyframe.
        let cmaf_video_queue = queue(&name("cmaf-video"), COMPRESSED_QUEUE)?;
        let cmaf_video_parse = make("h264parse", &name("cmaf-h264parse"))?;
        let cmafmux = make("cmafmux", &name("cmafmux"))?;
        cmafmux.set_property(
            "fragment-duration",
            grid.gop.nseconds() - grid.frame.nseconds() / 2,
        );
        cmafmux.set_property("send-force-keyunit", false);
        let appsink = cmaf_sink(&name("cmaf-sink"));
        add_chain(
            pipeline,
            &[
                &cmaf_video_queue,
                &cmaf_video_parse,
                &cmafmux,
                appsink.upcast_ref(),
            ],
        )?;
        h264_tee
            .link(&cmaf_video_queue)
            .map_err(|error| MediaError::gst("assembling the encoder", error))?;
        cmaf_video.push(cmaf::write_into(
            &appsink,
            out.dir(&rung.name, Packaging::Cmaf),
        ));

        let trace = Arc::new(Mutex::new(EncodedTrace::default()));
        let record = trace.clone();
        watch_buffers(&src_pad(&encoder), move |end, buffer| {
            let mut trace = record.lock().expect("trace");
            if !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT) {
                let start = end
                    - buffer
                        .duration()
                        .map(|duration| duration.nseconds())
                        .unwrap_or(0);
                trace.keyframes.push(start);
            }
            trace.end = Some(trace.end.map_or(end, |before| before.max(end)));
        });
        encoded.push(trace);
    }
    Ok(Taps {
        encoded,
        cmaf_video,
        cmaf_audio,
        decoded,
        poster: poster.expect("a ladder has a top rung"),
        padding,
    })
}

/// The sink the CMAF writer reads a muxer's output from.
fn cmaf_sink(name: &str) -> gst_app::AppSink {
    gst_app::AppSink::builder()
        .name(name)
        .buffer_list(true)
        .sync(false)
        .build()
}

/// Rounds the conformed video to the nearest whole frame at its end: when the input ends,
/// videorate emits every frame the input's last picture overlaps, so 180 frames at 29.97 fps
/// (6.006 s) would become 181 at 30 fps, and the last segment a single frame. A frame that
/// begins within half a frame of the input's end (or after it) is dropped instead.
///
/// `input` is where decoded video enters (its EOS passes there, in the same streaming thread,
/// before videorate flushes its last frames); `output` is where conformed frames leave.
fn end_on_nearest_frame(input: &gst::Pad, output: &gst::Pad, frame: gst::ClockTime) {
    #[derive(Default)]
    struct Input {
        end: Option<u64>,
        ended: bool,
    }
    let state = Arc::new(Mutex::new(Input::default()));
    let seen = state.clone();
    input.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
        move |pad, info| {
            if let Some(buffer) = info.buffer()
                && let Some(pts) = buffer.pts()
                && let Some(start) = running_time(pad, pts)
            {
                let end = start + buffer.duration().unwrap_or(frame).nseconds();
                let mut seen = seen.lock().expect("input end");
                seen.end = Some(seen.end.map_or(end, |before| before.max(end)));
            } else if let Some(event) = info.event() {
                match event.type_() {
                    gst::EventType::Eos => seen.lock().expect("input end").ended = true,
                    gst::EventType::FlushStop | gst::EventType::StreamStart => {
                        *seen.lock().expect("input end") = Input::default();
                    }
                    _ => {}
                }
            }
            gst::PadProbeReturn::Ok
        },
    );
    output.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let input = state.lock().expect("input end");
        if !input.ended {
            return gst::PadProbeReturn::Ok;
        }
        let Some(end) = input.end else {
            return gst::PadProbeReturn::Ok;
        };
        match info
            .buffer()
            .and_then(|buffer| buffer.pts())
            .and_then(|pts| running_time(pad, pts))
        {
            Some(start) if start + frame.nseconds() / 2 >= end => DROP_BUFFER,
            _ => gst::PadProbeReturn::Ok,
        }
    });
}

/// Black frames at the ladder's rate with the slate's title across them: `num-buffers` ends it
/// after exactly `frames`.
fn slate_source(
    pipeline: &gst::Pipeline,
    slate: &Slate,
    grid: &Grid,
) -> Result<gst::Element, MediaError> {
    let source = make("videotestsrc", "slate")?;
    source.set_property_from_str("pattern", "black");
    source.set_property(
        "num-buffers",
        i32::try_from(slate.frames).unwrap_or(i32::MAX),
    );
    let caps = capsfilter(
        "slate-caps",
        gst::Caps::builder("video/x-raw")
            .field("format", "I420")
            .field("width", slate.width as i32)
            .field("height", slate.height as i32)
            .field("framerate", grid.frame_rate)
            .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
            .build(),
    )?;
    let title = make("textoverlay", "slate-title")?;
    title.set_property("text", &slate.title);
    title.set_property(
        "font-desc",
        format!("Sans Bold {}px", (slate.height / 12).max(8)),
    );
    title.set_property_from_str("valignment", "center");
    title.set_property_from_str("halignment", "center");
    title.set_property("wait-text", false);
    add_chain(pipeline, &[&source, &caps, &title])?;
    Ok(title)
}

/// Keeps a copy of one frame of the top rung (scaled, before encoding) for the poster: the
/// first frame at a tenth of the expected duration, or the very first frame when that one never
/// comes. Copies, so that no buffer of the encoder's pool is held; no branch or sink of its own,
/// so nothing waits on it to preroll.
fn keep_poster_frame(pad: &gst::Pad, expected: Option<gst::ClockTime>) -> Arc<Mutex<PosterFrame>> {
    let offset = expected.map_or(0, |expected| expected.nseconds() / 10);
    let kept = Arc::new(Mutex::new(PosterFrame::default()));
    let frames = kept.clone();
    pad.add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
        let Some(buffer) = info.buffer() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(at) = buffer.pts().and_then(|pts| running_time(pad, pts)) else {
            return gst::PadProbeReturn::Ok;
        };
        let mut frames = frames.lock().expect("poster");
        if frames.chosen {
            return gst::PadProbeReturn::Ok;
        }
        let first_at = *frames.first_at.get_or_insert(at);
        if frames.sample.is_none() || at >= first_at + offset {
            frames.chosen = at >= first_at + offset;
            if let Some(caps) = pad.current_caps() {
                frames.sample = Some(
                    gst::Sample::builder()
                        .buffer(&buffer.copy_deep().unwrap_or_else(|_| buffer.to_owned()))
                        .caps(&caps)
                        .build(),
                );
            }
        }
        gst::PadProbeReturn::Ok
    });
    kept
}

/// The raw frame the poster is made from.
#[derive(Default)]
struct PosterFrame {
    first_at: Option<u64>,
    sample: Option<gst::Sample>,
    /// The frame at a tenth of the duration was taken: no more copies.
    chosen: bool,
}

/// The poster frame as JPEG.
fn poster_jpeg(frame: &Mutex<PosterFrame>) -> Result<Option<Vec<u8>>, MediaError> {
    let Some(sample) = frame.lock().expect("poster").sample.take() else {
        return Ok(None);
    };
    let jpeg = gstreamer_video::convert_sample(
        &sample,
        &gst::Caps::builder("image/jpeg").build(),
        gst::ClockTime::from_seconds(10),
    )
    .map_err(|error| MediaError::gst("making the poster", error))?;
    let buffer = jpeg
        .buffer()
        .ok_or_else(|| MediaError::gst("making the poster", "the JPEG encoder gave nothing"))?;
    let map = buffer
        .map_readable()
        .map_err(|error| MediaError::gst("making the poster", error))?;
    Ok(Some(map.as_slice().to_vec()))
}

fn ts_sink_name(index: usize) -> String {
    format!("ts-{index}")
}

/// Links the decoder's first raw video and first raw audio stream; any other stream is
/// discarded. A stream that cannot be used becomes an error on the bus.
fn connect_decoder(
    pipeline: &gst::Pipeline,
    decode: &gst::Element,
    video: Option<gst::Pad>,
    audio: Option<gst::Pad>,
) {
    let (video_used, audio_used) = (video.clone(), audio.clone());
    decode.connect_no_more_pads(move |decode| {
        if video_used.as_ref().is_some_and(|video| !video.is_linked()) {
            gst::element_error!(
                decode,
                gst::StreamError::Decode,
                ("the video stream could not be decoded")
            );
        } else if audio_used.as_ref().is_some_and(|audio| !audio.is_linked()) {
            gst::element_error!(
                decode,
                gst::StreamError::Decode,
                ("the audio stream could not be decoded")
            );
        }
    });
    let weak = pipeline.downgrade();
    let lock = Arc::new(Mutex::new(()));
    decode.connect_pad_added(move |decode, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let _linking = lock.lock().expect("linking");
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let kind = caps
            .structure(0)
            .map(|s| s.name().to_string())
            .unwrap_or_default();
        let target = if kind == "video/x-raw"
            && video.as_ref().is_some_and(|video| !video.is_linked())
        {
            video.as_ref()
        } else if kind == "audio/x-raw" && audio.as_ref().is_some_and(|audio| !audio.is_linked()) {
            audio.as_ref()
        } else {
            None
        };
        let linked = match target {
            Some(target) => pad
                .link(target)
                .map(|_| ())
                .map_err(|error| format!("{error:?}")),
            None => discard(&pipeline, pad),
        };
        if let Err(error) = linked {
            gst::element_error!(
                decode,
                gst::CoreError::Negotiation,
                ("cannot use the decoded {kind} stream: {error}")
            );
        }
    });
}

fn discard(pipeline: &gst::Pipeline, pad: &gst::Pad) -> Result<(), String> {
    let sink = gst::ElementFactory::make("fakesink")
        .property("sync", false)
        .build()
        .map_err(|error| error.to_string())?;
    pipeline.add(&sink).map_err(|error| error.to_string())?;
    sink.sync_state_with_parent()
        .map_err(|error| error.to_string())?;
    pad.link(&sink_pad(&sink))
        .map(|_| ())
        .map_err(|error| format!("{error:?}"))
}

/// The silent track ends when the video does (what runs past it is trimmed, see [`VideoSpan`]).
fn end_silence_with_video(silence: &gst::Element, video: &gst::Element) {
    let silence = silence.downgrade();
    src_pad(video).add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(event) = info.event()
            && event.type_() == gst::EventType::Eos
            && let Some(silence) = silence.upgrade()
        {
            silence.send_event(gst::event::Eos::new());
        }
        gst::PadProbeReturn::Ok
    });
}

/// Keeps each splitmuxsink's `splitmuxsink-fragment-opened` messages: (location, running time).
fn record_fragment(
    message: &gst::Message,
    opened: &mut [Vec<(String, u64)>],
) -> Result<(), MediaError> {
    let Some(structure) = message.structure() else {
        return Ok(());
    };
    if structure.name() != "splitmuxsink-fragment-opened" {
        return Ok(());
    }
    let Some(index) = message
        .src()
        .and_then(|src| {
            src.name()
                .strip_prefix("ts-")
                .and_then(|index| index.parse::<usize>().ok())
        })
        .filter(|index| *index < opened.len())
    else {
        return Ok(());
    };
    let location = structure.get::<String>("location").unwrap_or_default();
    let running_time = structure
        .get::<u64>("running-time")
        .map_err(|error| MediaError::gst("reading a segment boundary", error))?;
    opened[index].push((location, running_time));
    Ok(())
}

/// The samples in one AAC-LC frame.
const AAC_FRAME_SAMPLES: u64 = 1024;

/// How far, in nanoseconds, a CMAF video track's end may be from the encoder's last frame's end
/// and still be the same instant (rounding of frame durations to the nanosecond).
const END_ROUNDING: u64 = 1_000;

/// Checks the cuts and lists the renditions.
fn collect(
    ladder: &Ladder,
    tracks: &[AudioTrack],
    out: &Layout,
    taps: &Taps,
    opened: &[Vec<(String, u64)>],
) -> Result<EncodedAsset, String> {
    let mut ts_cuts = Vec::new();
    for ((rung, opened), encoded) in ladder.rungs.iter().zip(opened).zip(&taps.encoded) {
        let encoded = encoded.lock().expect("trace");
        let label = format!("{} ts", rung.name);
        let end = encoded
            .end
            .ok_or_else(|| format!("{label}: the encoder produced no frame"))?;
        let mut boundaries: Vec<u64> = opened.iter().map(|(_, at)| *at).collect();
        boundaries.push(end);
        let cuts = Cuts {
            label: label.clone(),
            boundaries,
        };
        cuts.check()?;
        for (index, (location, _)) in opened.iter().enumerate() {
            let expected = out
                .dir(&rung.name, Packaging::Ts)
                .join(format!("{index:05}.ts"));
            if Path::new(location) != expected {
                return Err(format!(
                    "{label}: segment {index} was written to {location}, not {}",
                    expected.display()
                ));
            }
        }
        let mut keyframes = encoded.keyframes.clone();
        keyframes.sort_unstable();
        if keyframes != cuts.boundaries[..cuts.boundaries.len() - 1] {
            let starts: Vec<String> = cuts.boundaries[..cuts.boundaries.len() - 1]
                .iter()
                .map(|at| secs(*at))
                .collect();
            let keys: Vec<String> = keyframes.iter().map(|at| secs(*at)).collect();
            return Err(format!(
                "{label}: keyframes at [{}] but segments start at [{}]",
                keys.join(", "),
                starts.join(", ")
            ));
        }
        ts_cuts.push(cuts);
    }
    check_identical(&ts_cuts)?;

    // The CMAF video tracks: one fragment per GOP, at exactly the TS cuts. The muxer ends the
    // last fragment with the last frame's duration as it computes it, which can differ from the
    // encoder's by a nanosecond of rounding (at 30 fps a frame is 33 333 333.3 ns): an end within
    // a microsecond of the video's is the video's.
    let video_end = *ts_cuts[0].boundaries.last().expect("checked cuts");
    let mut all = ts_cuts.clone();
    for (rung, written) in ladder.rungs.iter().zip(&taps.cmaf_video) {
        let mut cuts = fragment_cuts(
            &format!("{} cmaf", rung.name),
            &written.lock().expect("written"),
        )?;
        if let Some(end) = cuts.boundaries.last_mut()
            && end.abs_diff(video_end) <= END_ROUNDING
        {
            *end = video_end;
        }
        cuts.check()?;
        all.push(cuts);
    }
    check_identical(&all)?;

    // The CMAF audio tracks: one fragment per segment, each starting with the AAC frame nearest
    // to the segment's start, and covering the video from its first frame to its last.
    let video = &ts_cuts[0];
    let aac_frame = AAC_FRAME_SAMPLES * 1_000_000_000 / u64::from(ladder.audio_sample_rate);
    for (track, written) in tracks.iter().zip(&taps.cmaf_audio) {
        let cuts = fragment_cuts(
            &format!("{} cmaf-audio", track.name),
            &written.lock().expect("written"),
        )?;
        cuts.check()?;
        check_audio_cuts(video, &cuts, aac_frame)?;
    }

    let durations = video.durations();
    let content_duration = match &taps.padding {
        None => video.total(),
        Some(padding) => {
            let padded = padding
                .padded()
                .ok_or("the video ended before its padding was decided")?;
            check_whole_segments(video, ladder.segment_duration)?;
            let origin = video.boundaries[0];
            Ticks::from_nanos(padded.content_end.saturating_sub(origin) as i64)
        }
    };
    let mut renditions = Vec::new();
    for packaging in [Packaging::Ts, Packaging::Cmaf] {
        for rung in &ladder.rungs {
            let codecs = match packaging {
                Packaging::Ts => rung.codecs(),
                _ => rung.video_codec(),
            };
            renditions.push(rendition(
                &rung.name,
                packaging,
                codecs,
                (rung.width, rung.height),
                out,
                &durations,
            )?);
        }
    }
    for track in tracks {
        renditions.push(rendition(
            &track.name,
            Packaging::CmafAudio,
            AAC_LC_CODEC.to_owned(),
            (0, 0),
            out,
            &durations,
        )?);
    }
    Ok(EncodedAsset {
        duration: video.total(),
        content_duration,
        renditions,
        poster_path: None,
    })
}

/// Where a CMAF track's fragments start, and where the last one ends: each fragment must start
/// where the one before it ends.
fn fragment_cuts(label: &str, written: &Written) -> Result<Cuts, String> {
    if written.init_size.is_none() {
        return Err(format!("{label}: no init segment was written"));
    }
    if written.fragments.is_empty() {
        return Err(format!("{label}: no fragment was written"));
    }
    let mut boundaries = Vec::with_capacity(written.fragments.len() + 1);
    for (index, fragment) in written.fragments.iter().enumerate() {
        let start = fragment
            .start
            .ok_or_else(|| format!("{label}: fragment {index} has no timestamp"))?;
        if let Some(end) = boundaries.last().copied()
            && start != end
        {
            return Err(format!(
                "{label}: fragment {index} starts at {} s but the one before ends at {} s",
                secs(start),
                secs(end)
            ));
        }
        let duration = fragment
            .duration
            .ok_or_else(|| format!("{label}: fragment {index} has no duration"))?;
        if boundaries.is_empty() {
            boundaries.push(start);
        }
        boundaries.push(start + duration);
    }
    Ok(Cuts {
        label: label.to_owned(),
        boundaries,
    })
}

/// Fails unless `audio` has as many fragments as `video` has segments, each starting within half
/// an AAC frame of the segment, the first not before the video and the last ending no earlier
/// than half a frame before the video ends, and no later than the encoder's padding allows: the
/// last AAC frame is padded to 1024 samples and the encoder's priming delay (one frame) comes
/// out at the end, so two frames.
fn check_audio_cuts(video: &Cuts, audio: &Cuts, aac_frame: u64) -> Result<(), String> {
    let (v, a) = (&video.boundaries, &audio.boundaries);
    if v.len() != a.len() {
        return Err(format!(
            "{} has {} segments but {} has {} fragments",
            video.label,
            v.len() - 1,
            audio.label,
            a.len() - 1
        ));
    }
    let last = v.len() - 1;
    let half = aac_frame / 2 + 1;
    for index in 0..=last {
        let (at_video, at_audio) = (v[index], a[index]);
        let fits = if index == 0 {
            at_audio >= at_video && at_audio - at_video < half
        } else if index == last {
            at_audio + half > at_video && at_audio <= at_video + 2 * aac_frame + 1
        } else {
            at_audio.abs_diff(at_video) < half
        };
        if !fits {
            let what = match index {
                0 => "starts".to_owned(),
                _ if index == last => "ends".to_owned(),
                _ => format!("starts segment {index}"),
            };
            return Err(format!(
                "{} {what} at {} s but {} at {} s, more than an AAC frame's half ({} s) apart",
                video.label,
                secs(at_video),
                audio.label,
                secs(at_audio),
                secs(half)
            ));
        }
    }
    Ok(())
}

/// The rendition written in `name`'s folder for `packaging`, with the video's segment durations.
fn rendition(
    name: &str,
    packaging: Packaging,
    codecs: String,
    (width, height): (u32, u32),
    out: &Layout,
    durations: &[Ticks],
) -> Result<Rendition, String> {
    let relative_dir = out.relative(name, packaging);
    let size_of = |relative: &str| -> Result<u64, String> {
        let path = out.root.join(relative);
        let size = std::fs::metadata(&path)
            .map_err(|error| format!("{}: {error}", path.display()))?
            .len();
        if size == 0 {
            return Err(format!("{} is empty", path.display()));
        }
        Ok(size)
    };
    let mut segments = Vec::with_capacity(durations.len());
    for (index, duration) in durations.iter().enumerate() {
        let path = match packaging {
            Packaging::Ts => format!("{relative_dir}/{index:05}.ts"),
            Packaging::Cmaf | Packaging::CmafAudio => {
                format!("{relative_dir}/{}", cmaf::fragment_name(index))
            }
        };
        segments.push(SegmentInfo {
            index: index as u32,
            duration: *duration,
            size_bytes: size_of(&path)?,
            path,
        });
    }
    let extension = packaging.segment_extension();
    let stray = std::fs::read_dir(out.root.join(&relative_dir))
        .map_err(|error| format!("{relative_dir}: {error}"))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| {
            entry
                .path()
                .extension()
                .is_some_and(|found| found == extension)
        })
        .count();
    if stray != segments.len() {
        return Err(format!(
            "{relative_dir} holds {stray} .{extension} files for {} segments",
            segments.len()
        ));
    }
    let init_path = if packaging.has_init_segment() {
        let init = format!("{relative_dir}/{}", cmaf::INIT_NAME);
        size_of(&init)?;
        Some(init)
    } else {
        None
    };
    let sizes: Vec<(u64, Ticks)> = segments
        .iter()
        .map(|segment| (segment.size_bytes, segment.duration))
        .collect();
    let (peak_bandwidth, average_bandwidth) = bandwidth(&sizes);
    Ok(Rendition {
        rung: name.to_owned(),
        packaging,
        codecs,
        width,
        height,
        peak_bandwidth,
        average_bandwidth,
        init_path,
        segments,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h264_levels_are_spelled_as_x264_reads_them() {
        assert_eq!(h264_level(30), "3");
        assert_eq!(h264_level(21), "2.1");
        assert_eq!(h264_level(9), "1b");
    }

    #[test]
    fn asset_directories_must_stay_under_the_media_root() {
        assert!(check_asset_dir("assets/7").is_ok());
        for bad in ["", "/abs", "../up", "assets/../../x", "a\\b"] {
            assert!(check_asset_dir(bad).is_err(), "{bad:?} should be refused");
        }
    }

    #[test]
    fn a_segment_that_is_not_whole_frames_is_refused() {
        let mut ladder = Ladder::demo();
        ladder.segment_duration = Ticks::from_millis(2010);
        let error = Grid::of(&ladder)
            .err()
            .expect("2.01 s is not whole frames at 25 fps")
            .to_string();
        assert!(error.contains("whole number of frames"), "{error}");
        assert_eq!(
            Grid::of(&Ladder::demo())
                .expect("the demo ladder is valid")
                .gop_frames,
            50
        );
    }
}
