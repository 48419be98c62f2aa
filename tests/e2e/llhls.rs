//! End to end: a live source published with ffmpeg is also its own LL-HLS output. Its
//! multivariant playlist appears once every rendition has a segment; the media playlist lists
//! parts and a preload hint; a blocking request for the hinted part returns when it lands, and
//! so does a request for the hinted part's file; the spec's 400s; ffprobe reads a stream built
//! from the init segment and parts; when ffmpeg stops, the playlist ends.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{Server, copy_demo_database, get_text, onair};
use onair_media::{LiveInput, TestStreamSpec, test_source_args};

/// A copy of the demo database with a live source `stage` on the demo ladder, and a server on
/// it (`loudness` as given) writing to a media folder of its own. Returns the key too.
fn stage_server(dir: &Path, loudness: bool) -> (Server, String) {
    copy_demo_database(dir);
    let media = dir.join("media");
    std::fs::create_dir_all(&media).unwrap();
    let env = [
        ("ONAIR_DATA_DIR", dir.to_str().unwrap()),
        ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
    ];
    let added = onair(&["live", "add", "stage", "--ladder", "demo"], &env);
    let stdout = String::from_utf8_lossy(&added.stdout).into_owned();
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let key = stdout
        .lines()
        .find_map(|line| line.strip_prefix("stream key: "))
        .unwrap_or_else(|| panic!("no stream key in {stdout}"))
        .trim()
        .to_owned();
    let config = dir.join("onair.toml");
    std::fs::write(&config, format!("[live]\nloudness = {loudness}\n")).unwrap();
    let server = Server::start_with(&["--config", config.to_str().unwrap(), "serve"], &env);
    (server, key)
}

/// ffmpeg publishing the live test pattern (media::live's, with its capture-time code) to `url`.
fn publish(url: &str) -> Child {
    let mut spec = TestStreamSpec::new(LiveInput::Flv);
    spec.duration = Some(Duration::from_secs(300));
    Command::new("ffmpeg")
        .arg("-nostdin")
        .args(test_source_args(&spec, url))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ffmpeg runs (scripts/install-deps installs it)")
}

/// What a media playlist says of its end: the last segment's number, how many parts it lists
/// (after the last EXTINF), the part URIs and the hint.
#[derive(Debug)]
struct Edge {
    last_msn: u64,
    trailing_parts: u32,
    parts: Vec<String>,
    hint: Option<String>,
}

fn edge(text: &str) -> Edge {
    let attribute = |line: &str, name: &str| -> Option<String> {
        let at = line.find(&format!("{name}="))? + name.len() + 1;
        let rest = &line[at..];
        let value = if let Some(quoted) = rest.strip_prefix('"') {
            &quoted[..quoted.find('"')?]
        } else {
            rest.split(',').next()?
        };
        Some(value.to_owned())
    };
    let mut media_sequence = 0;
    let (mut complete, mut trailing_parts) = (0u64, 0u32);
    let (mut parts, mut hint) = (Vec::new(), None);
    for line in text.lines() {
        if let Some(sequence) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            media_sequence = sequence.parse().unwrap();
        } else if line.starts_with("#EXTINF:") {
            complete += 1;
            trailing_parts = 0;
        } else if line.starts_with("#EXT-X-PART:") {
            trailing_parts += 1;
            parts.push(attribute(line, "URI").unwrap());
        } else if line.starts_with("#EXT-X-PRELOAD-HINT:") {
            hint = attribute(line, "URI");
        }
    }
    let last_msn = if trailing_parts > 0 {
        media_sequence + complete
    } else {
        media_sequence + complete - 1
    };
    Edge {
        last_msn,
        trailing_parts,
        parts,
        hint,
    }
}

fn get_bytes(url: &str) -> (u16, Vec<u8>) {
    support::block_on(async {
        let response = support::client().get(url).send().await.unwrap();
        (
            response.status().as_u16(),
            response.bytes().await.unwrap().to_vec(),
        )
    })
}

