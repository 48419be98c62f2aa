//! The live ladder with real GStreamer: streams made by ffmpeg, pushed in real time as an
//! RTMP or SRT listener would, and what it writes read back by ffprobe.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common;
use crate::common::{ffmpeg, ffprobe, number, stream, streams};
use onair_domain::{Ladder, Ticks, Timestamp};
use onair_media::{
    LiveConfig, LiveInput, LiveLadder, LiveOutput, LiveStats, TestStream, TestStreamSpec,
};

const SEGMENT: i64 = 180_000;

/// `seconds` of 25 fps test video with a tone, at `size`, as FLV or MPEG-TS, keyframes every
/// 3 s (an encoder's own GOP, off the grid).
fn source(dir: &Path, name: &str, container: LiveInput, seconds: u32, size: &str) -> PathBuf {
    let out = dir.join(name);
    let seconds = seconds.to_string();
    let format = match container {
        LiveInput::Flv => "flv",
        LiveInput::MpegTs => "mpegts",
    };
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &format!("testsrc2=size={size}:rate=25"),
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=44100",
        "-t",
        &seconds,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "75",
        "-b:v",
        "600k",
        "-maxrate",
        "600k",
        "-bufsize",
        "300k",
        "-c:a",
        "aac",
        "-b:a",
        "96k",
        "-f",
        format,
        out.to_str().unwrap(),
    ]);
    out
}

/// What a run reported.
#[derive(Default)]
struct Run {
    segments: Vec<LiveOutput>,
    parts: Vec<LiveOutput>,
    failed: Option<String>,
    ended: bool,
}

impl Run {
    /// Segments of `rendition` by start, as (start, media_start, duration, ts, cmaf, init, parts).
    fn of(&self, rendition: &str) -> BTreeMap<i64, &LiveOutput> {
        self.segments
            .iter()
            .filter_map(|output| match output {
                LiveOutput::Segment {
                    rendition: name,
                    start,
                    ..
                } if name == rendition => Some((start.0, output)),
                _ => None,
            })
            .collect()
    }
}

fn start(config: LiveConfig) -> (LiveLadder, mpsc::Receiver<LiveOutput>) {
    let (sender, outputs) = mpsc::channel();
    let sender = std::sync::Mutex::new(sender);
    let ladder = LiveLadder::start(config, move |output| {
        let _ = sender.lock().unwrap().send(output);
    })
    .expect("the live ladder starts");
    (ladder, outputs)
}

/// Pushes `bytes` spread evenly over `seconds` of wall time, in 40 ms chunks; `during` is called
/// after each chunk with the time elapsed.
fn push_in_real_time(
    ladder: &LiveLadder,
    bytes: &[u8],
    seconds: f64,
    mut during: impl FnMut(Duration),
) {
    let started = Instant::now();
    let chunks = (seconds / 0.04).ceil() as usize;
    let per_chunk = bytes.len().div_ceil(chunks);
    for (index, chunk) in bytes.chunks(per_chunk).enumerate() {
        let due = started + Duration::from_secs_f64(index as f64 * 0.04);
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        if ladder.push(bytes::Bytes::copy_from_slice(chunk)).is_err() {
            return;
        }
        during(started.elapsed());
    }
}

/// Collects what the ladder reports until it ends or fails (or `timeout`).
fn collect(outputs: &mpsc::Receiver<LiveOutput>, timeout: Duration) -> Run {
    let deadline = Instant::now() + timeout;
    let mut run = Run::default();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match outputs.recv_timeout(left) {
            Ok(LiveOutput::Ended) => {
                run.ended = true;
                break;
            }
            Ok(LiveOutput::Failed { reason }) => {
                run.failed = Some(reason);
                break;
            }
            Ok(part @ LiveOutput::Part { .. }) => run.parts.push(part),
            Ok(segment) => run.segments.push(segment),
            Err(_) => break,
        }
    }
    run
}

fn demo_config(input: LiveInput, out: &Path) -> LiveConfig {
    LiveConfig::new(Ladder::demo(), input, out)
}

