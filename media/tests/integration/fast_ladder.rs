//! The default FAST ladder on the inputs a broadcaster's library holds: interlaced, 29.97 fps
//! with 5.1 sound, no sound, variable frame rate, an odd size, and sound with no picture. The
//! inputs are busy generated pictures (a moving test card under grain), so that bitrates can be
//! held to their targets; ffprobe checks every rung of every output (see `common::verify_renditions`).
//! Segments are 2 s (instead of the default 6 s) to keep clips short.

use std::path::{Path, PathBuf};

use crate::common;
use crate::common::{Expect, ffmpeg, ffprobe, integrated_loudness, number, stream, streams};
use onair_domain::{Ladder, LoudnessTarget, Ticks};
use onair_media::{EncodeOptions, EncodedAsset, encode_ladder, probe};

fn fast_ladder() -> Ladder {
    Ladder::fast_default().with_segment_duration(Ticks::from_secs(2))
}

fn encode(input: &Path, ladder: &Ladder, root: &Path) -> EncodedAsset {
    let started = std::time::Instant::now();
    let asset = encode_ladder(
        input,
        ladder,
        root,
        "assets/1",
        &EncodeOptions::default(),
        &mut |_| {},
    )
    .unwrap_or_else(|error| panic!("{}: {error}", input.display()));
    eprintln!(
        "{}: {} renditions in {:.1} s",
        input.display(),
        asset.renditions.len(),
        started.elapsed().as_secs_f64()
    );
    asset
}

/// A busy picture: ffmpeg's moving test card under temporal grain, so every frame costs bits.
fn busy_video(size: &str, rate: &str, seconds: u32) -> String {
    format!("testsrc2=s={size}:r={rate}:d={seconds}")
}

const GRAIN: &str = "noise=alls=12:allf=t";

/// The ladder's audio track of the rendition's whole TS, joined.
fn joined_ts(root: &Path, asset: &EncodedAsset, rung: &str, to: &Path) -> PathBuf {
    let rendition = asset
        .renditions
        .iter()
        .find(|r| r.rung == rung && r.packaging == onair_domain::Packaging::Ts)
        .unwrap();
    let parts: Vec<PathBuf> = rendition
        .segments
        .iter()
        .map(|s| root.join(&s.path))
        .collect();
    common::concat(&parts, to)
}

#[test]
fn a_loud_1080i50_clip_becomes_all_six_fast_rungs_progressive_at_30_fps_and_minus_23_lufs() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("interlaced-1080i50.mp4");
    // 50 progressive frames a second woven into 25 interlaced ones (top field first); pink noise
    // turned up to about -10 LUFS.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &busy_video("1920x1080", "50", 6),
        "-f",
        "lavfi",
        "-i",
        "anoisesrc=color=pink:r=48000:a=0.5:d=6",
        "-vf",
        &format!("{GRAIN},tinterlace=interleave_top,fieldorder=tff"),
        "-af",
        "volume=11dB",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "23",
        "-flags",
        "+ilme+ildct",
        "-c:a",
        "aac",
        "-b:a",
        "192k",
        "-ac",
        "2",
        input.to_str().unwrap(),
    ]);
    let source = probe(&input).unwrap().video.unwrap();
    assert!(source.interlaced, "the input is interlaced");
    assert_eq!((source.width, source.height), (1920, 1080));
    let loud = integrated_loudness(&input);
    assert!(loud > -12.0, "the input is loud: {loud} LUFS");

    let ladder = fast_ladder();
    let asset = encode(&input, &ladder, dir.path());
    common::verify_renditions(
        dir.path(),
        &asset,
        &ladder,
        &Expect {
            duration: 6.0,
            bitrate: true,
        },
    );

    let top = joined_ts(dir.path(), &asset, "1080p", &dir.path().join("1080p.ts"));
    let loudness = integrated_loudness(&top);
    eprintln!("input {loud:.1} LUFS, output {loudness:.1} LUFS");
    assert!(
        (loudness - LoudnessTarget::EbuR128.lufs()).abs() <= 1.0,
        "{loudness} LUFS is not within 1 LU of -23"
    );

    // The poster: one frame at the top rung's size.
    let poster = asset.poster_path.as_deref().expect("a poster");
    assert_eq!(poster, "assets/1/poster.jpg");
    let all = streams(&dir.path().join(poster));
    let picture = stream(&all, "video").unwrap();
    assert_eq!(picture["codec_name"], "mjpeg");
    assert_eq!(
        (picture["width"].as_u64(), picture["height"].as_u64()),
        (Some(1920), Some(1080))
    );
}

