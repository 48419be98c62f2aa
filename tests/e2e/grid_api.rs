//! End to end: the real `onair` binary stores a channel's grid through the API and airs it. A
//! weekday template placing a news block, with an ad policy, is put on a second channel `news`
//! of a private copy of the demo database; the plan preview shows the block with its breaks
//! within the hourly ad cap, and the EPG lists it once the server has reloaded the channel. Bad
//! grids are refused with what is wrong, and of two edits made on the same version one applies
//! and the other is refused, to be made again: never lost.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{Server, block_on, copy_demo_database, demo_data_dir, get_text};
use onair_domain::{ChannelSlug, OutputFormat, Timestamp};
use onair_store::{NewChannel, Store};
use serde_json::{Value, json};

/// A private copy of the shared demo database (a consistent snapshot, `VACUUM INTO`), with a
/// second channel `news` (Europe/Berlin, no repeat, no items) on the demo ladder, whose slate
/// is the demo's (the same segments); the media stay shared (read only). Returns the copy's
/// folder, the media folder and the demo clips' ids. (The copy `schedule_api.rs` makes, plus
/// the slate: breaks and gaps are filled with it.)
fn private_demo_copy() -> (tempfile::TempDir, PathBuf, Vec<i64>) {
    let shared = demo_data_dir();
    let copy = tempfile::tempdir().unwrap();
    copy_demo_database(copy.path());
    let clips = block_on(async {
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
                time_zone: chrono_tz::Europe::Berlin,
                ladder_id: demo.ladder_id,
                outputs: vec![OutputFormat::HlsTs],
                window_segments: demo.window_segments,
                grid_repeat: None,
                on_air: true,
            })
            .await
            .unwrap();
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
        let mut clips: Vec<i64> = store
            .schedule_items(demo.id)
            .await
            .unwrap()
            .iter()
            .map(|item| item.asset_id.0)
            .collect();
        clips.sort();
        clips.dedup();
        store.close().await;
        clips
    });
    (copy, shared.join("media"), clips)
}

fn start_news_server() -> (tempfile::TempDir, Server, Vec<i64>) {
    let (copy, media, clips) = private_demo_copy();
    let server = Server::start_with(
        &["serve"],
        &[
            ("ONAIR_DATA_DIR", copy.path().to_str().unwrap()),
            ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
        ],
    );
    (copy, server, clips)
}

/// `method url` with `If-Match: "<version>"` and a JSON body: the status and the answer.
fn send(method: reqwest::Method, url: &str, if_match: Option<i64>, body: &Value) -> (u16, Value) {
    send_as(method, url, if_match, body, "e2e")
}

