//! What a conformance check measures of aired media: a segment's codecs, profile, level,
//! picture, frame rate, audio format and duration (the Discoverer, after the parsers), and the
//! loudness of a stretch of consecutive MPEG-TS segments (EBU R128 integrated loudness and true
//! peak, with `ebur128level` from the gst-plugin-audiofx linked into this binary).

use std::path::{Path, PathBuf};
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use gstreamer_pbutils as pbutils;
use gstreamer_pbutils::prelude::*;
use onair_domain::Ticks;

use crate::bus::{Limits, StopOnDrop, Watch, run_to_eos};
use crate::elements::init;
use crate::error::MediaError;
use crate::probe::file_uri;

/// A segment's streams as its parsers describe them.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentMedia {
    pub video: Option<SegmentVideo>,
    pub audio: Option<SegmentAudio>,
    /// The longest of its streams.
    pub duration: Option<Ticks>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentVideo {
    /// `h264`, `h265`, or the caps' media type.
    pub codec: String,
    /// `high`, `main`, `constrained-baseline`, … as `h264parse` names it.
    pub profile: Option<String>,
    /// `3.1`, …
    pub level: Option<String>,
    pub width: u32,
    pub height: u32,
    pub frame_rate: (u32, u32),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SegmentAudio {
    /// `aac`, `mp3`, `ac3`, or the caps' media type.
    pub codec: String,
    /// `lc`, `he-aac`, …
    pub profile: Option<String>,
    pub channels: u32,
    pub sample_rate: u32,
    /// Nominal bits per second, when the stream says (MPEG-TS rarely does).
    pub bitrate: Option<u32>,
}

/// The EBU R128 loudness of a stretch of audio.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Loudness {
    pub integrated_lufs: f64,
    /// The highest true peak of any channel.
    pub true_peak_dbtp: f64,
    /// How much audio was measured.
    pub measured: Ticks,
}

const DISCOVER_TIMEOUT: gst::ClockTime = gst::ClockTime::from_seconds(10);

fn field(structure: &gst::StructureRef, name: &str) -> Option<String> {
    structure.get::<String>(name).ok()
}

/// Describes the segment at `path`.
pub fn inspect_segment(path: &Path) -> Result<SegmentMedia, MediaError> {
    init()?;
    let uri = file_uri(path)?;
    let unreadable = |reason: String| MediaError::Unreadable {
        path: path.to_owned(),
        reason,
    };
    let discoverer = pbutils::Discoverer::new(DISCOVER_TIMEOUT)
        .map_err(|error| MediaError::gst("starting the segment probe", error))?;
    let info = discoverer
        .discover_uri(&uri)
        .map_err(|error| unreadable(error.to_string()))?;
    if info.result() != pbutils::DiscovererResult::Ok {
        return Err(unreadable(format!(
            "could not be probed ({:?})",
            info.result()
        )));
    }
    let video = info.video_streams().first().map(|video| {
        let caps = video.caps();
        let structure = caps.as_ref().and_then(|caps| caps.structure(0));
        let media_type = structure.map(|s| s.name().to_string()).unwrap_or_default();
        let rate = video.framerate();
        SegmentVideo {
            codec: match media_type.as_str() {
                "video/x-h264" => "h264".to_owned(),
                "video/x-h265" => "h265".to_owned(),
                other => other.to_owned(),
            },
            profile: structure.and_then(|s| field(s, "profile")),
            level: structure.and_then(|s| field(s, "level")),
            width: video.width(),
            height: video.height(),
            frame_rate: (rate.numer().max(0) as u32, rate.denom().max(1) as u32),
        }
    });
    let audio = info.audio_streams().first().map(|audio| {
        let caps = audio.caps();
        let structure = caps.as_ref().and_then(|caps| caps.structure(0));
        let media_type = structure.map(|s| s.name().to_string()).unwrap_or_default();
        let mpeg_version = structure.and_then(|s| s.get::<i32>("mpegversion").ok());
        let bitrate = audio.bitrate().max(audio.max_bitrate());
        SegmentAudio {
            codec: match (media_type.as_str(), mpeg_version) {
                ("audio/mpeg", Some(2 | 4)) => "aac".to_owned(),
                ("audio/mpeg", _) => "mp3".to_owned(),
                ("audio/x-ac3", _) => "ac3".to_owned(),
                ("audio/x-eac3", _) => "eac3".to_owned(),
                (other, _) => other.to_owned(),
            },
            profile: structure.and_then(|s| field(s, "profile")),
            channels: audio.channels(),
            sample_rate: audio.sample_rate(),
            bitrate: (bitrate > 0).then_some(bitrate),
        }
    });
    Ok(SegmentMedia {
        video,
        audio,
        // A stream that declares no duration reads as zero: unknown, not empty.
        duration: info
            .duration()
            .filter(|duration| !duration.is_zero())
            .map(|duration| Ticks::from_nanos(duration.nseconds() as i64)),
    })
}

