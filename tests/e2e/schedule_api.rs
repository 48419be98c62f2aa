//! End to end: the real `onair` binary serves the scheduler's API and the EPG. The EPG of the
//! demo channel validates with `tv_validate_file` (Debian's `xmltv-util`; without it the
//! validation is skipped with a loud message, unless `CI=true`, where it fails) and lists what
//! the schedule API says is scheduled; an edit published through the API reaches playout and
//! the EPG together.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use crate::support;
use crate::support::{Server, block_on, copy_demo_database, demo_data_dir, get_text};
use onair_domain::{ChannelSlug, OutputFormat, Timestamp};
use onair_store::{NewChannel, Store};
use serde_json::{Value, json};

const XMLTV_DTD: &str = "/usr/share/xmltv/xmltv.dtd";

/// Validates an XMLTV file with `tv_validate_file`, or says loudly why it cannot.
fn validate_xmltv(path: &Path) {
    let available = Command::new("tv_validate_file")
        .arg("--help")
        .output()
        .is_ok()
        && Path::new(XMLTV_DTD).exists();
    if !available {
        let message = "TV_VALIDATE_FILE NOT FOUND (install Debian's xmltv-util): the XMLTV EPG is not validated";
        if std::env::var("CI").as_deref() == Ok("true") {
            panic!("{message}; CI=true, so this fails");
        }
        let banner = "!".repeat(96);
        let _ = writeln!(std::io::stderr(), "\n{banner}\n{message}\n{banner}\n");
        return;
    }
    let output = Command::new("tv_validate_file")
        .args(["--dtd-file", XMLTV_DTD])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "tv_validate_file refused {}:\n{}\n{}\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

#[test]
fn the_demo_epg_validates_with_tv_validate_file_and_lists_only_scheduled_programmes() {
    let data = demo_data_dir();
    let server = Server::start(&data);
    let scratch = tempfile::tempdir().unwrap();

    for (name, path) in [("all", "/epg.xml"), ("demo", "/channels/demo/epg.xml")] {
        let (status, xml) = get_text(&format!("{}{path}", server.url));
        assert_eq!(status, 200, "{path}: {xml}");
        assert!(
            xml.contains(r#"<channel id="demo.onair.example">"#),
            "{xml}"
        );
        assert!(
            xml.contains("<programme "),
            "{path} lists programmes: {xml}"
        );
        let file = scratch.path().join(format!("{name}.xml"));
        std::fs::write(&file, &xml).unwrap();
        validate_xmltv(&file);
    }

    let (status, schedule) = get_text(&format!(
        "{}/api/channels/demo/schedule?from=1970-01-01T00:00:00Z&to=2100-01-01T00:00:00Z",
        server.url
    ));
    assert_eq!(status, 200, "{schedule}");
    let schedule: Value = serde_json::from_str(&schedule).unwrap();
    let scheduled: HashSet<&str> = schedule["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["title"].as_str().unwrap())
        .collect();
    assert!(!scheduled.is_empty());

    let (status, feed) = get_text(&format!("{}/channels/demo/epg.json", server.url));
    assert_eq!(status, 200, "{feed}");
    let feed: Value = serde_json::from_str(&feed).unwrap();
    let programmes = feed["channels"][0]["programs"].as_array().unwrap();
    assert!(!programmes.is_empty(), "{feed}");
    for programme in programmes {
        if programme["type"] == "programme" {
            let title = programme["title"].as_str().unwrap();
            let title = title.split(" (part ").next().unwrap();
            assert!(
                scheduled
                    .iter()
                    .any(|scheduled| scheduled.starts_with(title) || title.starts_with(scheduled)),
                "the EPG lists {title:?}, which is not scheduled: {scheduled:?}"
            );
        }
    }

    // No guide entry stands for longer than the run of same-titled programmes it lists: every
    // planned programme it overlaps, over the next three hours, carries its title.
    let instant = |text: &str| {
        chrono::DateTime::parse_from_rfc3339(text)
            .unwrap()
            .timestamp()
    };
    let now = chrono::Utc::now().timestamp();
    let (from, to) = (
        Timestamp::from_unix_secs(now).to_rfc3339_millis(),
        Timestamp::from_unix_secs(now + 3 * 3600).to_rfc3339_millis(),
    );
    let (status, plan) = get_text(&format!(
        "{}/api/channels/demo/plan?from={from}&to={to}",
        server.url
    ));
    assert_eq!(status, 200, "{plan}");
    let plan: Value = serde_json::from_str(&plan).unwrap();
    let planned: Vec<(i64, i64, &str)> = plan["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            (
                instant(item["start"].as_str().unwrap()),
                instant(item["end"].as_str().unwrap()),
                item["title"].as_str().unwrap(),
            )
        })
        .collect();
    assert!(planned.len() > 10, "{plan}");
    let mut checked = 0;
    for programme in programmes {
        let (start, end) = (
            instant(programme["start"].as_str().unwrap()),
            instant(programme["end"].as_str().unwrap()),
        );
        if programme["type"] != "programme" || start < now || end > now + 3 * 3600 {
            continue;
        }
        let title = programme["title"].as_str().unwrap();
        for (item_start, item_end, item_title) in &planned {
            if *item_start < end && *item_end > start {
                assert_eq!(
                    *item_title, title,
                    "the guide's {title:?} from {start} to {end} covers {item_title:?} ({item_start} to {item_end})"
                );
            }
        }
        checked += 1;
    }
    assert!(checked > 10, "only {checked} guide entries checked");
}

#[test]
fn with_a_token_the_schedule_api_needs_it_and_the_epg_stays_public() {
    let data = demo_data_dir();
    let server = Server::start_with(
        &["serve"],
        &[
            ("ONAIR_DATA_DIR", data.to_str().unwrap()),
            ("ONAIR_API_TOKEN", "e2e-t0ken"),
        ],
    );
    let (status, body) = get_text(&format!("{}/api/channels", server.url));
    assert_eq!(status, 401, "{body}");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let (status, body) = runtime.block_on(async {
        let response = support::client()
            .get(format!("{}/api/channels", server.url))
            .bearer_auth("e2e-t0ken")
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    });
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""slug":"demo""#), "{body}");
    let (status, _) = get_text(&format!("{}/epg.xml", server.url));
    assert_eq!(status, 200);
}

/// A private copy of the shared demo database (a consistent snapshot, `VACUUM INTO`), with a
/// second channel `news` (no repeat) on the demo ladder; the media stay shared (read only).
/// Returns the copy's folder and the ids of the demo's ready clips.
fn private_demo_copy() -> (tempfile::TempDir, std::path::PathBuf, Vec<i64>) {
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

#[test]
fn an_edit_published_through_the_api_reaches_playout_and_the_epg_together() {
    let (copy, media, clips) = private_demo_copy();
    let server = Server::start_with(
        &["serve"],
        &[
            ("ONAIR_DATA_DIR", copy.path().to_str().unwrap()),
            ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
        ],
    );
    // A hard start 15 minutes from now, on a whole minute, then the clips one after another.
    let now_secs = chrono::Utc::now().timestamp();
    let start_secs = (now_secs / 60 + 16) * 60;
    let start = Timestamp::from_unix_secs(start_secs).to_rfc3339_millis();
    let items: Vec<Value> = clips
        .iter()
        .enumerate()
        .map(|(index, clip)| {
            json!({"asset_id": clip, "start": start, "hard_start": index == 0, "title": format!("Clip {index}")})
        })
        .collect();
    let body = json!({
        "from": Timestamp::from_unix_secs(start_secs - 60).to_rfc3339_millis(),
        "to": Timestamp::from_unix_secs(start_secs + 3600).to_rfc3339_millis(),
        "items": items,
    });
    let (status, answer) = block_on(async {
        let response = support::client()
            .put(format!("{}/api/channels/news/schedule", server.url))
            .header("If-Match", "\"0\"")
            .header("X-Onair-Author", "e2e")
            .json(&body)
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    });
    assert_eq!(status, 200, "{answer}");

    // The server reloads the channel (every 2 s by default): the EPG then lists the edit.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let programmes = loop {
        let (status, feed) = get_text(&format!("{}/channels/news/epg.json", server.url));
        if status == 200 {
            let feed: Value = serde_json::from_str(&feed).unwrap();
            let programmes = feed["channels"][0]["programs"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            if !programmes.is_empty() {
                break programmes;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the EPG of news never listed the edit: {status}"
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let first_start =
        chrono::DateTime::parse_from_rfc3339(programmes[0]["start"].as_str().unwrap())
            .unwrap()
            .timestamp();
    assert_eq!(first_start, start_secs, "{programmes:?}");
    // Clips this short are not listed alone: the guide lists them as a medley under the
    // channel's name, naming them in order (it never lends one of them its title).
    assert_eq!(programmes[0]["type"], "medley", "{programmes:?}");
    assert_eq!(programmes[0]["title"], "News", "{programmes:?}");
    assert!(
        programmes[0]["description"]
            .as_str()
            .is_some_and(|description| description.starts_with("Clip 0")),
        "{programmes:?}"
    );

    // The same reload put the channel on the origin.
    let (status, playlist) = get_text(&format!("{}/channels/news/master.m3u8", server.url));
    assert_eq!(status, 200, "{playlist}");

    // Both channels in one XMLTV document that validates.
    let (status, xml) = get_text(&format!("{}/epg.xml", server.url));
    assert_eq!(status, 200);
    assert!(
        xml.contains(r#"<channel id="news.onair.example">"#),
        "{xml}"
    );
    assert!(
        xml.contains(r#"<channel id="demo.onair.example">"#),
        "{xml}"
    );
    let file = copy.path().join("all.xml");
    std::fs::write(&file, &xml).unwrap();
    validate_xmltv(&file);

    // The publication is kept with its author.
    let (status, versions) = get_text(&format!(
        "{}/api/channels/news/schedule/versions",
        server.url
    ));
    assert_eq!(status, 200);
    assert!(versions.contains(r#""author":"e2e""#), "{versions}");
}

#[test]
fn a_channel_whose_grid_has_nothing_that_can_air_airs_its_slate_instead_of_going_dark() {
    let (copy, media, _) = private_demo_copy();
    let slate_id: i64 = block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", copy.path().join("onair.db").display());
        let mut db = sqlx::SqliteConnection::connect(&url).await.unwrap();
        for statement in ["DELETE FROM ad_breaks", "DELETE FROM schedule_items"] {
            sqlx::query(statement).execute(&mut db).await.unwrap();
        }
        let slate: (i64,) =
            // The newest, as onair serve picks it (a re-encoded demo leaves the old one).
            sqlx::query_as(
                "SELECT id FROM assets WHERE source = 'generated:slate/demo' ORDER BY id DESC LIMIT 1",
            )
                .fetch_one(&mut db)
                .await
                .unwrap();
        db.close().await.unwrap();
        slate.0
    });
    let server = Server::start_with(
        &["serve"],
        &[
            ("ONAIR_DATA_DIR", copy.path().to_str().unwrap()),
            ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
        ],
    );
    let (status, playlist) = get_text(&format!("{}/channels/demo/360p/ts.m3u8", server.url));
    assert_eq!(status, 200, "{playlist}");
    let segments: Vec<&str> = playlist
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect();
    assert!(segments.len() >= 3, "{playlist}");
    let slate_path = format!("assets/{slate_id}/");
    assert!(
        segments.iter().all(|uri| uri.contains(&slate_path)),
        "every segment is the slate's ({slate_path}):\n{playlist}"
    );
    let (status, _) = get_text(&format!("{}/channels/demo/manifest.mpd", server.url));
    assert_eq!(status, 200);
}
