//! End to end: a live item on a channel's grid airs what a real encoder publishes. ffmpeg
//! publishes a test pattern over RTMP to a source made with `onair live add`; from the item's
//! start the channel's playlist lists the live segments the ladder cut on the slot grid, with
//! a discontinuity at the switch; when ffmpeg is killed the slots air the fallback again; when
//! it publishes again, over SRT, live returns as a new publish. Every poll agrees with every
//! other on each listed segment, ffprobe reads a live segment, the MPD lists it addressed by its
//! start (and ffprobe finds it there), and the source's events tell the story. An operator
//! takes a channel of films live by hand and returns it: the take lands within two segments, a
//! loss airs slate, the films join in progress, and the as-run log has the take, the outage and
//! the return.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::live::*;
use crate::support::{Server, block_on, get_text, onair};
use onair_store::Store;
use serde_json::{Value, json};

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
    let first_live = first_live(&seen, 1);
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

    // DASH airs it too, addressed by time: its fragments' tfdt is the start the MPD names.
    check_live_dash(&server, 1);

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

/// The news channel's MPD lists publish `publish` of `desk` in a Period addressed by time: its
/// template names the ingest's files (`$Time$`, the start in 90 kHz ticks since the Unix epoch)
/// and places each where HLS does, at its start. For the 360p video and the 96 kb/s audio, the
/// init and the first listed segment, concatenated, decode (H.264, AAC) and their first packet
/// is at that start as Unix time, within a frame: the fragments' `tfdt` is the `$Time$`.
fn check_live_dash(server: &Server, publish: u32) {
    let (status, mpd) = get_text(&format!("{}/channels/news/manifest.mpd", server.url));
    assert_eq!(status, 200, "{mpd}");
    let attribute = |text: &str, name: &str| -> String {
        let (_, rest) = text
            .split_once(&format!(" {name}=\""))
            .unwrap_or_else(|| panic!("no {name} in {text}"));
        rest.split('"').next().unwrap().to_owned()
    };
    let media = format!("/media/live/desk/{publish}/$RepresentationID$/$Time$.m4s");
    let init = format!("/media/live/desk/{publish}/$RepresentationID$/init-0.mp4");
    let period = mpd
        .split("<Period ")
        .skip(1)
        .find(|period| period.contains(&media))
        .unwrap_or_else(|| panic!("no Period of publish {publish} addressed by time: {mpd}"));
    assert_eq!(attribute(period, "initialization"), init, "{period}");
    let t: i64 = attribute(period, "t").parse().unwrap();
    let offset: i64 = attribute(period, "presentationTimeOffset").parse().unwrap();
    // Where the MPD places the segment: availabilityStartTime + Period@start + (t - offset).
    let ast = chrono::DateTime::parse_from_rfc3339(&attribute(&mpd, "availabilityStartTime"))
        .unwrap()
        .timestamp_micros();
    let start = attribute(period, "start");
    let start_secs: f64 = start
        .strip_prefix("PT")
        .and_then(|secs| secs.strip_suffix('S'))
        .unwrap()
        .parse()
        .unwrap();
    let placed = ast as f64 / 1e6 + start_secs + (t - offset) as f64 / 90_000.0;
    let unix = t as f64 / 90_000.0;
    assert!(
        (placed - unix).abs() < 0.001,
        "placed at {placed}, starts at {unix}: {period}"
    );

    let dir = tempfile::tempdir().unwrap();
    for (name, codec) in [("360p", "h264"), ("audio-96k", "aac")] {
        let fetch = |path: String| {
            block_on(async {
                let response = support::client()
                    .get(format!("{}{path}", server.url))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 200, "{path}");
                response.bytes().await.unwrap()
            })
        };
        let mut bytes = fetch(init.replace("$RepresentationID$", name)).to_vec();
        bytes.extend(fetch(
            media
                .replace("$RepresentationID$", name)
                .replace("$Time$", &t.to_string()),
        ));
        let file = dir.path().join(format!("{name}.mp4"));
        std::fs::write(&file, bytes).unwrap();
        let probe = Command::new("ffprobe")
            .args(["-v", "error", "-read_intervals", "%+#1"])
            .args(["-show_entries", "stream=codec_name:packet=pts_time"])
            .args(["-of", "json"])
            .arg(&file)
            .output()
            .expect("ffprobe runs");
        let probed: Value = serde_json::from_slice(&probe.stdout).unwrap();
        assert!(probe.status.success(), "{probed}");
        assert_eq!(probed["streams"][0]["codec_name"], codec, "{probed}");
        let pts: f64 = probed["packets"][0]["pts_time"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        assert!(
            (pts - unix).abs() <= 0.04,
            "{name}'s first packet at {pts} s, its segment starts at {unix} s"
        );
        eprintln!("DASH {name}: first packet at {pts:.6} s, $Time$ {t} = {unix:.6} s");
    }
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
    let (copy, media, clip, key, config) = news_configured("[live]\nenabled = false\n");
    let data_dir = copy.path().to_str().unwrap().to_owned();
    let env = [
        ("ONAIR_DATA_DIR", data_dir.as_str()),
        ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
    ];
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
    let first_live = first_live(&seen, 1);
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

    // HLS-fMP4 airs the same live segments: the video track and the audio track, each with
    // the publish's init, fetchable.
    for (rendition, media) in [("360p", "video"), ("audio-96k", "audio")] {
        let url = format!("{}/channels/news/{rendition}/fmp4.m3u8", server.url);
        let (status, text) = get_text(&url);
        assert_eq!(status, 200, "{text}");
        let live_dir = format!("/media/live/desk/1/{rendition}/");
        let map = format!("#EXT-X-MAP:URI=\"{live_dir}init-0.mp4\"");
        assert!(
            text.contains(&map),
            "the {media} track maps the live init: {text}"
        );
        let segment = text
            .lines()
            .find(|line| line.starts_with(&live_dir) && line.ends_with(".m4s"))
            .unwrap_or_else(|| panic!("a live {media} fragment is listed: {text}"));
        for path in [format!("{live_dir}init-0.mp4"), segment.to_owned()] {
            let bytes = block_on(async {
                let response = support::client()
                    .get(format!("{}{path}", server.url))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status().as_u16(), 200, "{path}");
                response.bytes().await.unwrap()
            });
            let boxes = String::from_utf8_lossy(&bytes[..bytes.len().min(64)]).into_owned();
            assert!(
                boxes.contains("ftyp") || boxes.contains("moof") || boxes.contains("styp"),
                "{path} is ISO BMFF"
            );
        }
    }

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
    // Each pass over the slate's files is a run of its own: its timestamps start over.
    let mut passes = 0;
    for (sequence, listed) in seen.iter().filter(|(sequence, _)| **sequence > first_live) {
        let Some(previous) = seen.get(&(sequence - 1)) else {
            continue;
        };
        if is_slate(&previous.2) && is_slate(&listed.2) && listed.2.ends_with("/00000.ts") {
            assert_eq!(
                listed.0,
                previous.0 + 1,
                "the slate starts over after a discontinuity at {sequence}: {seen:?}"
            );
            passes += 1;
        }
    }
    assert!(
        passes > 0,
        "the outage outlasts one pass over the slate: {seen:?}"
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

#[test]
fn two_sources_air_at_once_on_two_channels_each_its_own() {
    let (copy, _clip, desk_key, server) = news_on_air("");
    let data_dir = copy.path().to_str().unwrap().to_owned();
    let media = copy.path().join("media");
    let env = [
        ("ONAIR_DATA_DIR", data_dir.as_str()),
        ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
    ];
    let pitch_key = add_source("pitch", &env);
    let (rtmp, srt) = server.ingest.clone().expect("the ingest listens");
    let mut encoders = [
        publish(&rtmp.replace("KEY", &desk_key), "flv"),
        publish(&srt.replace("KEY", &pitch_key), "mpegts"),
    ];
    std::thread::sleep(Duration::from_secs(3));
    let channels = [("news", "desk"), ("sport", "pitch")];
    for (slug, source) in channels {
        let (status, take) = post_live_on(&server, slug, "take", json!({"source": source}));
        assert_eq!(status, 201, "{slug}: {take}");
    }

    // Each channel lists its own source's live segments, never the other's, and no poll
    // contradicts an earlier one.
    let mut seen = [HashMap::new(), HashMap::new()];
    let mut live_on = [false, false];
    let deadline = Instant::now() + Duration::from_secs(45);
    while Instant::now() < deadline && live_on != [true, true] {
        for (index, (slug, source)) in channels.into_iter().enumerate() {
            let other = channels[1 - index].1;
            live_on[index] |= poll_channel_until(
                &server,
                slug,
                &mut seen[index],
                Duration::from_millis(1),
                |uri| {
                    assert!(
                        !uri.contains(&format!("/live/{other}/")),
                        "{slug} lists {uri}"
                    );
                    is_live_from(uri, source, 1)
                },
            );
        }
        std::thread::sleep(Duration::from_millis(500));
    }
    let sources = onair(&["live", "list"], &env);
    for encoder in &mut encoders {
        encoder.kill().unwrap();
        encoder.wait().unwrap();
    }
    assert_eq!(
        live_on,
        [true, true],
        "both channels air their source: {seen:?}"
    );
    let sources: Vec<Value> = serde_json::from_slice(&sources.stdout).unwrap();
    let publishing: Vec<&str> = sources
        .iter()
        .filter(|source| source["state"] == "publishing")
        .map(|source| source["name"].as_str().unwrap())
        .collect();
    assert_eq!(publishing, ["desk", "pitch"], "{sources:?}");
}

#[test]
fn a_publish_without_audio_airs_silence_over_rtmp_and_over_srt() {
    let (copy, _clip, key, server) = news_on_air("");
    let (rtmp, srt) = server.ingest.clone().expect("the ingest listens");
    let media = copy.path().join("media");
    for (publish, (url, format)) in [(rtmp, "flv"), (srt, "mpegts")].into_iter().enumerate() {
        // A camera without a microphone: 5 s of video only, in real time.
        let published = Command::new("ffmpeg")
            .args(["-nostdin", "-hide_banner", "-loglevel", "error", "-re"])
            .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25"])
            .args(["-t", "5", "-an", "-c:v", "libx264", "-preset", "veryfast"])
            .args(["-tune", "zerolatency", "-g", "50", "-pix_fmt", "yuv420p"])
            .args(["-f", format, &url.replace("KEY", &key)])
            .status()
            .expect("ffmpeg runs");
        assert!(published.success(), "{format}");
        // The ladder writes what it holds once the publish ends.
        let dir = media.join(format!("live/desk/{}/360p", publish + 1));
        let deadline = Instant::now() + Duration::from_secs(10);
        let segments = loop {
            let segments: Vec<_> = std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|ext| ext == "ts"))
                .collect();
            if segments.len() >= 3 || Instant::now() > deadline {
                break segments;
            }
            std::thread::sleep(Duration::from_millis(250));
        };
        assert!(segments.len() >= 2, "{format}: {segments:?}");
        for segment in &segments {
            let probe = Command::new("ffprobe")
                .args(["-v", "error", "-of", "json", "-show_entries"])
                .arg("stream=codec_type,codec_name,duration")
                .arg(segment)
                .output()
                .expect("ffprobe runs");
            let probed: Value = serde_json::from_slice(&probe.stdout).unwrap();
            let streams = probed["streams"].as_array().unwrap();
            let duration = |kind: &str| {
                let stream = streams
                    .iter()
                    .find(|stream| stream["codec_type"] == kind)
                    .unwrap_or_else(|| panic!("{format}: no {kind} in {}", segment.display()));
                stream["duration"].as_str().unwrap().parse::<f64>().unwrap()
            };
            let (video, audio) = (duration("video"), duration("audio"));
            assert!(
                (audio - video).abs() < 0.05,
                "{format}: {} has {audio} s of audio for {video} s of video",
                segment.display()
            );
        }
    }
}