/// Measures the audio of consecutive MPEG-TS segments, played one after the other as a player
/// would (their bytes concatenated: a TS segment boundary is a packet boundary).
pub fn measure_loudness(paths: &[PathBuf]) -> Result<Loudness, MediaError> {
    init()?;
    if paths.is_empty() {
        return Err(MediaError::Invalid("no segment to measure".to_owned()));
    }
    let mut bytes = Vec::new();
    for path in paths {
        if path.extension().and_then(|extension| extension.to_str()) != Some("ts") {
            return Err(MediaError::Invalid(format!(
                "{}: loudness is measured on MPEG-TS segments",
                path.display()
            )));
        }
        bytes.extend(std::fs::read(path).map_err(MediaError::io(path))?);
    }
    let description = "appsrc name=source caps=video/mpegts,systemstream=true,packetsize=188 \
        ! tsdemux ! aacparse ! avdec_aac ! audioconvert \
        ! ebur128level name=meter mode=global+true-peak post-messages=true interval=100000000 \
        ! fakesink sync=false";
    let pipeline = gst::parse::launch(description)
        .map_err(|error| MediaError::gst("building the loudness meter", error))?
        .downcast::<gst::Pipeline>()
        .map_err(|_| MediaError::gst("building the loudness meter", "not a pipeline"))?;
    let _stop = StopOnDrop(pipeline.clone());
    let source = pipeline
        .by_name("source")
        .and_then(|source| source.downcast::<gst_app::AppSrc>().ok())
        .ok_or_else(|| MediaError::gst("building the loudness meter", "no appsrc"))?;
    source.set_format(gst::Format::Bytes);
    source
        .push_buffer(gst::Buffer::from_mut_slice(bytes))
        .map_err(|error| MediaError::gst("feeding the loudness meter", error))?;
    source
        .end_of_stream()
        .map_err(|error| MediaError::gst("feeding the loudness meter", error))?;

    let mut last: Option<(f64, f64, Option<gst::ClockTime>)> = None;
    let mut on_element = |message: &gst::Message| {
        if let gst::MessageView::Element(element) = message.view()
            && let Some(structure) = element.structure()
            && structure.name() == "ebur128-level"
            && let Ok(global) = structure.get::<f64>("global-loudness")
        {
            let peak = structure
                .get::<gst::Array>("true-peak")
                .map(|peaks| {
                    peaks
                        .iter()
                        .filter_map(|value| value.get::<f64>().ok())
                        .fold(0.0_f64, f64::max)
                })
                .unwrap_or(0.0);
            let at = structure
                .get::<Option<gst::ClockTime>>("stream-time")
                .ok()
                .flatten();
            last = Some((global, peak, at));
        }
        Ok(())
    };
    let position_pipeline = pipeline.clone();
    let mut position = move || position_pipeline.query_position::<gst::ClockTime>();
    run_to_eos(
        &pipeline,
        "measuring loudness",
        Limits::for_media(Some(Duration::from_secs(60))),
        Watch {
            position: &mut position,
            expected: None,
            progress: &mut |_| {},
            on_element: &mut on_element,
            cancel: None,
        },
    )?;
    let (integrated_lufs, peak, at) = last
        .ok_or_else(|| MediaError::Invalid("the segments gave no audio to measure".to_owned()))?;
    if !integrated_lufs.is_finite() {
        return Err(MediaError::Invalid(
            "the audio is silent: no integrated loudness".to_owned(),
        ));
    }
    Ok(Loudness {
        integrated_lufs,
        true_peak_dbtp: 20.0 * peak.max(1e-10).log10(),
        measured: at.map_or(Ticks::ZERO, |at| Ticks::from_nanos(at.nseconds() as i64)),
    })
}
