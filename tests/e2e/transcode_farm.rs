//! End to end, the transcode farm through the real binary: uploads, URLs and the CLI become
//! ready assets; bad input fails its own job with a reason and nothing else; a worker killed
//! mid-job is replaced and the job still succeeds; two workers on one PostgreSQL database never
//! run a job twice. Clips are generated with ffmpeg, small (320x180) and short except where the
//! scenario needs a job long enough to interrupt.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{ONAIR, Server, onair};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A data folder, a config file and the environment every process of one scenario shares.
struct Farm {
    dir: tempfile::TempDir,
    config: PathBuf,
    env: Vec<(String, String)>,
}

impl Farm {
    /// `transcode` is the body of the `[transcode]` section.
    fn new(transcode: &str) -> Farm {
        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("onair.toml");
        // The small ladder keeps the encodes short.
        std::fs::write(
            &config,
            format!("[transcode]\ndefault_ladder = \"demo\"\n{transcode}\n"),
        )
        .unwrap();
        let env = vec![(
            "ONAIR_DATA_DIR".to_owned(),
            dir.path().join("data").to_str().unwrap().to_owned(),
        )];
        Farm { dir, config, env }
    }

    fn with_env(mut self, name: &str, value: &str) -> Farm {
        self.env.push((name.to_owned(), value.to_owned()));
        self
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(name, value)| (name.as_str(), value.as_str()))
            .collect()
    }

    fn args<'a>(&'a self, rest: &[&'a str]) -> Vec<&'a str> {
        let mut args = vec!["--config", self.config.to_str().unwrap()];
        args.extend_from_slice(rest);
        args
    }

    fn serve(&self) -> Server {
        Server::start_with(&self.args(&["serve"]), &self.env())
    }

    /// Starts `onair worker` and waits until it says it runs.
    fn worker(&self, extra: &[&str]) -> Process {
        let mut args = self.args(&["worker"]);
        args.extend_from_slice(extra);
        let mut child = Command::new(ONAIR)
            .args(&args)
            .envs(self.env())
            .env_remove("ONAIR_CONFIG")
            .env("ONAIR_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("onair worker ") {
                    let _ = sender.send(line);
                }
            }
        });
        receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("onair worker started within 60 s");
        Process(child)
    }

    fn media_dir(&self) -> PathBuf {
        self.dir.path().join("data/media")
    }

    fn incoming_dir(&self) -> PathBuf {
        self.dir.path().join("data/incoming")
    }

    /// A 320x180 25 fps clip with a tone, made with ffmpeg.
    fn clip(&self, name: &str, secs: u32) -> PathBuf {
        let path = self.dir.path().join(name);
        let status = Command::new("ffmpeg")
            .args(["-loglevel", "error", "-y", "-f", "lavfi", "-i"])
            .arg(format!("testsrc2=size=320x180:rate=25:duration={secs}"))
            .args(["-f", "lavfi", "-i"])
            .arg(format!("sine=frequency=440:duration={secs}"))
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-pix_fmt",
                "yuv420p",
                "-c:a",
                "aac",
                "-shortest",
            ])
            .arg(&path)
            .status()
            .expect("ffmpeg runs");
        assert!(status.success(), "ffmpeg made {name}");
        path
    }
}

/// A child process, killed on drop.
struct Process(Child);

impl Process {
    /// SIGKILL: no chance to release anything.
    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

fn client() -> reqwest::Client {
    support::client()
}

async fn upload(server: &Server, file: &Path, title: &str) -> (i64, i64) {
    let bytes = std::fs::read(file).unwrap();
    let name = file.file_name().unwrap().to_str().unwrap();
    let response = client()
        .post(format!("{}/api/assets/upload", server.url))
        .query(&[("title", title), ("name", name)])
        .body(bytes)
        .send()
        .await
        .unwrap();
    created(response).await
}

async fn post_url(server: &Server, url: &str) -> (i64, i64) {
    let response = client()
        .post(format!("{}/api/assets", server.url))
        .json(&serde_json::json!({ "url": url }))
        .send()
        .await
        .unwrap();
    created(response).await
}

async fn created(response: reqwest::Response) -> (i64, i64) {
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, 202, "{body}");
    (
        body["job_id"].as_i64().unwrap(),
        body["asset_id"].as_i64().unwrap(),
    )
}

