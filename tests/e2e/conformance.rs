//! End to end: conformance checks through the real binary, on a private copy of the demo
//! database (the media are the shared demo's, read only). The demo channel is checked against
//! the HLS baseline and, through a partner named for Pluto TV, against Pluto TV v2.2: the
//! report is honest about what the demo does not meet (its 2 s segments, level 3.0, 25 fps, no
//! 720p rung) and passes the rules it does meet (breaks closed, durations fixed, a 10-segment
//! window, MPEG-TS, its loudness), each naming the rule. The CLI prints one line per finding
//! and exits 1 on an error; a channel not on air is refused with 409 and the reason. A user's
//! seventh check in a minute, through the API or the pages (one count for both), is a 429
//! naming the limit, with `Retry-After`.

use crate::support::partners::{PrivateDemo, partner_cli};
use crate::support::{Server, block_on, client, onair};
use serde_json::{Value, json};

fn post(url: &str, body: Option<Value>) -> (u16, Value) {
    block_on(async {
        let mut request = client().post(url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

/// The rules a report found something against.
fn found(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["rule"].as_str().unwrap().to_owned())
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item.as_str().unwrap().to_owned())
        .collect()
}

fn messages_of<'a>(report: &'a Value, rule: &str) -> Vec<&'a str> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|finding| finding["rule"] == rule)
        .map(|finding| finding["message"].as_str().unwrap())
        .collect()
}

#[test]
fn the_demo_is_checked_honestly_against_the_baseline_and_pluto_and_a_channel_off_air_is_refused() {
    let demo = PrivateDemo::at(chrono::Utc::now());
    let env = demo.env();
    let added = partner_cli(
        &env,
        &[
            "add",
            "pluto-tv",
            "--channel",
            "demo",
            "--cue-dialect",
            "cue-out",
        ],
    );
    assert_eq!(added["cue_dialect"], "cue-out");

    let server = Server::start_with(
        &["--config", demo.config.to_str().unwrap(), "serve"],
        &env[..2],
    );
    let url = |path: &str| format!("{}{path}", server.url);

    // The baseline: the demo's own URLs, an hour of playlists, segments probed.
    let (status, baseline) = post(&url("/api/channels/demo/check?profile=hls&hours=1"), None);
    assert_eq!(status, 200, "{baseline}");
    assert_eq!(baseline["profile"], "hls");
    assert_eq!(baseline["channel"], "demo");
    assert!(baseline["passed"].as_bool().unwrap(), "{baseline:#}");
    let checked = strings(&baseline["checked"]);
    for rule in [
        "hls.target-duration",
        "hls.segments-stable",
        "hls.discontinuity-sequence",
        "hls.media-sequence-aligned",
        "hls.cue-out-closed",
        "hls.break-duration-fixed",
        "hls.codecs-match-media",
        "hls.epg-continuous",
    ] {
        assert!(
            checked.contains(&rule.to_owned()),
            "{rule} was not checked: {baseline:#}"
        );
    }
    let observed = &baseline["observed"];
    assert!(observed["snapshots"].as_u64().unwrap() >= 200, "{observed}");
    assert!(
        observed["breaks"].as_u64().unwrap() >= 15,
        "a break every 3 minutes: {observed}"
    );
    assert!(
        observed["segments_probed"].as_u64().unwrap() >= 2,
        "{observed}"
    );
    assert!(
        observed["loudness_measures"].as_u64().unwrap() >= 1,
        "{baseline:#}"
    );

    // Pluto TV, the partner's profile by its name, in its cue-out dialect.
    let (status, partner) = post(
        &url("/api/partners/pluto-tv/check"),
        Some(json!({"hours": 1})),
    );
    assert_eq!(status, 200, "{partner}");
    assert_eq!(partner["profile"], "pluto");
    assert_eq!(partner["passed"], false, "{partner:#}");
    let pluto = &partner["channels"][0];
    let failed = found(pluto);
    // What the demo does not meet, each rule named.
    for rule in [
        "pluto.segment-duration-constant",
        "pluto.video-codec",
        "pluto.frame-rate",
        "pluto.ladder",
    ] {
        assert!(
            failed.contains(&rule.to_owned()),
            "{rule} is not a finding: {pluto:#}"
        );
    }
    assert!(
        messages_of(pluto, "pluto.segment-duration-constant")[0]
            .starts_with("a 2 s segment where every segment should be 5 s"),
        "{pluto:#}"
    );
    // What it meets: checked, and no finding.
    let checked = strings(&pluto["checked"]);
    for rule in [
        "pluto.playlist-syntax",
        "pluto.hls-version",
        "pluto.mpeg-ts",
        "pluto.window-size",
        "pluto.target-duration",
        "pluto.discontinuity-sequence",
        "pluto.cue-out-in-playlist",
        "pluto.cue-out-closed",
        "pluto.cue-elapsed-within-duration",
        "pluto.break-duration-fixed",
        "pluto.break-length",
        "pluto.break-segments",
        "pluto.aspect-ratio",
        "pluto.loudness",
        "pluto.epg-continuous",
    ] {
        assert!(
            checked.contains(&rule.to_owned()),
            "{rule} was not checked: {pluto:#}"
        );
        assert!(
            !failed.contains(&rule.to_owned()),
            "{rule} failed: {pluto:#}"
        );
    }
    assert!(pluto["skipped"].as_array().unwrap().is_empty(), "{pluto:#}");

    // A malformed request names its field.
    let (status, refused) = post(&url("/api/channels/demo/check?profile=netflix"), None);
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "profile", "{refused}");
    let (status, refused) = post(
        &url("/api/partners/pluto-tv/check"),
        Some(json!({"hours": 0})),
    );
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "hours", "{refused}");
    let (status, _) = post(&url("/api/partners/nobody/check"), None);
    assert_eq!(status, 404);

    // The CLI: one line per finding, exit status 1 on an error.
    let cli = onair(
        &["partner", "check", "pluto-tv", "--hours", "1", "--no-media"],
        &env,
    );
    assert_eq!(cli.status.code(), Some(1));
    let stdout = String::from_utf8_lossy(&cli.stdout);
    assert!(
        stdout.lines().any(
            |line| line.starts_with("✗ pluto.segment-duration-constant  ")
                && line.contains(": a 2 s segment where every segment should be 5 s")
                && line.contains(" Fix: Cut every segment to 5 s")
        ),
        "{stdout}"
    );
    assert!(
        stdout.contains("- pluto.loudness  skipped: no loudness was measured"),
        "{stdout}"
    );
    let baseline_cli = onair(
        &[
            "channel",
            "check",
            "demo",
            "--profile",
            "hls",
            "--hours",
            "1",
            "--no-media",
            "--json",
        ],
        &env,
    );
    assert!(
        baseline_cli.status.success(),
        "{}",
        String::from_utf8_lossy(&baseline_cli.stdout)
    );
    let json: Value = serde_json::from_slice(&baseline_cli.stdout).unwrap();
    assert_eq!(json["passed"], true);

    // A channel off air: nothing to check, and the answer says so.
    let off = onair(&["channel", "edit", "demo", "--on-air", "false"], &env);
    assert!(
        off.status.success(),
        "{}",
        String::from_utf8_lossy(&off.stderr)
    );
    let (status, refused) = post(&url("/api/channels/demo/check"), None);
    assert_eq!(status, 409, "{refused}");
    assert_eq!(
        refused["error"],
        "channel demo is not on air: there is nothing to check"
    );
    let (status, refused) = post(&url("/api/partners/pluto-tv/check"), None);
    assert_eq!(status, 409, "{refused}");
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("carries no channel on air (demo)")
    );
    let cli = onair(&["channel", "check", "demo"], &env);
    assert_eq!(cli.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&cli.stderr).contains("channel demo is not on air"));
}