#[test]
fn a_720p_29_97_clip_with_5_1_sound_is_conformed_to_30_fps_and_downmixed_to_stereo_at_the_atsc_target()
 {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("surround-720p2997.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &busy_video("1280x720", "30000/1001", 6),
        "-f",
        "lavfi",
        "-i",
        "aevalsrc=exprs=0.3*sin(2*PI*440*t)|0.3*sin(2*PI*550*t)|0.3*sin(2*PI*660*t)|0.1*sin(2*PI*60*t)|0.2*sin(2*PI*770*t)|0.2*sin(2*PI*880*t):c=5.1:s=48000:d=6",
        "-vf",
        GRAIN,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "23",
        "-c:a",
        "aac",
        "-b:a",
        "384k",
        "-shortest",
        input.to_str().unwrap(),
    ]);
    let info = probe(&input).unwrap();
    assert_eq!(info.audio.as_ref().unwrap().channels, 6);
    let video = info.video.unwrap();
    assert_eq!((video.frame_rate_num, video.frame_rate_den), (30000, 1001));

    let mut ladder = fast_ladder();
    ladder.loudness = LoudnessTarget::AtscA85;
    let asset = encode(&input, &ladder, dir.path());
    // 180 frames at 29.97 fps last 6.006 s: 180 frames at 30 fps, not 181 (a one-frame segment).
    common::verify_renditions(
        dir.path(),
        &asset,
        &ladder,
        &Expect {
            duration: 6.0,
            bitrate: true,
        },
    );
    let loudness = integrated_loudness(&joined_ts(
        dir.path(),
        &asset,
        "720p",
        &dir.path().join("720p.ts"),
    ));
    assert!(
        (loudness - LoudnessTarget::AtscA85.lufs()).abs() <= 1.0,
        "{loudness} LUFS is not within 1 LU of -24"
    );
}

#[test]
fn an_odd_sized_25_fps_clip_with_no_audio_is_pillarboxed_to_every_rung_with_a_silent_track() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("odd-1442x1080-silent.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &busy_video("1442x1080", "25", 6),
        "-vf",
        GRAIN,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "23",
        "-an",
        input.to_str().unwrap(),
    ]);
    assert_eq!(probe(&input).unwrap().audio, None);

    let ladder = fast_ladder();
    let asset = encode(&input, &ladder, dir.path());
    common::verify_renditions(
        dir.path(),
        &asset,
        &ladder,
        &Expect {
            duration: 6.0,
            bitrate: true,
        },
    );

    // 1442x1080 is 4:3.4: in 1280x720 it is 961 wide, with black columns each side.
    let segment = dir.path().join(&asset.renditions[1].segments[0].path);
    let gray = dir.path().join("frame.gray");
    ffmpeg(&[
        "-i",
        segment.to_str().unwrap(),
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "gray",
        gray.to_str().unwrap(),
    ]);
    let pixels = std::fs::read(&gray).unwrap();
    let row = &pixels[360 * 1280..361 * 1280];
    assert!(row[..150].iter().all(|luma| *luma < 40), "left border");
    assert!(row[1130..].iter().all(|luma| *luma < 40), "right border");
    let lit = row[170..1110].iter().filter(|luma| **luma > 40).count();
    assert!(lit > 500, "the picture fills the middle: {lit} lit pixels");
}

#[test]
fn a_variable_frame_rate_clip_is_conformed_to_a_constant_30_fps() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("vfr.mp4");
    // 60 fps thinned irregularly (3 of every 10 frames, plus every 7th, and the last two so that
    // it still ends at 6 s), timestamps kept.
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        &busy_video("1280x720", "60", 6),
        "-f",
        "lavfi",
        "-i",
        "sine=f=440:r=48000:d=6",
        "-vf",
        &format!("{GRAIN},select='lt(mod(n\\,10)\\,3)+eq(mod(n\\,7)\\,0)+gte(n\\,358)'"),
        "-fps_mode",
        "vfr",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-crf",
        "23",
        "-c:a",
        "aac",
        input.to_str().unwrap(),
    ]);
    let times = ffprobe(
        &input,
        &["-select_streams", "v:0", "-show_entries", "packet=pts_time"],
    );
    let mut pts: Vec<f64> = times["packets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|packet| number(&packet["pts_time"]))
        .collect();
    pts.sort_by(f64::total_cmp);
    let gaps: Vec<i64> = pts
        .windows(2)
        .map(|pair| ((pair[1] - pair[0]) * 1000.0).round() as i64)
        .collect();
    assert!(
        gaps.iter().min() != gaps.iter().max(),
        "the input's frame durations vary: {gaps:?}"
    );

    let ladder = fast_ladder();
    let asset = encode(&input, &ladder, dir.path());
    common::verify_renditions(
        dir.path(),
        &asset,
        &ladder,
        &Expect {
            duration: 6.0,
            bitrate: true,
        },
    );
}

#[test]
fn audio_with_no_picture_gets_a_slate_in_every_rung_for_as_long_as_it_plays() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("radio-show.m4a");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=f=330:r=44100:d=4",
        "-c:a",
        "aac",
        "-ac",
        "1",
        input.to_str().unwrap(),
    ]);
    assert_eq!(probe(&input).unwrap().video, None);

    let ladder = fast_ladder();
    let asset = encode(&input, &ladder, dir.path());
    // A black slate is cheap to code: its bitrate is far below target, and that is fine.
    common::verify_renditions(
        dir.path(),
        &asset,
        &ladder,
        &Expect {
            duration: 4.0,
            bitrate: false,
        },
    );
    let audio_only = streams(&dir.path().join(&asset.renditions[0].segments[0].path));
    assert!(stream(&audio_only, "video").is_some());
    assert!(asset.poster_path.is_some(), "the slate makes the poster");
}
