//! The ladder encoder on generated media, with ffprobe as the referee.

use std::path::Path;
use std::time::Instant;

use crate::common;
use crate::common::{
    HALF_AAC_FRAME, concat, ffmpeg, first_video_frame, number, start_time, stream, streams,
    truncate_copy,
};
use onair_domain::media::AAC_LC_CODEC;
use onair_domain::{Ladder, Packaging, Rendition, Ticks};
use onair_media::{EncodeOptions, EncodedAsset, MediaError, encode_ladder, probe};

fn encode(input: &Path, media_root: &Path) -> Result<EncodedAsset, MediaError> {
    encode_ladder(
        input,
        &Ladder::demo(),
        media_root,
        "assets/7",
        &EncodeOptions::default(),
        &mut |_| {},
    )
}

#[test]
fn a_six_second_clip_becomes_three_segments_of_exactly_two_seconds_in_every_rendition() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "six.mp4", 6, 640, 360);
    let ladder = Ladder::demo();

    let mut progress = Vec::new();
    let started = Instant::now();
    let asset = encode_ladder(
        &clip,
        &ladder,
        dir.path(),
        "assets/7",
        &EncodeOptions::default(),
        &mut |percent| progress.push(percent),
    )
    .unwrap();
    eprintln!(
        "encoded the 6 s clip to {} renditions in {:?}",
        asset.renditions.len(),
        started.elapsed()
    );

    assert_eq!(asset.duration, Ticks::from_secs(6));
    let kinds: Vec<(&str, Packaging)> = asset
        .renditions
        .iter()
        .map(|r| (r.rung.as_str(), r.packaging))
        .collect();
    assert_eq!(
        kinds,
        [
            ("360p", Packaging::Ts),
            ("240p", Packaging::Ts),
            ("360p", Packaging::Cmaf),
            ("240p", Packaging::Cmaf),
            ("audio-96k", Packaging::CmafAudio),
            ("audio-64k", Packaging::CmafAudio)
        ]
    );
    for rendition in &asset.renditions {
        let durations: Vec<Ticks> = rendition
            .segments
            .iter()
            .map(|segment| segment.duration)
            .collect();
        assert_eq!(
            durations,
            vec![Ticks(180_000); 3],
            "{} {:?}",
            rendition.rung,
            rendition.packaging
        );
        let (codecs, size) = match ladder.rung(&rendition.rung) {
            Some(rung) if rendition.packaging == Packaging::Ts => {
                (rung.codecs(), (rung.width, rung.height))
            }
            Some(rung) => (rung.video_codec(), (rung.width, rung.height)),
            None => (AAC_LC_CODEC.to_owned(), (0, 0)),
        };
        assert_eq!(rendition.codecs, codecs);
        assert_eq!((rendition.width, rendition.height), size);
        assert!(
            rendition.average_bandwidth > 0
                && rendition.peak_bandwidth >= rendition.average_bandwidth
        );
        let folder = format!(
            "assets/7/{}/{}",
            rendition.rung,
            rendition.packaging.as_str()
        );
        for (index, segment) in rendition.segments.iter().enumerate() {
            assert_eq!(segment.index, index as u32);
            let extension = rendition.packaging.segment_extension();
            assert_eq!(segment.path, format!("{folder}/{index:05}.{extension}"));
            let size = std::fs::metadata(dir.path().join(&segment.path))
                .unwrap()
                .len();
            assert!(
                size > 0 && size == segment.size_bytes,
                "{}: {size} bytes",
                segment.path
            );
        }
        match rendition.packaging {
            Packaging::Ts => assert_eq!(rendition.init_path, None),
            Packaging::Cmaf | Packaging::CmafAudio => {
                let init = rendition.init_path.as_deref().expect("an init segment");
                assert_eq!(init, format!("{folder}/init.mp4"));
                assert!(std::fs::metadata(dir.path().join(init)).unwrap().len() > 0);
            }
        }
    }
    assert_eq!(
        asset.renditions[0]
            .segments
            .iter()
            .map(|s| s.duration)
            .collect::<Vec<_>>(),
        {
            let other = &asset.renditions[1];
            other
                .segments
                .iter()
                .map(|s| s.duration)
                .collect::<Vec<_>>()
        }
    );
    assert_eq!(progress.last(), Some(&100));
    assert!(
        progress.windows(2).all(|pair| pair[0] <= pair[1]),
        "{progress:?}"
    );
}

