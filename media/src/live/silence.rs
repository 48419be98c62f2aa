//! Silence for a live source without usable audio, so that the channel still gets an AAC track
//! in every segment (its VOD has one, and HLS and CMAF audio tracks are always there).
//!
//! Which audio feeds the ladder's audio chain is chosen once per publish: the source's first
//! decoded audio stream, or silence, when the source turns out to have none, has one no decoder
//! here takes, or shows none within [`AUDIO_GRACE`] of its first video frame (or, found by the
//! demuxer, decodes to nothing within [`DECODE_GRACE`]). Audio that shows up after silence was
//! chosen is discarded: the publish keeps silence to its end.
//!
//! The silence is pushed through an `appsrc` into the audio chain's input, in the video's time
//! base (Unix time as running time; see `restamp`): from one AAC frame before the video's first
//! frame, sample-exact and without a gap, as far as the video has come. So it is conformed,
//! encoded, cut at the video's cuts and packaged exactly as a source's audio would be. It is
//! generated from the video's timestamps rather than the clock, so silence chosen late (after
//! the grace) starts at the first frame all the same, and ends when the video does.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

/// How long after the video's first frame the source's audio may still show up before silence
/// is chosen.
pub(super) const AUDIO_GRACE: Duration = Duration::from_secs(1);
/// How long after the video's first frame an audio stream the demuxer found may take to decode
/// before silence is chosen anyway (the muxers would wait for it for ever).
const DECODE_GRACE: Duration = Duration::from_secs(5);
/// The silence starts this much before the video's first frame: one AAC frame at 48 kHz, as a
/// source's audio that starts with its video (what ends before the first frame is dropped).
const LEAD: u64 = 21_333_333;
/// The longest silent buffer.
const CHUNK: u64 = 100_000_000;

/// Timestamps for silence starting at `origin` (ns): the `n`th sample is at `origin + n / rate`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Samples {
    origin: u64,
    rate: u64,
    pushed: u64,
}

impl Samples {
    fn new(origin: u64, rate: u32) -> Samples {
        Samples {
            origin,
            rate: u64::from(rate.max(1)),
            pushed: 0,
        }
    }

    fn at(&self, sample: u64) -> u64 {
        self.origin + (u128::from(sample) * 1_000_000_000 / u128::from(self.rate)) as u64
    }

