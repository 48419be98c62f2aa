//! Test clips and slates: a mezzanine MP4 (H.264 + AAC) of an exact duration that says what it is.
//!
//! The picture is a `videotestsrc` pattern with the title written large across it, an optional
//! subtitle under it, and the clip's running time in the corner, so whoever watches a channel
//! can tell which clip plays and where in it. The sound is a steady tone (or silence).

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use gstreamer as gst;
use gstreamer::prelude::*;
use onair_domain::{TICKS_PER_SECOND, Ticks};

use crate::bus::{Limits, StopOnDrop, Watch, run_to_eos};
use crate::elements::{capsfilter, init, make};
use crate::error::MediaError;

/// Frames per second as a fraction, e.g. 25/1 or 30000/1001.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameRate {
    pub num: u32,
    pub den: u32,
}

impl FrameRate {
    pub const fn new(num: u32, den: u32) -> FrameRate {
        FrameRate { num, den }
    }

    /// The ladder's frame rate.
    pub fn of_ladder(ladder: &onair_domain::Ladder) -> FrameRate {
        FrameRate {
            num: ladder.frame_rate_num,
            den: ladder.frame_rate_den,
        }
    }

    /// The number of frames in `duration`, when it is a whole number of them.
    pub fn whole_frames(self, duration: Ticks) -> Option<u64> {
        if self.num == 0 || self.den == 0 || duration.0 < 0 {
            return None;
        }
        let scaled = duration.0 as u128 * self.num as u128;
        let per_frame = TICKS_PER_SECOND as u128 * self.den as u128;
        scaled
            .is_multiple_of(per_frame)
            .then(|| (scaled / per_frame) as u64)
    }
}

impl std::fmt::Display for FrameRate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.num, self.den)
    }
}

/// The `videotestsrc` picture under the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestPattern {
    /// SMPTE colour bars.
    Smpte,
    /// A ball bouncing over black: moves, so a frozen picture shows.
    Ball,
    /// A vertical bar moving across.
    Bar,
    Pinwheel,
    Spokes,
    Circular,
    Gradient,
    /// A colour spectrum.
    Colors,
    ZonePlate,
    Checkers,
    /// Plain black: for slates.
    Black,
}

impl TestPattern {
    /// Every pattern, for picking one per clip so clips look different.
    pub const ALL: [TestPattern; 11] = [
        TestPattern::Smpte,
        TestPattern::Ball,
        TestPattern::Bar,
        TestPattern::Pinwheel,
        TestPattern::Spokes,
        TestPattern::Circular,
        TestPattern::Gradient,
        TestPattern::Colors,
        TestPattern::ZonePlate,
        TestPattern::Checkers,
        TestPattern::Black,
    ];

    /// `videotestsrc`'s name for it.
    pub fn nick(self) -> &'static str {
        match self {
            TestPattern::Smpte => "smpte",
            TestPattern::Ball => "ball",
            TestPattern::Bar => "bar",
            TestPattern::Pinwheel => "pinwheel",
            TestPattern::Spokes => "spokes",
            TestPattern::Circular => "circular",
            TestPattern::Gradient => "gradient",
            TestPattern::Colors => "colors",
            TestPattern::ZonePlate => "zone-plate",
            TestPattern::Checkers => "checkers-8",
            TestPattern::Black => "black",
        }
    }
}

impl std::str::FromStr for TestPattern {
    type Err = MediaError;

    /// Parses `videotestsrc`'s name for a pattern, e.g. `smpte` or `ball`.
    fn from_str(nick: &str) -> Result<TestPattern, MediaError> {
        TestPattern::ALL
            .into_iter()
            .find(|pattern| pattern.nick() == nick)
            .ok_or_else(|| {
                let known: Vec<&str> = TestPattern::ALL
                    .iter()
                    .map(|pattern| pattern.nick())
                    .collect();
                MediaError::Invalid(format!(
                    "unknown test pattern {nick:?}: use one of {}",
                    known.join(", ")
                ))
            })
    }
}

/// What clip to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct ClipSpec {
    /// Written large in the middle of the picture.
    pub title: String,
    /// A smaller line under the title.
    pub subtitle: Option<String>,
    /// Exact: must be a whole number of frames at `fps`.
    pub duration: Ticks,
    pub width: u32,
    pub height: u32,
    pub fps: FrameRate,
    pub pattern: TestPattern,
    /// The tone's frequency; 0 for silence.
    pub tone_hz: u32,
}

impl ClipSpec {
    /// The slate a channel shows when it has nothing else: its name and "We'll be right back",
    /// over black, silent.
    pub fn slate(
        channel_name: &str,
        duration: Ticks,
        width: u32,
        height: u32,
        fps: FrameRate,
    ) -> ClipSpec {
        ClipSpec {
            title: channel_name.to_owned(),
            subtitle: Some("We'll be right back".to_owned()),
            duration,
            width,
            height,
            fps,
            pattern: TestPattern::Black,
            tone_hz: 0,
        }
    }

