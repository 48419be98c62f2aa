//! The read-only operator pages through the real binary on the shared demo data, fetched with
//! the bootstrap token (pages take a bearer token as the API does).

use crate::support;
use crate::support::{Server, TEST_TOKEN, block_on, client, demo_data_dir};

fn page(server: &Server, path: &str) -> (u16, String) {
    block_on(async {
        let response = client()
            .get(format!("{}{path}", server.url))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

#[test]
fn the_guide_page_lists_the_day_as_it_airs_and_links_the_exports() {
    let server = Server::start(&demo_data_dir());
    let (status, html) = page(&server, "/guide/demo");
    assert_eq!(status, 200, "{html}");
    for title in ["Morning Headlines", "Kitchen Basics", "Night Sky"] {
        assert!(html.contains(title), "{title} is in the guide: {html}");
    }
    assert!(html.contains("lasts 24 hours"), "{html}");
    assert!(html.contains("format=csv"), "{html}");
    assert!(
        html.contains("data-testid=\"reconciled\""),
        "today has an as-run table: {html}"
    );

    let (status, html) = page(&server, "/guide/demo?date=2999-01-01");
    assert_eq!(status, 200);
    assert!(html.contains("This day has not started"), "{html}");

    let (status, html) = page(&server, "/guide/demo?date=yesterday");
    assert_eq!(status, 400);
    assert!(html.contains("give it as YYYY-MM-DD"), "{html}");

    let (status, _) = page(&server, "/guide/no-such-channel");
    assert_eq!(status, 404);
    assert!(!TEST_TOKEN.is_empty());
}

#[test]
fn onair_demo_prints_a_login_that_opens_the_operator_pages() {
    // `onair demo` on a copy of the shared demo data: it reuses the clips and the grid.
    let shared = demo_data_dir();
    let copy = tempfile::tempdir().unwrap();
    support::copy_demo_database(copy.path());
    std::os::unix::fs::symlink(shared.join("demo-ads"), copy.path().join("demo-ads")).unwrap();
    // As if the demo had been made two days ago: its repeating grid starts then.
    let two_days = onair_domain::Ticks::from_secs(2 * 86_400);
    block_on(async {
        let url = format!("sqlite://{}", copy.path().join("onair.db").display());
        let store = onair_store::Store::connect(&url).await.unwrap();
        let slug = onair_domain::ChannelSlug::parse("demo").unwrap();
        let channel = store.channel_by_slug(&slug).await.unwrap().unwrap();
        let breaks = store.ad_breaks_of_channel(channel.id).await.unwrap();
        let earlier: Vec<_> = store
            .schedule_items(channel.id)
            .await
            .unwrap()
            .into_iter()
            .map(|item| {
                let own = breaks
                    .iter()
                    .filter(|ad_break| ad_break.schedule_item_id == item.id)
                    .map(|ad_break| onair_store::NewAdBreak {
                        offset: ad_break.offset,
                        duration: ad_break.duration,
                    })
                    .collect();
                let item = onair_store::NewScheduleItem {
                    asset_id: item.asset_id,
                    start: onair_domain::Timestamp(item.start.0 - two_days.0),
                    hard_start: item.hard_start,
                    length: item.length,
                    title: item.title,
                };
                (item, own)
            })
            .collect();
        store
            .replace_schedule_with_ad_breaks(channel.id, &earlier)
            .await
            .unwrap();
        store.close().await;
    });
    let media = shared.join("media");
    let server = Server::start_with(
        &["demo"],
        &[
            ("ONAIR_DATA_DIR", copy.path().to_str().unwrap()),
            ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
        ],
    );
    let printed = server.stdout.lock().unwrap().join("\n");
    let line = printed
        .lines()
        .find(|line| line.starts_with("operator pages: open http://"))
        .unwrap_or_else(|| panic!("no login printed: {printed}"));
    let password = line
        .split("with password ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap();
    block_on(async {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let login = client
            .post(format!("{}/login", server.url))
            .header("sec-fetch-site", "same-origin")
            .form(&[("username", "demo"), ("password", password)])
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 303, "the printed login works");
        let cookie = login.headers()["set-cookie"].to_str().unwrap();
        let session = &cookie[..cookie.find(';').unwrap()];
        let page = client
            .get(format!("{}/", server.url))
            .header("cookie", session)
            .send()
            .await
            .unwrap();
        assert_eq!(page.status(), 200);
        let html = page.text().await.unwrap();
        assert!(html.contains("/channels/demo/master.m3u8"), "{html}");
        // The repeating grid's first day, which the grid planner edits, is today again.
        let today = chrono::Utc::now().date_naive();
        let schedule: serde_json::Value = support::client()
            .get(format!(
                "{}/api/channels/demo/schedule?from={today}T00:00:00Z&to={}T00:00:00Z",
                server.url,
                today.succ_opt().unwrap()
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let items = schedule["items"].as_array().unwrap();
        assert_eq!(items.len(), 480, "{schedule}");
        assert_eq!(items[0]["start"], format!("{today}T00:00:00.000Z"));
        assert_eq!(items[0]["ad_breaks"].as_array().unwrap().len(), 1);
    });
}