#[test]
fn every_ts_segment_starts_with_a_keyframe_and_carries_the_rung_video_and_48_khz_stereo_audio() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "six.mp4", 6, 640, 360);
    let asset = encode(&clip, dir.path()).unwrap();
    let ladder = Ladder::demo();

    for rendition in asset
        .renditions
        .iter()
        .filter(|r| r.packaging == Packaging::Ts)
    {
        let rung = ladder.rung(&rendition.rung).unwrap();
        for segment in rendition.segments.iter() {
            let file = dir.path().join(&segment.path);
            let first = first_video_frame(&file);
            assert_eq!(
                (first["key_frame"].as_i64(), first["pict_type"].as_str()),
                (Some(1), Some("I")),
                "{}",
                segment.path
            );
            let all = streams(&file);
            let video = stream(&all, "video").expect("video");
            assert_eq!(video["codec_name"], "h264");
            assert_eq!(video["profile"], "High");
            assert_eq!(
                video["level"].as_u64(),
                Some(rung.h264_level_idc as u64),
                "{}",
                segment.path
            );
            assert_eq!(
                (video["width"].as_u64(), video["height"].as_u64()),
                (Some(rung.width as u64), Some(rung.height as u64))
            );
            let audio = stream(&all, "audio").expect("audio");
            assert_eq!(audio["codec_name"], "aac");
            assert_eq!(audio["profile"], "LC");
            assert_eq!(audio["sample_rate"], "48000");
            assert_eq!(audio["channels"], 2);
        }
    }
}

/// `init` followed by `fragments`, written to `to`: a playable fragmented MP4.
fn joined(
    root: &Path,
    rendition: &Rendition,
    fragments: &[usize],
    to: &Path,
) -> std::path::PathBuf {
    let mut parts = vec![root.join(rendition.init_path.as_ref().unwrap())];
    parts.extend(
        fragments
            .iter()
            .map(|index| root.join(&rendition.segments[*index].path)),
    );
    concat(&parts, to)
}

