//! A live test source: a GStreamer test encoder that shows the wall clock (and, where
//! `debugqroverlay` is installed, a QR code of each frame's capture time) and publishes it in
//! real time, as an RTMP or SRT encoder would; and the same as ffmpeg arguments.

use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;

use super::LiveInput;
use crate::elements::{capsfilter, init, make};
use crate::error::MediaError;
use crate::ladder::add_chain;

/// What the test source sends.
#[derive(Debug, Clone)]
pub struct TestStreamSpec {
    /// FLV (for RTMP) or MPEG-TS (for SRT).
    pub container: LiveInput,
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub video_kbps: u32,
    /// Keyframe interval: an arbitrary encoder's, not on any grid.
    pub keyframe_interval: Duration,
    /// Ends after this much; runs until stopped without.
    pub duration: Option<Duration>,
    /// A QR code of each frame's capture time (Unix time, from the running time), when
    /// `debugqroverlay` is installed (gst-plugins-bad's qroverlay plugin).
    pub qr: bool,
}

impl TestStreamSpec {
    /// 640x360 at 25 fps, 1 Mbit/s, keyframes every 3 s (off a 2 s grid), no QR code.
    pub fn new(container: LiveInput) -> TestStreamSpec {
        TestStreamSpec {
            container,
            width: 640,
            height: 360,
            fps: 25,
            video_kbps: 1000,
            keyframe_interval: Duration::from_secs(3),
            duration: None,
            qr: false,
        }
    }
}

/// ffmpeg arguments (after `ffmpeg`) that publish the same kind of test stream to `url` in real
/// time: `-f flv rtmp://…` or `-f mpegts 'srt://…'`; `pipe:1` writes it to standard output.
pub fn test_source_args(spec: &TestStreamSpec, url: &str) -> Vec<String> {
    let gop = (spec.keyframe_interval.as_secs_f64() * spec.fps as f64).round() as u32;
    let mut args: Vec<String> = [
        "-hide_banner",
        "-loglevel",
        "error",
        "-re",
        "-f",
        "lavfi",
        "-i",
    ]
    .iter()
    .map(|arg| arg.to_string())
    .collect();
    let mut video = format!(
        "testsrc2=size={}x{}:rate={},drawtext=text='%{{localtime\\:%T}}':fontsize={}:x=10:y=10:fontcolor=white:box=1:boxcolor=black",
        spec.width,
        spec.height,
        spec.fps,
        (spec.height / 10).max(10)
    );
    if let Some(duration) = spec.duration {
        video = format!("{video},trim=duration={}", duration.as_secs_f64());
    }
    args.push(video);
    args.extend(["-f", "lavfi", "-i"].map(String::from));
    let mut audio = "sine=frequency=440:sample_rate=48000".to_owned();
    if let Some(duration) = spec.duration {
        audio = format!("{audio}:duration={}", duration.as_secs_f64());
    }
    args.push(audio);
    args.extend(
        [
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "zerolatency",
            "-pix_fmt",
            "yuv420p",
        ]
        .map(String::from),
    );
    args.extend([
        "-g".to_owned(),
        gop.to_string(),
        "-b:v".to_owned(),
        format!("{}k", spec.video_kbps),
        "-c:a".to_owned(),
        "aac".to_owned(),
        "-b:a".to_owned(),
        "128k".to_owned(),
        "-f".to_owned(),
        match spec.container {
            LiveInput::Flv => "flv",
            LiveInput::MpegTs => "mpegts",
        }
        .to_owned(),
        url.to_owned(),
    ]);
    args
}

/// A running test source. Stops when dropped.
pub struct TestStream {
    pipeline: gst::Pipeline,
    bus_thread: Option<JoinHandle<Result<(), MediaError>>>,
}

impl TestStream {
    /// Publishes to `url`: `rtmp://host/app/key` (FLV) or `srt://host:port?…` (MPEG-TS).
    pub fn publish(spec: &TestStreamSpec, url: &str) -> Result<TestStream, MediaError> {
        init()?;
        let sink = match spec.container {
            LiveInput::Flv => {
                let sink = element("rtmp2sink", "publish", "gstreamer1.0-plugins-bad")?;
                sink.set_property("location", url);
                sink
            }
            LiveInput::MpegTs => {
                let sink = element("srtsink", "publish", "gstreamer1.0-plugins-bad")?;
                sink.set_property("uri", url);
                sink
            }
        };
        sink.set_property("sync", false);
        TestStream::run(spec, sink)
    }