    fn validate(&self) -> Result<u64, MediaError> {
        if self.width < 16
            || self.height < 16
            || !self.width.is_multiple_of(2)
            || !self.height.is_multiple_of(2)
        {
            return Err(MediaError::Invalid(format!(
                "clip size {}x{} must be even and at least 16x16",
                self.width, self.height
            )));
        }
        if self.fps.num == 0 || self.fps.den == 0 {
            return Err(MediaError::Invalid(format!(
                "clip frame rate {} is not a frame rate",
                self.fps
            )));
        }
        match self.fps.whole_frames(self.duration) {
            Some(frames) if frames > 0 => Ok(frames),
            _ => Err(MediaError::Invalid(format!(
                "clip duration {} is not a positive whole number of frames at {} fps",
                self.duration, self.fps
            ))),
        }
    }
}

/// The mezzanine's audio: 48 kHz stereo AAC-LC.
const AUDIO_RATE: i32 = 48_000;
const AUDIO_CHANNELS: i32 = 2;
const AUDIO_BITRATE: i32 = 192_000;

/// Writes `spec` to `out` as an MP4 with one H.264 (High) video track of exactly
/// `spec.duration` and one AAC-LC 48 kHz stereo track. `out` is replaced if it exists.
pub fn generate_clip(spec: &ClipSpec, out: &Path) -> Result<(), MediaError> {
    init()?;
    let frames = spec.validate()?;
    if let Some(parent) = out.parent().filter(|parent| !parent.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(MediaError::io(parent))?;
    }
    let context = format!("generating clip {}", out.display());
    let pipeline = gst::Pipeline::with_name("clip");
    let _stop = StopOnDrop(pipeline.clone());
    let encoded_frames = build_clip(&pipeline, spec, frames, out)?;

    // The tone stops at exactly the clip's end: a seek stored by the source until it starts.
    let audio_source = pipeline.by_name("tone").expect("the clip has a tone");
    pipeline
        .set_state(gst::State::Ready)
        .map_err(|error| MediaError::gst(&context, error))?;
    let stop = gst::ClockTime::from_nseconds(ticks_to_nanos(spec.duration));
    let seek = gst::event::Seek::new(
        1.0,
        gst::SeekFlags::ACCURATE,
        gst::SeekType::Set,
        gst::ClockTime::ZERO,
        gst::SeekType::Set,
        stop,
    );
    if !audio_source.send_event(seek) {
        return Err(MediaError::gst(
            &context,
            "the tone source refused its end time",
        ));
    }

    let media = std::time::Duration::from_nanos(stop.nseconds());
    let frame = gst::ClockTime::SECOND
        .mul_div_floor(spec.fps.den as u64, spec.fps.num as u64)
        .unwrap_or_default();
    let watch = Watch {
        position: &mut || Some(frame * encoded_frames.load(Ordering::Relaxed)),
        expected: Some(stop),
        progress: &mut |_| {},
        cancel: None,
        on_element: &mut |_| Ok(()),
    };
    run_to_eos(&pipeline, &context, Limits::for_media(Some(media)), watch)?;
    let encoded = encoded_frames.load(Ordering::Relaxed);
    if encoded != frames {
        return Err(MediaError::gst(
            &context,
            format!("encoded {encoded} frames instead of {frames}"),
        ));
    }
    Ok(())
}

pub(crate) fn ticks_to_nanos(ticks: Ticks) -> u64 {
    (ticks.0.max(0) as u128 * 1_000_000_000 / TICKS_PER_SECOND as u128) as u64
}