fn send_as(
    method: reqwest::Method,
    url: &str,
    if_match: Option<i64>,
    body: &Value,
    author: &str,
) -> (u16, Value) {
    block_on(async {
        let mut request = support::client()
            .request(method, url)
            .header("X-Onair-Author", author)
            .json(body);
        if let Some(version) = if_match {
            request = request.header("If-Match", format!("\"{version}\""));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    })
}

fn get_json(url: &str) -> Value {
    let (status, text) = get_text(url);
    assert_eq!(status, 200, "{url}: {text}");
    serde_json::from_str(&text).unwrap()
}

fn item(asset_id: i64, title: &str) -> Value {
    json!({"type": "item", "asset_id": asset_id, "info": {"title": title}})
}

fn at(text: &str) -> Timestamp {
    let at = chrono::DateTime::parse_from_rfc3339(text).unwrap();
    Timestamp::from_datetime(at.to_utc())
}

#[test]
fn a_weekday_news_template_airs_with_its_breaks_within_the_ad_cap_and_the_epg_lists_it() {
    let (_copy, server, clips) = start_news_server();
    let grid = get_json(&format!("{}/api/channels/news/grid", server.url));
    let version = grid["version"].as_i64().unwrap();

    // Evening news: six live minutes (the clip loops until live ingest exists), then three
    // reports; a minute of ads after each report, at most two minutes an hour.
    let body = json!({
        "blocks": {"News": {"entries": [
            {"type": "item", "asset_id": clips[2], "info": {"title": "Evening News", "genres": ["News"]},
             "live": {"source_key": "studio-1", "duration_ms": 360_000}},
            item(clips[1], "Weather"),
            item(clips[0], "Sport"),
            item(clips[2], "Headlines"),
        ]}},
        "templates": [{"name": "weekday evenings", "slots": [{"rule": "weekdays 20:00", "block": "News"}]}],
        "ad_policy": {"every_items": 1, "break_ms": 60_000, "max_per_hour_ms": 120_000},
    });
    let (status, answer) = send(
        reqwest::Method::PUT,
        &format!("{}/api/channels/news/grid", server.url),
        Some(version),
        &body,
    );
    assert_eq!(status, 200, "{answer}");
    let published = answer["version"].as_i64().unwrap();

    let now = Timestamp::from_datetime(chrono::Utc::now());
    let to = now + onair_domain::Ticks::from_secs(8 * 86_400);
    let plan = get_json(&format!(
        "{}/api/channels/news/plan?from={}&to={}",
        server.url,
        now.to_rfc3339_millis(),
        to.to_rfc3339_millis()
    ));
    assert_eq!(plan["version"], published);
    let items = plan["items"].as_array().unwrap();
    let first = items
        .iter()
        .position(|item| item["title"] == "Evening News")
        .unwrap_or_else(|| panic!("no Evening News within 8 days: {plan}"));
    let news_start = items[first]["start"].as_str().unwrap().to_owned();
    let local = chrono::DateTime::parse_from_rfc3339(&news_start)
        .unwrap()
        .with_timezone(&chrono_tz::Europe::Berlin);
    assert_eq!(local.format("%H:%M:%S").to_string(), "20:00:00");
    assert!(
        !matches!(
            chrono::Datelike::weekday(&local),
            chrono::Weekday::Sat | chrono::Weekday::Sun
        ),
        "{news_start} is not a weekday"
    );
    assert_eq!(items[first]["live_source"], "studio-1");
    let block: Vec<(&str, i64)> = items[first..first + 4]
        .iter()
        .map(|item| {
            let breaks: i64 = item["breaks"]
                .as_array()
                .unwrap()
                .iter()
                .map(|b| b["duration_ms"].as_i64().unwrap())
                .sum();
            (item["title"].as_str().unwrap(), breaks)
        })
        .collect();
    assert_eq!(
        block,
        [
            ("Evening News", 0),
            ("Weather", 60_000),
            ("Sport", 60_000),
            ("Headlines", 0)
        ],
        "a break after each report until the hour's two minutes are used"
    );

    // No clock hour of the plan has more than two minutes of ads.
    let mut per_hour: BTreeMap<i64, i64> = BTreeMap::new();
    for item in items {
        for ad_break in item["breaks"].as_array().unwrap() {
            let start = at(ad_break["start"].as_str().unwrap()).unix_millis();
            *per_hour.entry(start.div_euclid(3_600_000)).or_default() +=
                ad_break["duration_ms"].as_i64().unwrap();
        }
    }
    assert!(!per_hour.is_empty());
    assert!(
        per_hour.values().all(|ads| *ads <= 120_000),
        "ads per hour over the cap: {per_hour:?}"
    );
    assert!(
        plan["problems"].as_array().unwrap().iter().any(|problem| {
            problem["kind"] == "break_dropped"
                && problem["message"]
                    .as_str()
                    .unwrap()
                    .contains("is at its ad cap")
        }),
        "the break after Headlines is dropped for the cap: {}",
        plan["problems"]
    );

    // The server reloads the channel on the new version (every 2 s by default): the EPG then
    // lists the news at the instant the plan says.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (status, feed) = get_text(&format!("{}/channels/news/epg.json", server.url));
        if status == 200 {
            let feed: Value = serde_json::from_str(&feed).unwrap();
            let listed = feed["channels"][0]["programs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if let Some(news) = listed.iter().find(|p| p["title"] == "Evening News") {
                assert_eq!(news["type"], "live", "{news}");
                assert_eq!(
                    at(news["start"].as_str().unwrap()),
                    at(&news_start),
                    "{news}"
                );
                break;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the EPG of news never listed the Evening News: {status}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn a_bad_zone_a_rule_that_never_fires_and_a_block_that_contains_itself_are_refused() {
    let (_copy, server, clips) = start_news_server();
    let url = format!("{}/api/channels/news/grid", server.url);
    let news = json!({"News": {"entries": [item(clips[0], "Headlines")]}});
    let table = [
        (
            json!({"blocks": news, "templates": [{"name": "t", "zone": "Mars/Olympus_Mons",
                "slots": [{"rule": "weekdays 20:00", "block": "News"}]}]}),
            "templates[0].zone: time zone \"Mars/Olympus_Mons\" does not exist",
        ),
        (
            json!({"blocks": news, "templates": [{"name": "t",
                "slots": [{"rule": "cron 0 0 12 30 2 *", "block": "News"}]}]}),
            "never fires: the expression matches no date",
        ),
        (
            json!({"blocks": {"Loop": {"entries": [item(clips[0], "Again"), {"type": "block", "name": "Loop"}]}}}),
            "block \"Loop\" includes itself: Loop → Loop",
        ),
    ];
    for (body, expected) in table {
        let (status, answer) = send(reqwest::Method::PUT, &url, Some(0), &body);
        assert_eq!(status, 422, "{body}: {answer}");
        let messages: Vec<&str> = answer["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|error| error["message"].as_str().unwrap())
            .collect();
        assert!(
            messages.iter().any(|message| message.contains(expected)),
            "wanted {expected:?} in {messages:?}"
        );
    }
    let grid = get_json(&url);
    assert_eq!(grid["version"], 0, "nothing was written: {grid}");
    assert_eq!(grid["templates"], json!([]));
}

#[test]
fn of_two_edits_made_on_one_version_one_applies_and_the_other_is_refused_to_be_made_again() {
    let (_copy, server, _) = start_news_server();
    let url = format!("{}/api/channels/news/grid/ad_policy", server.url);
    let policy = |minutes: u32| json!({"ad_policy": {"every_minutes": minutes, "break_ms": 90_000, "max_per_hour_ms": 480_000}});
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
    let editors: Vec<_> = [("alice", 12), ("bob", 15)]
        .into_iter()
        .map(|(author, minutes)| {
            let (url, barrier) = (url.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let (status, answer) = send_as(
                    reqwest::Method::PUT,
                    &url,
                    Some(0),
                    &policy(minutes),
                    author,
                );
                (author, minutes, status, answer)
            })
        })
        .collect();
    let outcomes: Vec<_> = editors.into_iter().map(|e| e.join().unwrap()).collect();
    let statuses: Vec<u16> = outcomes.iter().map(|(_, _, status, _)| *status).collect();
    let mut sorted = statuses.clone();
    sorted.sort();
    assert_eq!(sorted, [200, 409], "{outcomes:?}");
    let (winner, loser) = if statuses[0] == 200 {
        (&outcomes[0], &outcomes[1])
    } else {
        (&outcomes[1], &outcomes[0])
    };
    assert!(
        loser.3["error"]
            .as_str()
            .unwrap()
            .contains("version 1, not 0"),
        "{}",
        loser.3
    );
    let current = get_json(&url);
    assert_eq!(current["ad_policy"]["every_minutes"], winner.1);

    // The refused editor reloads and applies again on the new version: nothing is lost.
    let version = current["version"].as_i64().unwrap();
    let (status, answer) = send_as(
        reqwest::Method::PUT,
        &url,
        Some(version),
        &policy(loser.1),
        loser.0,
    );
    assert_eq!(status, 200, "{answer}");
    let current = get_json(&url);
    assert_eq!(current["ad_policy"]["every_minutes"], loser.1);
    let versions = get_json(&format!("{}/api/channels/news/grid/versions", server.url));
    let authors: Vec<&str> = versions["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|version| version["author"].as_str().unwrap())
        .collect();
    assert_eq!(
        authors,
        [loser.0, winner.0],
        "both edits are kept, newest first"
    );
}
