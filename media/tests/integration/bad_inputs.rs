//! Inputs the farm must refuse, each with a reason a person can act on, and an encode that is
//! cancelled halfway. Nothing is left behind in any of these cases.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use crate::common;
use crate::common::ffmpeg;
use onair_domain::Ladder;
use onair_media::{EncodeOptions, EncodedAsset, MediaError, encode_ladder};

fn encode(input: &Path, root: &Path, options: &EncodeOptions) -> Result<EncodedAsset, MediaError> {
    encode_ladder(
        input,
        &Ladder::demo(),
        root,
        "assets/9",
        options,
        &mut |_| {},
    )
}

fn assert_nothing_written(root: &Path) {
    assert!(
        !root.join("assets/9").exists(),
        "a refused or cancelled encode leaves nothing behind"
    );
}

#[test]
fn a_zero_length_file_fails_saying_it_is_empty() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("upload.mp4");
    std::fs::write(&empty, b"").unwrap();

    let error = encode(&empty, dir.path(), &EncodeOptions::default()).unwrap_err();
    assert!(matches!(error, MediaError::Unreadable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("upload.mp4") && message.contains("empty (0 bytes)"),
        "{message}"
    );
    assert_nothing_written(dir.path());
}

#[test]
fn a_codec_with_no_decoder_installed_fails_naming_the_codec() {
    // HAP (a GPU codec of media servers): ffmpeg writes it, GStreamer here has no decoder for it.
    let dir = tempfile::tempdir().unwrap();
    let hap = dir.path().join("vj-loop.mov");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=s=320x240:r=25:d=1",
        "-c:v",
        "hap",
        hap.to_str().unwrap(),
    ]);

    let error = encode(&hap, dir.path(), &EncodeOptions::default()).unwrap_err();
    let MediaError::UnsupportedCodec { codec, .. } = &error else {
        panic!("{error:?}");
    };
    assert_eq!(codec, "video/x-gst-fourcc-Hap1");
    let message = error.to_string();
    assert!(
        message.starts_with(&format!(
            "{}: unsupported codec: no decoder for video/x-gst-fourcc-Hap1",
            hap.display()
        )),
        "{message}"
    );
    assert_nothing_written(dir.path());
}

#[test]
fn a_picture_larger_than_the_configured_maximum_is_refused_with_both_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "hd.mp4", 1, 1280, 720);
    let options = EncodeOptions {
        max_width: 960,
        max_height: 540,
        ..EncodeOptions::default()
    };

    let error = encode(&clip, dir.path(), &options).unwrap_err();
    assert!(matches!(error, MediaError::TooLarge { .. }), "{error:?}");
    assert_eq!(
        error.to_string(),
        format!(
            "{}: the video is 1280x720, larger than the 960x540 this farm accepts",
            clip.display()
        )
    );
    assert_nothing_written(dir.path());
    // The default allows 4096x2304.
    assert_eq!(
        (
            EncodeOptions::default().max_width,
            EncodeOptions::default().max_height
        ),
        (4096, 2304)
    );
}

#[test]
fn cancelling_stops_the_encode_promptly_and_removes_what_it_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "long.mp4", 20, 640, 360);
    let cancel = Arc::new(AtomicBool::new(false));
    let options = EncodeOptions {
        cancel: Some(cancel.clone()),
        ..EncodeOptions::default()
    };

    let mut cancelled_at = None;
    let mut segments_seen = false;
    let result = encode_ladder(
        &clip,
        &Ladder::demo(),
        dir.path(),
        "assets/9",
        &options,
        &mut |percent| {
            if percent >= 20 && cancelled_at.is_none() {
                segments_seen = dir
                    .path()
                    .join("assets/9/360p/ts")
                    .read_dir()
                    .is_ok_and(|mut entries| entries.next().is_some());
                cancel.store(true, Ordering::Relaxed);
                cancelled_at = Some(Instant::now());
            }
        },
    );
    let stopped_after = cancelled_at.expect("the encode got to 20 %").elapsed();

    let error = result.unwrap_err();
    assert!(matches!(error, MediaError::Cancelled), "{error:?}");
    assert_eq!(error.to_string(), "the encode was cancelled");
    assert!(
        stopped_after < Duration::from_secs(2),
        "stopped {stopped_after:?} after the cancel"
    );
    assert!(segments_seen, "segments had been written before the cancel");
    assert_nothing_written(dir.path());
}

#[test]
fn an_encode_cancelled_before_it_starts_touches_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let options = EncodeOptions {
        cancel: Some(Arc::new(AtomicBool::new(true))),
        ..EncodeOptions::default()
    };
    let error = encode(&dir.path().join("whatever.mp4"), dir.path(), &options).unwrap_err();
    assert!(matches!(error, MediaError::Cancelled), "{error:?}");
    assert_nothing_written(dir.path());
}
