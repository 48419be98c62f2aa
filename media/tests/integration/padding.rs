//! Encodes padded to whole segments (what an ad creative stitched into a break needs): every
//! segment, the last one too, lasts the ladder's segment duration in every rung and packaging;
//! the picture holds its last frame and the sound is silent over the padding. ffprobe and
//! ffmpeg are the referees.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common;
use crate::common::{Expect, concat, ffmpeg, ffprobe, number};
use onair_domain::{Ladder, Packaging, Rendition, Ticks};
use onair_media::{
    ClipSpec, EncodeOptions, EncodedAsset, FrameRate, TestPattern, encode_ladder, generate_clip,
};

/// A clip of `seconds` at 25 fps whose picture moves every frame (a bouncing ball under a
/// running clock), with a 440 Hz tone.
fn moving_clip(dir: &Path, name: &str, seconds: i64) -> PathBuf {
    let spec = ClipSpec {
        title: name.to_owned(),
        subtitle: None,
        duration: Ticks::from_secs(seconds),
        width: 640,
        height: 360,
        fps: FrameRate::new(25, 1),
        pattern: TestPattern::Ball,
        tone_hz: 440,
    };
    let out = dir.join(name);
    generate_clip(&spec, &out).expect("the clip is generated");
    out
}

fn encode(input: &Path, ladder: &Ladder, root: &Path, pad_to_whole_segments: bool) -> EncodedAsset {
    let options = EncodeOptions {
        pad_to_whole_segments,
        ..EncodeOptions::default()
    };
    encode_ladder(input, ladder, root, "assets/9", &options, &mut |_| {})
        .unwrap_or_else(|error| panic!("{}: {error}", input.display()))
}

fn durations(rendition: &Rendition) -> Vec<Ticks> {
    rendition.segments.iter().map(|s| s.duration).collect()
}

fn label(rendition: &Rendition) -> String {
    format!("{} {}", rendition.rung, rendition.packaging.as_str())
}

/// Each segment of `rendition` as a file that plays on its own (after the init segment for
/// CMAF).
fn playable_segments(root: &Path, rendition: &Rendition, scratch: &Path) -> Vec<PathBuf> {
    rendition
        .segments
        .iter()
        .enumerate()
        .map(|(index, segment)| match &rendition.init_path {
            None => root.join(&segment.path),
            Some(init) => concat(
                &[root.join(init), root.join(&segment.path)],
                &scratch.join(format!(
                    "{}-{}-{index}.mp4",
                    rendition.rung,
                    rendition.packaging.as_str()
                )),
            ),
        })
        .collect()
}

/// The whole of `rendition`, played back to back.
fn whole(root: &Path, rendition: &Rendition, scratch: &Path) -> PathBuf {
    let mut parts: Vec<PathBuf> = rendition
        .init_path
        .iter()
        .map(|init| root.join(init))
        .collect();
    parts.extend(rendition.segments.iter().map(|s| root.join(&s.path)));
    let extension = match rendition.packaging {
        Packaging::Ts => "ts",
        _ => "mp4",
    };
    concat(
        &parts,
        &scratch.join(format!(
            "{}-{}-whole.{extension}",
            rendition.rung,
            rendition.packaging.as_str()
        )),
    )
}

/// ffprobe's duration of the first stream of `kind` (`v` or `a`) in `file`: from its first
/// packet's presentation to the end of its last.
fn stream_duration(file: &Path, kind: &str) -> f64 {
    let json = ffprobe(
        file,
        &[
            "-select_streams",
            &format!("{kind}:0"),
            "-show_entries",
            "packet=pts_time,duration_time",
        ],
    );
    let packets = json["packets"].as_array().cloned().unwrap_or_default();
    let spans: Vec<(f64, f64)> = packets
        .iter()
        .map(|packet| {
            let start = number(&packet["pts_time"]);
            (start, start + number(&packet["duration_time"]))
        })
        .collect();
    let first = spans
        .iter()
        .map(|span| span.0)
        .fold(f64::INFINITY, f64::min);
    let last = spans
        .iter()
        .map(|span| span.1)
        .fold(f64::NEG_INFINITY, f64::max);
    last - first
}