/// Runs a whole file through the ladder in real time and collects what it wrote.
fn run_file(config: LiveConfig, file: &Path, seconds: f64) -> Run {
    let (ladder, outputs) = start(config);
    let bytes = std::fs::read(file).unwrap();
    push_in_real_time(&ladder, &bytes, seconds, |_| {});
    ladder.end_of_stream();
    let run = collect(&outputs, Duration::from_secs(30));
    ladder.stop();
    run
}

fn frame_count(file: &Path) -> f64 {
    let probe = ffprobe(
        file,
        &["-select_streams", "v:0", "-count_frames", "-show_streams"],
    );
    number(&probe["streams"][0]["nb_read_frames"])
}

fn concat(files: &[&Path], to: &Path) {
    let mut bytes = Vec::new();
    for file in files {
        bytes.extend(std::fs::read(file).unwrap());
    }
    std::fs::write(to, bytes).unwrap();
}

fn check_every_rung_on_the_grid(run: &Run, dir: &Path) {
    assert!(run.ended, "the run ends: {:?}", run.failed);
    let ladder = Ladder::demo();
    for rung in &ladder.rungs {
        let segments = run.of(&rung.name);
        assert!(
            segments.len() >= 3,
            "{}: segments {:?}",
            rung.name,
            segments.keys()
        );
        let whole: Vec<_> = segments.values().skip(1).collect();
        for (index, output) in whole.iter().enumerate() {
            let LiveOutput::Segment {
                start,
                media_start,
                duration,
                ts,
                cmaf,
                init,
                parts,
                ..
            } = output
            else {
                unreachable!()
            };
            assert_eq!(start.0 % SEGMENT, 0, "names are grid boundaries: {start:?}");
            assert!(
                (media_start.0 - start.0).abs() <= 1800,
                "a segment starts within half a frame of its boundary: {start:?} {media_start:?}"
            );
            let ts = ts.as_ref().expect("rungs have TS");
            assert_eq!(
                ts.file_name().unwrap().to_str().unwrap(),
                format!("{}.ts", start.0)
            );
            assert_eq!(*cmaf, dir.join(&rung.name).join(format!("{}.m4s", start.0)));
            // The last segment may be cut short by the end of the stream.
            if index + 1 < whole.len() {
                assert!(
                    (duration.0 - SEGMENT).abs() <= 3600,
                    "{}: {start:?} lasts {duration}",
                    rung.name
                );
                assert_eq!(parts.len(), 4, "four 0.5 s parts");
            }
            let sum: Ticks = parts.iter().map(|part| part.duration).sum();
            assert_eq!(sum, *duration, "parts sum to their segment");
            assert!(parts[0].independent && !parts[1..].iter().any(|part| part.independent));
            for part in parts {
                assert!(part.path.exists(), "{}", part.path.display());
            }

            let ts_streams = streams(ts);
            let video = stream(&ts_streams, "video").expect("video in TS");
            assert_eq!(video["codec_name"], "h264");
            assert_eq!(video["width"], rung.width);
            assert_eq!(video["height"], rung.height);
            assert_eq!(video["r_frame_rate"], "25/1");
            assert_eq!(video["profile"], "High");
            let audio = stream(&ts_streams, "audio").expect("audio in TS");
            assert_eq!(audio["codec_name"], "aac");
            assert_eq!(audio["sample_rate"], "48000");
            assert_eq!(audio["channels"], 2);

            let joined = dir.join(format!("joined-{}-{}.mp4", rung.name, start.0));
            concat(&[init, cmaf], &joined);
            let cmaf_streams = streams(&joined);
            let video = stream(&cmaf_streams, "video").expect("video in CMAF");
            assert_eq!(video["width"], rung.width);
            assert_eq!(video["r_frame_rate"], "25/1");
            assert_eq!(frame_count(&joined), frame_count(ts));
        }
    }
    // The audio tracks: 48 kHz AAC on the same grid.
    for track in ["audio-96k", "audio-64k"] {
        let segments = run.of(track);
        assert!(segments.len() >= 3, "{track}: {:?}", segments.keys());
        let LiveOutput::Segment {
            start, cmaf, init, ..
        } = segments.values().nth(1).unwrap()
        else {
            unreachable!()
        };
        assert!(run.of("360p").contains_key(&start.0));
        let joined = dir.join(format!("joined-{track}.mp4"));
        concat(&[init, cmaf], &joined);
        let audio = streams(&joined);
        let audio = stream(&audio, "audio").expect("audio in the audio track");
        assert_eq!(audio["codec_name"], "aac");
        assert_eq!(audio["sample_rate"], "48000");
    }
}

