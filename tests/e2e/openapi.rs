//! The OpenAPI document through the real binary: `GET /api/openapi.json` lists exactly the
//! `/api` routes of the access table (`onair routes --json`), so a route without its
//! `#[utoipa::path]` fails here; and schemathesis, run over every operation with the bootstrap
//! token, finds no 5xx and no answer that breaks the document. `GET /api/docs`, the page made
//! from the document, shows every operation of it, and every link within it lands.
//!
//! schemathesis lives in `target/schemathesis-venv` (`scripts/install-deps --test`). Without
//! it the schemathesis test says so and passes, unless `CI` is set: there a missing tool fails.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Instant;

use crate::support::{
    Server, TEST_TOKEN, block_on, client, copy_demo_database, media_of_its_own, onair,
};
use serde_json::Value;

/// A server of its own: a private copy of the demo database and media of its own (the
/// schemathesis run calls the DELETE routes).
struct Site {
    _copy: tempfile::TempDir,
    server: Server,
}

fn site() -> Site {
    let copy = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    copy_demo_database(copy.path());
    let media = media_of_its_own(copy.path());
    let server = Server::start_with(
        &["serve"],
        &[
            ("ONAIR_DATA_DIR", copy.path().to_str().unwrap()),
            ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
        ],
    );
    Site {
        _copy: copy,
        server,
    }
}

fn document(site: &Site) -> Value {
    block_on(async {
        // No token: the document is public.
        let response = reqwest::get(format!("{}/api/openapi.json", site.server.url))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        response.json().await.unwrap()
    })
}

#[test]
fn the_document_lists_exactly_the_api_routes_of_the_access_table() {
    let site = site();
    let document = document(&site);
    assert_eq!(document["openapi"], "3.1.0");
    let mut listed = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            listed.insert(format!("{} {path}", method.to_uppercase()));
        }
    }
    let output = onair(&["routes", "--json"], &[]);
    assert!(output.status.success());
    let routes: Vec<Value> = serde_json::from_slice(&output.stdout).unwrap();
    let declared: BTreeSet<String> = routes
        .iter()
        .filter(|route| {
            let path = route["path"].as_str().unwrap();
            // The catch-alls answer a JSON 404: no operation of their own.
            path.starts_with("/api/") && path != "/api/{*rest}" && route["method"] != "*"
        })
        .map(|route| {
            format!(
                "{} {}",
                route["method"].as_str().unwrap(),
                route["path"].as_str().unwrap()
            )
        })
        .collect();
    let undocumented: Vec<_> = declared.difference(&listed).collect();
    let unserved: Vec<_> = listed.difference(&declared).collect();
    assert!(
        undocumented.is_empty(),
        "routes without an OpenAPI operation (give the handler a #[utoipa::path] and list it in web-ui/src/api/openapi.rs): {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "operations the access table does not list: {unserved:?}"
    );
    // Who may call an operation is the access table's, and its security says how to prove it.
    let post = &document["paths"]["/api/channels"]["post"];
    assert!(
        post["description"]
            .as_str()
            .unwrap()
            .contains("`admin` on every channel")
    );
    assert_eq!(post["security"][0]["bearer"], serde_json::json!([]));
    assert_eq!(
        post["responses"]["401"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/ErrorBody"
    );
}

/// The values of `attribute="…"` in `html`.
fn attribute_values<'a>(html: &'a str, attribute: &str) -> Vec<&'a str> {
    let opening = format!(" {attribute}=\"");
    html.match_indices(&opening)
        .map(|(at, _)| {
            let value = &html[at + opening.len()..];
            &value[..value.find('"').unwrap()]
        })
        .collect()
}

#[test]
fn the_docs_page_shows_every_operation_of_the_document_without_login_and_its_links_land() {
    let site = site();
    let document = document(&site);
    let (html, policy) = block_on(async {
        // No token and no cookie: the page is public.
        let response = reqwest::get(format!("{}/api/docs", site.server.url))
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_owned();
        (response.text().await.unwrap(), policy)
    });
    assert!(policy.contains("script-src 'self'"));
    assert!(!html.contains("<script"), "the page needs no script");
    assert!(html.contains("href=\"/api/openapi.json\""));
    let mut operations = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            let heading = format!(
                "<span class=\"badge method\">{}</span> <code>{path}</code>",
                method.to_uppercase()
            );
            assert!(html.contains(&heading), "the page lacks {heading}");
            operations += 1;
        }
    }
    assert!(operations > 50, "only {operations} operations");
    // Every scheme and schema of the document has its place, and every link on the page
    // lands on an element of it.
    for scheme in document["components"]["securitySchemes"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(html.contains(&format!("id=\"auth-{scheme}\"")), "{scheme}");
    }
    for schema in document["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
    {
        assert!(
            html.contains(&format!("<code>{schema}</code></h3>")),
            "{schema}"
        );
    }
    let ids = attribute_values(&html, "id");
    let unique: BTreeSet<&str> = ids.iter().copied().collect();
    assert_eq!(unique.len(), ids.len(), "an id is used twice");
    let links: Vec<&str> = attribute_values(&html, "href")
        .into_iter()
        .filter_map(|href| href.strip_prefix('#'))
        .collect();
    assert!(links.iter().any(|link| link.starts_with("schema-")));
    for link in links {
        assert!(unique.contains(link), "#{link} lands nowhere");
    }
    for label in attribute_values(&html, "aria-labelledby") {
        assert!(
            unique.contains(label),
            "the label {label} is not on the page"
        );
    }
}

/// The schemathesis in the venv `scripts/install-deps --test` makes.
fn schemathesis() -> Option<PathBuf> {
    let venv =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/schemathesis-venv/bin/schemathesis");
    venv.exists().then_some(venv)
}

#[test]
fn schemathesis_finds_no_server_error_and_no_answer_that_breaks_the_document() {
    let Some(schemathesis) = schemathesis() else {
        assert!(
            std::env::var("CI").is_err(),
            "schemathesis is missing from target/schemathesis-venv: run scripts/install-deps --test"
        );
        eprintln!(
            "SKIPPED: schemathesis is not installed in target/schemathesis-venv (scripts/install-deps --test installs it)"
        );
        return;
    };
    let site = site();
    // The demo's channel exists before schemathesis deletes anything.
    block_on(async {
        let response = client()
            .get(format!("{}/api/channels/demo", site.server.url))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    });
    let started = Instant::now();
    let output = Command::new(&schemathesis)
        .args([
            "run",
            &format!("{}/api/openapi.json", site.server.url),
            "--url",
            &site.server.url,
            "--header",
            &format!("Authorization: Bearer {TEST_TOKEN}"),
            "--checks",
            "not_a_server_error,response_schema_conformance,status_code_conformance",
            "--max-examples",
            "12",
            "--workers",
            "2",
            "--suppress-health-check",
            "all",
            "--seed",
            "1",
        ])
        .env("NO_COLOR", "1")
        // Its example database (`.schemathesis/`) goes with the copy, not into the checkout.
        .current_dir(site._copy.path())
        .output()
        .expect("schemathesis runs");
    let report = format!(
        "{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    eprintln!("schemathesis took {:.0?}:\n{report}", started.elapsed());
    assert!(
        output.status.success(),
        "schemathesis found problems:\n{report}"
    );
}
