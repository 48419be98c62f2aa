//! End to end: operations. `/healthz` answers; `/readyz` is 200 on the demo and 503 naming the
//! media folder once it cannot be written; `/metrics` counts the playlists asked for by route
//! template (never the raw path), their renders, the channels on air, sessions, sources, the
//! transcode queue and the pool, and passes `promtool check metrics`; a metrics token guards it;
//! every response carries a request id (the client's when sane), and JSON logs are JSON lines
//! that carry it.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{Server, block_on, demo_data_dir};
use serde_json::{Value, json};

/// GET `url` with extra headers: status, headers, body.
fn get(url: &str, headers: &[(&str, &str)]) -> (u16, reqwest::header::HeaderMap, String) {
    block_on(async {
        let mut request = reqwest::Client::new().get(url);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        (status, headers, response.text().await.unwrap())
    })
}

fn scrape(server: &Server) -> String {
    let (status, headers, text) = get(&format!("{}/metrics", server.url), &[]);
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        headers["content-type"],
        "text/plain; version=0.0.4; charset=utf-8"
    );
    text
}

/// The value of the sample written exactly `series` (name and labels), if any.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines()
        .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
        .map(|value| value.parse().unwrap())
}

/// Pipes `text` through `promtool check metrics`; fails on any complaint. Without promtool it
/// skips loudly, unless `CI=true`, where that is a failure (`scripts/install-deps --test`
/// installs it, Debian package `prometheus`).
fn promtool_check(text: &str) {
    let child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(child) => child,
        Err(error) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "promtool is missing ({error}): scripts/install-deps --test installs it"
            );
            eprintln!(
                "!!!!! SKIPPED promtool check metrics: promtool is missing ({error}); \
                 scripts/install-deps --test installs it"
            );
            return;
        }
    };
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success() && said.trim().is_empty(),
        "promtool check metrics complained:\n{said}\n--- the scrape:\n{text}"
    );
}

const TS_ROUTE: &str = "/channels/{slug}/{rung}/ts.m3u8";
const MPD_ROUTE: &str = "/channels/{slug}/manifest.mpd";

fn requests(text: &str, route: &str) -> f64 {
    sample(
        text,
        &format!("onair_http_requests_total{{route=\"{route}\",method=\"GET\",status=\"2xx\"}}"),
    )
    .unwrap_or(0.0)
}

fn renders(text: &str, kind: &str) -> f64 {
    sample(
        text,
        &format!("onair_manifest_render_duration_seconds_count{{kind=\"{kind}\"}}"),
    )
    .unwrap()
}