/// The first audio stream of `file`, decoded to 48 kHz mono samples.
fn decoded_audio(file: &Path) -> Vec<f32> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args([
            "-map", "0:a:0", "-ac", "1", "-ar", "48000", "-f", "f32le", "-",
        ])
        .output()
        .expect("ffmpeg is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
        .stdout
        .chunks_exact(4)
        .map(|bytes| f32::from_le_bytes(bytes.try_into().unwrap()))
        .collect()
}

/// The loudest sample of `samples` (at 48 kHz) between `from` and `to` seconds.
fn peak(samples: &[f32], from: f64, to: f64) -> f32 {
    let at = |seconds: f64| ((seconds * 48_000.0) as usize).min(samples.len());
    samples[at(from)..at(to)]
        .iter()
        .fold(0.0, |peak, sample| peak.max(sample.abs()))
}

/// The frames of the first video stream of `file`, decoded to 8-bit luma.
fn luma_frames(file: &Path, width: usize, height: usize) -> Vec<Vec<u8>> {
    let output = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(file)
        .args(["-map", "0:v:0", "-f", "rawvideo", "-pix_fmt", "gray", "-"])
        .output()
        .expect("ffmpeg is installed");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output
        .stdout
        .chunks_exact(width * height)
        .map(<[u8]>::to_vec)
        .collect()
}

fn mean_difference(a: &[u8], b: &[u8]) -> f64 {
    let total: u64 = a
        .iter()
        .zip(b)
        .map(|(x, y)| u64::from(x.abs_diff(*y)))
        .sum();
    total as f64 / a.len() as f64
}

#[test]
fn a_five_second_clip_padded_on_a_two_second_ladder_becomes_three_whole_segments_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let root = dir.path();
    let clip = moving_clip(root, "five.mp4", 5);
    let ladder = Ladder::demo();
    assert_eq!(ladder.segment_duration, Ticks::from_secs(2));

    let asset = encode(&clip, &ladder, root, true);

    assert_eq!(asset.duration, Ticks::from_secs(6));
    assert_eq!(asset.content_duration, Ticks::from_secs(5));
    assert_eq!(asset.renditions.len(), 6);
    for rendition in &asset.renditions {
        assert_eq!(
            durations(rendition),
            vec![Ticks::from_secs(2); 3],
            "{}",
            label(rendition)
        );
    }
    // Every rung and packaging as ffprobe sees it: 150 frames at 25 fps, one IDR a segment,
    // the same cuts everywhere, the audio tracks cut at the AAC frame nearest to each.
    common::verify_renditions(
        root,
        &asset,
        &ladder,
        &Expect {
            duration: 6.0,
            bitrate: false,
        },
    );

    // Each segment on its own: 50 frames, 2 s of video, and about 2 s of sound.
    for rendition in &asset.renditions {
        for (index, file) in playable_segments(root, rendition, scratch.path())
            .iter()
            .enumerate()
        {
            let what = format!("{} segment {index}", label(rendition));
            if rendition.packaging != Packaging::CmafAudio {
                let video = stream_duration(file, "v");
                eprintln!("{what}: video {video:.6} s");
                assert!((video - 2.0).abs() < 1e-6, "{what}: {video} s of video");
                let frames = ffprobe(
                    file,
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
                    50.0,
                    "{what}"
                );
            }
            if rendition.packaging != Packaging::Cmaf {
                let audio = stream_duration(file, "a");
                eprintln!("{what}: audio {audio:.6} s");
                // Cut at the AAC frame (21.3 ms) nearest to each segment's start; the last one
                // ends with the encoder's padded frame.
                assert!((audio - 2.0).abs() < 0.045, "{what}: {audio} s of audio");
            }
        }
    }

    // The sound: the tone until 5 s, silence after (a margin either side for the AAC frames
    // that straddle the end of the input).
    for rendition in asset
        .renditions
        .iter()
        .filter(|r| r.packaging != Packaging::Cmaf)
    {
        let samples = decoded_audio(&whole(root, rendition, scratch.path()));
        let what = label(rendition);
        let seconds = samples.len() as f64 / 48_000.0;
        assert!((seconds - 6.0).abs() < 0.05, "{what}: {seconds} s of audio");
        let tone = peak(&samples, 4.0, 4.95);
        let padding = peak(&samples, 5.05, 5.95);
        eprintln!("{what}: peak {tone:.4} before 5 s, {padding:.6} after");
        assert!(tone > 0.05, "{what}: the tone plays until 5 s ({tone})");
        assert!(padding < 1e-3, "{what}: the padding is silent ({padding})");
    }

    // The picture: the last segment's last 25 frames are the frame at 4.96 s, held; the frames
    // before it move.
    for rendition in asset
        .renditions
        .iter()
        .filter(|r| r.packaging != Packaging::CmafAudio)
    {
        let what = label(rendition);
        let last = playable_segments(root, rendition, scratch.path())
            .pop()
            .unwrap();
        let frames = luma_frames(&last, rendition.width as usize, rendition.height as usize);
        assert_eq!(frames.len(), 50, "{what}");
        let held = &frames[24];
        assert!(
            mean_difference(&frames[0], held) > 1.0,
            "{what}: the input's pictures move"
        );
        for (index, frame) in frames.iter().enumerate().skip(25) {
            let difference = mean_difference(frame, held);
            assert!(
                difference < 0.5,
                "{what}: frame {index} of the last segment differs from the held frame by {difference}"
            );
        }
    }
}

