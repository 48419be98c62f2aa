//! Helpers shared by the integration tests: generated inputs and ffprobe/ffmpeg as the referee.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

use onair_domain::Ticks;
use onair_media::{ClipSpec, FrameRate, TestPattern, generate_clip};
use serde_json::Value;

/// A clip of `seconds` at 25 fps with a 440 Hz tone, written to `dir/name`.
pub fn clip(dir: &Path, name: &str, seconds: i64, width: u32, height: u32) -> PathBuf {
    let spec = ClipSpec {
        title: name.to_owned(),
        subtitle: None,
        duration: Ticks::from_secs(seconds),
        width,
        height,
        fps: FrameRate::new(25, 1),
        pattern: TestPattern::Smpte,
        tone_hz: 440,
    };
    let out = dir.join(name);
    generate_clip(&spec, &out).expect("the clip is generated");
    out
}

/// Runs ffmpeg (from the `ffmpeg` Debian package) and fails the test if it fails.
pub fn ffmpeg(args: &[&str]) {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg is installed (apt-get install ffmpeg)");
    assert!(
        output.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// ffprobe's JSON for `file`.
pub fn ffprobe(file: &Path, args: &[&str]) -> Value {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-of", "json"])
        .args(args)
        .arg(file)
        .output()
        .expect("ffprobe is installed (apt-get install ffmpeg)");
    assert!(
        output.status.success(),
        "ffprobe {}: {}",
        file.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("ffprobe writes JSON")
}

pub fn streams(file: &Path) -> Vec<Value> {
    ffprobe(file, &["-show_streams"])["streams"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

pub fn stream<'a>(streams: &'a [Value], codec_type: &str) -> Option<&'a Value> {
    streams
        .iter()
        .find(|stream| stream["codec_type"] == codec_type)
}

/// The first decoded video frame of `file`.
pub fn first_video_frame(file: &Path) -> Value {
    let frames = ffprobe(
        file,
        &[
            "-select_streams",
            "v:0",
            "-show_frames",
            "-read_intervals",
            "%+#1",
        ],
    );
    frames["frames"][0].clone()
}

/// Number of `key` in a stream as ffprobe prints it (numbers come as strings or numbers).
pub fn number(value: &Value) -> f64 {
    match value {
        Value::Number(number) => number.as_f64().unwrap_or(f64::NAN),
        Value::String(text) => text.parse().unwrap_or(f64::NAN),
        _ => f64::NAN,
    }
}

/// The first `len` bytes of `from`, written to `to`.
pub fn truncate_copy(from: &Path, to: &Path, len: usize) {
    let bytes = std::fs::read(from).expect("the source file");
    std::fs::write(to, &bytes[..len.min(bytes.len())]).expect("the truncated copy");
}
