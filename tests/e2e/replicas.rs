//! Replicas and restarts: manifests are a pure function of the database and the clock, so two
//! `onair serve` processes on one database, on the same (frozen) virtual clock, serve the same
//! bytes, and stopping one and starting it again changes nothing a player sees. And time is an
//! input: at speed 60 the channel moves sixty times faster than the wall clock, its numbers
//! still never going back.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{Server, demo_data_dir, demo_programme_starts};

/// A configuration whose virtual clock starts at `start` and runs at `speed`.
fn clock_config(dir: &Path, start: chrono::DateTime<chrono::Utc>, speed: f64) -> String {
    let path = dir.join(format!("clock-{speed}-{}.toml", start.timestamp_millis()));
    std::fs::write(
        &path,
        format!(
            "[playout]\nvirtual_clock = {{ start = \"{}\", speed = {speed:?} }}\n",
            start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    )
    .unwrap();
    path.to_str().unwrap().to_owned()
}

/// `seconds` after `hours` o'clock UTC today: inside the demo grid, which starts at the UTC
/// midnight of the day it was set up and repeats daily.
fn today_at(hours: i64, seconds: f64) -> chrono::DateTime<chrono::Utc> {
    let midnight = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc();
    midnight
        + chrono::Duration::hours(hours)
        + chrono::Duration::milliseconds((seconds * 1000.0) as i64)
}

/// A frozen instant whose 360p window shows the most a player can meet: two discontinuities or
/// more and an ad break's SCTE-35 markers. Found by asking servers frozen at instants 4 s apart
/// (the window moves by 2 s segments) from 80 s before the second programme the guide lists
/// after 09:00 UTC today: the ad break before it starts within those 80 s, and airs as slate
/// runs of a few seconds. Its configuration file is returned with it.
fn instant_with_a_break_in_the_window(dir: &Path) -> (String, chrono::DateTime<chrono::Utc>) {
    let guide = serve(&clock_config(dir, today_at(9, 0.0), 0.0));
    let programme_start = demo_programme_starts(&guide)[1];
    drop(guide);
    let mut fallback = None;
    for step in 0..20 {
        let at = programme_start + chrono::Duration::milliseconds(500 - 80_000 + 4_000 * step);
        let config = clock_config(dir, at, 0.0);
        let server = serve(&config);
        let seen = fetch(&format!("{}/channels/demo/360p/ts.m3u8", server.url), false);
        let text = String::from_utf8_lossy(&seen.body);
        let discontinuities = text.matches("#EXT-X-DISCONTINUITY\n").count();
        if discontinuities >= 2 && text.contains("SCTE35-OUT") {
            return (config, at);
        }
        if discontinuities >= 2 && fallback.is_none() {
            fallback = Some((config, at));
        }
    }
    fallback.expect("a window with two discontinuities within 80 s before a programme")
}

fn serve(config: &str) -> Server {
    let data = demo_data_dir();
    Server::start_with(
        &["--config", config, "serve"],
        &[("ONAIR_DATA_DIR", data.to_str().unwrap())],
    )
}

/// One response as a player or a CDN sees it: status, the headers that matter, and the bytes.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

const COMPARED_HEADERS: [&str; 6] = [
    "content-type",
    "content-encoding",
    "content-length",
    "cache-control",
    "etag",
    "vary",
];

fn fetch(url: &str, gzip: bool) -> Seen {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = support::client().get(url);
        if gzip {
            request = request.header("accept-encoding", "gzip");
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = COMPARED_HEADERS
            .iter()
            .filter_map(|name| {
                let value = response.headers().get(*name)?;
                Some((name.to_string(), value.to_str().unwrap().to_owned()))
            })
            .collect();
        let body = response.bytes().await.unwrap().to_vec();
        Seen {
            status,
            headers,
            body,
        }
    })
}