/// Three consecutive TS segments of `rung` concatenated probe as one 6 s stream, no errors.
fn check_three_segments_concatenate(run: &Run, dir: &Path, rung: &str) {
    let segments: Vec<PathBuf> = run
        .of(rung)
        .values()
        .skip(1)
        .take(3)
        .map(|output| match output {
            LiveOutput::Segment { ts, .. } => ts.clone().unwrap(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(segments.len(), 3);
    let joined = dir.join(format!("six-{rung}.ts"));
    concat(
        &segments.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
        &joined,
    );
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(&joined)
        .args(["-f", "null", "-"])
        .output()
        .unwrap();
    let errors = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && errors.trim().is_empty(),
        "{errors}"
    );
    assert_eq!(frame_count(&joined), 150.0, "6 s at 25 fps");
    for segment in &segments {
        let bytes = std::fs::read(segment).unwrap();
        let pid = ((bytes[1] as u16 & 0x1f) << 8) | bytes[2] as u16;
        assert_eq!(pid, 0, "{} starts with the PAT", segment.display());
    }
}

#[test]
fn an_flv_stream_becomes_every_rung_on_the_grid_in_ts_and_cmaf() {
    let dir = tempfile::tempdir().unwrap();
    let flv = source(dir.path(), "in.flv", LiveInput::Flv, 8, "640x360");
    let out = dir.path().join("out");
    let run = run_file(demo_config(LiveInput::Flv, &out), &flv, 8.0);
    check_every_rung_on_the_grid(&run, &out);
    check_three_segments_concatenate(&run, dir.path(), "360p");
}

#[test]
fn an_mpeg_ts_stream_becomes_every_rung_on_the_grid_in_ts_and_cmaf() {
    let dir = tempfile::tempdir().unwrap();
    let ts = source(dir.path(), "in.ts", LiveInput::MpegTs, 8, "1280x720");
    let out = dir.path().join("out");
    let run = run_file(demo_config(LiveInput::MpegTs, &out), &ts, 8.0);
    check_every_rung_on_the_grid(&run, &out);
    check_three_segments_concatenate(&run, dir.path(), "240p");
}

#[test]
fn moving_the_anchor_moves_the_cuts_to_the_new_grid() {
    let dir = tempfile::tempdir().unwrap();
    let flv = source(dir.path(), "in.flv", LiveInput::Flv, 7, "640x360");
    let out = dir.path().join("out");
    let (ladder, outputs) = start(demo_config(LiveInput::Flv, &out));
    let bytes = std::fs::read(&flv).unwrap();
    // A channel whose grid is 0.7 s off the epoch's.
    let anchor = Timestamp(63_000);
    let mut moved = false;
    push_in_real_time(&ladder, &bytes, 7.0, |elapsed| {
        if !moved && elapsed > Duration::from_millis(3500) {
            ladder.set_anchor(anchor);
            moved = true;
        }
    });
    ladder.end_of_stream();
    let run = collect(&outputs, Duration::from_secs(30));
    ladder.stop();
    assert!(run.ended, "{:?}", run.failed);
    let starts: Vec<i64> = run.of("360p").keys().copied().collect();
    let on_old = |start: &i64| start % SEGMENT == 0;
    let on_new = |start: &i64| (start - anchor.0) % SEGMENT == 0;
    let switch = starts
        .iter()
        .position(|start| !on_old(start))
        .expect("a cut on the new grid");
    assert!(
        switch >= 2,
        "the first cuts are on the epoch's grid: {starts:?}"
    );
    assert!(
        starts[switch..].iter().all(on_new),
        "after set_anchor every cut is on the new grid: {starts:?}"
    );
    assert!(starts[switch] - starts[switch - 1] < SEGMENT, "{starts:?}");
    assert_eq!(run.of("240p").keys().copied().collect::<Vec<_>>(), starts);
}

#[test]
fn garbage_bytes_fail_with_a_reason_at_once() {
    let dir = tempfile::tempdir().unwrap();
    for input in [LiveInput::Flv, LiveInput::MpegTs] {
        let (ladder, outputs) = start(demo_config(input, dir.path()));
        let garbage: Vec<u8> = (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect();
        let refused = ladder.push(bytes::Bytes::from(garbage));
        let run = collect(&outputs, Duration::from_secs(5));
        let reason = run.failed.expect("garbage fails");
        assert!(reason.contains("is not"), "{reason}");
        assert!(refused.is_err());
        assert!(ladder.push(bytes::Bytes::from_static(b"more")).is_err());
        ladder.stop();
    }
}

#[test]
fn an_audio_only_stream_fails_for_want_of_video() {
    let dir = tempfile::tempdir().unwrap();
    let flv = dir.path().join("audio.flv");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "3",
        "-c:a",
        "aac",
        "-f",
        "flv",
        flv.to_str().unwrap(),
    ]);
    let mut config = demo_config(LiveInput::Flv, dir.path());
    config.no_video_timeout = Duration::from_secs(3);
    let (ladder, outputs) = start(config);
    let bytes = std::fs::read(&flv).unwrap();
    push_in_real_time(&ladder, &bytes, 3.0, |_| {});
    let run = collect(&outputs, Duration::from_secs(10));
    ladder.stop();
    let reason = run.failed.expect("audio only fails");
    assert!(reason.contains("no video"), "{reason}");
}

#[test]
fn a_frame_size_change_and_a_timestamp_reset_midway_are_scaled_and_stay_continuous() {
    let dir = tempfile::tempdir().unwrap();
    let first = source(dir.path(), "a.ts", LiveInput::MpegTs, 3, "640x360");
    let second = source(dir.path(), "b.ts", LiveInput::MpegTs, 3, "320x240");
    let joined = dir.path().join("joined.ts");
    concat(&[&first, &second], &joined);
    let out = dir.path().join("out");
    let (ladder, outputs) = start(demo_config(LiveInput::MpegTs, &out));
    let bytes = std::fs::read(&joined).unwrap();
    push_in_real_time(&ladder, &bytes, 6.0, |_| {});
    ladder.end_of_stream();
    let run = collect(&outputs, Duration::from_secs(30));
    let stats = ladder.stats();
    ladder.stop();
    assert!(run.ended, "{:?}", run.failed);
    // The second file's timestamps start again where the first's did: the output goes on
    // (tsdemux or the restamping takes the jump) and the grid stays the grid.
    assert!(stats.frames_in >= 140, "{stats:?}");
    let segments = run.of("360p");
    assert!(segments.keys().all(|start| start % SEGMENT == 0));
    assert!(segments.len() >= 3, "{:?}", segments.keys());
    for output in segments.values() {
        let LiveOutput::Segment { ts, .. } = output else {
            unreachable!()
        };
        let ts_streams = streams(ts.as_ref().unwrap());
        let video = stream(&ts_streams, "video").unwrap();
        assert_eq!(
            (video["width"].clone(), video["height"].clone()),
            (640.into(), 360.into())
        );
    }
    let total: i64 = segments
        .values()
        .map(|output| match output {
            LiveOutput::Segment { duration, .. } => duration.0,
            _ => 0,
        })
        .sum();
    assert!(
        (total - 6 * 90_000).abs() < 90_000,
        "about 6 s in all: {total}"
    );
}

#[test]
fn a_stream_cut_mid_packet_ends_cleanly_with_what_it_had() {
    let dir = tempfile::tempdir().unwrap();
    for (container, name) in [(LiveInput::Flv, "in.flv"), (LiveInput::MpegTs, "in.ts")] {
        let file = source(dir.path(), name, container, 4, "640x360");
        let mut bytes = std::fs::read(&file).unwrap();
        bytes.truncate(bytes.len() * 3 / 4 + 77);
        let out = dir.path().join(format!("out-{name}"));
        let (ladder, outputs) = start(demo_config(container, &out));
        push_in_real_time(&ladder, &bytes, 3.0, |_| {});
        ladder.end_of_stream();
        let run = collect(&outputs, Duration::from_secs(30));
        ladder.stop();
        assert!(run.ended, "{name}: {:?}", run.failed);
        assert!(!run.of("360p").is_empty(), "{name}");
    }
}

#[test]
fn stats_report_lag_and_the_realtime_factor() {
    let dir = tempfile::tempdir().unwrap();
    let flv = source(dir.path(), "in.flv", LiveInput::Flv, 5, "640x360");
    let (ladder, outputs) = start(demo_config(LiveInput::Flv, dir.path()));
    let bytes = std::fs::read(&flv).unwrap();
    let mut seen = None;
    push_in_real_time(&ladder, &bytes, 5.0, |elapsed| {
        if seen.is_none() && elapsed > Duration::from_secs(4) {
            seen = Some(ladder.stats());
        }
    });
    let stats = seen.expect("stats were taken");
    ladder.end_of_stream();
    let run = collect(&outputs, Duration::from_secs(30));
    ladder.stop();
    assert!(run.ended, "{:?}", run.failed);
    assert!(stats.frames_in > 50, "{stats:?}");
    assert_eq!(stats.rungs.len(), 2);
    assert!(
        stats.rungs.iter().all(|rung| rung.frames_out > 50),
        "{stats:?}"
    );
    let lag = stats.lag.expect("a lag once frames are out");
    assert!(lag < Duration::from_secs(3), "{stats:?}");
    assert!(stats.keeping_up, "{stats:?}");
    let factor = stats.realtime_factor.expect("a realtime factor");
    assert!((0.7..1.3).contains(&factor), "{stats:?}");
    assert!(stats.input_bitrate > 100_000, "{stats:?}");
    assert_eq!(stats.silent_audio, None, "a source with audio airs it");
}

#[test]
fn the_test_source_publishes_a_live_stream_the_ladder_takes() {
    let dir = tempfile::tempdir().unwrap();
    let (ladder, outputs) = start(demo_config(LiveInput::MpegTs, dir.path()));
    let ladder = std::sync::Arc::new(ladder);
    let spec = TestStreamSpec {
        width: 320,
        height: 180,
        duration: Some(Duration::from_secs(3)),
        qr: gstreamer::ElementFactory::find("debugqroverlay").is_some(),
        ..TestStreamSpec::new(LiveInput::MpegTs)
    };
    let feed = ladder.clone();
    let source = TestStream::to_callback(&spec, move |bytes| {
        let _ = feed.push(bytes);
    })
    .expect("the test source starts");
    source.wait().expect("the test source runs to its end");
    ladder.end_of_stream();
    let run = collect(&outputs, Duration::from_secs(30));
    assert!(run.ended, "{:?}", run.failed);
    let segments = run.of("360p");
    assert!(!segments.is_empty());
    // Its frames were stamped with the wall clock: the segments are named by today's time.
    let now = Timestamp::from_unix_millis(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis() as i64,
    );
    let first = *segments.keys().next().unwrap();
    assert!((now.0 - first).abs() < 30 * 90_000, "{first} vs {now:?}");
}

/// `seconds` of 25 fps test video without audio, keyframes every 2 s, as FLV (its header
/// announcing audio and video, as our RTMP server writes it, not knowing yet) or MPEG-TS (a PMT
/// with video only).
fn video_only_source(dir: &Path, name: &str, container: LiveInput, seconds: u32) -> PathBuf {
    let out = dir.join(name);
    let format = match container {
        LiveInput::Flv => "flv",
        LiveInput::MpegTs => "mpegts",
    };
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=25",
        "-t",
        &seconds.to_string(),
        "-an",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "50",
        "-f",
        format,
        out.to_str().unwrap(),
    ]);
    if container == LiveInput::Flv {
        let mut bytes = std::fs::read(&out).unwrap();
        assert_eq!(bytes[4], 0x01, "ffmpeg announces video only");
        bytes[4] = 0x05;
        std::fs::write(&out, bytes).unwrap();
    }
    out
}