#[test]
fn health_readiness_and_metrics_on_the_demo_pass_promtool() {
    let server = Server::start(&demo_data_dir());

    let (status, _, body) = get(&format!("{}/healthz", server.url), &[]);
    assert_eq!(status, 200, "{body}");
    let (status, _, body) = get(&format!("{}/readyz", server.url), &[]);
    assert_eq!(status, 200, "{body}");
    let ready: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(ready["status"], "ready");
    let checks: Vec<&str> = ready["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|check| {
            assert_eq!(check["ok"], true, "{check}");
            check["name"].as_str().unwrap()
        })
        .collect();
    assert_eq!(checks, ["database", "migrations", "media_dir"]);

    let before = scrape(&server);
    let (status, _, _) = get(&format!("{}/channels/demo/360p/ts.m3u8", server.url), &[]);
    assert_eq!(status, 200);
    for _ in 0..2 {
        get(&format!("{}/channels/demo/360p/ts.m3u8", server.url), &[]);
    }
    for _ in 0..2 {
        let (status, _, _) = get(&format!("{}/channels/demo/manifest.mpd", server.url), &[]);
        assert_eq!(status, 200);
    }
    // A session, for the sessions gauge; its media playlist is rendered for it on every request.
    let session: Value = block_on(async {
        let response = reqwest::Client::new()
            .post(format!("{}/channels/demo/sessions", server.url))
            .json(&json!({ "params": {} }))
            .send()
            .await
            .unwrap();
        assert!(response.status().is_success(), "{}", response.status());
        response.json().await.unwrap()
    });
    let session_id = session["session_id"].as_str().unwrap();
    let (status, _, _) = get(
        &format!(
            "{}/channels/demo/sessions/{session_id}/360p/ts.m3u8",
            server.url
        ),
        &[],
    );
    assert_eq!(status, 200);

    // The status board computes the channels once a second.
    let deadline = Instant::now() + Duration::from_secs(10);
    let after = loop {
        let text = scrape(&server);
        if sample(&text, "onair_channels_on_air").unwrap() >= 1.0 || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(200));
    };

    assert_eq!(
        requests(&after, TS_ROUTE) - requests(&before, TS_ROUTE),
        3.0
    );
    assert_eq!(
        requests(&after, MPD_ROUTE) - requests(&before, MPD_ROUTE),
        2.0
    );
    let media_renders = renders(&after, "hls_media") - renders(&before, "hls_media");
    assert!(
        (2.0..=4.0).contains(&media_renders),
        "the origin's 3 requests in one window or two, and the session's: {media_renders} renders"
    );
    let mpd_renders = renders(&after, "dash_mpd") - renders(&before, "dash_mpd");
    assert!((1.0..=2.0).contains(&mpd_renders), "{mpd_renders}");
    assert!(
        sample(
            &after,
            &format!("onair_http_request_duration_seconds_count{{route=\"{TS_ROUTE}\"}}")
        )
        .unwrap()
            >= 3.0
    );
    // Route templates only: no raw path becomes a label.
    assert!(!after.contains("route=\"/channels/demo"), "{after}");

    assert!(
        sample(&after, "onair_channels_on_air").unwrap() >= 1.0,
        "{after}"
    );
    assert!(
        sample(&after, "onair_ssai_sessions").unwrap() >= 1.0,
        "{after}"
    );
    assert!(sample(&after, "onair_db_pool_connections").unwrap() >= 1.0);
    assert!(sample(&after, "onair_transcode_jobs{state=\"queued\"}").is_some());
    assert!(sample(&after, "onair_transcode_jobs{state=\"running\"}").is_some());
    assert!(sample(&after, "onair_slate_aired_seconds_total").is_some());
    for family in [
        "onair_http_requests_total counter",
        "onair_http_request_duration_seconds histogram",
        "onair_manifest_render_duration_seconds histogram",
        "onair_channels_on_air gauge",
        "onair_slate_aired_seconds_total counter",
        "onair_ssai_sessions gauge",
        "onair_ad_decisions_total counter",
        "onair_ad_beacons_total counter",
        "onair_live_source_connected gauge",
        "onair_transcode_jobs gauge",
        "onair_transcode_job_duration_seconds histogram",
        "onair_db_pool_connections gauge",
        "onair_db_pool_idle_connections gauge",
    ] {
        assert!(
            after.contains(&format!("# TYPE {family}\n")),
            "no {family} in\n{after}"
        );
    }
    promtool_check(&after);
}

#[test]
fn every_response_carries_a_request_id_the_clients_when_it_is_sane() {
    let server = Server::start(&demo_data_dir());
    let url = format!("{}/healthz", server.url);
    let (_, headers, _) = get(&url, &[("X-Request-Id", "e2e-abc.123")]);
    assert_eq!(headers["x-request-id"], "e2e-abc.123");

    let (_, first, _) = get(&url, &[]);
    let (_, second, _) = get(&url, &[]);
    let made = first["x-request-id"].to_str().unwrap();
    assert!(!made.is_empty() && made.len() <= 64, "{made}");
    assert_ne!(first["x-request-id"], second["x-request-id"]);

    let too_long = "x".repeat(65);
    let (_, headers, _) = get(&url, &[("X-Request-Id", &too_long)]);
    assert_ne!(headers["x-request-id"], too_long.as_str());
    // Even a page that is not there says its id.
    let (status, headers, _) = get(&format!("{}/no/such/page", server.url), &[]);
    assert_eq!(status, 404);
    assert!(headers.contains_key("x-request-id"));
}

/// Makes `media` unwritable: read-only, or (as root, whom modes do not stop) a file where the
/// folder was. Returns how to put it back.
fn break_media_folder(media: &std::path::Path) -> impl FnOnce() {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(media, std::fs::Permissions::from_mode(0o555)).unwrap();
    let probe = media.join("root-probe");
    let as_root = std::fs::write(&probe, b"x").is_ok();
    let media = media.to_owned();
    if as_root {
        std::fs::remove_file(&probe).unwrap();
        std::fs::set_permissions(&media, std::fs::Permissions::from_mode(0o755)).unwrap();
        let aside = media.with_extension("aside");
        std::fs::rename(&media, &aside).unwrap();
        std::fs::write(&media, b"not a folder").unwrap();
        Box::new(move || {
            std::fs::remove_file(&media).unwrap();
            std::fs::rename(&aside, &media).unwrap();
        }) as Box<dyn FnOnce()>
    } else {
        Box::new(move || {
            std::fs::set_permissions(&media, std::fs::Permissions::from_mode(0o755)).unwrap()
        })
    }
}

