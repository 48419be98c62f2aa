//! End to end: "slate now". An operator puts a channel of films on its slate by hand through the
//! API and returns it: the slate lands within two segments of the request, the channel's playlist
//! lists the slate's segments (the asset `generated:slate/news`) from there, and after the
//! return the films join in progress. A stale If-Match is refused, a viewer is forbidden, and
//! the CLI refuses a second slate on top of the first.

use std::collections::HashMap;
use std::time::Duration;

use crate::support;
use crate::support::live::*;
use crate::support::{Server, block_on, onair, onair_with_stdin};
use onair_store::Store;
use serde_json::{Value, json};

/// POSTs to `/api/channels/news/{route}` with `token` and `if_match`: status and JSON.
fn post(server: &Server, token: &str, route: &str, if_match: Option<i64>) -> (u16, Value) {
    block_on(async {
        let mut request = reqwest::Client::new()
            .post(format!("{}/api/channels/news/{route}", server.url))
            .bearer_auth(token)
            .header("X-Onair-Author", "desk-operator");
        if let Some(version) = if_match {
            request = request.header("If-Match", format!("\"{version}\""));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

fn schedule_version(server: &Server) -> i64 {
    block_on(async {
        let grid: Value = support::client()
            .get(format!("{}/api/channels/news/grid", server.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        grid["version"].as_i64().unwrap()
    })
}

#[test]
fn slate_now_airs_the_slate_within_two_segments_and_the_return_resumes_the_schedule() {
    let (copy, media, clip, _key, config) = news_configured("");
    let data_dir = copy.path().to_str().unwrap().to_owned();
    let env = [
        ("ONAIR_DATA_DIR", data_dir.as_str()),
        ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
    ];
    let slate = block_on(async {
        let store = Store::connect(&format!("sqlite://{data_dir}/onair.db"))
            .await
            .unwrap();
        let slate = store
            .asset_by_source("generated:slate/news")
            .await
            .unwrap()
            .expect("the news slate");
        store.close().await;
        slate
    });
    // The files the slate's segments are served from.
    let slate_uris: Vec<String> = slate
        .renditions
        .iter()
        .filter(|rendition| rendition.rung == "360p")
        .flat_map(|rendition| rendition.segments.iter())
        .map(|segment| segment.path.clone())
        .collect();
    assert!(!slate_uris.is_empty(), "the slate has 360p segments");
    let added = onair_with_stdin(
        &[
            "user",
            "add",
            "vic",
            "--password-stdin",
            "--role",
            "viewer",
            "--channel",
            "news",
        ],
        &env,
        "a-long-enough-password\n",
    );
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let viewer = onair(&["user", "token", "vic", "tests"], &env);
    assert!(viewer.status.success());
    let viewer = String::from_utf8_lossy(&viewer.stdout).trim().to_owned();
    let server = Server::start_with(&["--config", config.to_str().unwrap(), "serve"], &env);

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
    let film = format!("/media/assets/{clip}/");
    let is_film = |uri: &str| uri.starts_with(&film);
    let is_slate = |uri: &str| slate_uris.iter().any(|path| uri.ends_with(path.as_str()));
    let mut seen = HashMap::new();
    let wait = (start - chrono::Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(20);
    assert!(
        poll_until(&server, &mut seen, wait, is_film),
        "the films air: {seen:?}"
    );
    std::thread::sleep(Duration::from_secs(3));
    // From here on, only what the films' plan lists (the plan before the grid numbered its own).
    seen.clear();
    poll_until(&server, &mut seen, Duration::from_secs(1), |_| false);

    // Refusals change nothing: a viewer, a stale version, a return with nothing to return.
    let version = schedule_version(&server);
    let (status, body) = post(&server, &viewer, "slate", Some(version));
    assert_eq!(
        status, 403,
        "a viewer may not put the channel on its slate: {body}"
    );
    let (status, body) = post(&server, support::TEST_TOKEN, "slate", Some(version - 1));
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("version"), "{body}");
    assert_eq!(
        schedule_version(&server),
        version,
        "the refusals changed nothing"
    );

    // Slate now: it lands at a boundary within two segments (4 s) of the request.
    let asked = chrono::Utc::now();
    let (status, take) = post(&server, support::TEST_TOKEN, "slate", Some(version));
    assert_eq!(status, 201, "{take}");
    assert_eq!(
        (take["kind"].as_str(), take["source"].as_null()),
        (Some("slate"), Some(()))
    );
    assert_eq!(take["take_version"], version + 1, "{take}");
    let slated_at = instant(&take["start"]);
    let lead = (slated_at - asked).num_milliseconds();
    assert!(
        (1_000..=4_000).contains(&lead),
        "landed {lead} ms after the request: {take}"
    );
    // A second one is refused, through the CLI too.
    let again = onair(&["live", "slate", "news"], &env);
    assert!(!again.status.success());
    let said = String::from_utf8_lossy(&again.stderr);
    assert!(said.contains("already on its slate"), "{said}");

    // The slate before the films (the gap before the grid's start) is not the slate now.
    let first_film = seen
        .iter()
        .filter(|(_, listed)| is_film(&listed.2))
        .map(|(sequence, _)| *sequence)
        .min()
        .unwrap();
    let slate_after_films = |seen: &HashMap<u64, Listed>| {
        seen.iter()
            .filter(|(sequence, listed)| **sequence > first_film && is_slate(&listed.2))
            .map(|(sequence, _)| *sequence)
            .min()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while slate_after_films(&seen).is_none() && std::time::Instant::now() < deadline {
        poll_until(&server, &mut seen, Duration::from_secs(1), |_| false);
    }
    let first_slate = slate_after_films(&seen)
        .unwrap_or_else(|| panic!("no slate segment listed within 20 s of slate now: {seen:?}"));
    let before = &seen[&(first_slate - 1)];
    assert!(
        is_film(&before.2),
        "the films aired up to the slate: {before:?}"
    );
    assert_ne!(
        seen[&first_slate].1,
        Some(false),
        "a discontinuity opens the slate"
    );
    std::thread::sleep(Duration::from_secs(6));

    // Return: the films join in progress, within two segments.
    let (status, returned) = post(&server, support::TEST_TOKEN, "live/return", None);
    assert_eq!(status, 200, "{returned}");
    assert_eq!(returned["kind"], "slate", "{returned}");
    let resumed_at = instant(&returned["end"]);
    assert!(
        (resumed_at - chrono::Utc::now()).num_milliseconds() <= 4_000,
        "{returned}"
    );
    let film_after_slate = |seen: &HashMap<u64, Listed>| {
        seen.iter()
            .filter(|(sequence, listed)| **sequence > first_slate && is_film(&listed.2))
            .map(|(sequence, _)| *sequence)
            .min()
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while film_after_slate(&seen).is_none() && std::time::Instant::now() < deadline {
        poll_until(&server, &mut seen, Duration::from_secs(1), |_| false);
    }
    let resumed = film_after_slate(&seen)
        .unwrap_or_else(|| panic!("the films did not resume within 20 s of the return: {seen:?}"));
    // Every segment from the slate's first to the return is the slate's: 2 s each.
    let slated = resumed - first_slate;
    assert_eq!(
        slated as i64,
        (resumed_at - slated_at).num_seconds() / 2,
        "{seen:?}"
    );
    for sequence in first_slate..resumed {
        assert!(
            is_slate(&seen[&sequence].2),
            "{sequence}: {:?}",
            seen[&sequence]
        );
    }
    // Joined in progress: not the film's first segment again.
    assert!(
        !seen[&resumed].2.ends_with("/00000.ts"),
        "{:?}",
        seen[&resumed]
    );
    assert_ne!(
        seen[&resumed].1,
        Some(false),
        "a discontinuity closes the slate"
    );

    // The takes listing shows it as the slate.
    let (status, takes) = block_on(async {
        let response = support::client()
            .get(format!("{}/api/channels/news/live/takes", server.url))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    });
    assert_eq!(status, 200);
    assert_eq!(takes[0]["kind"], "slate", "{takes}");
}