/// Where the `kind` stream of `file` starts and ends, in seconds, by ffprobe.
fn span(file: &Path, kind: &str) -> (f64, f64) {
    let streams = streams(file);
    let stream = stream(&streams, kind).unwrap_or_else(|| panic!("{kind} in {}", file.display()));
    let start = number(&stream["start_time"]);
    (start, start + number(&stream["duration"]))
}

/// An AAC frame at 48 kHz: in seconds (and a millisecond for ffprobe's rounding), in ticks.
const AAC_FRAME: f64 = 1024.0 / 48_000.0 + 0.001;
const AAC_FRAME_TICKS: i64 = 1024 * 90_000 / 48_000;

/// A video-only source ran through the ladder: every TS segment of every rung has a silent
/// 48 kHz stereo AAC stream starting and ending within an AAC frame of its video (the stream's
/// end within two: the encoder pads its last frame), and every audio track has a CMAF fragment
/// for every segment, as long as it within an AAC frame (two for the first and the last).
fn check_silence_in_step_with_the_video(run: &Run, dir: &Path) {
    assert!(run.ended, "the run ends: {:?}", run.failed);
    let ladder = Ladder::demo();
    for rung in &ladder.rungs {
        let segments = run.of(&rung.name);
        assert!(segments.len() >= 3, "{}: {:?}", rung.name, segments.keys());
        let mut files = Vec::new();
        for (index, output) in segments.values().enumerate() {
            let LiveOutput::Segment { ts, .. } = output else {
                unreachable!()
            };
            let ts = ts.clone().expect("rungs have TS");
            let ts_streams = streams(&ts);
            let audio = stream(&ts_streams, "audio").expect("audio in every TS segment");
            assert_eq!(audio["codec_name"], "aac");
            assert_eq!(audio["sample_rate"], "48000");
            assert_eq!(audio["channels"], 2);
            let video = span(&ts, "video");
            let audio = span(&ts, "audio");
            let last = index + 1 == segments.len();
            assert!(
                (audio.0 - video.0).abs() <= AAC_FRAME,
                "{}: audio {audio:?} starts with video {video:?}",
                ts.display()
            );
            let tail = if last { 2.0 * AAC_FRAME } else { AAC_FRAME };
            assert!(
                (audio.1 - video.1).abs() <= tail,
                "{}: audio {audio:?} ends with video {video:?}",
                ts.display()
            );
            files.push(ts);
        }
        let joined = dir.join(format!("silence-{}.ts", rung.name));
        common::concat(&files, &joined);
        let (video_start, video_end) = span(&joined, "video");
        let (audio_start, audio_end) = span(&joined, "audio");
        assert!(
            audio_start <= video_start && video_start - audio_start <= AAC_FRAME,
            "the silence starts before the first frame: {audio_start} {video_start}"
        );
        assert!(
            audio_end >= video_end && audio_end - video_end <= 2.0 * AAC_FRAME,
            "the silence lasts as long as the video: {audio_end} {video_end}"
        );
        let volume = common::ffmpeg_stderr(&[
            "-i",
            joined.to_str().unwrap(),
            "-map",
            "0:a:0",
            "-af",
            "volumedetect",
            "-f",
            "null",
            "-",
        ]);
        assert!(volume.contains("max_volume: -91.0 dB"), "silent: {volume}");
    }
    let video = run.of("360p");
    for track in ["audio-96k", "audio-64k"] {
        let audio = run.of(track);
        assert_eq!(
            audio.keys().collect::<Vec<_>>(),
            video.keys().collect::<Vec<_>>(),
            "{track} has a fragment for every segment"
        );
        for (index, (start, output)) in audio.iter().enumerate() {
            let (
                LiveOutput::Segment { duration, cmaf, .. },
                LiveOutput::Segment {
                    duration: video_duration,
                    ..
                },
            ) = (output, video[start])
            else {
                unreachable!()
            };
            assert!(cmaf.exists(), "{}", cmaf.display());
            // The first starts up to a frame early, the last ends up to a frame late.
            let frames = if index == 0 || index + 1 == audio.len() {
                2
            } else {
                1
            };
            assert!(
                (duration.0 - video_duration.0).abs() <= frames * AAC_FRAME_TICKS,
                "{track} {start}: {duration} against the video's {video_duration}"
            );
        }
    }
}

