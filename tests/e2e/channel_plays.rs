//! End to end: the real `onair` binary serves the demo channel, ffmpeg reads it across a clip
//! boundary, and successive playlist polls never contradict each other. The demo's programmes
//! last minutes: the tests that must cross a boundary run a server whose clock (at normal
//! speed) starts in the ad break before a programme the guide lists, where slate runs of a few
//! seconds follow each other.

use std::collections::HashMap;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{
    Server, demo_data_dir, demo_programme_starts, demo_server_on_clock, get_text,
};

/// What one poll of a media playlist says about one segment.
#[derive(Debug, Clone, PartialEq)]
struct Listed {
    uri: String,
    duration_millis: u64,
    discontinuity_sequence: u64,
    /// From the last PROGRAM-DATE-TIME tag plus the durations since, in Unix milliseconds.
    program_date_time_millis: i64,
}

fn poll(url: &str) -> (u64, u64, Vec<(u64, Listed)>) {
    let (status, text) = get_text(url);
    assert_eq!(status, 200, "{url}: {text}");
    let playlist = match m3u8_rs::parse_media_playlist_res(text.as_bytes()) {
        Ok(playlist) => playlist,
        Err(error) => panic!("{url} is not a media playlist ({error:?}):\n{text}"),
    };
    let mut cc = playlist.discontinuity_sequence;
    let mut listed = Vec::new();
    let mut pdt_millis = None;
    for (offset, segment) in playlist.segments.iter().enumerate() {
        if segment.discontinuity {
            cc += 1;
        }
        if let Some(at) = segment.program_date_time {
            pdt_millis = Some(at.timestamp_millis());
        }
        let pdt = pdt_millis.expect("the first segment carries a PROGRAM-DATE-TIME");
        pdt_millis = Some(pdt + (segment.duration as f64 * 1000.0).round() as i64);
        listed.push((
            playlist.media_sequence + offset as u64,
            Listed {
                uri: segment.uri.clone(),
                duration_millis: (segment.duration as f64 * 1000.0).round() as u64,
                discontinuity_sequence: cc,
                program_date_time_millis: pdt,
            },
        ));
    }
    (
        playlist.media_sequence,
        playlist.discontinuity_sequence,
        listed,
    )
}

/// A server at normal speed whose clock starts `lead` before the programme airing now starts,
/// in the ad break before it.
fn server_before_a_programme(lead: Duration) -> (Server, tempfile::TempDir) {
    let guide = Server::start(&demo_data_dir());
    let programme_start = demo_programme_starts(&guide)[0];
    drop(guide);
    demo_server_on_clock(
        programme_start - chrono::Duration::from_std(lead).unwrap(),
        1.0,
    )
}

