//! The OpenAPI document through the real binary: `GET /api/openapi.json` lists exactly the
//! `/api` routes of the access table (`onair routes --json`), so a route without its
//! `#[utoipa::path]` fails here; and schemathesis, run over every operation with the bootstrap
//! token, finds no 5xx and no answer that breaks the document.
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
