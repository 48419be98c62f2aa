//! Starts the real `onair` binary for end-to-end tests: a shared demo data folder, prepared once,
//! and servers on free ports that stop when dropped.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

pub const ONAIR: &str = env!("CARGO_BIN_EXE_onair");

/// The demo data folder shared by the end-to-end tests (and the browser tests), set up by
/// `onair demo --setup-only` under a file lock, which reuses what an earlier run made.
pub fn demo_data_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("e2e-demo");
    std::fs::create_dir_all(&dir).unwrap();
    let lock = std::fs::File::create(dir.with_extension("lock")).unwrap();
    lock.lock().unwrap();
    let setup = onair(
        &["demo", "--setup-only"],
        &[
            ("ONAIR_DATA_DIR", dir.to_str().unwrap()),
            ("ONAIR_LOG", "warn"),
        ],
    );
    assert!(
        setup.status.success(),
        "onair demo --setup-only failed:\n{}",
        String::from_utf8_lossy(&setup.stderr)
    );
    dir
}

/// Runs `onair ARGS` to completion with extra environment.
pub fn onair(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(ONAIR)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("ONAIR_CONFIG")
        .output()
        .unwrap()
}

/// The bootstrap token (`http.api_token`) every test server has unless a test sets its own:
/// an admin on every channel, which [`client`] sends.
pub const TEST_TOKEN: &str = "e2e-bootstrap-t0ken";

/// An HTTP client that sends [`TEST_TOKEN`] with every request (the public routes ignore it).
pub fn client() -> reqwest::Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        reqwest::header::HeaderValue::from_str(&format!("Bearer {TEST_TOKEN}")).unwrap(),
    );
    reqwest::Client::builder()
        .default_headers(headers)
        .build()
        .unwrap()
}

/// Runs `onair ARGS` to completion with extra environment and `stdin` piped in.
pub fn onair_with_stdin(args: &[&str], env: &[(&str, &str)], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(ONAIR)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("ONAIR_CONFIG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// A running `onair serve`; killed on drop.
pub struct Server {
    pub url: String,
    /// Where its live ingest listens: `rtmp://127.0.0.1:PORT/live/KEY` and
    /// `srt://127.0.0.1:PORT?streamid=publish:KEY` (with `KEY` to replace).
    pub ingest: Option<(String, String)>,
    /// Every line it has printed on standard output so far.
    pub stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    child: Child,
}

impl Server {
    pub fn start(data_dir: &Path) -> Server {
        Server::start_with(
            &["serve"],
            &[("ONAIR_DATA_DIR", data_dir.to_str().unwrap())],
        )
    }

    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(ONAIR)
            .args(args)
            .env("ONAIR_API_TOKEN", TEST_TOKEN)
            .envs(env.iter().copied())
            .env("ONAIR_HTTP_ADDR", "127.0.0.1:0")
            .env("ONAIR_RTMP_ADDR", "127.0.0.1:0")
            .env("ONAIR_SRT_ADDR", "127.0.0.1:0")
            .env(
                "ONAIR_LOG",
                std::env::var("ONAIR_TEST_LOG").unwrap_or_else(|_| "warn".to_owned()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        let (ingest_sender, ingest_receiver) = std::sync::mpsc::channel();
        let printed = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let lines = printed.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                lines.lock().unwrap().push(line.clone());
                if let Some(url) = line.strip_prefix("onair listening on ") {
                    let _ = sender.send(url.trim().to_owned());
                }
                if let Some(urls) = line.strip_prefix("onair ingest ") {
                    let mut urls = urls.split_whitespace().map(str::to_owned);
                    if let (Some(rtmp), Some(srt)) = (urls.next(), urls.next()) {
                        let _ = ingest_sender.send((rtmp, srt));
                    }
                }
            }
        });
        let url = receiver
            .recv_timeout(Duration::from_secs(60))
            .expect("onair printed its address within 60 s");
        // The ingest line comes first, when the listeners are on.
        let ingest = ingest_receiver.try_recv().ok();
        Server {
            url,
            ingest,
            stdout: printed,
            child,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// GET `url`: the status and the body as text.
pub fn get_text(url: &str) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let response = client().get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.text().await.unwrap())
    })
}

/// Runs `future` to completion on a runtime of its own.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A consistent snapshot (`VACUUM INTO`) of the shared demo database, as `onair.db` in `dir`,
/// for a test that changes it; the media stay shared (read only).
pub fn copy_demo_database(dir: &Path) {
    let shared = demo_data_dir();
    block_on(async {
        use sqlx::Connection;
        let url = format!("sqlite://{}", shared.join("onair.db").display());
        let mut source = sqlx::SqliteConnection::connect(&url).await.unwrap();
        let target = dir.join("onair.db");
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "VACUUM INTO '{}'",
            target.display()
        )))
        .execute(&mut source)
        .await
        .unwrap();
        source.close().await.unwrap();
    });
}

/// A media folder of `into`'s own with the shared demo media in it, for a test whose server may
/// delete or replace assets: the folders are new and every file is a hard link (a copy where the
/// file system refuses one), so removing a file here leaves the shared one in place. Symlinked
/// folders would not do: the server deletes an asset file by file, through the link.
pub fn media_of_its_own(into: &Path) -> PathBuf {
    fn mirror(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            let target = to.join(entry.file_name());
            if entry.file_type().unwrap().is_dir() {
                mirror(&entry.path(), &target);
            } else if std::fs::hard_link(entry.path(), &target).is_err() {
                std::fs::copy(entry.path(), &target).unwrap();
            }
        }
    }
    let media = into.join("media");
    mirror(&demo_data_dir().join("media"), &media);
    media
}

/// A server on the shared demo data whose virtual clock starts at `start` and runs at `speed`
/// (1.0: real time), with the folder that holds its configuration.
pub fn demo_server_on_clock(
    start: chrono::DateTime<chrono::Utc>,
    speed: f64,
) -> (Server, tempfile::TempDir) {
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("onair.toml");
    std::fs::write(
        &config,
        format!(
            "[playout]\nvirtual_clock = {{ start = \"{}\", speed = {speed:?} }}\n",
            start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    )
    .unwrap();
    let data_dir = demo_data_dir();
    let server = Server::start_with(
        &["--config", config.to_str().unwrap(), "serve"],
        &[("ONAIR_DATA_DIR", data_dir.to_str().unwrap())],
    );
    (server, config_dir)
}

/// When the programmes of the demo's guide (XMLTV) start, from the one airing on `server`'s
/// clock on. Each start is a run boundary right after an ad break, and a break airs as slate
/// runs of a few seconds, each after a discontinuity: a player that starts half a minute
/// before a programme crosses several discontinuities within seconds.
pub fn demo_programme_starts(server: &Server) -> Vec<chrono::DateTime<chrono::Utc>> {
    let (status, xml) = get_text(&format!("{}/channels/demo/epg.xml", server.url));
    assert_eq!(status, 200, "{xml}");
    let starts: Vec<_> = xml
        .split("<programme ")
        .skip(1)
        .map(|tag| {
            let start = tag
                .split("start=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next());
            let start = start.unwrap_or_else(|| panic!("a programme without a start: {tag}"));
            chrono::DateTime::parse_from_str(start, "%Y%m%d%H%M%S %z")
                .unwrap_or_else(|error| panic!("start {start:?}: {error}"))
                .to_utc()
        })
        .collect();
    assert!(
        starts.len() >= 2,
        "the demo's guide lists programmes: {xml}"
    );
    starts
}
pub mod live;
pub mod partners;
pub mod stub_server;