async fn get_json(server: &Server, path: &str) -> Value {
    let response = client()
        .get(format!("{}{path}", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "{path}");
    response.json().await.unwrap()
}

/// Polls the job until `done` says so, or panics after `limit`.
async fn wait_job(
    server: &Server,
    job: i64,
    limit: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let started = Instant::now();
    loop {
        let view = get_json(server, &format!("/api/jobs/{job}")).await;
        if done(&view) {
            return view;
        }
        assert!(
            started.elapsed() < limit,
            "job {job} did not get there within {limit:?}: {view:#}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn ended(view: &Value) -> bool {
    matches!(
        view["state"].as_str(),
        Some("succeeded" | "failed" | "cancelled")
    )
}

async fn wait_ended(server: &Server, job: i64) -> Value {
    wait_job(server, job, Duration::from_secs(180), ended).await
}

fn assert_ready(asset: &Value, seconds: f64) {
    assert_eq!(asset["state"], "ready", "{asset:#}");
    assert_eq!(
        asset["duration_seconds"].as_f64().unwrap(),
        seconds,
        "{asset:#}"
    );
    let renditions = asset["renditions"].as_array().unwrap();
    let names: Vec<String> = renditions
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["rung"].as_str().unwrap(),
                r["packaging"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        names,
        [
            "360p/ts",
            "240p/ts",
            "360p/cmaf",
            "240p/cmaf",
            "audio-96k/cmaf-audio",
            "audio-64k/cmaf-audio"
        ],
        "{asset:#}"
    );
    for rendition in renditions {
        assert!(rendition["segments"].as_u64().unwrap() >= 1, "{rendition}");
        let codecs = rendition["codecs"].as_str().unwrap();
        match rendition["packaging"].as_str().unwrap() {
            "cmaf-audio" => assert_eq!(codecs, "mp4a.40.2", "{rendition}"),
            _ => assert!(codecs.starts_with("avc1."), "{rendition}"),
        }
    }
}

fn folder_names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A one-file HTTP server on loopback: serves `body` for any GET, until the test ends.
fn serve_file(body: Vec<u8>) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let body = body.clone();
            std::thread::spawn(move || {
                let mut request = Vec::new();
                let mut buffer = [0u8; 1024];
                while !request.windows(4).any(|window| window == b"\r\n\r\n") {
                    match stream.read(&mut buffer) {
                        Ok(0) | Err(_) => return,
                        Ok(read) => request.extend_from_slice(&buffer[..read]),
                    }
                }
                let header = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: video/mp4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(header.as_bytes());
                let _ = stream.write_all(&body);
            });
        }
    });
    addr
}

fn count_claims(log: &str) -> usize {
    log.lines()
        .filter(|line| line.contains(" claimed by worker "))
        .count()
}

