//! SCTE-35 inside the MPEG-TS segments, through the real binary on the demo channel: the break's
//! first segment and the first after it, fetched through the HLS-TS playlist, carry an SCTE-35
//! stream that ffprobe lists as a data stream, and that threefive (an SCTE-35 decoder
//! independent of onair's encoder, installed by `scripts/install-deps --test` in
//! `target/scte35-venv`) reads back to the same splice as the playlist's cue, spliced at the
//! segment's first video PTS.
//!
//! The break is found as the `players` tests find one: the guide says when the programme airing
//! now started, right after an ad break, and a server all but frozen at an instant lists the
//! 20 s before it.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{
    Server, demo_data_dir, demo_programme_starts, demo_server_on_clock, get_text,
};
use chrono::{DateTime, Utc};
use serde_json::Value;

/// A thousandth of real time: the window stays put while the test reads it.
const PROBE_SPEED: f64 = 0.001;
const PTS_MODULUS: i64 = 1 << 33;

/// The Python with threefive: `ONAIR_SCTE35_PYTHON`, or the venv `scripts/install-deps --test`
/// makes under target/.
fn threefive_python() -> PathBuf {
    let python = std::env::var_os("ONAIR_SCTE35_PYTHON").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("target/scte35-venv/bin/python"),
        PathBuf::from,
    );
    assert!(
        python.exists(),
        "{} is missing: run scripts/install-deps --test (it installs threefive there)",
        python.display()
    );
    python
}

fn get_bytes(url: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = reqwest::get(url).await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.bytes().await.unwrap().to_vec())
    })
}

/// What a playlist says about one cued segment.
#[derive(Debug)]
struct CuedSegment {
    /// The URI as listed (relative to the playlist).
    uri: String,
    /// The section the playlist gives for it: `EXT-OATCLS-SCTE35` (out) or `SCTE35-IN` (in).
    playlist_cue: String,
}

/// The playlist of the demo channel's 360p rung on a server frozen at `at`.
fn playlist_at(at: DateTime<Utc>) -> (Server, tempfile::TempDir, String) {
    let (server, config) = demo_server_on_clock(at, PROBE_SPEED);
    let (status, text) = get_text(&format!("{}/channels/demo/360p/ts.m3u8", server.url));
    assert_eq!(status, 200, "{text}");
    (server, config, text)
}

/// The first server, frozen a few seconds after `at`, whose playlist lists the segment `find`
/// looks for (a segment is listed once it has ended and the live delay has passed).
fn listing(
    at: DateTime<Utc>,
    find: fn(&str) -> Option<CuedSegment>,
) -> (Server, tempfile::TempDir, String, CuedSegment) {
    let mut last = String::new();
    for lead in [3, 5, 7, 9, 11, 13] {
        let (server, config, text) = playlist_at(at + chrono::Duration::seconds(lead));
        if let Some(segment) = find(&text) {
            return (server, config, text, segment);
        }
        last = text;
    }
    panic!("no cued segment within 13 s of {at}: {last}");
}

/// The first segment URI after line `from`.
fn next_uri(lines: &[&str], from: usize) -> String {
    lines[from..]
        .iter()
        .find(|line| !line.starts_with('#'))
        .expect("a segment after the tag")
        .to_string()
}

fn attribute<'a>(line: &'a str, name: &str) -> &'a str {
    let rest = &line[line.find(&format!("{name}=")).unwrap() + name.len() + 1..];
    let rest = rest.trim_start_matches('"');
    &rest[..rest.find(['"', ',']).unwrap_or(rest.len())]
}

/// The break's first segment (after `EXT-X-CUE-OUT`) in `text`, if listed.
fn cue_out(text: &str) -> Option<CuedSegment> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines
        .iter()
        .position(|line| line.starts_with("#EXT-OATCLS-SCTE35:"))?;
    Some(CuedSegment {
        uri: next_uri(&lines, at),
        playlist_cue: lines[at]["#EXT-OATCLS-SCTE35:".len()..].to_owned(),
    })
}

/// The first segment after the break (after `EXT-X-CUE-IN`) in `text`, if listed.
fn cue_in(text: &str) -> Option<CuedSegment> {
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|line| *line == "#EXT-X-CUE-IN")?;
    let daterange = lines[..at]
        .iter()
        .rev()
        .find(|line| line.contains("SCTE35-IN="))
        .expect("a DATERANGE with SCTE35-IN before EXT-X-CUE-IN");
    Some(CuedSegment {
        uri: next_uri(&lines, at),
        playlist_cue: attribute(daterange, "SCTE35-IN").to_owned(),
    })
}

/// ffprobe's streams of `file`.
fn ffprobe_streams(file: &Path) -> Vec<Value> {
    let output = Command::new("ffprobe")
        .args(["-v", "error", "-show_streams", "-of", "json"])
        .arg(file)
        .output()
        .expect("ffprobe runs");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let probed: Value = serde_json::from_slice(&output.stdout).unwrap();
    probed["streams"].as_array().unwrap().clone()
}

/// threefive's reading of the cues in `file` and of the playlist's `cue`.
fn threefive(file: &Path, cue: &str) -> Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/e2e/support/scte35_decode.py");
    let output = Command::new(threefive_python())
        .arg(script)
        .arg(file)
        .arg(cue)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "threefive: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Seconds as threefive gives them (six decimals) to 90 kHz ticks.
fn ticks(seconds: &Value) -> i64 {
    (seconds.as_f64().unwrap() * 90_000.0).round() as i64
}