    /// The next buffer towards `until` (ns): its start, duration and samples; `None` once the
    /// samples pushed reach it. Buffers follow each other without a gap or an overlap.
    fn next(&mut self, until: u64) -> Option<(u64, u64, u64)> {
        let start = self.at(self.pushed);
        if start >= until {
            return None;
        }
        let needed = (u128::from(until - self.origin) * u128::from(self.rate))
            .div_ceil(1_000_000_000) as u64
            - self.pushed;
        let chunk = (u128::from(CHUNK) * u128::from(self.rate) / 1_000_000_000) as u64;
        let samples = needed.clamp(1, chunk.max(1));
        self.pushed += samples;
        Some((start, self.at(self.pushed) - start, samples))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    /// No audio stream seen yet.
    Open,
    /// The source has an audio stream a decoder takes: its decoded audio is on its way.
    Expected,
    Source,
    Silence,
}

/// The audio chain's input: the source's audio or silence (see the module's docs).
pub(super) struct Silence {
    rate: u32,
    channels: u32,
    state: Mutex<State>,
}

struct State {
    choice: Choice,
    why: Option<String>,
    /// The audio chain's input.
    target: Option<gst::Pad>,
    appsrc: Option<gst_app::AppSrc>,
    /// Where the video's first frame starts and its latest frame ends (running time, ns).
    video: Option<(u64, u64)>,
    samples: Option<Samples>,
    /// The video ended.
    ended: bool,
}

impl Silence {
    /// Silence as the ladder's raw audio: `rate` Hz, `channels` interleaved F32.
    pub fn new(rate: u32, channels: u32) -> Silence {
        Silence {
            rate,
            channels,
            state: Mutex::new(State {
                choice: Choice::Open,
                why: None,
                target: None,
                appsrc: None,
                video: None,
                samples: None,
                ended: false,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("silence")
    }

    /// The audio chain's input, which the silence feeds when chosen.
    pub fn feed(&self, target: gst::Pad) {
        self.state().target = Some(target);
    }

    /// The source has an audio stream with a decoder: the grace does not run out on it.
    pub fn expect_source(&self) {
        let mut state = self.state();
        if state.choice == Choice::Open {
            state.choice = Choice::Expected;
        }
    }

    /// Takes the audio chain for the source's decoded audio; false when it is taken (by an
    /// earlier audio stream, or by silence).
    pub fn take_source(&self) -> bool {
        let mut state = self.state();
        let open = matches!(state.choice, Choice::Open | Choice::Expected);
        if open {
            state.choice = Choice::Source;
        }
        open
    }

    /// Whether the audio is still to be chosen.
    pub fn open(&self) -> bool {
        matches!(self.state().choice, Choice::Open | Choice::Expected)
    }

    /// Why the audio is silence, when it is.
    pub fn why(&self) -> Option<String> {
        self.state().why.clone()
    }

    /// Feeds the audio chain with silence to the end of the publish, unless its audio is chosen
    /// already; `why` is logged (as a warning with `warn`) and kept for the stats. Fails when
    /// the silence cannot be linked.
    pub fn start(&self, pipeline: &gst::Pipeline, why: String, warn: bool) -> Result<(), String> {
        let target = {
            let mut state = self.state();
            if !matches!(state.choice, Choice::Open | Choice::Expected) {
                return Ok(());
            }
            state.choice = Choice::Silence;
            state.why = Some(why.clone());
            state.target.clone().ok_or("the audio chain has no input")?
        };
        if warn {
            tracing::warn!("live source: {why}");
        } else {
            tracing::info!("live source: {why}");
        }
        let caps = gst::Caps::builder("audio/x-raw")
            .field("format", "F32LE")
            .field("layout", "interleaved")
            .field("rate", self.rate as i32)
            .field("channels", self.channels as i32)
            .build();
        let appsrc = gst_app::AppSrc::builder()
            .name("silence")
            .caps(&caps)
            .format(gst::Format::Time)
            .is_live(false)
            .block(false)
            .max_bytes(0)
            .stream_type(gst_app::AppStreamType::Stream)
            .build();
        let failed = |error: &dyn std::fmt::Display| format!("cannot air silence: {error}");
        pipeline.add(&appsrc).map_err(|error| failed(&error))?;
        appsrc
            .static_pad("src")
            .expect("appsrc has a src pad")
            .link(&target)
            .map_err(|error| failed(&format!("{error:?}")))?;
        appsrc
            .sync_state_with_parent()
            .map_err(|error| failed(&error))?;
        let mut state = self.state();
        state.appsrc = Some(appsrc);
        self.fill(&mut state);
        Ok(())
    }

    /// Chooses silence when no audio stream has shown up within [`AUDIO_GRACE`] of the video's
    /// first frame (decoded at `first_frame`), or none decoded within [`DECODE_GRACE`].
    pub fn give_up_waiting(
        &self,
        pipeline: &gst::Pipeline,
        first_frame: Option<Instant>,
    ) -> Result<(), String> {
        let Some(waited) = first_frame.map(|at| at.elapsed()) else {
            return Ok(());
        };
        let choice = self.state().choice;
        if choice == Choice::Open && waited >= AUDIO_GRACE {
            let why = format!(
                "the source sends video only (no audio {} s after its first frame): airing silence",
                AUDIO_GRACE.as_secs_f64()
            );
            self.start(pipeline, why, false)
        } else if choice == Choice::Expected && waited >= DECODE_GRACE {
            let why = format!(
                "the source's audio decoded to nothing {} s after its first frame: airing silence",
                DECODE_GRACE.as_secs_f64()
            );
            self.start(pipeline, why, true)
        } else {
            Ok(())
        }
    }

    /// Follows the video entering the ladder through `pad` (stamped with Unix time): the
    /// silence, once chosen, goes as far as the video has come, and ends with it. A video that
    /// ends before its audio was chosen gets silence. `fail` reports silence that cannot air.
    pub fn follow_video(
        self: &Arc<Self>,
        pad: &gst::Pad,
        pipeline: gst::glib::WeakRef<gst::Pipeline>,
        fail: impl Fn(String) + Send + Sync + 'static,
    ) {
        let silence = self.clone();
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |pad, info| {
                if let Some(buffer) = info.buffer() {
                    let start = buffer
                        .pts()
                        .and_then(|pts| crate::ladder::running_time(pad, pts));
                    if let Some(start) = start {
                        let end = start + buffer.duration().map_or(0, |d| d.nseconds());
                        let mut state = silence.state();
                        state.video = Some(match state.video {
                            None => (start, end),
                            Some((first, last)) => (first, last.max(end)),
                        });
                        silence.fill(&mut state);
                    }
                } else if info
                    .event()
                    .is_some_and(|event| event.type_() == gst::EventType::Eos)
                {
                    if silence.open()
                        && let Some(pipeline) = pipeline.upgrade()
                        && let Err(reason) = silence.start(
                            &pipeline,
                            "the source's video ended before any audio came: airing silence"
                                .to_owned(),
                            false,
                        )
                    {
                        fail(reason);
                    }
                    let mut state = silence.state();
                    state.ended = true;
                    silence.fill(&mut state);
                }
                gst::PadProbeReturn::Ok
            },
        );
    }

    /// Pushes silence up to where the video has come, and the end of the stream after the
    /// video's end.
    fn fill(&self, state: &mut State) {
        let (Some(appsrc), Some((first, end))) = (state.appsrc.clone(), state.video) else {
            return;
        };
        let samples = state
            .samples
            .get_or_insert_with(|| Samples::new(first.saturating_sub(LEAD), self.rate));
        let bytes_per_sample = self.channels as usize * 4;
        while let Some((start, duration, count)) = samples.next(end) {
            let mut buffer =
                gst::Buffer::from_mut_slice(vec![0u8; count as usize * bytes_per_sample]);
            {
                let buffer = buffer.get_mut().expect("a new buffer is writable");
                buffer.set_pts(gst::ClockTime::from_nseconds(start));
                buffer.set_duration(gst::ClockTime::from_nseconds(duration));
                if samples.pushed == count {
                    buffer.set_flags(gst::BufferFlags::DISCONT);
                }
            }
            if appsrc.push_buffer(buffer).is_err() {
                // Flushing: the ladder is stopping.
                return;
            }
        }
        if state.ended {
            let _ = appsrc.end_of_stream();
            state.appsrc = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    #[test]
    fn silence_runs_without_a_gap_to_where_the_video_has_come() {
        let first = 1_750_000_000 * S;
        let mut samples = Samples::new(first - LEAD, 48_000);
        let mut end = first - LEAD;
        let mut total = 0;
        // The video arrives frame by frame (25 fps), after a jump of a second.
        for until in [
            first + 40_000_000,
            first + 80_000_000,
            first + 1_080_000_000,
        ] {
            while let Some((start, duration, count)) = samples.next(until) {
                assert_eq!(start, end, "each buffer starts where the last ended");
                assert!(duration <= CHUNK && count > 0);
                end = start + duration;
                total += count;
            }
            assert!(end >= until, "silence reaches the video's end");
            assert!(
                end - until < S / 48_000 + 1,
                "by less than a sample past it"
            );
        }
        // Sample-exact: the samples pushed are the time covered at 48 kHz.
        assert_eq!(total, samples.pushed);
        assert_eq!(end, samples.at(total));
        assert_eq!(
            samples.next(first),
            None,
            "nothing for a video that went back"
        );
    }

    #[test]
    fn silence_starts_an_aac_frame_before_the_video() {
        let first = 10 * S;
        let mut samples = Samples::new(first - LEAD, 48_000);
        let (start, _, _) = samples.next(first + 40_000_000).unwrap();
        assert!(start < first && first - start <= 1024 * S / 48_000 + 1);
    }
}
