//! The read-only operator pages through the real binary on the shared demo data, fetched with
//! the bootstrap token (pages take a bearer token as the API does).

mod support;

use support::{Server, TEST_TOKEN, block_on, client, demo_data_dir};

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
    });
}