/// Fetches `segment` through `server`'s playlist and checks it carries its playlist's cue.
fn check_cued_segment(server: &Server, segment: &CuedSegment, out_of_network: bool) {
    assert!(
        segment.uri.starts_with("scte35/"),
        "a cued segment's URL: {}",
        segment.uri
    );
    let url = format!("{}/channels/demo/360p/{}", server.url, segment.uri);
    let (status, headers, cued) = get_bytes(&url);
    assert_eq!(status, 200, "{url}");
    assert_eq!(headers["content-type"], "video/mp2t");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let file_path = segment.uri.splitn(6, '/').nth(5).unwrap();
    let (status, _, original) = get_bytes(&format!("{}/media/{file_path}", server.url));
    assert_eq!(status, 200);
    assert_eq!(
        cued.len(),
        original.len() + 188,
        "one packet of SCTE-35 added"
    );
    assert_eq!(get_bytes(&url).2, cued, "the same bytes again");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cued.ts");
    std::fs::write(&file, &cued).unwrap();
    let streams = ffprobe_streams(&file);
    let data: Vec<&Value> = streams
        .iter()
        .filter(|stream| stream["codec_type"] == "data")
        .collect();
    assert_eq!(data.len(), 1, "{streams:#?}");
    assert_eq!(data[0]["codec_name"], "scte_35");
    assert_eq!(data[0]["id"], "0x1f0");
    let video = streams
        .iter()
        .find(|stream| stream["codec_type"] == "video")
        .unwrap();
    let video_start_pts = video["start_pts"].as_i64().unwrap();

    let decoded = threefive(&file, &segment.playlist_cue);
    let found = decoded["stream"].as_array().unwrap();
    assert_eq!(found.len(), 1, "one cue in the segment: {decoded:#}");
    let (in_stream, in_playlist) = (&found[0], &decoded["playlist"]);
    assert_eq!(
        in_stream["command"], in_playlist["command"],
        "the same splice as the playlist's"
    );
    assert_eq!(in_stream["descriptors"], in_playlist["descriptors"]);
    let command = &in_stream["command"];
    assert_eq!(command["name"], "Splice Insert");
    assert_eq!(command["out_of_network_indicator"], out_of_network);
    assert_eq!(
        command["splice_event_id"],
        in_playlist["command"]["splice_event_id"]
    );
    assert_eq!(ticks(&in_playlist["info_section"]["pts_adjustment"]), 0);
    // Spliced at the segment's IDR: pts_time + pts_adjustment is its first video PTS.
    let splice = (ticks(&command["pts_time"])
        + ticks(&in_stream["info_section"]["pts_adjustment"]))
    .rem_euclid(PTS_MODULUS);
    assert!(
        (splice - video_start_pts).abs() <= 1,
        "splice at {splice}, first video PTS {video_start_pts}"
    );
}

#[test]
fn a_breaks_ts_segments_carry_the_playlists_cue_that_ffprobe_lists_and_threefive_reads_back() {
    let guide = Server::start(&demo_data_dir());
    let programme_start = demo_programme_starts(&guide)[0];
    drop(guide);

    // Just after the break: its last segments and the first after it.
    let (after, _after_config, text, back) = listing(programme_start, cue_in);
    check_cued_segment(&after, &back, false);

    // Just after it started, found from the range the playlist declares.
    let break_start = text
        .lines()
        .find(|line| line.starts_with("#EXT-X-DATERANGE:") && line.contains("SCTE35-OUT="))
        .map(|line| attribute(line, "START-DATE"))
        .expect("the break's range is declared");
    let break_start = DateTime::parse_from_rfc3339(break_start).unwrap().to_utc();
    let (start, _start_config, text, out) = listing(break_start, cue_out);
    check_cued_segment(&start, &out, true);

    // Every other segment is the file's; and another replica serves a cued URL the same.
    for line in text.lines().filter(|line| !line.starts_with('#')) {
        assert!(
            line.starts_with("/media/") || *line == out.uri || *line == back.uri,
            "{line}"
        );
    }
    for uri in [&out.uri, &back.uri] {
        let url = |server: &Server| format!("{}/channels/demo/360p/{uri}", server.url);
        assert_eq!(get_bytes(&url(&start)).2, get_bytes(&url(&after)).2);
    }
}

#[test]
fn a_cued_segment_url_that_names_no_cue_or_no_file_is_refused_with_why() {
    let server = Server::start(&demo_data_dir());
    for (path, status, message) in [
        (
            "360p/scte35/1/sideways/0/0/assets/1/360p/ts/00000.ts",
            400,
            "unknown cue \"sideways\"",
        ),
        (
            "360p/scte35/1/out/8589934592/0/assets/1/360p/ts/00000.ts",
            400,
            "pts_time \"8589934592\"",
        ),
        (
            "360p/scte35/1/out/0/0/assets/1/360p/init.mp4",
            400,
            "only plain relative paths to .ts files",
        ),
        (
            "360p/scte35/1/out/0/0/assets/999/360p/ts/00000.ts",
            404,
            "no segment assets/999/360p/ts/00000.ts",
        ),
        (
            "4k/scte35/1/out/0/0/assets/1/360p/ts/00000.ts",
            404,
            "channel demo has no rung 4k",
        ),
    ] {
        let (got, body) = get_text(&format!("{}/channels/demo/{path}", server.url));
        assert_eq!(got, status, "{path}: {body}");
        assert!(body.contains(message), "{path}: {body}");
    }
    let (got, body) = get_text(&format!(
        "{}/channels/nope/360p/scte35/1/out/0/0/assets/1/360p/ts/00000.ts",
        server.url
    ));
    assert_eq!((got, body.trim()), (404, "unknown channel nope"));
}