#[test]
fn without_padding_the_same_clip_ends_with_a_short_segment_as_before() {
    let dir = tempfile::tempdir().unwrap();
    let clip = moving_clip(dir.path(), "five.mp4", 5);
    let asset = encode(&clip, &Ladder::demo(), dir.path(), false);

    assert_eq!(asset.duration, Ticks::from_secs(5));
    assert_eq!(asset.content_duration, asset.duration);
    for rendition in &asset.renditions {
        assert_eq!(
            durations(rendition),
            [2, 2, 1].map(Ticks::from_secs),
            "{}",
            label(rendition)
        );
    }
}

#[test]
fn a_clip_of_whole_segments_is_left_as_it_is_when_padded() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "four.mp4", 4, 320, 180);
    let asset = encode(&clip, &Ladder::demo(), dir.path(), true);

    assert_eq!(asset.duration, Ticks::from_secs(4));
    assert_eq!(asset.content_duration, Ticks::from_secs(4));
    for rendition in &asset.renditions {
        assert_eq!(
            durations(rendition),
            vec![Ticks::from_secs(2); 2],
            "{}",
            label(rendition)
        );
    }
}

#[test]
fn a_clip_with_no_audio_is_padded_with_a_silent_track_to_whole_segments() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "three.mp4", 3, 320, 180);
    let silent = dir.path().join("three-silent.mp4");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-an",
        "-c",
        "copy",
        silent.to_str().unwrap(),
    ]);
    let ladder = Ladder::demo();
    let asset = encode(&silent, &ladder, dir.path(), true);

    assert_eq!(asset.duration, Ticks::from_secs(4));
    assert_eq!(asset.content_duration, Ticks::from_secs(3));
    common::verify_renditions(
        dir.path(),
        &asset,
        &ladder,
        &Expect {
            duration: 4.0,
            bitrate: false,
        },
    );
}

#[test]
fn on_a_29_97_fps_ladder_every_padded_segment_is_sixty_frames() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "five.mp4", 5, 320, 180);
    let mut ladder = Ladder::demo().with_segment_duration(Ticks(180_180));
    ladder.frame_rate_num = 30_000;
    ladder.frame_rate_den = 1001;
    let asset = encode(&clip, &ladder, dir.path(), true);

    // 5 s is 149.85 frames at 29.97 fps: 150 frames of the input, then 30 held ones make three
    // segments of 60 frames (2.002 s, 180 180 ticks).
    assert_eq!(
        asset.duration,
        Ticks::from_nanos(180 * 1_000_000_000 * 1001 / 30_000)
    );
    assert_eq!(
        asset.content_duration,
        Ticks::from_nanos(150 * 1_000_000_000 * 1001 / 30_000)
    );
    for rendition in &asset.renditions {
        assert_eq!(
            durations(rendition),
            vec![Ticks(180_180); 3],
            "{}",
            label(rendition)
        );
    }
}