/// Runs `file` (video only) through the ladder in real time; what it wrote, its stats at the
/// end, and how long after the first bytes the first TS segment was written.
fn run_video_only(config: LiveConfig, file: &Path, seconds: f64) -> (Run, LiveStats, Duration) {
    let out = config.out_dir.join("360p");
    let (ladder, outputs) = start(config);
    let bytes = std::fs::read(file).unwrap();
    let mut first_ts = None;
    push_in_real_time(&ladder, &bytes, seconds, |elapsed| {
        let written = || {
            std::fs::read_dir(&out).is_ok_and(|mut files| {
                files.any(|file| {
                    file.is_ok_and(|file| file.path().extension() == Some("ts".as_ref()))
                })
            })
        };
        if first_ts.is_none() && written() {
            first_ts = Some(elapsed);
        }
    });
    ladder.end_of_stream();
    let run = collect(&outputs, Duration::from_secs(30));
    let stats = ladder.stats();
    ladder.stop();
    (run, stats, first_ts.expect("a TS segment was written"))
}

#[test]
fn a_video_only_flv_publish_airs_silence_in_step_with_its_video_without_waiting_for_audio() {
    let dir = tempfile::tempdir().unwrap();
    let flv = video_only_source(dir.path(), "in.flv", LiveInput::Flv, 7);
    let out = dir.path().join("out");
    let (run, stats, first_ts) = run_video_only(demo_config(LiveInput::Flv, &out), &flv, 7.0);
    check_silence_in_step_with_the_video(&run, &out);
    let why = stats
        .silent_audio
        .expect("the stats say why the audio is silence");
    assert!(why.contains("video only"), "{why}");
    // flvdemux alone would wait for 6 s of stream before giving up on audio.
    assert!(
        first_ts < Duration::from_millis(4500),
        "the first segment was written {first_ts:?} after the first bytes"
    );
}