#[test]
fn a_published_source_is_its_own_ll_hls_output() {
    let dir = tempfile::tempdir().unwrap();
    let (server, key) = stage_server(dir.path(), true);
    let (rtmp, _) = server.ingest.clone().expect("the ingest listens");
    let multivariant = format!("{}/live/stage/llhls.m3u8", server.url);
    let (status, text) = get_text(&multivariant);
    assert_eq!(status, 404, "{text}");
    assert!(
        text.contains("live source stage is not publishing"),
        "{text}"
    );

    let mut encoder = publish(&rtmp.replace("KEY", &key));
    let deadline = Instant::now() + Duration::from_secs(30);
    let text = loop {
        let (status, text) = get_text(&multivariant);
        if status == 200 {
            break text;
        }
        assert!(
            Instant::now() < deadline,
            "no LL-HLS multivariant playlist 30 s after publishing: {status} {text}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert!(text.contains("\n360p/llhls.m3u8\n"), "{text}");
    assert!(text.contains("URI=\"audio-96k/llhls.m3u8\""), "{text}");

    let playlist = format!("{}/live/stage/360p/llhls.m3u8", server.url);
    let (status, text) = get_text(&playlist);
    assert_eq!(status, 200, "{text}");
    for tag in [
        "#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES,",
        "#EXT-X-PART-INF:PART-TARGET=0.500",
        "#EXT-X-MAP:URI=\"init-0.mp4\"",
        "#EXT-X-PART:DURATION=",
        "#EXT-X-PRELOAD-HINT:TYPE=PART,URI=",
        "#EXT-X-RENDITION-REPORT:URI=\"../240p/llhls.m3u8\"",
    ] {
        assert!(text.contains(tag), "no {tag} in {text}");
    }

    // A blocking request for the hinted part returns when it lands, listing it.
    let now = edge(&text);
    let hint = now.hint.clone().expect("a preload hint");
    let (msn, part) = if now.trailing_parts < 4 {
        (now.last_msn, now.trailing_parts)
    } else {
        (now.last_msn + 1, 0)
    };
    let asked = Instant::now();
    let (status, text) = get_text(&format!("{playlist}?_HLS_msn={msn}&_HLS_part={part}"));
    let blocked = asked.elapsed();
    assert_eq!(status, 200, "{text}");
    assert!(
        edge(&text).parts.contains(&hint),
        "the hinted part {hint} is not listed after {blocked:?}: {text}"
    );
    assert!(blocked < Duration::from_secs(2), "{blocked:?}");
    println!("a blocking request for {msn}.{part} was answered in {blocked:?}");

    // The next hinted part's file is held until it is written.
    let hint = edge(&text).hint.expect("a preload hint");
    let asked = Instant::now();
    let (status, bytes) = get_bytes(&format!("{}/live/stage/360p/{hint}", server.url));
    assert_eq!(status, 200, "{hint}");
    assert!(!bytes.is_empty());
    println!("the hinted part {hint} was served in {:?}", asked.elapsed());

    // The spec's 400s: a part no segment has, a segment too far ahead.
    let far = edge(&text).last_msn + 3;
    for query in [
        "_HLS_msn=1&_HLS_part=9".to_owned(),
        format!("_HLS_msn={far}"),
    ] {
        let (status, text) = get_text(&format!("{playlist}?{query}"));
        assert_eq!(status, 400, "{query}: {text}");
    }

    // A stream built from the init segment and the listed parts plays: H.264 at 360p.
    let text = get_text(&playlist).1;
    let mut stream = get_bytes(&format!("{}/live/stage/360p/init-0.mp4", server.url)).1;
    let parts = edge(&text).parts;
    for uri in &parts {
        let (status, bytes) = get_bytes(&format!("{}/live/stage/360p/{uri}", server.url));
        assert_eq!(status, 200, "{uri}");
        stream.extend(bytes);
    }
    let file = dir.path().join("parts.mp4");
    std::fs::write(&file, &stream).unwrap();
    let probe = Command::new("ffprobe")
        .args(["-v", "error", "-count_frames", "-select_streams", "v:0"])
        .args([
            "-show_entries",
            "stream=codec_name,height,nb_read_frames",
            "-of",
            "json",
        ])
        .arg(&file)
        .output()
        .expect("ffprobe runs");
    let probed = String::from_utf8_lossy(&probe.stdout);
    assert!(probe.status.success(), "{probed}");
    assert!(
        probed.contains("h264") && probed.contains("\"height\": 360"),
        "{probed}"
    );
    let frames: u64 = probed
        .split("\"nb_read_frames\": \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{probed}"));
    // 0.5 s parts at 25 fps: about 12 frames each. One part's worth of slack: on a loaded
    // machine the real-time publisher falls a frame or two behind (65 frames in 6 parts, seen
    // in a full run), which is not what this checks.
    assert!(
        frames as usize >= (parts.len() - 1) * 11,
        "{frames} frames in {} parts",
        parts.len()
    );

    // When the publisher stops, the playlist ends and the source is no longer listed.
    encoder.kill().unwrap();
    encoder.wait().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (_, text) = get_text(&playlist);
        if text.contains("#EXT-X-ENDLIST") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no EXT-X-ENDLIST 30 s after the publisher stopped: {text}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(get_text(&multivariant).0, 404);
}
