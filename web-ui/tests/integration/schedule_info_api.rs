//! Programme metadata (`info`) on schedule items through the schedule API: stored with the
//! edit, answered by reads and by the edit itself, carried by the JSON export, and refused by
//! item and field when it is bad.

use axum::http::StatusCode;
use serde_json::{Value, json};

use super::schedule_api::{Fixture, SCHEDULE, get, item, put, rfc, send, window};

fn with_info(mut item: Value, info: Value) -> Value {
    item["info"] = info;
    item
}

fn episode_four() -> Value {
    json!({
        "title": "River",
        "episode_title": "Where the river meets the sea",
        "season": 2,
        "episode": 4,
        "description": "A <b>journey</b> downstream.",
        "genres": ["Documentary"],
        "rating": {"system": "VCHIP", "value": "TV-PG"},
    })
}

#[tokio::test]
async fn an_items_info_is_stored_with_the_edit_and_answered_by_the_edit_and_every_read() {
    let fixture = Fixture::new().await;
    let items = vec![
        with_info(item(fixture.asset, 3600, "River"), episode_four()),
        item(fixture.asset, 5400, "Plain"),
    ];
    let (status, body, _) = send(&fixture.app(), put(SCHEDULE, Some(0), window(items))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        body["version"], 1,
        "the items and their metadata: one version"
    );
    assert_eq!(body["items"][0]["info"], episode_four());
    assert!(body["items"][1].get("info").is_none(), "{body}");

    let (_, read, _) = send(
        &fixture.app(),
        get(&format!("{SCHEDULE}?from={}&to={}", rfc(0), rfc(7200))),
    )
    .await;
    assert_eq!(read["items"][0]["info"], episode_four());
    assert!(read["items"][1].get("info").is_none(), "{read}");

    let (_, exported, _) = send(
        &fixture.app(),
        get(&format!(
            "{SCHEDULE}/export?from={}&to={}&format=json",
            rfc(0),
            rfc(7200)
        )),
    )
    .await;
    assert_eq!(exported["items"][0]["info"], episode_four());
}

#[tokio::test]
async fn bad_info_is_a_422_naming_the_item_and_the_field_and_changes_nothing() {
    let fixture = Fixture::new().await;
    let mut bad = episode_four();
    bad["episode"] = json!(0);
    bad["artwork_url"] = json!("file:///etc/passwd");
    let items = vec![
        item(fixture.asset, 3600, "Fine"),
        with_info(item(fixture.asset, 5400, "River"), bad),
    ];
    let (status, body, _) = send(&fixture.app(), put(SCHEDULE, Some(0), window(items))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let named: Vec<(Value, String)> = body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|error| {
            (
                error["index"].clone(),
                error["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        named,
        [
            (json!(1), "info.episode: it counts from 1".to_owned()),
            (
                json!(1),
                "info.artwork_url: \"file:///etc/passwd\" is not an http(s) URL".to_owned()
            ),
        ]
    );
    assert!(fixture.titles().await.is_empty(), "nothing was stored");

    let mut unknown = episode_four();
    unknown["colour"] = json!("blue");
    let items = vec![with_info(item(fixture.asset, 3600, "River"), unknown)];
    let (status, body, _) = send(&fixture.app(), put(SCHEDULE, Some(0), window(items))).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("items[0].info.colour"),
        "an unknown field is named: {body}"
    );
}