/// Adds the clip's elements to `pipeline`; returns a counter of the frames the encoder takes in.
fn build_clip(
    pipeline: &gst::Pipeline,
    spec: &ClipSpec,
    frames: u64,
    out: &Path,
) -> Result<Arc<AtomicU64>, MediaError> {
    let height = spec.height as i32;

    let video_source = make("videotestsrc", "pattern")?;
    video_source.set_property_from_str("pattern", spec.pattern.nick());
    video_source.set_property("num-buffers", i32::try_from(frames).unwrap_or(i32::MAX));
    let raw_caps = gst::Caps::builder("video/x-raw")
        .field("format", "I420")
        .field("width", spec.width as i32)
        .field("height", height)
        .field(
            "framerate",
            gst::Fraction::new(spec.fps.num as i32, spec.fps.den as i32),
        )
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .build();
    let raw = capsfilter("raw-video", raw_caps)?;

    let title = make("textoverlay", "title")?;
    title.set_property("text", &spec.title);
    title.set_property("font-desc", format!("Sans Bold {}px", (height / 6).max(8)));
    title.set_property_from_str("valignment", "center");
    title.set_property_from_str("halignment", "center");
    title.set_property("shaded-background", true);
    title.set_property("wait-text", false);

    let mut overlays = vec![title];
    if let Some(subtitle_text) = &spec.subtitle {
        let subtitle = make("textoverlay", "subtitle")?;
        subtitle.set_property("text", subtitle_text);
        subtitle.set_property("font-desc", format!("Sans {}px", (height / 16).max(6)));
        subtitle.set_property_from_str("valignment", "center");
        subtitle.set_property_from_str("halignment", "center");
        subtitle.set_property("deltay", height / 6);
        subtitle.set_property("shaded-background", true);
        subtitle.set_property("wait-text", false);
        overlays.push(subtitle);
    }
    let clock = make("timeoverlay", "clock")?;
    clock.set_property(
        "font-desc",
        format!("Monospace Bold {}px", (height / 14).max(6)),
    );
    clock.set_property_from_str("valignment", "bottom");
    clock.set_property_from_str("halignment", "right");
    clock.set_property_from_str("time-mode", "running-time");
    clock.set_property("shaded-background", true);
    overlays.push(clock);

    let convert = make("videoconvert", "convert")?;
    let encoder = make("x264enc", "video-encoder")?;
    // x264's fastest preset: generating and then encoding a clip costs about a sixth less CPU
    // than with `superfast` (the mezzanine is a few percent larger and decodes faster), which
    // the demo's minutes of programmes feel. The 8x8 transform keeps it High profile.
    encoder.set_property_from_str("speed-preset", "ultrafast");
    encoder.set_property("option-string", "8x8dct=1");
    // Constant quality: a mezzanine should be better than anything encoded from it.
    encoder.set_property_from_str("pass", "qual");
    encoder.set_property("quantizer", 18u32);
    let gop = (spec.fps.num / spec.fps.den.max(1)).max(1) * 2;
    encoder.set_property("key-int-max", gop);
    let h264 = capsfilter(
        "h264",
        gst::Caps::builder("video/x-h264")
            .field("profile", "high")
            .build(),
    )?;
    let video_parse = make("h264parse", "video-parse")?;

    let audio_source = make("audiotestsrc", "tone")?;
    if spec.tone_hz == 0 {
        audio_source.set_property_from_str("wave", "silence");
    } else {
        audio_source.set_property_from_str("wave", "sine");
        audio_source.set_property("freq", spec.tone_hz as f64);
        audio_source.set_property("volume", 0.25f64);
    }
    audio_source.set_property("samplesperbuffer", AUDIO_RATE / 50);
    let audio_caps = gst::Caps::builder("audio/x-raw")
        .field("rate", AUDIO_RATE)
        .field("channels", AUDIO_CHANNELS)
        .build();
    let raw_audio = capsfilter("raw-audio", audio_caps)?;
    let audio_convert = make("audioconvert", "audio-convert")?;
    let audio_encoder = make("avenc_aac", "audio-encoder")?;
    audio_encoder.set_property("bitrate", AUDIO_BITRATE);
    let audio_parse = make("aacparse", "audio-parse")?;

    let mux = make("mp4mux", "mux")?;
    let sink = make("filesink", "file")?;
    sink.set_property("location", out.to_string_lossy().as_ref());

    let mut video_chain = vec![video_source, raw];
    video_chain.extend(overlays);
    video_chain.extend([convert, encoder.clone(), h264, video_parse]);
    let audio_chain = [
        audio_source,
        raw_audio,
        audio_convert,
        audio_encoder,
        audio_parse,
    ];
    pipeline
        .add_many(
            video_chain
                .iter()
                .chain(audio_chain.iter())
                .chain([&mux, &sink]),
        )
        .map_err(|error| MediaError::gst("assembling the clip pipeline", error))?;
    let link = |chain: &[gst::Element]| gst::Element::link_many(chain.iter());
    link(&video_chain)
        .and_then(|_| link(&audio_chain))
        .and_then(|_| video_chain.last().expect("a chain").link(&mux))
        .and_then(|_| audio_chain.last().expect("a chain").link(&mux))
        .and_then(|_| mux.link(&sink))
        .map_err(|error| MediaError::gst("linking the clip pipeline", error))?;

    let counter = Arc::new(AtomicU64::new(0));
    let count = counter.clone();
    encoder
        .static_pad("sink")
        .expect("x264enc has a sink pad")
        .add_probe(gst::PadProbeType::BUFFER, move |_, _| {
            count.fetch_add(1, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        });
    Ok(counter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_parse_from_their_videotestsrc_names() {
        for pattern in TestPattern::ALL {
            assert_eq!(pattern.nick().parse::<TestPattern>().unwrap(), pattern);
        }
        assert!(
            "plaid"
                .parse::<TestPattern>()
                .unwrap_err()
                .to_string()
                .contains("smpte")
        );
    }

    #[test]
    fn whole_frames_are_counted_exactly_or_not_at_all() {
        assert_eq!(
            FrameRate::new(25, 1).whole_frames(Ticks::from_secs(6)),
            Some(150)
        );
        assert_eq!(
            FrameRate::new(30000, 1001).whole_frames(Ticks(180_180)),
            Some(60)
        );
        assert_eq!(
            FrameRate::new(30000, 1001).whole_frames(Ticks::from_secs(2)),
            None
        );
    }
}
