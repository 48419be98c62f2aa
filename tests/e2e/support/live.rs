//! What the live end-to-end tests share: a copy of the demo database with channels of their
//! own, ffmpeg publishing to a source, playlist polls that must never contradict each other,
//! and the live API.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use onair_domain::{ChannelSlug, OutputFormat};
use onair_store::{NewChannel, Store};
use serde_json::Value;

use super::{Server, block_on, copy_demo_database, demo_data_dir, get_text, onair};

/// A copy of the demo database with channels `news` (UTC, HLS-TS, HLS-fMP4 and DASH, no items)
/// and `sport` (the same but DASH) on the demo ladder with the demo's slate, and a media folder
/// of its own (the ingest writes there) that links to the demo's media. Returns the folder, the
/// media folder and a demo clip's id (the fallback).
pub fn news_copy() -> (tempfile::TempDir, PathBuf, i64) {
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
        let slate = store
            .asset_by_source("generated:slate/demo")
            .await
            .unwrap()
            .expect("the demo slate");
        for (slug, name) in [("news", "News"), ("sport", "Sport")] {
            store
                .insert_channel(&NewChannel {
                    slug: ChannelSlug::parse(slug).unwrap(),
                    name: name.into(),
                    time_zone: chrono_tz::UTC,
                    ladder_id: demo.ladder_id,
                    // News publishes DASH too, where its live items air alike.
                    outputs: if slug == "news" {
                        vec![
                            OutputFormat::HlsTs,
                            OutputFormat::HlsFmp4,
                            OutputFormat::Dash,
                        ]
                    } else {
                        vec![OutputFormat::HlsTs, OutputFormat::HlsFmp4]
                    },
                    window_segments: 6,
                    grid_repeat: None,
                    on_air: true,
                })
                .await
                .unwrap();
            // The channel's slate: the demo's segments (what airs around the item).
            let own_slate = store
                .insert_asset("Slate", &format!("generated:slate/{slug}"), demo.ladder_id)
                .await
                .unwrap();
            store
                .publish_asset(own_slate, slate.duration, &slate.renditions)
                .await
                .unwrap();
        }
        let clip = store.schedule_items(demo.id).await.unwrap()[0].asset_id.0;
        store.close().await;
        clip
    });
    (copy, media, clip)
}

/// ffmpeg publishing a 640x360 test pattern with a tone, in real time, to `url` as `format`.
pub fn publish(url: &str, format: &str) -> Child {
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
pub type Listed = (u64, Option<bool>, String);

/// The news channel's 360p playlist: its segments by media sequence.
pub fn poll(server: &Server) -> Vec<(u64, Listed)> {
    poll_channel(server, "news")
}

/// A channel's 360p playlist: its segments by media sequence.
pub fn poll_channel(server: &Server, slug: &str) -> Vec<(u64, Listed)> {
    let (status, text) = get_text(&format!("{}/channels/{slug}/360p/ts.m3u8", server.url));
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

pub fn is_live(uri: &str, publish: u32) -> bool {
    is_live_from(uri, "desk", publish)
}

/// Whether `uri` is a live segment of `source`'s publish `publish`.
pub fn is_live_from(uri: &str, source: &str, publish: u32) -> bool {
    uri.starts_with(&format!("/media/live/{source}/{publish}/360p/"))
}

/// Polls every half second until `until` holds of a listed segment (or `limit` passes),
/// checking that no poll contradicts an earlier one.
pub fn poll_until(
    server: &Server,
    seen: &mut HashMap<u64, Listed>,
    limit: Duration,
    until: impl Fn(&str) -> bool,
) -> bool {
    poll_channel_until(server, "news", seen, limit, until)
}

/// [`poll_until`] on channel `slug`.
pub fn poll_channel_until(
    server: &Server,
    slug: &str,
    seen: &mut HashMap<u64, Listed>,
    limit: Duration,
    until: impl Fn(&str) -> bool,
) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        let mut found = false;
        for (sequence, listed) in poll_channel(server, slug) {
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

pub fn put_grid(server: &Server, body: &Value) {
    block_on(async {
        let url = format!("{}/api/channels/news/grid", server.url);
        let current: Value = super::client()
            .get(&url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let version = current["version"].as_i64().unwrap();
        let response = super::client()
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

pub fn events(data_dir: &Path) -> Vec<(String, String)> {
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
pub fn add_desk_source(env: &[(&str, &str)]) -> String {
    add_source("desk", env)
}

/// `onair live add NAME`: the stream key it prints.
pub fn add_source(name: &str, env: &[(&str, &str)]) -> String {
    let added = onair(&["live", "add", name, "--ladder", "demo"], env);
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

/// The news copy with source `desk` and an `onair.toml` of a 5 s lock margin, a 1 s refresh and
/// `config` besides: the folder, its media folder, the clip's id, the key and the config file.
pub fn news_configured(config: &str) -> (tempfile::TempDir, PathBuf, i64, String, PathBuf) {
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
    (copy, media, clip, key, path)
}

/// [`news_configured`], served: the folder (kept while the server runs), the clip's id, the
/// key and the server.
pub fn news_on_air(config: &str) -> (tempfile::TempDir, i64, String, Server) {
    let (copy, media, clip, key, path) = news_configured(config);
    let data_dir = copy.path().to_str().unwrap().to_owned();
    let env = [
        ("ONAIR_DATA_DIR", data_dir.as_str()),
        ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
    ];
    let server = Server::start_with(&["--config", path.to_str().unwrap(), "serve"], &env);
    (copy, clip, key, server)
}

/// The first media sequence `seen` lists a live segment of publish `publish` of `desk` at.
pub fn first_live(seen: &HashMap<u64, Listed>, publish: u32) -> u64 {
    seen.iter()
        .filter(|(_, listed)| is_live(&listed.2, publish))
        .map(|(sequence, _)| *sequence)
        .min()
        .expect("a live segment was listed")
}

/// When the test's live item starts: 40 s from now (past the 5 s lock margin and the window),
/// on a whole second.
pub fn item_start() -> chrono::DateTime<chrono::Utc> {
    let start = chrono::Utc::now() + chrono::Duration::seconds(40);
    start - chrono::Duration::nanoseconds(i64::from(start.timestamp_subsec_nanos()))
}

/// POSTs `body` to the channel news's live route `route` (`take` or `return`): status and JSON.
pub fn post_live(server: &Server, route: &str, body: Value) -> (u16, Value) {
    post_live_on(server, "news", route, body)
}

/// [`post_live`] on channel `slug`.
pub fn post_live_on(server: &Server, slug: &str, route: &str, body: Value) -> (u16, Value) {
    block_on(async {
        let response = super::client()
            .post(format!("{}/api/channels/{slug}/live/{route}", server.url))
            .header("X-Onair-Author", "desk-operator")
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

pub fn instant(text: &Value) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::parse_from_rfc3339(text.as_str().unwrap())
        .unwrap()
        .to_utc()
}

/// The segment number in a segment URI like `/media/assets/7/360p/ts/00012.ts`.
pub fn segment_number(uri: &str) -> u64 {
    let name = uri.rsplit('/').next().unwrap();
    name.trim_end_matches(".ts").parse().unwrap()
}