/// Every manifest of the demo channel a player can ask for, by path: the multivariant playlist,
/// each variant's media playlist (found in the multivariant playlist), the fMP4 multivariant and
/// media playlists and the MPD when the origin serves them.
fn manifest_paths(base: &str) -> Vec<String> {
    let mut paths = vec!["/channels/demo/master.m3u8".to_owned()];
    let master = fetch(&format!("{base}/channels/demo/master.m3u8"), false);
    assert_eq!(master.status, 200);
    let text = String::from_utf8(master.body).unwrap();
    let master = m3u8_rs::parse_master_playlist_res(text.as_bytes()).expect("a master playlist");
    assert!(!master.variants.is_empty(), "{text}");
    for variant in &master.variants {
        paths.push(format!("/channels/demo/{}", variant.uri));
        let rung = variant.uri.split('/').next().unwrap();
        paths.push(format!("/channels/demo/{rung}/fmp4.m3u8"));
    }
    paths.push("/channels/demo/master-fmp4.m3u8".to_owned());
    paths.push("/channels/demo/manifest.mpd".to_owned());
    paths
}

/// What `server` serves at every path, plain and gzipped. Paths that answer 404 are kept as
/// such, so a replica that serves what another does not is caught too.
fn snapshot(server: &Server, paths: &[String]) -> HashMap<String, Seen> {
    let mut seen = HashMap::new();
    for path in paths {
        for gzip in [false, true] {
            let key = format!("{path} (gzip: {gzip})");
            seen.insert(key, fetch(&format!("{}{path}", server.url), gzip));
        }
    }
    seen
}

fn assert_same(what: &str, left: &HashMap<String, Seen>, right: &HashMap<String, Seen>) {
    let mut keys: Vec<&String> = left.keys().collect();
    keys.sort();
    for key in keys {
        let (a, b) = (&left[key], &right[key]);
        assert!(
            a == b,
            "{what}: {key} differs:\n--- one:\n{:?} {}\n--- other:\n{:?} {}",
            a.headers,
            String::from_utf8_lossy(&a.body),
            b.headers,
            String::from_utf8_lossy(&b.body)
        );
    }
}