fn codec_types(file: &Path) -> Vec<String> {
    streams(file)
        .iter()
        .map(|stream| stream["codec_type"].as_str().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn cmaf_video_tracks_hold_only_video_and_audio_tracks_only_aac_cut_at_the_same_boundaries() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "six.mp4", 6, 640, 360);
    let asset = encode(&clip, dir.path()).unwrap();
    let root = dir.path();
    let of = |packaging| {
        asset
            .renditions
            .iter()
            .filter(move |r| r.packaging == packaging)
    };

    // Video tracks: each fragment plays after the init segment, starts with a keyframe, and
    // starts where the same segment of every other rung starts; the whole track is video only.
    let mut video_starts: Vec<Vec<f64>> = Vec::new();
    for rendition in of(Packaging::Cmaf) {
        let mut starts = Vec::new();
        for segment in rendition.segments.iter() {
            let index = segment.index as usize;
            let alone = joined(
                root,
                rendition,
                &[index],
                &root.join(format!("{}-{index}.mp4", rendition.rung)),
            );
            let first = first_video_frame(&alone);
            assert_eq!(
                (first["key_frame"].as_i64(), first["pict_type"].as_str()),
                (Some(1), Some("I")),
                "{}",
                segment.path
            );
            assert_eq!(codec_types(&alone), ["video"], "{}", segment.path);
            starts.push(start_time(&alone, "v:0"));
        }
        video_starts.push(starts);
        let all: Vec<usize> = (0..rendition.segments.len()).collect();
        let whole = joined(
            root,
            rendition,
            &all,
            &root.join(format!("{}-all.mp4", rendition.rung)),
        );
        assert_eq!(codec_types(&whole), ["video"], "{}", rendition.rung);
        let video = &streams(&whole)[0];
        assert_eq!(
            (video["width"].as_u64(), video["height"].as_u64()),
            (Some(rendition.width as u64), Some(rendition.height as u64))
        );
        let frames = common::ffprobe(
            &whole,
            &[
                "-select_streams",
                "v:0",
                "-count_frames",
                "-show_entries",
                "stream=nb_read_frames",
            ],
        );
        assert_eq!(
            number(&frames["streams"][0]["nb_read_frames"]),
            150.0,
            "{}",
            rendition.rung
        );
    }
    assert_eq!(video_starts.len(), 2);
    assert_eq!(
        video_starts[0], video_starts[1],
        "every rung's video cuts at the same instants"
    );
    let reference = &video_starts[0];
    // Every track's media time starts at zero (the DASH SegmentTimeline relies on it); ffmpeg
    // shows the first frame's presentation a couple of frames later, past the B-frames' decode
    // delay.
    assert!(
        reference[0] >= 0.0 && reference[0] < 0.2,
        "the video track starts at {} s",
        reference[0]
    );
    for (index, start) in reference.iter().enumerate() {
        assert!(
            (start - reference[0] - 2.0 * index as f64).abs() < 1e-6,
            "video segment {index} starts at {start} s"
        );
    }

    // Audio tracks: AAC-LC only, one fragment per segment, each starting within half an AAC
    // frame of its segment's start.
    let audio: Vec<&Rendition> = of(Packaging::CmafAudio).collect();
    assert_eq!(audio.len(), 2, "one audio track per distinct audio bitrate");
    for rendition in audio {
        assert_eq!(rendition.segments.len(), reference.len());
        let mut starts = Vec::new();
        for segment in rendition.segments.iter() {
            let index = segment.index as usize;
            let alone = joined(
                root,
                rendition,
                &[index],
                &root.join(format!("{}-{index}.mp4", rendition.rung)),
            );
            assert_eq!(codec_types(&alone), ["audio"], "{}", segment.path);
            starts.push(start_time(&alone, "a:0"));
        }
        assert!(
            starts[0].abs() < 1e-6,
            "{} starts at {} s",
            rendition.rung,
            starts[0]
        );
        for (index, (audio_start, video_start)) in starts.iter().zip(reference).enumerate() {
            let (audio_start, video_start) = (audio_start - starts[0], video_start - reference[0]);
            assert!(
                (audio_start - video_start).abs() < HALF_AAC_FRAME,
                "{} fragment {index} starts at {audio_start} s, the video segment at {video_start} s",
                rendition.rung
            );
        }
        let all: Vec<usize> = (0..rendition.segments.len()).collect();
        let whole = joined(
            root,
            rendition,
            &all,
            &root.join(format!("{}-all.mp4", rendition.rung)),
        );
        let streams = streams(&whole);
        assert_eq!(streams.len(), 1, "{streams:?}");
        assert_eq!(
            (
                streams[0]["codec_type"].as_str(),
                streams[0]["codec_name"].as_str(),
                streams[0]["profile"].as_str(),
                streams[0]["sample_rate"].as_str(),
                streams[0]["channels"].as_u64()
            ),
            (
                Some("audio"),
                Some("aac"),
                Some("LC"),
                Some("48000"),
                Some(2)
            )
        );
        let bitrate = rendition.average_bandwidth;
        let nominal = if rendition.rung == "audio-96k" {
            96_000
        } else {
            64_000
        };
        // Encoded at its own bitrate: 96 and 64 kbit/s are told apart.
        assert!(
            bitrate.abs_diff(nominal) < nominal / 4,
            "{}: {bitrate} bit/s for {nominal}",
            rendition.rung
        );
    }
}

#[test]
fn a_clip_that_is_not_a_whole_number_of_segments_ends_with_a_shorter_segment() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "three.mp4", 3, 320, 180);
    let asset = encode(&clip, dir.path()).unwrap();

    assert_eq!(asset.duration, Ticks::from_secs(3));
    for rendition in &asset.renditions {
        let durations: Vec<Ticks> = rendition
            .segments
            .iter()
            .map(|segment| segment.duration)
            .collect();
        assert_eq!(
            durations,
            vec![Ticks(180_000), Ticks(90_000)],
            "{} {:?}",
            rendition.rung,
            rendition.packaging
        );
    }
}

#[test]
fn a_four_by_three_source_is_pillarboxed_to_the_rung_size_not_stretched() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "four-three.mp4", 2, 320, 240);
    let asset = encode(&clip, dir.path()).unwrap();

    let segment = dir.path().join(&asset.renditions[0].segments[0].path);
    let all = streams(&segment);
    let video = stream(&all, "video").unwrap();
    assert_eq!(
        (video["width"].as_u64(), video["height"].as_u64()),
        (Some(640), Some(360))
    );
    // 4:3 in 16:9 leaves 80 black columns each side; the SMPTE bars start white-ish at the left.
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
    let row = &pixels[180 * 640..181 * 640];
    assert!(
        row[..70].iter().all(|luma| *luma < 40),
        "left border {:?}",
        &row[..70]
    );
    assert!(
        row[90..150].iter().all(|luma| *luma > 100),
        "picture {:?}",
        &row[90..150]
    );
}

