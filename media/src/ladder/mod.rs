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
pub(crate) const X264_PRESET: &str = "veryfast";
/// The VBV buffer of every rung, in time at its bitrate.
pub(crate) const VBV_BUFFER: Duration = Duration::from_secs(1);

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

mod output;
mod pipeline;
mod poster;

use output::*;
use pipeline::*;
pub(crate) use pipeline::{
    add_chain, h264_level, link_request, on_decoded_pad, running_time, sink_pad, src_pad, ts_inputs,
};
use poster::*;

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
