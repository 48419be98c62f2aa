//! The templates and blocks page (`/grid/{slug}/templates`) and applying a template to a week,
//! through the real binary on a private copy of the demo database with a second channel `news`
//! (Europe/Berlin, no repeat, no items).

use crate::support::{
    Server, TEST_TOKEN, block_on, client, copy_demo_database, demo_data_dir, onair,
    onair_with_stdin,
};
use chrono::{Datelike, Days};
use onair_domain::{ChannelSlug, OutputFormat};
use onair_store::{NewChannel, Store};
use serde_json::{Value, json};

/// The copy, the server on it, the demo clips' ids and a viewer's token on `news`.
fn start() -> (tempfile::TempDir, Server, Vec<i64>, String) {
    let shared = demo_data_dir();
    let copy = tempfile::tempdir().unwrap();
    copy_demo_database(copy.path());
    let clips = block_on(async {
        let url = format!("sqlite://{}", copy.path().join("onair.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let demo = store
            .channel_by_slug(&ChannelSlug::parse("demo").unwrap())
            .await
            .unwrap()
            .unwrap();
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
    let media = shared.join("media");
    let env = [
        ("ONAIR_DATA_DIR", copy.path().to_str().unwrap()),
        ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
    ];
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
    assert!(added.status.success(), "{added:?}");
    let token = onair(&["user", "token", "vic", "tests"], &env);
    assert!(token.status.success(), "{token:?}");
    let viewer = String::from_utf8(token.stdout).unwrap().trim().to_owned();
    let server = Server::start_with(&["serve"], &env);
    (copy, server, clips, viewer)
}

fn send(
    method: reqwest::Method,
    url: &str,
    token: &str,
    if_match: Option<i64>,
    body: Option<&Value>,
    form: Option<&[(&str, String)]>,
) -> (u16, String, Option<String>) {
    block_on(async {
        let mut request = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .request(method, url)
            .bearer_auth(token);
        if let Some(version) = if_match {
            request = request.header("If-Match", format!("\"{version}\""));
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await.unwrap();
        let location = response
            .headers()
            .get("location")
            .map(|value| value.to_str().unwrap().to_owned());
        (
            response.status().as_u16(),
            response.text().await.unwrap(),
            location,
        )
    })
}

fn get(url: &str, token: &str) -> (u16, String) {
    let (status, text, _) = send(reqwest::Method::GET, url, token, None, None, None);
    (status, text)
}

#[test]
fn a_scheduler_makes_a_block_and_a_template_and_applies_it_to_next_week_and_a_viewer_cannot() {
    let (_copy, server, clips, viewer) = start();
    assert!(client().get(&server.url).build().is_ok());
    let api = format!("{}/api/channels/news/grid", server.url);
    let page = format!("{}/grid/news/templates", server.url);

    // A bad rule is named by its field, and nothing is saved.
    let bad =
        json!({"templates": [{"name": "Nights", "slots": [{"rule": "daily 25:00", "fill": "x"}]}]});
    let (status, answer, _) = send(
        reqwest::Method::PUT,
        &format!("{api}/templates"),
        TEST_TOKEN,
        Some(0),
        Some(&bad),
        None,
    );
    assert_eq!(status, 422, "{answer}");
    assert!(answer.contains("templates[0].slots[0].rule: "), "{answer}");

    let grid = json!({
        "blocks": {"<Evening>": {"entries": [
            {"type": "item", "asset_id": clips[0], "info": {"title": "First <b>clip</b>"}},
            {"type": "item", "asset_id": clips[1], "info": {"title": "Second clip"}},
        ]}},
        "templates": [{"name": "Nights", "slots": [{"rule": "daily 20:00", "block": "<Evening>"}]}],
    });
    let (status, answer, _) = send(
        reqwest::Method::PUT,
        &api,
        TEST_TOKEN,
        Some(0),
        Some(&grid),
        None,
    );
    assert_eq!(status, 200, "{answer}");
    let version: i64 = serde_json::from_str::<Value>(&answer).unwrap()["version"]
        .as_i64()
        .unwrap();

    // The page lists what was typed, escaped, and when the rule fires next.
    let (status, html) = get(&page, TEST_TOKEN);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("&#60;Evening&#62;"), "{html}");
    assert!(html.contains("First &#60;b&#62;clip&#60;/b&#62;"), "{html}");
    assert!(
        !html.contains("<Evening>") && !html.contains("<b>clip"),
        "{html}"
    );
    assert!(html.contains("20:00 +0"), "the next firings: {html}");
    let (status, fragment) = get(
        &format!("{page}/fires?rule=daily%2025:00&zone="),
        TEST_TOKEN,
    );
    assert_eq!(status, 422, "{fragment}");
    assert!(fragment.contains("25:00"), "{fragment}");

    // A viewer reads the page but cannot apply.
    let (status, html) = get(&page, &viewer);
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("You can look but not edit"), "{html}");
    let today = chrono::Utc::now().date_naive();
    let monday = today
        .checked_add_days(Days::new(
            7 - u64::from(today.weekday().num_days_from_monday()),
        ))
        .unwrap();
    let form = |version: i64| {
        vec![
            ("template", "Nights".to_owned()),
            ("week", monday.to_string()),
            ("version", version.to_string()),
        ]
    };
    let apply = format!("{page}/apply");
    let (status, _, _) = send(
        reqwest::Method::POST,
        &apply,
        &viewer,
        None,
        None,
        Some(&form(version)),
    );
    assert_eq!(status, 403);

    // A stale version is refused and nothing is applied.
    let (status, html, _) = send(
        reqwest::Method::POST,
        &apply,
        TEST_TOKEN,
        None,
        None,
        Some(&form(version - 1)),
    );
    assert_eq!(status, 409, "{html}");
    assert!(html.contains("Nothing was applied"), "{html}");

    let (status, _, location) = send(
        reqwest::Method::POST,
        &apply,
        TEST_TOKEN,
        None,
        None,
        Some(&form(version)),
    );
    assert_eq!(status, 303);
    let location = location.unwrap();
    assert_eq!(
        location,
        format!("/grid/news?view=week&date={monday}&applied=14")
    );
    let (status, week) = get(&format!("{}{location}", server.url), TEST_TOKEN);
    assert_eq!(status, 200, "{week}");
    assert!(week.contains("14 items were added"), "{week}");
    assert_eq!(
        week.matches("<td>First &#60;b&#62;clip&#60;/b&#62;</td>")
            .count(),
        7,
        "{week}"
    );
    assert!(week.contains("20:00:00 +0"), "{week}");
}