#[test]
fn a_clip_with_no_audio_still_gets_an_audio_track_in_every_rendition() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "with-audio.mp4", 4, 320, 180);
    let silent = dir.path().join("video-only.mp4");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-an",
        "-c",
        "copy",
        silent.to_str().unwrap(),
    ]);
    assert_eq!(probe(&silent).unwrap().audio, None);

    let asset = encode(&silent, dir.path()).unwrap();
    assert_eq!(asset.duration, Ticks::from_secs(4));
    for rendition in &asset.renditions {
        assert_eq!(rendition.segments.len(), 2);
        if rendition.packaging == Packaging::Cmaf {
            // The video tracks hold video only: the silent track is in the audio tracks.
            continue;
        }
        let segment = dir.path().join(&rendition.segments[1].path);
        let file = match &rendition.init_path {
            None => segment,
            Some(init) => {
                let joined = dir.path().join(format!("{}-joined.mp4", rendition.rung));
                let bytes = [
                    std::fs::read(dir.path().join(init)).unwrap(),
                    std::fs::read(&segment).unwrap(),
                ]
                .concat();
                std::fs::write(&joined, bytes).unwrap();
                joined
            }
        };
        let all = streams(&file);
        let audio = stream(&all, "audio")
            .unwrap_or_else(|| panic!("{} {:?} has no audio", rendition.rung, rendition.packaging));
        assert_eq!(
            (
                audio["codec_name"].as_str(),
                audio["sample_rate"].as_str(),
                audio["channels"].as_u64()
            ),
            (Some("aac"), Some("48000"), Some(2))
        );
    }
}

#[test]
fn a_text_file_named_mp4_fails_with_an_error_saying_it_is_not_a_media_file() {
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("notes.mp4");
    std::fs::write(&fake, "these are meeting notes, not a video\n".repeat(20)).unwrap();

    let error = encode(&fake, dir.path()).unwrap_err();
    assert!(matches!(error, MediaError::Unreadable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("notes.mp4") && message.contains("not a media file"),
        "{message}"
    );
    assert!(
        !dir.path().join("assets").exists(),
        "nothing is written for an unreadable input"
    );
}

#[test]
fn a_truncated_mp4_whose_index_was_at_the_end_fails_as_truncated() {
    // GStreamer's mp4mux writes the index (moov) last, so the first half of the file has none
    // and nothing in it is decodable; the box sizes say why.
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "whole.mp4", 4, 320, 180);
    let half = dir.path().join("half.mp4");
    truncate_copy(
        &clip,
        &half,
        std::fs::metadata(&clip).unwrap().len() as usize / 2,
    );

    let error = encode(&half, dir.path()).unwrap_err();
    assert!(matches!(error, MediaError::Unreadable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("half.mp4") && message.contains("truncated") && message.contains("'mdat'"),
        "{message}"
    );
}

#[test]
fn a_truncated_mp4_whose_index_is_up_front_fails_as_truncated_instead_of_encoding_half() {
    // With the index first (faststart) the first half would decode, and encoding it would
    // silently publish half a programme: the box sizes show the file was cut short.
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "whole.mp4", 4, 320, 180);
    let faststart = dir.path().join("faststart.mp4");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-c",
        "copy",
        "-movflags",
        "+faststart",
        faststart.to_str().unwrap(),
    ]);
    let half = dir.path().join("half.mp4");
    truncate_copy(
        &faststart,
        &half,
        std::fs::metadata(&faststart).unwrap().len() as usize / 2,
    );

    let error = encode(&half, dir.path()).unwrap_err();
    assert!(matches!(error, MediaError::Unreadable { .. }), "{error:?}");
    let message = error.to_string();
    assert!(
        message.contains("half.mp4") && message.contains("truncated") && message.contains("'mdat'"),
        "{message}"
    );
}

