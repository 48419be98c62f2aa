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