#[test]
fn readiness_names_the_media_folder_it_cannot_write_and_a_metrics_token_guards_metrics() {
    let data = tempfile::tempdir().unwrap();
    support::copy_demo_database(data.path());
    let media = data.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let config = data.path().join("onair.toml");
    std::fs::write(&config, "[http]\nmetrics_token = \"scrape-t0ken\"\n").unwrap();
    let server = Server::start_with(
        &["--config", config.to_str().unwrap(), "serve"],
        &[
            ("ONAIR_DATA_DIR", data.path().to_str().unwrap()),
            ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
        ],
    );
    let readyz = format!("{}/readyz", server.url);
    let (status, _, body) = get(&readyz, &[]);
    assert_eq!(status, 200, "{body}");

    let restore = break_media_folder(&media);
    let (status, _, body) = get(&readyz, &[]);
    restore();
    assert_eq!(status, 503, "{body}");
    let answer: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(answer["status"], "not ready");
    let failed: Vec<&Value> = answer["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|check| check["ok"] == false)
        .collect();
    assert_eq!(failed.len(), 1, "{body}");
    assert_eq!(failed[0]["name"], "media_dir");
    let reason = failed[0]["reason"].as_str().unwrap();
    assert!(reason.contains(media.to_str().unwrap()), "{reason}");
    let (status, _, body) = get(&readyz, &[]);
    assert_eq!(status, 200, "once writable again: {body}");

    let metrics = format!("{}/metrics", server.url);
    let (status, headers, _) = get(&metrics, &[]);
    assert_eq!(status, 401);
    assert_eq!(headers["www-authenticate"], "Bearer");
    let (status, _, _) = get(&metrics, &[("Authorization", "Bearer wrong")]);
    assert_eq!(status, 401);
    let (status, _, text) = get(&metrics, &[("Authorization", "Bearer scrape-t0ken")]);
    assert_eq!(status, 200);
    assert!(text.contains("# TYPE onair_http_requests_total counter"));
    // Health stays public.
    let (status, _, _) = get(&format!("{}/healthz", server.url), &[]);
    assert_eq!(status, 200);
}

#[test]
fn json_logs_are_json_lines_and_carry_the_request_id_sent() {
    let mut child = Command::new(support::ONAIR)
        .arg("serve")
        .env_remove("ONAIR_CONFIG")
        .env("ONAIR_DATA_DIR", demo_data_dir())
        .env("ONAIR_HTTP_ADDR", "127.0.0.1:0")
        .env("ONAIR_RTMP_ADDR", "127.0.0.1:0")
        .env("ONAIR_SRT_ADDR", "127.0.0.1:0")
        .env("ONAIR_LOG_FORMAT", "json")
        // The request layer writes one debug line per request.
        .env("ONAIR_LOG", "info,onair_web_ui::ops=debug")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let url = stdout
        .lines()
        .map_while(Result::ok)
        .find_map(|line| Some(line.strip_prefix("onair listening on ")?.trim().to_owned()))
        .expect("onair printed its address");
    let mut stderr = child.stderr.take().unwrap();
    let (status, headers, _) = get(
        &format!("{url}/channels/demo/master.m3u8"),
        &[("X-Request-Id", "e2e-json-42")],
    );
    assert_eq!(status, 200);
    assert_eq!(headers["x-request-id"], "e2e-json-42");
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let mut logs = String::new();
    stderr.read_to_string(&mut logs).unwrap();

    let lines: Vec<Value> = logs
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
        })
        .collect();
    assert!(lines.len() >= 2, "{logs}");
    assert!(lines.iter().all(|line| line["level"].is_string()), "{logs}");
    let answered = lines
        .iter()
        .find(|line| line["span"]["request_id"] == "e2e-json-42")
        .unwrap_or_else(|| panic!("no line carries request_id e2e-json-42:\n{logs}"));
    assert_eq!(answered["fields"]["message"], "answered");
    assert_eq!(answered["fields"]["route"], "/channels/{slug}/master.m3u8");
    assert_eq!(answered["fields"]["status"], 200);
}
