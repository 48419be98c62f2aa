//! Helpers shared by the integration tests: generated inputs and ffprobe/ffmpeg as the referee.

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

/// Runs ffmpeg and returns what it printed on stderr (its filters report there).
pub fn ffmpeg_stderr(args: &[&str]) -> String {
    let output = Command::new("ffmpeg")
        .args(["-hide_banner", "-nostats", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg is installed (apt-get install ffmpeg)");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "ffmpeg {args:?}: {stderr}");
    stderr
}

/// Integrated loudness of the first audio stream of `file`, in LUFS, as ffmpeg's `ebur128`
/// filter measures it (the `I:` line of its summary).
pub fn integrated_loudness(file: &Path) -> f64 {
    let stderr = ffmpeg_stderr(&[
        "-i",
        file.to_str().unwrap(),
        "-map",
        "0:a:0",
        "-af",
        "ebur128",
        "-f",
        "null",
        "-",
    ]);
    let summary = stderr
        .rsplit("Summary:")
        .next()
        .expect("ebur128 prints a summary");
    let line = summary
        .lines()
        .find(|line| line.trim_start().starts_with("I:"))
        .unwrap_or_else(|| panic!("no integrated loudness in {summary}"));
    line.trim_start()
        .trim_start_matches("I:")
        .trim()
        .trim_end_matches("LUFS")
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("cannot read {line:?}"))
}

/// The concatenation of `parts`, written to `to`: TS segments play back to back, and a CMAF
/// init segment followed by fragments is a playable fragmented MP4.
pub fn concat(parts: &[PathBuf], to: &Path) -> PathBuf {
    let mut bytes = Vec::new();
    for part in parts {
        bytes.extend(std::fs::read(part).expect("a part"));
    }
    std::fs::write(to, bytes).expect("the concatenation");
    to.to_owned()
}

/// (codec_type, size in bytes, keyframe) of every packet of `file`.
pub fn packets(file: &Path) -> Vec<(String, u64, bool)> {
    let json = ffprobe(file, &["-show_entries", "packet=codec_type,size,flags"]);
    json["packets"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .iter()
        .map(|packet| {
            (
                packet["codec_type"].as_str().unwrap_or_default().to_owned(),
                number(&packet["size"]) as u64,
                packet["flags"]
                    .as_str()
                    .unwrap_or_default()
                    .starts_with('K'),
            )
        })
        .collect()
}

/// NAL unit types of the video of `file` (Annex B, as ffmpeg copies it out), in order.
pub fn nal_types(file: &Path) -> Vec<u8> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args([
            "-map",
            "0:v:0",
            "-c",
            "copy",
            "-bsf:v",
            "h264_mp4toannexb",
            "-f",
            "h264",
            "-",
        ])
        .output()
        .expect("ffmpeg");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let bytes = output.stdout;
    let mut types = Vec::new();
    let mut i = 0;
    while i + 3 < bytes.len() {
        if bytes[i] == 0 && bytes[i + 1] == 0 && bytes[i + 2] == 1 {
            types.push(bytes[i + 3] & 0x1f);
            i += 3;
        } else {
            i += 1;
        }
    }
    types
}

/// What a transcoded rung must be, as ffprobe sees it.
pub struct Expect {
    /// Exact seconds of the whole asset (whole frames at the ladder rate).
    pub duration: f64,
    /// Check each rung's average bitrate (video + audio elementary streams) against its target.
    pub bitrate: bool,
}

/// The start time of the first stream of `file`, as ffprobe reads it.
pub fn start_time(file: &Path, stream_selector: &str) -> f64 {
    let stream = ffprobe(
        file,
        &[
            "-select_streams",
            stream_selector,
            "-show_entries",
            "stream=start_time",
        ],
    );
    number(&stream["streams"][0]["start_time"])
}

/// Half an AAC-LC frame at 48 kHz (1024 samples): the furthest an audio fragment may start from
/// its video segment, in seconds, plus a microsecond for rounding.
pub const HALF_AAC_FRAME: f64 = 512.0 / 48_000.0 + 1e-6;

/// Checks every rendition of `asset` with ffprobe: size, codec string (profile and level), frame
/// rate and frame count, bitrate within 15 % of target, one IDR at the start of every segment
/// and nowhere else, segment start times identical across rungs and across TS and CMAF video,
/// AAC-LC 48 kHz stereo audio in every TS segment, CMAF video tracks with video only, and one
/// CMAF audio track per distinct audio bitrate holding AAC-LC only, each fragment starting
/// within half an AAC frame of its video segment.
pub fn verify_renditions(
    root: &Path,
    asset: &onair_media::EncodedAsset,
    ladder: &onair_domain::Ladder,
    expect: &Expect,
) {
    use onair_domain::Packaging;
    use onair_domain::media::{AAC_LC_CODEC, AudioTrack};

    let scratch = tempfile::tempdir().unwrap();
    let fps = ladder.frame_rate();
    let segment = ladder.segment_duration.as_secs_f64();
    let expected_segments = (expect.duration / segment).ceil() as usize;
    assert!(
        (asset.duration.as_secs_f64() - expect.duration).abs() < 1e-6,
        "asset lasts {} s, expected {} s",
        asset.duration.as_secs_f64(),
        expect.duration
    );
    let tracks = AudioTrack::of_ladder(ladder);
    assert_eq!(
        asset.renditions.len(),
        ladder.rungs.len() * 2 + tracks.len()
    );
    let reference_durations: Vec<_> = asset.renditions[0]
        .segments
        .iter()
        .map(|segment| segment.duration)
        .collect();
    let mut starts_by_rendition: Vec<(String, Vec<f64>)> = Vec::new();
    let mut audio_starts: Vec<(String, Vec<f64>)> = Vec::new();
    for rendition in &asset.renditions {
        let label = format!("{} {}", rendition.rung, rendition.packaging.as_str());
        assert_eq!(rendition.segments.len(), expected_segments, "{label}");
        assert!(
            rendition
                .segments
                .iter()
                .map(|segment| segment.duration)
                .eq(reference_durations.iter().copied()),
            "{label} has the segment durations of every other rendition"
        );
        if rendition.packaging == Packaging::CmafAudio {
            let track = tracks
                .iter()
                .find(|track| track.name == rendition.rung)
                .unwrap_or_else(|| panic!("{label} is one of the ladder's audio tracks"));
            audio_starts.push((
                label.clone(),
                verify_audio_track(root, scratch.path(), rendition, track, expect),
            ));
            assert_eq!(rendition.codecs, AAC_LC_CODEC, "{label}");
            continue;
        }
        let rung = ladder.rung(&rendition.rung).unwrap();
        let codecs = match rendition.packaging {
            Packaging::Ts => rung.codecs(),
            _ => rung.video_codec(),
        };
        assert_eq!(rendition.codecs, codecs, "{label}");
        let init = rendition.init_path.as_ref().map(|init| root.join(init));
        // Each segment on its own (after the init segment for CMAF).
        let mut starts = Vec::new();
        let mut whole_parts: Vec<PathBuf> = init.iter().cloned().collect();
        for (index, info) in rendition.segments.iter().enumerate() {
            let file = root.join(&info.path);
            whole_parts.push(file.clone());
            let alone = match &init {
                None => file.clone(),
                Some(init) => concat(
                    &[init.clone(), file.clone()],
                    &scratch
                        .path()
                        .join(format!("{}-{index}.mp4", rendition.rung)),
                ),
            };
            let video_packets: Vec<bool> = packets(&alone)
                .into_iter()
                .filter(|(kind, _, _)| kind == "video")
                .map(|(_, _, key)| key)
                .collect();
            assert_eq!(
                video_packets.first(),
                Some(&true),
                "{label} segment {index} starts with a keyframe"
            );
            assert_eq!(
                video_packets.iter().filter(|key| **key).count(),
                1,
                "{label} segment {index} has one keyframe, at its start"
            );
            let first_vcl = nal_types(&alone)
                .into_iter()
                .find(|kind| (1..=5).contains(kind));
            assert_eq!(
                first_vcl,
                Some(5),
                "{label} segment {index} starts with an IDR slice"
            );
            starts.push(start_time(&alone, "v:0"));
        }
        starts_by_rendition.push((label.clone(), starts));

        // The whole rendition, played back to back.
        let extension = match rendition.packaging {
            Packaging::Ts => "ts",
            _ => "mp4",
        };
        let whole = concat(
            &whole_parts,
            &scratch
                .path()
                .join(format!("{}-whole.{extension}", rendition.rung)),
        );
        let all = streams(&whole);
        let video = stream(&all, "video").unwrap_or_else(|| panic!("{label} has video"));
        assert_eq!(video["codec_name"], "h264", "{label}");
        assert_eq!(
            (video["width"].as_u64(), video["height"].as_u64()),
            (Some(rung.width as u64), Some(rung.height as u64)),
            "{label}"
        );
        assert_eq!(
            video["field_order"].as_str().unwrap_or("progressive"),
            "progressive",
            "{label}"
        );
        let profile_idc = match video["profile"].as_str() {
            Some("High") => 0x64,
            Some("Main") => 0x4d,
            Some("Constrained Baseline") | Some("Baseline") => 0x42,
            other => panic!("{label}: profile {other:?}"),
        };
        let level_idc = video["level"].as_u64().unwrap();
        assert_eq!(
            format!("avc1.{profile_idc:02x}00{level_idc:02x}"),
            rung.video_codec(),
            "{label}: the stream's profile and level are the codec string's"
        );
        assert_eq!(
            video["r_frame_rate"].as_str(),
            Some(format!("{}/{}", ladder.frame_rate_num, ladder.frame_rate_den).as_str()),
            "{label}"
        );
        let frames = ffprobe(
            &whole,
            &[
                "-select_streams",
                "v:0",
                "-count_packets",
                "-show_entries",
                "stream=nb_read_packets",
            ],
        );
        assert_eq!(
            number(&frames["streams"][0]["nb_read_packets"]),
            (expect.duration * fps).round(),
            "{label}: every frame at the ladder rate, none dropped or doubled"
        );
        if rendition.packaging == Packaging::Cmaf {
            let kinds: Vec<&str> = all
                .iter()
                .map(|stream| stream["codec_type"].as_str().unwrap_or("?"))
                .collect();
            assert_eq!(kinds, ["video"], "{label} holds its video and nothing else");
        } else {
            let audio = stream(&all, "audio").unwrap_or_else(|| panic!("{label} has audio"));
            assert_eq!(
                (
                    audio["codec_name"].as_str(),
                    audio["profile"].as_str(),
                    audio["sample_rate"].as_str(),
                    audio["channels"].as_u64()
                ),
                (Some("aac"), Some("LC"), Some("48000"), Some(2)),
                "{label}"
            );
        }
        if expect.bitrate && rendition.packaging == Packaging::Ts {
            let bits: u64 = packets(&whole).iter().map(|(_, size, _)| size * 8).sum();
            let measured = bits as f64 / expect.duration;
            let target = rung.total_bitrate() as f64;
            eprintln!(
                "{label}: {:.0} kbit/s for a target of {:.0} ({:+.1} %)",
                measured / 1000.0,
                target / 1000.0,
                (measured / target - 1.0) * 100.0
            );
            assert!(
                (measured / target - 1.0).abs() <= 0.15,
                "{label}: {:.0} kbit/s is not within 15 % of {:.0}",
                measured / 1000.0,
                target / 1000.0
            );
        }
    }

    // Segment starts: every segment on the grid, and the same instants everywhere.
    let (reference_label, reference) = &starts_by_rendition[0];
    let origin = reference[0];
    for (index, start) in reference.iter().enumerate() {
        assert!(
            (start - origin - index as f64 * segment).abs() < 0.002,
            "{reference_label} segment {index} starts at {} s",
            start - origin
        );
    }
    for (label, starts) in &starts_by_rendition[1..] {
        let relative: Vec<f64> = starts.iter().map(|start| start - starts[0]).collect();
        let expected: Vec<f64> = reference.iter().map(|start| start - origin).collect();
        for (index, (got, want)) in relative.iter().zip(&expected).enumerate() {
            assert!(
                (got - want).abs() < 0.002,
                "{label} segment {index} starts at {got} s, {reference_label}'s at {want} s"
            );
        }
    }
    // Audio fragments start at the AAC frame nearest to each segment's start.
    assert_eq!(audio_starts.len(), tracks.len());
    for (label, starts) in &audio_starts {
        for (index, (got, want)) in starts.iter().zip(reference).enumerate() {
            let (got, want) = (got - starts[0], want - origin);
            assert!(
                (got - want).abs() < HALF_AAC_FRAME,
                "{label} fragment {index} starts at {got} s, {reference_label}'s segment at {want} s"
            );
        }
    }
}

/// Checks a CMAF audio track: each fragment plays after the init segment, and the whole track
/// holds one AAC-LC 48 kHz stereo stream and nothing else. Returns where each fragment starts.
fn verify_audio_track(
    root: &Path,
    scratch: &Path,
    rendition: &onair_domain::Rendition,
    track: &onair_domain::media::AudioTrack,
    expect: &Expect,
) -> Vec<f64> {
    let label = format!("{} cmaf-audio", rendition.rung);
    assert_eq!((rendition.width, rendition.height), (0, 0), "{label}");
    let init = root.join(rendition.init_path.as_ref().expect("an init segment"));
    let mut parts = vec![init.clone()];
    let mut starts = Vec::new();
    for (index, segment) in rendition.segments.iter().enumerate() {
        let file = root.join(&segment.path);
        parts.push(file.clone());
        let alone = concat(
            &[init.clone(), file],
            &scratch.join(format!("{}-{index}.mp4", rendition.rung)),
        );
        starts.push(start_time(&alone, "a:0"));
    }
    let whole = concat(
        &parts,
        &scratch.join(format!("{}-whole.mp4", rendition.rung)),
    );
    let all = streams(&whole);
    assert_eq!(all.len(), 1, "{label} holds one stream: {all:?}");
    assert_eq!(
        (
            all[0]["codec_type"].as_str(),
            all[0]["codec_name"].as_str(),
            all[0]["profile"].as_str(),
            all[0]["sample_rate"].as_str(),
            all[0]["channels"].as_u64()
        ),
        (
            Some("audio"),
            Some("aac"),
            Some("LC"),
            Some("48000"),
            Some(2)
        ),
        "{label}"
    );
    // The audio covers the video: from its start to at most two AAC frames (the padded last
    // frame and the encoder's delay) past its end.
    let duration =
        number(&ffprobe(&whole, &["-show_entries", "format=duration"])["format"]["duration"]);
    assert!(
        duration >= expect.duration - HALF_AAC_FRAME && duration <= expect.duration + 0.043,
        "{label} lasts {duration} s for {} s of video",
        expect.duration
    );
    if expect.bitrate {
        eprintln!(
            "{label}: {:.0} kbit/s measured for {:.0} kbit/s",
            f64::from(rendition.average_bandwidth) / 1000.0,
            f64::from(track.bitrate) / 1000.0
        );
    }
    starts
}
