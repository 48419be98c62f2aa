//! End to end: a live item on a channel's grid airs what a real encoder publishes. ffmpeg
//! publishes a test pattern over RTMP to a source made with `onair live add`; from the item's
//! start the channel's playlist lists the live segments the ladder cut on the slot grid, with
//! a discontinuity at the switch; when ffmpeg is killed the slots air the fallback again; when
//! it publishes again, over SRT, live returns as a new publish. Every poll agrees with every
//! other on each listed segment, ffprobe reads a live segment, and the source's events tell
//! the story. An operator takes a channel of films live by hand and returns it: the take lands
//! within two segments, a loss airs slate, the films join in progress, and the as-run log has
//! the take, the outage and the return.

mod support;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onair_domain::{ChannelSlug, OutputFormat};
use onair_store::{NewChannel, Store};
use serde_json::{Value, json};
use support::{Server, block_on, copy_demo_database, demo_data_dir, get_text, onair};

/// A copy of the demo database with a channel `news` (UTC, HLS-TS, no items) on the demo
/// ladder with the demo's slate, and a media folder of its own (the ingest writes there) that links to the demo's
/// media. Returns the folder, the media folder and a demo clip's id (the fallback).
fn news_copy() -> (tempfile::TempDir, PathBuf, i64) {
    let shared = demo_data_dir();
    let copy = tempfile::tempdir().unwrap();
    copy_demo_database(copy.path());
    let media = copy.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    for entry in std::fs::read_dir(shared.join("media")).unwrap() {
        let entry = entry.unwrap();
        std::os::unix::fs::symlink(entry.path(), media.join(entry.file_name())).unwrap();
    }
    let clip = block_on(async {
        let store = Store::connect(&format!(
            "sqlite://{}",
            copy.path().join("onair.db").display()
        ))
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let demo = store
            .channel_by_slug(&ChannelSlug::parse("demo").unwrap())
            .await
            .unwrap()
            .expect("the demo channel");
        store
            .insert_channel(&NewChannel {
                slug: ChannelSlug::parse("news").unwrap(),
                name: "News".into(),
                time_zone: chrono_tz::UTC,
                ladder_id: demo.ladder_id,
                outputs: vec![OutputFormat::HlsTs],
                window_segments: 6,
                grid_repeat: None,
                on_air: true,
            })
            .await
            .unwrap();
        // The news channel's slate: the demo's segments (what airs around the item).
        let slate = store
            .asset_by_source("generated:slate/demo")
            .await
            .unwrap()
            .expect("the demo slate");
        let news_slate = store
            .insert_asset("Slate", "generated:slate/news", demo.ladder_id)
            .await
            .unwrap();
        store
            .publish_asset(news_slate, slate.duration, &slate.renditions)
            .await
            .unwrap();
        let clip = store.schedule_items(demo.id).await.unwrap()[0].asset_id.0;
        store.close().await;
        clip
    });
    (copy, media, clip)
}

/// ffmpeg publishing a 640x360 test pattern with a tone, in real time, to `url` as `format`.
fn publish(url: &str, format: &str) -> Child {
    Command::new("ffmpeg")
        .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-re"])
        .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"])
        .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "veryfast",
            "-tune",
            "zerolatency",
        ])
        .args([
            "-g", "50", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "96k",
        ])
        .args(["-t", "300", "-f", format, url])
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("ffmpeg runs (scripts/install-deps installs it)")
}

/// One listed segment: its discontinuity sequence, whether a discontinuity tag precedes it
/// (`None` for a playlist's first segment, which never has one), and its URI.
type Listed = (u64, Option<bool>, String);