#[test]
fn successive_playlist_polls_never_contradict_each_other() {
    let (server, _config) = server_before_a_programme(Duration::from_secs(30));
    let url = format!("{}/channels/demo/360p/ts.m3u8", server.url);
    let mut seen: HashMap<u64, Listed> = HashMap::new();
    let mut last_media_sequence = 0;
    let mut last_discontinuity_sequence = 0;
    let mut discontinuities_seen = std::collections::HashSet::new();
    let started = Instant::now();
    let mut polls = 0;
    // 26 s of polling from 30 s before a programme crosses the slate runs of its ad break.
    while started.elapsed() < Duration::from_secs(26) {
        let (media_sequence, discontinuity_sequence, listed) = poll(&url);
        polls += 1;
        assert!(
            media_sequence >= last_media_sequence,
            "media sequence went back: {last_media_sequence} -> {media_sequence}"
        );
        assert!(
            discontinuity_sequence >= last_discontinuity_sequence,
            "discontinuity sequence went back: {last_discontinuity_sequence} -> {discontinuity_sequence}"
        );
        (last_media_sequence, last_discontinuity_sequence) =
            (media_sequence, discontinuity_sequence);
        assert!(!listed.is_empty(), "the demo channel always lists segments");
        for (sequence, segment) in listed {
            discontinuities_seen.insert(segment.discontinuity_sequence);
            if let Some(before) = seen.get(&sequence) {
                assert_eq!(before, &segment, "segment {sequence} changed between polls");
            }
            seen.insert(sequence, segment);
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    assert!(polls > 20, "polled {polls} times");
    assert!(
        discontinuities_seen.len() >= 2,
        "a clip boundary was crossed: {discontinuities_seen:?}"
    );
}

#[test]
fn ffmpeg_reads_the_channel_for_twenty_seconds_across_a_clip_boundary() {
    let (server, _config) = server_before_a_programme(Duration::from_secs(20));
    let url = format!("{}/channels/demo/360p/ts.m3u8", server.url);
    let (_, first_discontinuity, _) = poll(&url);
    let started = Instant::now();
    // Start three segments (6 s) behind the live edge and read 27 s: at least 21 s must be
    // waited for as the channel advances with the clock, through the end of an ad break and
    // into the programme after it.
    let output = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-hide_banner",
            "-v",
            "error",
            "-live_start_index",
            "-3",
            "-i",
            &url,
        ])
        .args(["-map", "0:v", "-map", "0:a", "-t", "27", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs (scripts/install-deps installs it)");
    let elapsed = started.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "ffmpeg failed: {stderr}");
    assert!(
        stderr.trim().is_empty(),
        "ffmpeg reported errors:\n{stderr}"
    );
    assert!(
        elapsed >= Duration::from_secs(20),
        "ffmpeg read for {elapsed:?} of wall time"
    );
    let (_, last_discontinuity, listed) = poll(&url);
    let last_cc = listed
        .last()
        .map(|(_, segment)| segment.discontinuity_sequence)
        .unwrap_or(last_discontinuity);
    assert!(
        last_cc > first_discontinuity,
        "the read crossed a clip boundary ({first_discontinuity} -> {last_cc})"
    );
}

#[test]
fn the_multivariant_playlist_lists_every_rung_with_its_attributes() {
    let server = Server::start(&demo_data_dir());
    let (status, text) = get_text(&format!("{}/channels/demo/master.m3u8", server.url));
    assert_eq!(status, 200);
    let master =
        m3u8_rs::parse_master_playlist_res(text.as_bytes()).expect("a multivariant playlist");
    let uris: Vec<&str> = master
        .variants
        .iter()
        .map(|variant| variant.uri.as_str())
        .collect();
    assert_eq!(uris, ["360p/ts.m3u8", "240p/ts.m3u8"]);
    for variant in &master.variants {
        assert!(
            variant.average_bandwidth.is_some()
                && variant.resolution.is_some()
                && variant.frame_rate.is_some(),
            "{text}"
        );
        assert_eq!(
            variant
                .codecs
                .as_deref()
                .map(|c| c.starts_with("avc1.64") && c.ends_with(",mp4a.40.2")),
            Some(true)
        );
        let (status, _) = get_text(&format!("{}/channels/demo/{}", server.url, variant.uri));
        assert_eq!(status, 200, "{} is served", variant.uri);
    }
}

#[test]
fn the_home_page_embeds_a_player_of_the_demo_channel() {
    let server = Server::start(&demo_data_dir());
    let (status, html) = get_text(&format!("{}/", server.url));
    assert_eq!(status, 200);
    assert!(
        html.contains("/channels/demo/master.m3u8") && html.contains("/static/hls.min.js"),
        "{html}"
    );
}

#[test]
fn an_unknown_channel_is_a_404_with_a_message() {
    let server = Server::start(&demo_data_dir());
    let (status, body) = get_text(&format!("{}/channels/nope/master.m3u8", server.url));
    assert_eq!(status, 404);
    assert!(body.contains("nope"), "{body}");
}

#[test]
fn a_second_demo_run_reuses_what_the_first_made() {
    let dir = demo_data_dir();
    let before = std::fs::read_dir(dir.join("media/assets")).unwrap().count();
    let again = support::onair(
        &["demo", "--setup-only"],
        &[
            ("ONAIR_DATA_DIR", dir.to_str().unwrap()),
            ("ONAIR_LOG", "info"),
        ],
    );
    assert!(again.status.success());
    let log = String::from_utf8_lossy(&again.stderr);
    assert!(
        !log.contains("generating clip"),
        "nothing is generated again:\n{log}"
    );
    assert_eq!(
        std::fs::read_dir(dir.join("media/assets")).unwrap().count(),
        before
    );
}