// ---------------------------------------------------------------------------------------------
// Scenarios

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_uploaded_clip_becomes_a_ready_asset_and_corrupt_uploads_fail_alone() {
    let farm = Farm::new("max_attempts = 3");
    let server = farm.serve();
    let clip = farm.clip("good.mp4", 3);
    let bytes = std::fs::read(&clip).unwrap();
    let truncated = farm.dir.path().join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() * 6 / 10]).unwrap();
    let garbage = farm.dir.path().join("garbage.mov");
    std::fs::write(
        &garbage,
        (0..200_000u32)
            .map(|n| (n.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();

    let (bad_job, bad_asset) = upload(&server, &truncated, "Truncated").await;
    let (good_job, good_asset) = upload(&server, &clip, "Good").await;
    let (garbage_job, _) = upload(&server, &garbage, "Garbage").await;

    let good = wait_ended(&server, good_job).await;
    assert_eq!(good["state"], "succeeded", "{good:#}");
    assert_eq!(
        (good["progress"].as_u64(), good["attempts"].as_u64()),
        (Some(100), Some(1))
    );
    let asset = get_json(&server, &format!("/api/assets/{good_asset}")).await;
    assert_ready(&asset, 3.0);
    assert_eq!(asset["title"], "Good");
    let poster_url = asset["poster_url"]
        .as_str()
        .expect("a ready asset has a poster");
    let poster = reqwest::get(format!("{}{poster_url}", server.url))
        .await
        .unwrap();
    assert_eq!(
        poster.status(),
        200,
        "the origin serves the poster at {poster_url}"
    );
    let poster = poster.bytes().await.unwrap();
    assert_eq!(&poster[..3], &[0xFF, 0xD8, 0xFF], "the poster is a JPEG");

    for (job, name) in [(bad_job, "truncated.mp4"), (garbage_job, "garbage.mov")] {
        let view = wait_ended(&server, job).await;
        assert_eq!(view["state"], "failed", "{view:#}");
        assert_eq!(view["attempts"], 1, "bad input is not retried: {view:#}");
        let reason = view["error"].as_str().unwrap();
        assert!(
            reason.contains(name),
            "the reason names the upload: {reason}"
        );
        assert!(!reason.contains("/incoming/"), "no server paths: {reason}");
        assert!(
            view["log"].as_str().unwrap().contains("failed: "),
            "{view:#}"
        );
    }
    let bad = get_json(&server, &format!("/api/assets/{bad_asset}")).await;
    assert_eq!(bad["state"], "failed");
    assert!(
        bad["error"].as_str().unwrap().contains("truncated.mp4"),
        "{bad:#}"
    );
    assert_eq!(bad["renditions"], serde_json::json!([]));

    // Only the good asset has files; every upload is gone from the incoming folder.
    assert_eq!(
        folder_names(&farm.media_dir().join("assets")),
        [good_asset.to_string()]
    );
    assert_eq!(folder_names(&farm.incoming_dir()), Vec::<String>::new());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn url_jobs_download_from_a_local_server_or_fail_clearly() {
    let farm = Farm::new("allow_private_urls = true\nmax_attempts = 2");
    let server = farm.serve();
    let clip = farm.clip("remote.mp4", 2);
    let origin = serve_file(std::fs::read(&clip).unwrap());

    let (job, asset) = post_url(&server, &format!("http://{origin}/shows/remote.mp4")).await;
    let view = wait_ended(&server, job).await;
    assert_eq!(view["state"], "succeeded", "{view:#}");
    assert!(
        view["log"].as_str().unwrap().contains("downloaded"),
        "{view:#}"
    );
    let asset = get_json(&server, &format!("/api/assets/{asset}")).await;
    assert_ready(&asset, 2.0);
    assert_eq!(asset["title"], "remote");

    let closed = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (job, asset) = post_url(&server, &format!("http://{closed}/gone.mp4")).await;
    let view = wait_ended(&server, job).await;
    assert_eq!(view["state"], "failed", "{view:#}");
    let reason = view["error"].as_str().unwrap();
    assert!(
        reason.contains(&format!("{closed} is unreachable (connection refused)")),
        "{reason}"
    );
    let asset = get_json(&server, &format!("/api/assets/{asset}")).await;
    assert_eq!(asset["state"], "failed");
    assert_eq!(asset["error"].as_str(), Some(reason));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_url_fails_at_once_when_not_allowed() {
    let farm = Farm::new("");
    let server = farm.serve();
    let response = client()
        .post(format!("{}/api/assets", server.url))
        .json(&serde_json::json!({ "url": "http://127.0.0.1:9/a.mp4" }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("loopback"),
        "{body}"
    );

    // A name is checked when the worker resolves it.
    let port = server.url.rsplit(':').next().unwrap();
    let (job, _) = post_url(&server, &format!("http://localhost:{port}/api/jobs/1")).await;
    let view = wait_ended(&server, job).await;
    assert_eq!(
        (view["state"].as_str(), view["attempts"].as_u64()),
        (Some("failed"), Some(1))
    );
    assert!(
        view["error"]
            .as_str()
            .unwrap()
            .contains("localhost resolves to"),
        "{view:#}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_token_guards_the_api_but_not_the_epg() {
    let farm = Farm::new("embedded_worker = false").with_env("ONAIR_API_TOKEN", "e2e-token");
    let server = farm.serve();
    let url = format!("{}/api/jobs/1", server.url);
    let response = client().get(&url).send().await.unwrap();
    assert_eq!(response.status(), 401);
    let response = client()
        .get(&url)
        .bearer_auth("e2e-token")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let channel = reqwest::Client::new()
        .get(format!("{}/epg.xml", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(channel.status(), 200, "the EPG needs no token");
}

#[test]
fn asset_add_shows_progress_and_fails_with_the_reason() {
    let farm = Farm::new("");
    let clip = farm.clip("cli clip.mp4", 2);
    let output = onair(
        &farm.args(&[
            "asset",
            "add",
            clip.to_str().unwrap(),
            "--title",
            "From the CLI",
        ]),
        &farm.env(),
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(stdout.contains("queued job 1 for asset 1"), "{stdout}");
    assert!(
        stdout.contains("asset 1 ready: \"From the CLI\", 2.00 s, renditions 360p/ts 240p/ts 360p/cmaf 240p/cmaf"),
        "{stdout}"
    );
    assert!(clip.exists(), "the file is read in place");

    let garbage = farm.dir.path().join("notes.txt");
    std::fs::write(&garbage, "not a video\n".repeat(500)).unwrap();
    let output = onair(
        &farm.args(&["asset", "add", garbage.to_str().unwrap()]),
        &farm.env(),
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let error = stderr
        .lines()
        .find(|line| line.starts_with("onair: error:"))
        .unwrap_or_else(|| panic!("an error line in {stderr}"));
    assert!(
        error.contains("job 2 failed:") && error.contains("notes.txt"),
        "{error}"
    );

    let output = onair(
        &farm.args(&["asset", "add", "/no/such/file.mp4"]),
        &farm.env(),
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot read /no/such/file.mp4"),
        "{output:?}"
    );

    // Queued without waiting: the job stays for a worker.
    let output = onair(
        &farm.args(&["asset", "add", clip.to_str().unwrap(), "--no-wait"]),
        &farm.env(),
    );
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("queued job 3 for asset 3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_job_is_replaced_and_the_job_succeeds_on_its_second_attempt() {
    let farm = Farm::new("embedded_worker = false\nlease = \"2s\"\nheartbeat = \"300ms\"");
    let server = farm.serve();
    // Long enough to be caught mid-way (about 3 s of encoding on two cores).
    let clip = farm.clip("long.mp4", 20);
    let mut first = farm.worker(&[]);
    let (job, asset) = upload(&server, &clip, "Long").await;

    let running = wait_job(&server, job, Duration::from_secs(120), |view| {
        assert!(
            !ended(view),
            "the job ended before the worker was killed: {view:#}"
        );
        view["state"] == "running" && view["progress"].as_u64().unwrap_or(0) > 0
    })
    .await;
    assert!(running["progress"].as_u64().unwrap() < 100, "{running:#}");
    first.kill();

    let _second = farm.worker(&[]);
    let view = wait_ended(&server, job).await;
    assert_eq!(view["state"], "succeeded", "{view:#}");
    assert_eq!(view["attempts"], 2, "{view:#}");
    let log = view["log"].as_str().unwrap();
    assert!(log.contains("attempt 1 claimed by worker"), "{log}");
    assert!(log.contains("attempt 2 claimed by worker"), "{log}");
    let asset_view = get_json(&server, &format!("/api/assets/{asset}")).await;
    assert_ready(&asset_view, 20.0);
    // The killed attempt's files were cleared away by the second.
    assert_eq!(
        folder_names(&farm.media_dir().join(format!("assets/{asset}"))),
        ["2"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_stopped_with_sigterm_hands_its_job_back_uncounted() {
    let farm = Farm::new("embedded_worker = false\nheartbeat = \"300ms\"");
    let server = farm.serve();
    let clip = farm.clip("handed-back.mp4", 20);
    let mut worker = farm.worker(&[]);
    let (job, asset) = upload(&server, &clip, "Handed back").await;
    wait_job(&server, job, Duration::from_secs(120), |view| {
        assert!(
            !ended(view),
            "the job ended before the worker was stopped: {view:#}"
        );
        view["state"] == "running" && view["progress"].as_u64().unwrap_or(0) > 0
    })
    .await;

    let status = Command::new("kill")
        .args(["-TERM", &worker.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let started = Instant::now();
    let exit = loop {
        if let Some(exit) = worker.0.try_wait().unwrap() {
            break exit;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the worker stops within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert!(exit.success(), "{exit:?}");

    let view = get_json(&server, &format!("/api/jobs/{job}")).await;
    assert_eq!(
        (view["state"].as_str(), view["attempts"].as_u64()),
        (Some("queued"), Some(0)),
        "{view:#}"
    );
    assert!(
        view["log"]
            .as_str()
            .unwrap()
            .contains("goes back to the queue"),
        "{view:#}"
    );
    let asset_view = get_json(&server, &format!("/api/assets/{asset}")).await;
    assert_eq!(asset_view["state"], "processing");

    // The next worker runs it from the start, as its first attempt.
    let _next = farm.worker(&[]);
    let view = wait_ended(&server, job).await;
    assert_eq!(
        (view["state"].as_str(), view["attempts"].as_u64()),
        (Some("succeeded"), Some(1)),
        "{view:#}"
    );
}

// ---------------------------------------------------------------------------------------------
// Two workers on PostgreSQL

const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh schema on the test server, dropped on drop; `None` (after a loud message) without a
/// server, unless `CI=true`.
struct PgSchema {
    admin_url: String,
    name: String,
    url: String,
}

impl PgSchema {
    async fn create(prefix: &str) -> Option<PgSchema> {
        use sqlx::Connection;
        let admin_url = std::env::var("ONAIR_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| DEFAULT_POSTGRES_URL.to_owned());
        let attempt = tokio::time::timeout(
            Duration::from_secs(5),
            sqlx::PgConnection::connect(&admin_url),
        )
        .await;
        let mut admin = match attempt {
            Ok(Ok(connection)) => connection,
            outcome => {
                let error = match outcome {
                    Ok(Err(error)) => error.to_string(),
                    _ => "no answer within 5 s".to_owned(),
                };
                if std::env::var("CI").as_deref() == Ok("true") {
                    panic!("POSTGRESQL NOT REACHABLE ({error}): CI=true, so this test fails");
                }
                let banner = "!".repeat(96);
                eprintln!(
                    "\n{banner}\nPOSTGRESQL NOT REACHABLE ({error}): SKIPPING the two-workers-on-PostgreSQL test\n\
                     (set ONAIR_TEST_POSTGRES_URL to a server where the user may create schemas; with CI=true this fails)\n{banner}\n"
                );
                return None;
            }
        };
        let name = format!("e2e_{prefix}_{}", std::process::id());
        for sql in [
            format!("DROP SCHEMA IF EXISTS {name} CASCADE"),
            format!("CREATE SCHEMA {name}"),
        ] {
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .execute(&mut admin)
                .await
                .unwrap();
        }
        let separator = if admin_url.contains('?') { '&' } else { '?' };
        let url = format!("{admin_url}{separator}options=-c%20search_path%3D{name}");
        Some(PgSchema {
            admin_url,
            name,
            url,
        })
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let (admin_url, name) = (self.admin_url.clone(), self.name.clone());
        // A thread with its own runtime: drop may run inside the test's runtime.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                use sqlx::Connection;
                if let Ok(mut admin) = sqlx::PgConnection::connect(&admin_url).await {
                    let sql = format!("DROP SCHEMA IF EXISTS {name} CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut admin)
                        .await;
                }
            });
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_on_one_postgres_database_never_run_a_job_twice() {
    let Some(schema) = PgSchema::create("two_workers").await else {
        return;
    };
    let farm = Farm::new("embedded_worker = false\nlease = \"5s\"\nheartbeat = \"500ms\"")
        .with_env("ONAIR_DATABASE_URL", &schema.url);
    let server = farm.serve();
    let _first = farm.worker(&["--concurrency", "2"]);
    let _second = farm.worker(&["--concurrency", "2"]);
    let clip = farm.clip("short.mp4", 2);

    let mut jobs = Vec::new();
    for n in 0..8 {
        jobs.push(upload(&server, &clip, &format!("Short {n}")).await);
    }
    let mut workers = std::collections::HashSet::new();
    for (job, asset) in jobs {
        let view = wait_ended(&server, job).await;
        assert_eq!(view["state"], "succeeded", "{view:#}");
        assert_eq!(view["attempts"], 1, "claimed once: {view:#}");
        let log = view["log"].as_str().unwrap();
        assert_eq!(count_claims(log), 1, "one claim in the log: {log}");
        let claim = log
            .lines()
            .find(|line| line.contains(" claimed by worker "))
            .unwrap();
        workers.insert(
            claim
                .rsplit(' ')
                .next()
                .unwrap()
                .rsplit_once('/')
                .unwrap()
                .0
                .to_owned(),
        );
        assert_ready(
            &get_json(&server, &format!("/api/assets/{asset}")).await,
            2.0,
        );
        assert_eq!(
            folder_names(&farm.media_dir().join(format!("assets/{asset}"))),
            ["1"]
        );
    }
    eprintln!(
        "jobs ran on {} worker process(es): {workers:?}",
        workers.len()
    );
}