/// A check's answer: the status, `Retry-After` and the body as text.
fn check(url: &str, form: Option<&[(&str, &str)]>) -> (u16, Option<String>, String) {
    block_on(async {
        let mut request = client().post(url);
        if let Some(form) = form {
            request = request.form(form);
        }
        let response = request.send().await.unwrap();
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|value| value.to_str().unwrap().to_owned());
        (
            response.status().as_u16(),
            retry_after,
            response.text().await.unwrap(),
        )
    })
}

#[test]
fn a_user_past_six_checks_a_minute_through_the_api_and_the_pages_together_is_answered_429_with_retry_after()
 {
    let demo = PrivateDemo::at(chrono::Utc::now());
    let env = demo.env();
    let server = Server::start_with(
        &["--config", demo.config.to_str().unwrap(), "serve"],
        &env[..2],
    );
    let api = format!("{}/api/channels/demo/check?hours=1", server.url);
    let page = format!("{}/conformance/channels/demo", server.url);
    let form: &[(&str, &str)] = &[("profile", "hls"), ("hours", "1")];
    for round in 0..3 {
        let (status, _, body) = check(&api, None);
        assert_eq!(status, 200, "API check {round}: {body}");
        let (status, _, body) = check(&page, Some(form));
        assert_eq!(status, 200, "page check {round}: {body}");
    }

    // The seventh in the minute, whichever way it comes: refused, naming the limit.
    let (status, retry_after, body) = check(&api, None);
    assert_eq!(status, 429, "{body}");
    let seconds: u64 = retry_after.expect("Retry-After").parse().unwrap();
    assert!((1..=60).contains(&seconds), "{seconds}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert!(
        body["error"].as_str().unwrap().starts_with(
            "api_token has started 6 conformance check(s) in the last minute, the most one user may; try again in "
        ),
        "{body}"
    );
    let (status, retry_after, html) = check(&page, Some(form));
    assert_eq!(status, 429, "{html}");
    assert!(retry_after.is_some());
    assert!(
        html.contains("api_token has started 6 conformance check(s) in the last minute"),
        "{html}"
    );
}
