//! Clip and slate generation, and probing, against ffprobe.

use crate::common;
use crate::common::{number, stream, streams};
use onair_domain::Ticks;
use onair_media::{ClipSpec, FrameRate, MediaError, TestPattern, generate_clip, init, probe};

#[test]
fn init_finds_every_element_the_crate_uses() {
    init().expect("a complete install");
    init().expect("init can be called again");
}

#[test]
fn a_generated_clip_lasts_exactly_its_duration_with_h264_video_and_48_khz_stereo_aac() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "exact.mp4", 6, 640, 360);

    let all = streams(&clip);
    let video = stream(&all, "video").expect("a video stream");
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(video["profile"], "High");
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(640), Some(360))
    );
    assert_eq!(video["r_frame_rate"], "25/1");
    assert_eq!(number(&video["nb_frames"]), 150.0);
    assert_eq!(number(&video["duration"]), 6.0);
    let audio = stream(&all, "audio").expect("an audio stream");
    assert_eq!(audio["codec_name"], "aac");
    assert_eq!(audio["sample_rate"], "48000");
    assert_eq!(audio["channels"], 2);
    // AAC codes whole frames of 1024 samples: the tone ends within one frame of the pictures.
    let audio_duration = number(&audio["duration"]);
    assert!(
        (6.0..6.03).contains(&audio_duration),
        "audio lasts {audio_duration} s"
    );
}

#[test]
fn probe_describes_the_streams_of_a_generated_clip() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "probed.mp4", 2, 320, 240);

    let info = probe(&clip).expect("a generated clip probes");
    let video = info.video.expect("video");
    assert_eq!(
        (
            video.width,
            video.height,
            video.frame_rate_num,
            video.frame_rate_den
        ),
        (320, 240, 25, 1)
    );
    assert!(!video.interlaced);
    assert!(video.codec.contains("H.264"), "{}", video.codec);
    let audio = info.audio.expect("audio");
    assert_eq!((audio.channels, audio.sample_rate), (2, 48_000));
    assert!(audio.codec.contains("AAC"), "{}", audio.codec);
    let duration = info.duration.expect("a duration");
    assert!(
        duration >= Ticks::from_secs(2) && duration < Ticks::from_millis(2050),
        "{duration}"
    );
}

#[test]
fn a_slate_carries_the_subtitle_line_and_is_silent() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ClipSpec::slate(
        "Demo Channel",
        Ticks::from_secs(2),
        320,
        180,
        FrameRate::new(25, 1),
    );
    assert_eq!(spec.subtitle.as_deref(), Some("We'll be right back"));
    let out = dir.path().join("slate.mp4");
    generate_clip(&spec, &out).expect("the slate is generated");

    let all = streams(&out);
    assert_eq!(
        number(&stream(&all, "video").expect("video")["nb_frames"]),
        50.0
    );
    let output = std::process::Command::new("ffmpeg")
        .args(["-v", "info", "-i"])
        .arg(&out)
        .args(["-af", "volumedetect", "-f", "null", "-"])
        .output()
        .expect("ffmpeg");
    let report = String::from_utf8_lossy(&output.stderr);
    let peak = report
        .lines()
        .find_map(|line| line.split("max_volume:").nth(1))
        .expect("volumedetect reports a peak");
    assert!(
        peak.contains("-inf")
            || peak.trim().trim_end_matches(" dB").parse::<f64>().unwrap() < -80.0,
        "peak {peak}"
    );
}

#[test]
fn a_clip_duration_that_is_not_whole_frames_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = ClipSpec {
        title: "odd".into(),
        subtitle: None,
        duration: Ticks::from_millis(1010),
        width: 320,
        height: 180,
        fps: FrameRate::new(25, 1),
        pattern: TestPattern::Ball,
        tone_hz: 440,
    };
    let error = generate_clip(&spec, &dir.path().join("odd.mp4")).unwrap_err();
    assert!(matches!(error, MediaError::Invalid(_)), "{error:?}");
    assert!(
        error.to_string().contains("whole number of frames"),
        "{error}"
    );
}