#[test]
fn a_video_only_mpeg_ts_stream_airs_silence_in_step_with_its_video() {
    let dir = tempfile::tempdir().unwrap();
    let ts = video_only_source(dir.path(), "in.ts", LiveInput::MpegTs, 7);
    let out = dir.path().join("out");
    let (run, stats, _) = run_video_only(demo_config(LiveInput::MpegTs, &out), &ts, 7.0);
    check_silence_in_step_with_the_video(&run, &out);
    let why = stats
        .silent_audio
        .expect("the stats say why the audio is silence");
    assert!(why.contains("video only"), "{why}");
}

#[test]
fn audio_no_decoder_here_takes_airs_silence_with_a_warning() {
    // AC-3 with its decoders hidden from decodebin (no other test here uses AC-3).
    use gstreamer::prelude::PluginFeatureExtManual;
    gstreamer::init().unwrap();
    let ac3 = gstreamer::Caps::builder("audio/x-ac3").build();
    for factory in gstreamer::ElementFactory::factories_with_type(
        gstreamer::ElementFactoryType::DECODER,
        gstreamer::Rank::NONE,
    ) {
        if factory.can_sink_any_caps(&ac3) {
            factory.set_rank(gstreamer::Rank::NONE);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let ts = dir.path().join("ac3.ts");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=640x360:rate=25",
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:sample_rate=48000",
        "-t",
        "7",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        "50",
        "-c:a",
        "ac3",
        "-f",
        "mpegts",
        ts.to_str().unwrap(),
    ]);
    let out = dir.path().join("out");
    let (run, stats, _) = run_video_only(demo_config(LiveInput::MpegTs, &out), &ts, 7.0);
    check_silence_in_step_with_the_video(&run, &out);
    let why = stats
        .silent_audio
        .expect("the stats say why the audio is silence");
    assert!(
        why.contains("unsupported codec: no decoder for the audio (audio/x-ac3)"),
        "{why}"
    );
}