    /// Hands the stream's bytes to `deliver` as they are muxed, in real time.
    pub fn to_callback(
        spec: &TestStreamSpec,
        deliver: impl Fn(bytes::Bytes) + Send + Sync + 'static,
    ) -> Result<TestStream, MediaError> {
        init()?;
        let sink = gst_app::AppSink::builder()
            .name("publish")
            .sync(false)
            .build();
        let deliver = Arc::new(deliver);
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(buffer) = sample.buffer()
                        && let Ok(map) = buffer.map_readable()
                    {
                        deliver(bytes::Bytes::copy_from_slice(&map));
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        TestStream::run(spec, sink.upcast())
    }

    fn run(spec: &TestStreamSpec, sink: gst::Element) -> Result<TestStream, MediaError> {
        let pipeline = gst::Pipeline::with_name("test-source");
        // Running time is Unix time, so a frame's timestamp is its capture time.
        super::pipeline::run_on_unix_time(&pipeline);

        let video = make("videotestsrc", "video")?;
        video.set_property("is-live", true);
        video.set_property_from_str("pattern", "smpte");
        let audio = make("audiotestsrc", "audio")?;
        audio.set_property("is-live", true);
        audio.set_property("samplesperbuffer", 1024i32);
        if let Some(duration) = spec.duration {
            let frames = (duration.as_secs_f64() * spec.fps as f64).round() as i32;
            video.set_property("num-buffers", frames.max(1));
            let blocks = (duration.as_secs_f64() * 48_000.0 / 1024.0).round() as i32;
            audio.set_property("num-buffers", blocks.max(1));
        }
        let video_caps = capsfilter(
            "video-caps",
            gst::Caps::builder("video/x-raw")
                .field("width", spec.width as i32)
                .field("height", spec.height as i32)
                .field("framerate", gst::Fraction::new(spec.fps as i32, 1))
                .build(),
        )?;
        let clock_overlay = element("clockoverlay", "wall-clock", "gstreamer1.0-x")?;
        clock_overlay.set_property("time-format", "%H:%M:%S");
        clock_overlay.set_property("font-desc", format!("Sans {}px", (spec.height / 10).max(8)));
        let mut chain = vec![video, video_caps, clock_overlay];
        if spec.qr {
            chain.push(element(
                "debugqroverlay",
                "capture-time",
                "gstreamer1.0-plugins-bad",
            )?);
        }
        let convert = make("videoconvert", "video-convert")?;
        let encoder = make("x264enc", "x264")?;
        encoder.set_property_from_str("tune", "zerolatency");
        encoder.set_property_from_str("speed-preset", "veryfast");
        encoder.set_property("bitrate", spec.video_kbps.max(1));
        let gop = (spec.keyframe_interval.as_secs_f64() * spec.fps as f64).round() as u32;
        encoder.set_property("key-int-max", gop.max(1));
        let parse = make("h264parse", "h264parse")?;
        let muxer = match spec.container {
            LiveInput::Flv => {
                let muxer = element("flvmux", "mux", "gstreamer1.0-plugins-good")?;
                muxer.set_property("streamable", true);
                muxer
            }
            LiveInput::MpegTs => {
                let muxer = make("mpegtsmux", "mux")?;
                muxer.set_property("alignment", 7i32);
                muxer
            }
        };
        chain.extend([convert, encoder, parse]);
        add_chain(&pipeline, &chain.iter().collect::<Vec<_>>())?;
        let audio_convert = make("audioconvert", "audio-convert")?;
        let audio_encoder = make("avenc_aac", "aac")?;
        let audio_parse = make("aacparse", "aacparse")?;
        add_chain(
            &pipeline,
            &[&audio, &audio_convert, &audio_encoder, &audio_parse],
        )?;
        add_chain(&pipeline, &[&muxer, &sink])?;
        let last_video = chain.last().expect("a chain");
        last_video
            .link(&muxer)
            .map_err(|error| MediaError::gst("assembling the test source", error))?;
        audio_parse
            .link(&muxer)
            .map_err(|error| MediaError::gst("assembling the test source", error))?;

        pipeline
            .set_state(gst::State::Playing)
            .map_err(|error| MediaError::gst("starting the test source", error))?;
        let bus = pipeline.bus().expect("a pipeline has a bus");
        let bus_thread = std::thread::Builder::new()
            .name("test-source-bus".into())
            .spawn(move || {
                for message in bus.iter_timed(gst::ClockTime::NONE) {
                    match message.view() {
                        gst::MessageView::Eos(_) => return Ok(()),
                        gst::MessageView::Error(error) => {
                            return Err(crate::bus::bus_error("the test source", error));
                        }
                        gst::MessageView::Application(_) => return Ok(()),
                        _ => {}
                    }
                }
                Ok(())
            })
            .map_err(|error| MediaError::gst("starting the test source", error))?;
        Ok(TestStream {
            pipeline,
            bus_thread: Some(bus_thread),
        })
    }

    /// Waits for the stream to end (a [`TestStreamSpec::duration`]), or for its first error.
    pub fn wait(mut self) -> Result<(), MediaError> {
        let result = match self.bus_thread.take() {
            Some(thread) => thread.join().unwrap_or_else(|_| {
                Err(MediaError::gst(
                    "the test source",
                    "its bus thread panicked",
                ))
            }),
            None => Ok(()),
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        result
    }
}

impl Drop for TestStream {
    fn drop(&mut self) {
        let _ = self.pipeline.post_message(
            gst::message::Application::builder(gst::Structure::new_empty("onair-test-source-stop"))
                .build(),
        );
        if let Some(thread) = self.bus_thread.take() {
            let _ = thread.join();
        }
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// `factory` named `name`, or which package to install.
fn element(
    factory: &'static str,
    name: &str,
    package: &'static str,
) -> Result<gst::Element, MediaError> {
    if gst::ElementFactory::find(factory).is_none() {
        return Err(MediaError::MissingElement {
            element: factory,
            package,
        });
    }
    make(factory, name)
}