/// The news channel's 360p playlist: its segments by media sequence.
fn poll(server: &Server) -> Vec<(u64, Listed)> {
    let (status, text) = get_text(&format!("{}/channels/news/360p/ts.m3u8", server.url));
    assert_eq!(status, 200, "{text}");
    let playlist = match m3u8_rs::parse_media_playlist_res(text.as_bytes()) {
        Ok(playlist) => playlist,
        Err(error) => panic!("{error:?}: {text}"),
    };
    let mut discontinuity_sequence = playlist.discontinuity_sequence;
    playlist
        .segments
        .iter()
        .enumerate()
        .map(|(index, segment)| {
            if segment.discontinuity {
                discontinuity_sequence += 1;
            }
            (
                playlist.media_sequence + index as u64,
                (
                    discontinuity_sequence,
                    (index > 0).then_some(segment.discontinuity),
                    segment.uri.clone(),
                ),
            )
        })
        .collect()
}

fn is_live(uri: &str, publish: u32) -> bool {
    uri.starts_with(&format!("/media/live/desk/{publish}/360p/"))
}

/// Polls every half second until `until` holds of a listed segment (or `limit` passes),
/// checking that no poll contradicts an earlier one.
fn poll_until(
    server: &Server,
    seen: &mut HashMap<u64, Listed>,
    limit: Duration,
    until: impl Fn(&str) -> bool,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let mut found = false;
        for (sequence, listed) in poll(server) {
            let before = seen.entry(sequence).or_insert_with(|| listed.clone());
            assert_eq!(
                (before.0, &before.2),
                (listed.0, &listed.2),
                "segment {sequence} changed between polls"
            );
            if let (Some(earlier), Some(now)) = (before.1, listed.1) {
                assert_eq!(earlier, now, "segment {sequence}'s discontinuity changed");
            }
            if before.1.is_none() {
                before.1 = listed.1;
            }
            found |= until(&listed.2);
        }
        if found {
            return true;
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    false
}

fn put_grid(server: &Server, body: &Value) {
    block_on(async {
        let url = format!("{}/api/channels/news/grid", server.url);
        let current: Value = reqwest::get(&url).await.unwrap().json().await.unwrap();
        let version = current["version"].as_i64().unwrap();
        let response = reqwest::Client::new()
            .put(&url)
            .header("If-Match", format!("\"{version}\""))
            .json(body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        assert_eq!(status, 200, "{text}");
    });
}

fn events(data_dir: &Path) -> Vec<(String, String)> {
    let out = onair(
        &["live", "events", "desk"],
        &[("ONAIR_DATA_DIR", data_dir.to_str().unwrap())],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).unwrap();
    events
        .iter()
        .map(|event| {
            (
                event["kind"].as_str().unwrap().to_owned(),
                event["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// `onair live add desk`: the stream key it prints.
fn add_desk_source(env: &[(&str, &str)]) -> String {
    let added = onair(&["live", "add", "desk", "--ladder", "demo"], env);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let added = String::from_utf8_lossy(&added.stdout).into_owned();
    added
        .lines()
        .find_map(|line| line.strip_prefix("stream key: "))
        .unwrap_or_else(|| panic!("no stream key in {added}"))
        .trim()
        .to_owned()
}

/// The news copy with source `desk` (its stream key), served with a 5 s lock margin, a 1 s
/// refresh and `config` besides: the folder (kept while the server runs), the clip's id, the
/// key and the server.
fn news_on_air(config: &str) -> (tempfile::TempDir, i64, String, Server) {
    let (copy, media, clip) = news_copy();
    let data_dir = copy.path().to_str().unwrap().to_owned();
    let env = [
        ("ONAIR_DATA_DIR", data_dir.as_str()),
        ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
    ];
    let key = add_desk_source(&env);
    let path = copy.path().join("onair.toml");
    std::fs::write(
        &path,
        format!("[playout]\nlock_margin = \"5s\"\nrefresh_interval = \"1s\"\n{config}"),
    )
    .unwrap();
    let server = Server::start_with(&["--config", path.to_str().unwrap(), "serve"], &env);
    (copy, clip, key, server)
}

/// When the test's live item starts: 40 s from now (past the 5 s lock margin and the window),
/// on a whole second.
fn item_start() -> chrono::DateTime<chrono::Utc> {
    let start = chrono::Utc::now() + chrono::Duration::seconds(40);
    start - chrono::Duration::nanoseconds(i64::from(start.timestamp_subsec_nanos()))
}

#[test]
fn a_live_item_airs_the_published_stream_the_fallback_when_it_is_lost_and_live_again() {
    let (copy, clip, key, server) = news_on_air("");
    let (rtmp, srt) = server.ingest.clone().expect("the ingest listens");

    // The live item starts 40 s from now, on a whole second, for three minutes.
    let start = item_start();
    put_grid(
        &server,
        &json!({
            "blocks": {"Studio": {"entries": [
                {"type": "item", "asset_id": clip, "info": {"title": "Live from the studio"},
                 "live": {"source_key": "desk", "duration_ms": 180_000}},
            ]}},
            "templates": [{"name": "today", "zone": "UTC",
                "slots": [{"rule": format!("daily {}", start.format("%H:%M:%S")), "block": "Studio"}]}],
        }),
    );

    // The server plans the new grid within its refresh interval.
    std::thread::sleep(Duration::from_secs(3));

    // Publishing before the item starts: the ladder cuts on the item's grid from its start.
    let mut encoder = publish(&rtmp.replace("KEY", &key), "flv");
    let mut seen = HashMap::new();
    let wait = (start - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(30);
    assert!(
        poll_until(&server, &mut seen, wait, |uri| is_live(uri, 1)),
        "no live segment listed by 30 s into the item: {seen:?}"
    );
    let first_live = seen
        .iter()
        .filter(|(_, listed)| is_live(&listed.2, 1))
        .map(|(sequence, _)| *sequence)
        .min()
        .unwrap();
    assert_ne!(
        seen[&first_live].1,
        Some(false),
        "a discontinuity precedes the first live segment"
    );

    // ffprobe reads a live segment: the demo ladder's 360p rung, H.264 and AAC.
    let uri = seen[&first_live].2.clone();
    let probe = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
        ])
        .args(["-of", "json", &format!("{}{uri}", server.url)])
        .output()
        .expect("ffprobe runs");
    let probed = String::from_utf8_lossy(&probe.stdout);
    assert!(probe.status.success(), "{probed}");
    assert!(
        probed.contains("h264") && probed.contains("aac"),
        "{probed}"
    );
    assert!(probed.contains("\"height\": 360"), "{probed}");

    // Lost: the slots air the fallback again, after a discontinuity.
    std::thread::sleep(Duration::from_secs(6));
    encoder.kill().unwrap();
    encoder.wait().unwrap();
    let fallback = format!("/media/assets/{clip}/");
    let after_live = |uri: &str| uri.starts_with(&fallback);
    assert!(
        poll_until(&server, &mut seen, Duration::from_secs(30), |uri| {
            after_live(uri)
        }) && seen
            .iter()
            .any(|(sequence, listed)| *sequence > first_live && after_live(&listed.2)),
        "the fallback did not come back within 30 s of the loss: {seen:?}"
    );

    // Back, over SRT: a new publish airs.
    let mut encoder = publish(&srt.replace("KEY", &key), "mpegts");
    assert!(
        poll_until(&server, &mut seen, Duration::from_secs(40), |uri| is_live(
            uri, 2
        )),
        "live did not return within 40 s of publishing again: {seen:?}"
    );
    encoder.kill().unwrap();
    encoder.wait().unwrap();

    // Every switch is a discontinuity.
    let mut sequences: Vec<&u64> = seen.keys().collect();
    sequences.sort();
    for pair in sequences.windows(2) {
        let (a, b) = (&seen[pair[0]], &seen[pair[1]]);
        if *pair[1] == *pair[0] + 1 && is_live(&a.2, 1) != is_live(&b.2, 1) {
            assert_ne!(
                b.1,
                Some(false),
                "no discontinuity between {} and {}",
                a.2,
                b.2
            );
            assert_eq!(b.0, a.0 + 1, "{a:?} then {b:?}");
        }
    }

    let events = events(copy.path());
    let kinds: Vec<&str> = events.iter().map(|(kind, _)| kind.as_str()).collect();
    assert_eq!(kinds[..3], ["publish", "lost", "publish"], "{events:?}");
    assert!(events[0].1.contains("rtmp"), "{events:?}");
    assert!(events[2].1.contains("srt"), "{events:?}");
}

/// `onair ingest` on its own, killed on drop.
struct Ingest(Child);

impl Drop for Ingest {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `onair ingest` with `env` and RTMP on a free port: it and its RTMP URL.
fn start_ingest(config: &Path, env: &[(&str, &str)]) -> (Ingest, String) {
    use std::io::{BufRead, BufReader};
    let mut child = Command::new(support::ONAIR)
        .args(["--config", config.to_str().unwrap(), "ingest"])
        .envs(env.iter().copied())
        .env("ONAIR_RTMP_ADDR", "127.0.0.1:0")
        .env("ONAIR_SRT_ADDR", "")
        .env("ONAIR_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(urls) = line.strip_prefix("onair ingest ") {
                let rtmp = urls.split_whitespace().next().unwrap_or_default();
                let _ = sender.send(rtmp.to_owned());
            }
        }
    });
    let rtmp = receiver
        .recv_timeout(Duration::from_secs(60))
        .expect("onair ingest printed its listeners within 60 s");
    (Ingest(child), rtmp)
}

#[test]
fn two_servers_without_ingest_air_alike_what_onair_ingest_records() {
    let (copy, media, clip) = news_copy();
    let data_dir = copy.path().to_str().unwrap().to_owned();
    let env = [
        ("ONAIR_DATA_DIR", data_dir.as_str()),
        ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
    ];
    let key = add_desk_source(&env);
    let config = copy.path().join("onair.toml");
    std::fs::write(
        &config,
        "[playout]\nlock_margin = \"5s\"\nrefresh_interval = \"1s\"\n[live]\nenabled = false\n",
    )
    .unwrap();
    let args = ["--config", config.to_str().unwrap(), "serve"];
    let (one, two) = (
        Server::start_with(&args, &env),
        Server::start_with(&args, &env),
    );
    assert!(
        one.ingest.is_none() && two.ingest.is_none(),
        "the servers run no ingest"
    );

    let start = item_start();
    put_grid(
        &one,
        &json!({
            "blocks": {"Desk": {"entries": [
                {"type": "item", "asset_id": clip, "info": {"title": "Live from the desk"},
                 "live": {"source_key": "desk", "duration_ms": 120_000}},
            ]}},
            "templates": [{"name": "today", "zone": "UTC",
                "slots": [{"rule": format!("daily {}", start.format("%H:%M:%S")), "block": "Desk"}]}],
        }),
    );
    let (_ingest, rtmp) = start_ingest(&config, &env);
    let mut encoder = publish(&rtmp.replace("KEY", &key), "flv");
    std::thread::sleep(Duration::from_secs(3));

    // Both servers' polls go into one record: a segment either lists differently fails.
    let mut seen = HashMap::new();
    let wait = (start - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(30);
    let deadline = Instant::now() + wait;
    let mut live_on = [false, false];
    while Instant::now() < deadline && live_on != [true, true] {
        for (index, server) in [&one, &two].into_iter().enumerate() {
            let listed_here = poll(server);
            live_on[index] = listed_here.iter().any(|(_, listed)| is_live(&listed.2, 1));
            for (sequence, listed) in listed_here {
                let before = seen.entry(sequence).or_insert_with(|| listed.clone());
                assert_eq!(
                    (before.0, &before.2),
                    (listed.0, &listed.2),
                    "segment {sequence} lists differently"
                );
            }
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    encoder.kill().unwrap();
    encoder.wait().unwrap();
    assert_eq!(
        live_on,
        [true, true],
        "both servers air the live segments: {seen:?}"
    );
}

/// POSTs `body` to the channel news's live route `route` (`take` or `return`): status and JSON.
fn post_live(server: &Server, route: &str, body: Value) -> (u16, Value) {
    block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}/api/channels/news/live/{route}", server.url))
            .header("X-Onair-Author", "desk-operator")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

fn instant(text: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text.as_str().unwrap())
        .unwrap()
        .to_utc()
}

/// The segment number in a segment URI like `/media/assets/7/360p/ts/00012.ts`.
fn segment_number(uri: &str) -> u64 {
    let name = uri.rsplit('/').next().unwrap();
    name.trim_end_matches(".ts").parse().unwrap()
}

#[test]
fn a_take_to_air_by_hand_lands_within_two_segments_and_the_return_joins_the_schedule_in_progress() {
    let (copy, clip, key, server) = news_on_air("[as_run]\ninterval = \"2s\"\n");
    let clip_segments = block_on(async {
        let store = Store::connect(&format!(
            "sqlite://{}",
            copy.path().join("onair.db").display()
        ))
        .await
        .unwrap();
        let asset = store
            .asset(onair_domain::AssetId(clip))
            .await
            .unwrap()
            .unwrap();
        store.close().await;
        asset.renditions[0].segments.len() as u64
    });
    let (rtmp, _) = server.ingest.clone().expect("the ingest listens");

    // The clip back to back from 20 s from now.
    let start = chrono::Utc::now() + chrono::Duration::seconds(20);
    let start = start - chrono::Duration::nanoseconds(i64::from(start.timestamp_subsec_nanos()));
    let entries: Vec<Value> = (0..30)
        .map(|_| json!({"type": "item", "asset_id": clip, "info": {"title": "Film"}}))
        .collect();
    put_grid(
        &server,
        &json!({
            "blocks": {"Films": {"entries": entries}},
            "templates": [{"name": "today", "zone": "UTC",
                "slots": [{"rule": format!("daily {}", start.format("%H:%M:%S")), "block": "Films"}]}],
        }),
    );
    let mut encoder = publish(&rtmp.replace("KEY", &key), "flv");
    let film = format!("/media/assets/{clip}/");
    let mut seen = HashMap::new();
    let wait = (start - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(20);
    assert!(
        poll_until(&server, &mut seen, wait, |uri| uri.starts_with(&film)),
        "the films air: {seen:?}"
    );
    std::thread::sleep(Duration::from_secs(3));

    // Refusals change nothing: an unknown source, a stale version.
    let (status, body) = post_live(&server, "take", json!({"source": "nobody"}));
    assert_eq!(status, 404, "{body}");
    let (status, body) = post_live(&server, "take", json!({"source": "desk", "version": 0}));
    assert_eq!(status, 409, "{body}");
    let (status, body) = post_live(&server, "return", json!({}));
    assert_eq!(status, 404, "{body}");

    // Take: it lands at a boundary within two segments (4 s) of the request.
    let asked = chrono::Utc::now();
    let (status, take) = post_live(&server, "take", json!({"source": "desk"}));
    assert_eq!(status, 201, "{take}");
    let taken_at = instant(&take["start"]);
    let lead = (taken_at - asked).num_milliseconds();
    assert!(
        (1_400..=4_000).contains(&lead),
        "landed {lead} ms after the request: {take}"
    );
    assert_eq!(take["taken_by"], "desk-operator", "{take}");
    let (status, body) = post_live(&server, "take", json!({"source": "desk"}));
    assert_eq!(status, 409, "a second take is refused: {body}");

    assert!(
        poll_until(&server, &mut seen, Duration::from_secs(30), |uri| is_live(
            uri, 1
        )),
        "no live segment listed within 30 s of the take: {seen:?}"
    );
    let first_live = seen
        .iter()
        .filter(|(_, listed)| is_live(&listed.2, 1))
        .map(|(sequence, _)| *sequence)
        .min()
        .unwrap();
    let before = seen[&(first_live - 1)].clone();
    assert!(
        before.2.starts_with(&film),
        "the film aired up to the take: {before:?}"
    );
    assert_ne!(
        seen[&first_live].1,
        Some(false),
        "a discontinuity opens the take"
    );
    assert!(
        seen[&first_live]
            .2
            .ends_with(&format!("/{}.ts", taken_at.timestamp_millis() * 90)),
        "the first live segment is the one cut at the take's start: {:?}",
        seen[&first_live]
    );

    // Lost during the take: slate (neither dead air nor the films), live again on a new publish.
    std::thread::sleep(Duration::from_secs(4));
    encoder.kill().unwrap();
    encoder.wait().unwrap();
    let is_slate = |uri: &str| uri.starts_with("/media/assets/") && !uri.starts_with(&film);
    assert!(
        poll_until(&server, &mut seen, Duration::from_secs(30), is_slate),
        "no slate within 30 s of the loss: {seen:?}"
    );
    let mut encoder = publish(&rtmp.replace("KEY", &key), "flv");
    assert!(
        poll_until(&server, &mut seen, Duration::from_secs(40), |uri| is_live(
            uri, 2
        )),
        "live did not return within 40 s of publishing again: {seen:?}"
    );

    // Return: the schedule joins in progress, numbered as planned.
    std::thread::sleep(Duration::from_secs(2));
    let (status, returned) = post_live(&server, "return", json!({}));
    assert_eq!(status, 200, "{returned}");
    let resumed_at = instant(&returned["end"]);
    let last_live = first_live + ((resumed_at - taken_at).num_seconds() as u64) / 2 - 1;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.contains_key(&(last_live + 1)) && Instant::now() < deadline {
        poll_until(&server, &mut seen, Duration::from_secs(1), |_| false);
    }
    let resumed = seen
        .get(&(last_live + 1))
        .unwrap_or_else(|| panic!("segment {} listed: {seen:?}", last_live + 1));
    assert!(resumed.2.starts_with(&film), "{resumed:?}");
    assert_ne!(resumed.1, Some(false), "a discontinuity closes the take");
    let expected = (segment_number(&before.2) + last_live + 1 - (first_live - 1)) % clip_segments;
    assert_eq!(
        segment_number(&resumed.2),
        expected,
        "the film joins in progress where the plan has it"
    );
    for sequence in first_live..=last_live {
        if let Some(listed) = seen.get(&sequence) {
            assert!(!listed.2.starts_with(&film), "{sequence}: {listed:?}");
        }
    }
    encoder.kill().unwrap();
    encoder.wait().unwrap();

    // The as-run log has the take and the return as runs of their own.
    let as_run_url = format!(
        "{}/api/channels/news/as-run?from={}&to={}",
        server.url,
        (taken_at - chrono::Duration::seconds(10))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        (resumed_at + chrono::Duration::seconds(10))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    let log = loop {
        let (status, text) = get_text(&as_run_url);
        assert_eq!(status, 200, "{text}");
        let log: Value = serde_json::from_str(&text).unwrap();
        let entries = log["entries"].as_array().unwrap().clone();
        let has = |title: &str| {
            entries
                .iter()
                .any(|entry| entry["title"].as_str().is_some_and(|t| t.contains(title)))
        };
        if has("taken by hand") && has("joined in progress") && has("No signal from desk") {
            break entries;
        }
        assert!(
            Instant::now() < deadline,
            "the as-run log records the take and the return: {log}"
        );
        std::thread::sleep(Duration::from_millis(500));
    };
    let take_entry = log
        .iter()
        .find(|entry| entry["title"].as_str().unwrap().contains("taken by hand"))
        .unwrap();
    assert_eq!(instant(&take_entry["start"]), taken_at, "{take_entry}");
    assert_eq!(take_entry["live_source"], "desk", "{take_entry}");
    let return_entry = log
        .iter()
        .find(|entry| {
            entry["title"]
                .as_str()
                .unwrap()
                .contains("joined in progress")
        })
        .unwrap();
    assert_eq!(
        instant(&return_entry["start"]),
        resumed_at,
        "{return_entry}"
    );
    let outage = log
        .iter()
        .find(|entry| entry["title"] == "No signal from desk: slate")
        .unwrap();
    assert!(
        instant(&outage["start"]) > taken_at && instant(&outage["end"]) < resumed_at,
        "the outage is inside the take: {outage}"
    );

    // Both are versions of the schedule, by their author.
    let (status, text) = get_text(&format!(
        "{}/api/channels/news/schedule/versions",
        server.url
    ));
    assert_eq!(status, 200, "{text}");
    assert!(text.matches("desk-operator").count() >= 2, "{text}");
}