#[test]
fn two_replicas_on_one_database_serve_the_same_bytes_and_a_restart_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (config, instant) = instant_with_a_break_in_the_window(dir.path());
    let one = serve(&config);
    let two = serve(&config);
    let paths = manifest_paths(&one.url);
    let from_one = snapshot(&one, &paths);
    let from_two = snapshot(&two, &paths);

    let served: Vec<&String> = paths
        .iter()
        .filter(|path| from_one[&format!("{path} (gzip: false)")].status == 200)
        .collect();
    let skipped: Vec<&String> = paths.iter().filter(|path| !served.contains(path)).collect();
    if !skipped.is_empty() {
        eprintln!(
            "\n==== NOT COMPARED (404, not served yet): {} ====\n",
            skipped
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    assert!(
        served.len() >= 3,
        "the multivariant and media playlists are served: {served:?}"
    );
    let media = &from_one["/channels/demo/360p/ts.m3u8 (gzip: false)"];
    let text = String::from_utf8_lossy(&media.body);
    assert!(
        text.matches("#EXT-X-DISCONTINUITY\n").count() >= 2,
        "the frozen window crosses two clip boundaries:\n{text}"
    );
    let with_break = text.contains("SCTE35-OUT");
    assert_eq!(
        media.headers.get("content-encoding"),
        None,
        "plain when gzip is not asked for"
    );
    assert_eq!(
        from_one["/channels/demo/360p/ts.m3u8 (gzip: true)"]
            .headers
            .get("content-encoding")
            .map(String::as_str),
        Some("gzip")
    );
    assert_same("two replicas", &from_one, &from_two);

    // A frozen clock: waiting past the refresh interval and a segment changes nothing either.
    std::thread::sleep(Duration::from_millis(2_500));
    assert_same(
        "one replica, 2.5 s later",
        &from_one,
        &snapshot(&one, &paths),
    );

    // Stop one replica and start it again: what players see is unchanged.
    drop(one);
    let again = serve(&config);
    assert_same(
        "before and after a restart",
        &from_one,
        &snapshot(&again, &paths),
    );
    assert_same(
        "the restarted replica and the other",
        &from_two,
        &snapshot(&again, &paths),
    );
    eprintln!(
        "compared {} manifests (plain and gzipped) at {instant} across two replicas and a \
         restart; the window {} an ad break's SCTE-35 markers",
        served.len(),
        if with_break { "shows" } else { "does not show" }
    );
}

/// One poll: the wall-clock instant in the middle of the request, and the playlist.
struct Poll {
    at: Instant,
    media_sequence: u64,
    discontinuity_sequence: u64,
    /// (media sequence, uri, duration ms, discontinuity sequence, program date time ms)
    segments: Vec<(u64, String, i64, u64, i64)>,
}

impl Poll {
    /// Where the window ends, in Unix milliseconds of the channel's (virtual) time.
    fn live_edge_millis(&self) -> i64 {
        let (_, _, duration, _, start) = self.segments.last().unwrap();
        start + duration
    }
}

fn poll(url: &str) -> Poll {
    let before = Instant::now();
    let seen = fetch(url, false);
    let at = before + (Instant::now() - before) / 2;
    assert_eq!(seen.status, 200);
    let playlist = m3u8_rs::parse_media_playlist_res(&seen.body).expect("a media playlist");
    let mut cc = playlist.discontinuity_sequence;
    let mut pdt = None;
    let mut segments = Vec::new();
    for (offset, segment) in playlist.segments.iter().enumerate() {
        if segment.discontinuity {
            cc += 1;
        }
        if let Some(at) = segment.program_date_time {
            pdt = Some(at.timestamp_millis());
        }
        let start = pdt.expect("the first segment has a PROGRAM-DATE-TIME");
        let duration = (f64::from(segment.duration) * 1000.0).round() as i64;
        pdt = Some(start + duration);
        segments.push((
            playlist.media_sequence + offset as u64,
            segment.uri.clone(),
            duration,
            cc,
            start,
        ));
    }
    assert!(!segments.is_empty());
    Poll {
        at,
        media_sequence: playlist.media_sequence,
        discontinuity_sequence: playlist.discontinuity_sequence,
        segments,
    }
}

#[test]
fn at_speed_sixty_the_channel_moves_sixty_times_faster_with_numbers_that_never_go_back() {
    let dir = tempfile::tempdir().unwrap();
    let config = clock_config(dir.path(), today_at(13, 16.5), 60.0);
    let server = serve(&config);
    let url = format!("{}/channels/demo/360p/ts.m3u8", server.url);

    let mut polls = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(6) {
        polls.push(poll(&url));
        std::thread::sleep(Duration::from_millis(100));
    }
    let mut seen: HashMap<u64, (String, i64, u64, i64)> = HashMap::new();
    let mut boundaries = 0;
    for pair in polls.windows(2) {
        let (before, after) = (&pair[0], &pair[1]);
        assert!(
            after.media_sequence >= before.media_sequence,
            "media sequence went back: {} -> {}",
            before.media_sequence,
            after.media_sequence
        );
        assert!(
            after.discontinuity_sequence >= before.discontinuity_sequence,
            "discontinuity sequence went back: {} -> {}",
            before.discontinuity_sequence,
            after.discontinuity_sequence
        );
        boundaries += after.segments.last().unwrap().3 - before.segments.last().unwrap().3;
    }
    for poll in &polls {
        for (sequence, uri, duration, cc, pdt) in &poll.segments {
            let now = (uri.clone(), *duration, *cc, *pdt);
            if let Some(before) = seen.get(sequence) {
                assert_eq!(before, &now, "segment {sequence} changed between polls");
            }
            seen.insert(*sequence, now);
        }
    }
    let (first, last) = (&polls[0], polls.last().unwrap());
    let wall = (last.at - first.at).as_secs_f64();
    let channel = (last.live_edge_millis() - first.live_edge_millis()) as f64 / 1000.0;
    let speed = channel / wall;
    let sequences = last.media_sequence - first.media_sequence;
    eprintln!(
        "speed 60: {} polls over {wall:.2} s of wall time; the live edge moved {channel:.0} s \
         ({speed:.1}x), {sequences} media sequence numbers and {boundaries} discontinuities",
        polls.len()
    );
    assert!(polls.len() >= 20, "polled {} times", polls.len());
    assert!(
        (54.0..=66.0).contains(&speed),
        "the channel moved {channel:.1} s in {wall:.2} s of wall time: {speed:.1}x, not ~60x"
    );
    // 2 s segments: ~30 a wall second. A demo programme and the ad break after it last 3
    // minutes: a programme starts at least every 3 minutes of channel time.
    assert!(
        sequences as f64 >= 0.9 * channel / 2.0,
        "{sequences} sequence numbers"
    );
    assert!(
        boundaries as f64 >= (channel / 180.0).floor(),
        "{boundaries} boundaries"
    );
}
