//! The farm's HTTP API through `router(...).oneshot`, on a SQLite store in a temporary folder:
//! validation errors are 4xx with a JSON message, jobs and assets are reported, uploads stream
//! to disk within the limit.

use std::path::Path;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{Request, StatusCode, header};
use onair_domain::{AssetId, AssetState, JobId, JobState};
use onair_store::Store;
use onair_transcode::FarmSettings;
use onair_transcode::api::{ApiState, router};
use serde_json::Value;
use tower::ServiceExt;

struct Fixture {
    _dir: tempfile::TempDir,
    store: Store,
    settings: FarmSettings,
    root: std::path::PathBuf,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_owned();
    let store = Store::connect(&format!("sqlite://{}", root.join("onair.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let import = root.join("import");
    std::fs::create_dir_all(import.join("shows")).unwrap();
    std::fs::write(import.join("shows/news.mp4"), b"not really media").unwrap();
    std::fs::write(root.join("secret.mp4"), b"outside").unwrap();
    let mut settings = FarmSettings::under(&root);
    settings.default_ladder = "demo".to_owned();
    settings.import_dir = Some(import);
    settings.max_upload_size = 1000;
    Fixture {
        _dir: dir,
        store,
        settings,
        root,
    }
}

impl Fixture {
    fn app(&self) -> Router {
        router(ApiState {
            store: self.store.clone(),
            settings: Arc::new(self.settings.clone()),
        })
    }

    async fn send(&self, request: Request<Body>) -> (StatusCode, Value) {
        call(self.app(), request).await
    }

    fn incoming_files(&self) -> Vec<String> {
        match std::fs::read_dir(&self.settings.incoming_dir) {
            Ok(entries) => entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect(),
            Err(_) => Vec::new(),
        }
    }
}

async fn call(app: Router, request: Request<Body>) -> (StatusCode, Value) {
    let response = app.oneshot(request).await.unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    let json = serde_json::from_slice(&body).unwrap_or_else(|_| {
        panic!(
            "a JSON body, got {status}: {:?}",
            String::from_utf8_lossy(&body)
        )
    });
    (status, json)
}

fn post_json(uri: &str, body: &str) -> Request<Body> {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_owned()))
        .unwrap()
}

fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

fn error_of(json: &Value) -> &str {
    json["error"]
        .as_str()
        .unwrap_or_else(|| panic!("an error message in {json}"))
}

#[tokio::test]
async fn malformed_json_is_a_400_with_a_message() {
    let fixture = fixture().await;
    for body in [
        "{not json",
        "[]",
        "{\"title\": 3}",
        "{\"url\": \"https://example.com/a.mp4\", \"colour\": \"red\"}",
    ] {
        let (status, json) = fixture.send(post_json("/api/assets", body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {json}");
        assert!(!error_of(&json).is_empty());
    }
    let (status, json) = fixture
        .send(post_json("/api/assets", "{\"title\": \"nothing\"}"))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&json).contains("\"url\" or \"path\""), "{json}");
    let (status, json) = fixture
        .send(post_json(
            "/api/assets",
            "{\"url\": \"ftp://example.com/a.mp4\"}",
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(
        error_of(&json).contains("not an http or https URL"),
        "{json}"
    );
}

#[tokio::test]
async fn a_path_outside_the_import_folder_is_a_400() {
    let fixture = fixture().await;
    let secret = fixture.root.join("secret.mp4");
    for path in [
        "../secret.mp4".to_owned(),
        "shows/../../secret.mp4".to_owned(),
        secret.display().to_string(),
    ] {
        let body = serde_json::json!({ "path": path }).to_string();
        let (status, json) = fixture.send(post_json("/api/assets", &body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{path}: {json}");
        assert!(
            error_of(&json).contains("outside the import folder"),
            "{json}"
        );
        let import_dir = fixture.settings.import_dir.as_ref().unwrap();
        assert!(
            !error_of(&json).contains(import_dir.to_str().unwrap()),
            "the message does not reveal the import folder: {json}"
        );
    }
    let (status, json) = fixture
        .send(post_json(
            "/api/assets",
            "{\"path\": \"shows/missing.mp4\"}",
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");

    let mut without = fixture.settings.clone();
    without.import_dir = None;
    let app = router(ApiState {
        store: fixture.store.clone(),
        settings: Arc::new(without),
    });
    let (status, json) = call(
        app,
        post_json("/api/assets", "{\"path\": \"shows/news.mp4\"}"),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&json).contains("import_dir"), "{json}");
    assert_eq!(fixture.store.recent_jobs(10).await.unwrap(), vec![]);
}

#[tokio::test]
async fn an_import_path_queues_a_job_and_an_asset_that_can_be_followed() {
    let fixture = fixture().await;
    let (status, created) = fixture
        .send(post_json(
            "/api/assets",
            "{\"title\": \"Evening News\", \"path\": \"shows/news.mp4\"}",
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let job_id = created["job_id"].as_i64().unwrap();
    let asset_id = created["asset_id"].as_i64().unwrap();
    assert_eq!(created["job_url"], format!("/api/jobs/{job_id}"));

    let (status, job) = fixture.send(get(&format!("/api/jobs/{job_id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(job["state"], "queued");
    assert_eq!(job["progress"], 0);
    assert_eq!(job["attempts"], 0);
    assert_eq!(job["asset_id"], asset_id);
    assert_eq!(job["error"], Value::Null);

    let (status, asset) = fixture.send(get(&format!("/api/assets/{asset_id}"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(asset["state"], "processing");
    assert_eq!(asset["title"], "Evening News");
    assert_eq!(asset["renditions"], serde_json::json!([]));

    // The ladder named by default is created on first use.
    assert!(
        fixture
            .store
            .ladder_by_name("demo")
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn cancelling_a_queued_job_fails_its_asset_and_only_once() {
    let fixture = fixture().await;
    let (_, created) = fixture
        .send(post_json(
            "/api/assets",
            "{\"url\": \"https://example.com/show.mp4\"}",
        ))
        .await;
    let job_id = created["job_id"].as_i64().unwrap();
    let asset_id = created["asset_id"].as_i64().unwrap();
    let cancel = || {
        Request::post(format!("/api/jobs/{job_id}/cancel"))
            .body(Body::empty())
            .unwrap()
    };
    let (status, job) = fixture.send(cancel()).await;
    assert_eq!(status, StatusCode::OK, "{job}");
    assert_eq!(job["state"], "cancelled");
    let asset = fixture
        .store
        .asset(AssetId(asset_id))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asset.state, AssetState::Failed);
    assert_eq!(asset.title, "show");
    let (_, view) = fixture.send(get(&format!("/api/assets/{asset_id}"))).await;
    assert_eq!(view["error"], "the job was cancelled");

    let (status, json) = fixture.send(cancel()).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(error_of(&json).contains("already cancelled"), "{json}");
}

#[tokio::test]
async fn unknown_jobs_and_assets_are_404_and_bad_ids_400() {
    let fixture = fixture().await;
    for uri in ["/api/jobs/999", "/api/assets/999"] {
        let (status, json) = fixture.send(get(uri)).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert!(error_of(&json).contains("999"), "{json}");
    }
    let (status, _) = fixture
        .send(
            Request::post("/api/jobs/999/cancel")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, json) = fixture.send(get("/api/jobs/abc")).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&json).contains("whole numbers"), "{json}");
    let (status, json) = fixture.send(get("/api/nothing/here")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(error_of(&json).contains("no such API route"), "{json}");
}

#[tokio::test]
async fn an_unknown_ladder_is_a_400() {
    let fixture = fixture().await;
    let (status, json) = fixture
        .send(post_json(
            "/api/assets",
            "{\"url\": \"https://example.com/a.mp4\", \"ladder\": \"imaginary\"}",
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&json).contains("imaginary"), "{json}");
    let (status, _) = fixture
        .send(
            Request::post("/api/assets/upload?ladder=imaginary")
                .body(Body::from("x".repeat(10)))
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(fixture.incoming_files().is_empty());

    // The built-in FAST ladder is created when first named.
    let (status, json) = fixture
        .send(post_json(
            "/api/assets",
            "{\"url\": \"https://example.com/a.mp4\", \"ladder\": \"fast\"}",
        ))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    let fast = fixture.store.ladder_by_name("fast").await.unwrap().unwrap();
    assert_eq!(fast.rungs.len(), 6);
}

#[tokio::test]
async fn a_private_url_is_refused_unless_allowed() {
    let fixture = fixture().await;
    let (status, json) = fixture
        .send(post_json(
            "/api/assets",
            "{\"url\": \"http://169.254.169.254/latest/meta-data\"}",
        ))
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&json).contains("link-local"), "{json}");

    let mut allowed = fixture.settings.clone();
    allowed.allow_private_urls = true;
    let app = router(ApiState {
        store: fixture.store.clone(),
        settings: Arc::new(allowed),
    });
    let (status, _) = call(
        app,
        post_json("/api/assets", "{\"url\": \"http://127.0.0.1:9/a.mp4\"}"),
    )
    .await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn an_upload_is_streamed_to_the_incoming_folder_and_queued() {
    let fixture = fixture().await;
    let chunks: Vec<Result<Bytes, std::io::Error>> = (0..10)
        .map(|n| Ok(Bytes::from(vec![n as u8; 50])))
        .collect();
    let request = Request::post("/api/assets/upload?title=Morning%20Show&name=morning.mp4")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let (status, created) = fixture.send(request).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{created}");
    let files = fixture.incoming_files();
    assert_eq!(files.len(), 1, "{files:?}");
    let saved = fixture.settings.incoming_dir.join(&files[0]);
    assert_eq!(std::fs::metadata(&saved).unwrap().len(), 500);

    let job = fixture
        .store
        .job(JobId(created["job_id"].as_i64().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.state, JobState::Queued);
    assert!(
        job.payload.contains("\"kind\":\"upload\""),
        "{}",
        job.payload
    );
    let asset = fixture
        .store
        .asset(AssetId(created["asset_id"].as_i64().unwrap()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(asset.title, "Morning Show");
    assert_eq!(asset.source, "upload \"morning.mp4\"");

    // Cancelling the queued job removes the upload: no worker will.
    let (status, _) = fixture
        .send(
            Request::post(format!("/api/jobs/{}/cancel", job.id.0))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert!(!saved.exists());
}

#[tokio::test]
async fn an_upload_over_the_limit_is_a_413_and_leaves_nothing() {
    let fixture = fixture().await;
    // Declared too large: refused before reading.
    let request = Request::post("/api/assets/upload")
        .header(header::CONTENT_LENGTH, "5000")
        .body(Body::from(vec![0u8; 5000]))
        .unwrap();
    let (status, json) = fixture.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_of(&json).contains("1000 bytes"), "{json}");

    // Streamed without a length: cut off once past the limit, the partial file removed.
    let chunks: Vec<Result<Bytes, std::io::Error>> =
        (0..30).map(|_| Ok(Bytes::from(vec![1u8; 100]))).collect();
    let request = Request::post("/api/assets/upload?title=big")
        .body(Body::from_stream(futures_util::stream::iter(chunks)))
        .unwrap();
    let (status, json) = fixture.send(request).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(error_of(&json).contains("max_upload_size"), "{json}");
    assert!(
        fixture.incoming_files().is_empty(),
        "{:?}",
        fixture.incoming_files()
    );
    assert_eq!(fixture.store.recent_jobs(10).await.unwrap(), vec![]);

    let request = Request::post("/api/assets/upload")
        .body(Body::empty())
        .unwrap();
    let (status, json) = fixture.send(request).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(error_of(&json).contains("empty"), "{json}");
}

#[tokio::test]
async fn a_database_failure_is_a_500_that_hides_the_details() {
    let fixture = fixture().await;
    fixture.store.close().await;
    let (status, json) = fixture.send(get("/api/jobs/1")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let message = error_of(&json);
    assert!(message.contains("the server failed"), "{message}");
    assert!(!message.to_lowercase().contains("pool"), "{message}");
    assert!(!Path::new(message).exists());
}