#[test]
fn a_truncated_file_that_still_decodes_fails_when_decoding_stops_short_of_its_declared_duration() {
    // Matroska declares its duration up front and has no sizes to check: the first half decodes
    // cleanly to an early end, which the encoder catches by comparing with the declared length.
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "whole.mp4", 4, 320, 180);
    let mkv = dir.path().join("whole.mkv");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-c",
        "copy",
        mkv.to_str().unwrap(),
    ]);
    let half = dir.path().join("half.mkv");
    truncate_copy(
        &mkv,
        &half,
        std::fs::metadata(&mkv).unwrap().len() as usize / 2,
    );

    let error = encode(&half, dir.path()).unwrap_err();
    let MediaError::Truncated {
        decoded, expected, ..
    } = &error
    else {
        panic!("{error:?}");
    };
    assert!(
        *decoded > 0.5 && *decoded < 3.0 && *expected >= 4.0,
        "{error}"
    );
    assert!(
        error.to_string().contains("half.mkv") && error.to_string().contains("truncated"),
        "{error}"
    );
    for folder in [
        "assets/7/360p/ts",
        "assets/7/360p/cmaf",
        "assets/7/audio-96k",
    ] {
        assert!(
            !dir.path().join(folder).exists(),
            "a failed encode leaves no half rendition: {folder}"
        );
    }
}

#[test]
fn a_30_fps_source_with_44_1_khz_mono_audio_is_normalised_to_the_ladder() {
    let dir = tempfile::tempdir().unwrap();
    let spec = onair_media::ClipSpec {
        title: "thirty".into(),
        subtitle: None,
        duration: Ticks::from_secs(4),
        width: 320,
        height: 180,
        fps: onair_media::FrameRate::new(30, 1),
        pattern: onair_media::TestPattern::Ball,
        tone_hz: 660,
    };
    let clip = dir.path().join("thirty.mp4");
    onair_media::generate_clip(&spec, &clip).unwrap();
    let mono = dir.path().join("mono.mp4");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-c:v",
        "copy",
        "-c:a",
        "aac",
        "-ac",
        "1",
        "-ar",
        "44100",
        mono.to_str().unwrap(),
    ]);

    let asset = encode(&mono, dir.path()).unwrap();
    assert_eq!(asset.duration, Ticks::from_secs(4));
    for rendition in asset
        .renditions
        .iter()
        .filter(|r| r.packaging == Packaging::Ts)
    {
        assert_eq!(
            rendition
                .segments
                .iter()
                .map(|s| s.duration)
                .collect::<Vec<_>>(),
            vec![Ticks(180_000); 2]
        );
        let all = streams(&dir.path().join(&rendition.segments[0].path));
        assert_eq!(stream(&all, "video").unwrap()["r_frame_rate"], "25/1");
        let audio = stream(&all, "audio").unwrap();
        assert_eq!(
            (audio["sample_rate"].as_str(), audio["channels"].as_u64()),
            (Some("48000"), Some(2))
        );
    }
}

#[test]
fn a_missing_input_fails_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let error = encode(&dir.path().join("nowhere.mp4"), dir.path()).unwrap_err();
    assert!(
        error.to_string().contains("nowhere.mp4: does not exist"),
        "{error}"
    );
}

#[test]
fn an_interlaced_source_is_deinterlaced_to_progressive_frames_at_the_ladder_rate() {
    let dir = tempfile::tempdir().unwrap();
    let clip = common::clip(dir.path(), "progressive.mp4", 4, 320, 180);
    let interlaced = dir.path().join("interlaced.mp4");
    ffmpeg(&[
        "-i",
        clip.to_str().unwrap(),
        "-vf",
        "tinterlace=interleave_top,fieldorder=tff",
        "-c:v",
        "libx264",
        "-flags",
        "+ilme+ildct",
        "-c:a",
        "copy",
        interlaced.to_str().unwrap(),
    ]);
    assert!(probe(&interlaced).unwrap().video.unwrap().interlaced);

    let asset = encode(&interlaced, dir.path()).unwrap();
    assert_eq!(asset.duration, Ticks::from_secs(4));
    let all = streams(&dir.path().join(&asset.renditions[0].segments[0].path));
    let video = stream(&all, "video").unwrap();
    assert_eq!(
        (
            video["field_order"].as_str(),
            video["r_frame_rate"].as_str()
        ),
        (Some("progressive"), Some("25/1"))
    );
}
