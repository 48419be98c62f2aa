//! End to end: partners through the real binary, on a private copy of the demo database (the
//! media are the shared demo's, read only). A partner carrying the demo channel with the
//! `cue-out` dialect gets its playlists with CUE-OUT/CONT/IN and no DATERANGE, its segments
//! under its own prefix; a channel it does not carry or an output it may not pull is a 404. A
//! partner with signed URLs refuses unsigned, expired, tampered and other partners' tokens with
//! 403, takes the tokens of both keys after a rotation, and counts every request. Malformed
//! settings are refused naming their fields, and nothing is stored.

use crate::support;
use crate::support::partners::{PrivateDemo, partner_cli};
use crate::support::{Server, block_on, client, get_text, onair};
use chrono::{DateTime, Utc};
use onair_control::partners::signing;
use serde_json::{Value, json};

fn get(url: &str) -> (u16, Vec<u8>) {
    block_on(async {
        let response = reqwest::get(url).await.unwrap();
        let status = response.status().as_u16();
        (status, response.bytes().await.unwrap().to_vec())
    })
}

fn api(method: &str, url: &str, body: Option<Value>, if_match: Option<i64>) -> (u16, Value) {
    block_on(async {
        let mut request = client().request(method.parse().unwrap(), url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        if let Some(version) = if_match {
            request = request.header("If-Match", format!("\"{version}\""));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    })
}

fn segment_lines(playlist: &str) -> Vec<&str> {
    playlist
        .lines()
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
}

/// A programme start of the demo: the window a few seconds after it lists the break before it.
fn a_programme_start() -> DateTime<Utc> {
    let (probe, _config) = support::demo_server_on_clock(Utc::now(), 1.0);
    let starts = support::demo_programme_starts(&probe);
    starts[1]
}

#[test]
fn partners_get_their_dialect_their_outputs_and_signed_urls_that_refuse_what_they_should() {
    let start = a_programme_start();
    let now = start + chrono::Duration::seconds(5);
    let demo = PrivateDemo::at(now);
    let env = demo.env();
    let config = &demo.config;

    // Made with the CLI before the server starts.
    let acme = partner_cli(
        &env,
        &[
            "add",
            "acme",
            "--channel",
            "demo",
            "--cue-dialect",
            "cue-out",
            "--output",
            "hls-ts",
            "--output",
            "hls-fmp4",
        ],
    );
    assert_eq!(acme["cue_dialect"], "cue-out");
    assert_eq!(acme["outputs"], json!(["hls-ts", "hls-fmp4"]));
    let acme_key = acme["key"].as_str().unwrap().to_owned();
    // The CLI refuses malformed settings naming each field, and stores nothing.
    let refused = onair(
        &[
            "partner",
            "add",
            "bad",
            "--channel",
            "nope",
            "--cue-dialect",
            "scte",
        ],
        &env,
    );
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("channels: there is no channel nope"),
        "{stderr}"
    );
    assert!(
        stderr.contains("cue_dialect: \"scte\" is not a cue dialect"),
        "{stderr}"
    );
    assert!(!onair(&["partner", "show", "bad"], &env).status.success());
    let signer = partner_cli(&env, &["add", "signer", "--channel", "demo", "--signed"]);
    let first_key = signer["key"].as_str().unwrap().to_owned();
    assert_eq!(signer["signed"], true);

    let server = Server::start_with(&["--config", config.to_str().unwrap(), "serve"], &env[..2]);
    let url = |path: &str| format!("{}{path}", server.url);

    // The channel's own playlist marks the break in both dialects…
    let (status, channel) = get_text(&url("/channels/demo/360p/ts.m3u8"));
    assert_eq!(status, 200, "{channel}");
    assert!(channel.contains("#EXT-X-DATERANGE"), "{channel}");
    assert!(channel.contains("#EXT-X-CUE-"), "{channel}");
    // …acme's only with CUE-OUT/CONT/IN and OATCLS, every file under its prefix.
    let (status, multivariant) = get_text(&url("/p/acme/demo/master.m3u8"));
    assert_eq!(status, 200, "{multivariant}");
    assert!(multivariant.contains("360p/ts.m3u8"), "{multivariant}");
    let (status, playlist) = get_text(&url("/p/acme/demo/360p/ts.m3u8"));
    assert_eq!(status, 200, "{playlist}");
    assert!(!playlist.contains("#EXT-X-DATERANGE"), "{playlist}");
    assert!(playlist.contains("#EXT-X-CUE-"), "{playlist}");
    let segments = segment_lines(&playlist);
    assert!(!segments.is_empty(), "{playlist}");
    // The break's first segment and the first after it carry its cue inside, as the channel's.
    let cued = |text: &str| -> Vec<String> {
        segment_lines(text)
            .into_iter()
            .filter(|line| line.starts_with("scte35/"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(cued(&playlist), cued(&channel), "{playlist}");
    assert!(
        !cued(&playlist).is_empty(),
        "a window next to a break: {playlist}"
    );
    for segment in &segments {
        assert!(
            segment.starts_with("/p/acme/demo/media/") || segment.starts_with("scte35/"),
            "{playlist}"
        );
    }
    let plain: Vec<&str> = segments
        .iter()
        .copied()
        .filter(|segment| segment.starts_with('/'))
        .collect();
    let (status, bytes) = get(&url(plain[0]));
    assert_eq!(status, 200);
    let shared = plain[0].replace("/p/acme/demo/media/", "/media/");
    assert_eq!(
        get(&url(&shared)).1,
        bytes,
        "the partner's segment is the shared file"
    );
    let first_cued = &cued(&playlist)[0];
    let (status, with_cue) = get(&url(&format!("/p/acme/demo/360p/{first_cued}")));
    assert_eq!(status, 200);
    let (_, channel_cued) = get(&url(&format!("/channels/demo/360p/{first_cued}")));
    assert_eq!(with_cue, channel_cued, "the cued segment is the channel's");
    let file = first_cued.splitn(6, '/').nth(5).unwrap();
    assert_ne!(
        with_cue,
        get(&url(&format!("/media/{file}"))).1,
        "the cue is inside"
    );
    let (status, fmp4) = get_text(&url("/p/acme/demo/360p/fmp4.m3u8"));
    assert_eq!(status, 200, "{fmp4}");
    assert!(
        fmp4.contains("#EXT-X-MAP:URI=\"/p/acme/demo/media/"),
        "{fmp4}"
    );

    // A channel it does not carry, an output it may not pull, a partner that does not exist.
    for (path, reason) in [
        ("/p/acme/news/master.m3u8", "does not carry channel news"),
        ("/p/acme/demo/manifest.mpd", "not allowed dash"),
        ("/p/nobody/demo/master.m3u8", "no partner nobody"),
    ] {
        let (status, text) = get_text(&url(path));
        assert_eq!(status, 404, "{path}: {text}");
        assert!(text.contains(reason), "{path}: {text}");
    }

    // Signed URLs: unsigned is refused; a prefix the API signs works for playlists and files.
    let (status, text) = get_text(&url("/p/signer/demo/360p/ts.m3u8"));
    assert_eq!(status, 403, "{text}");
    assert!(text.contains("needs signed URLs"), "{text}");
    let (status, signed) = api(
        "POST",
        &url("/api/partners/signer/sign"),
        Some(json!({"channel": "demo", "hours": 2})),
        None,
    );
    assert_eq!(status, 200, "{signed}");
    let before_rotation = signed["prefix"].as_str().unwrap().to_owned();
    let (status, playlist) = get_text(&url(&format!("{before_rotation}360p/ts.m3u8")));
    assert_eq!(status, 200, "{playlist}");
    let segment = segment_lines(&playlist)
        .into_iter()
        .find(|line| line.starts_with('/'))
        .unwrap()
        .to_owned();
    assert!(
        segment.starts_with(&format!("{before_rotation}media/")),
        "{playlist}"
    );
    assert_eq!(get(&url(&segment)).0, 200);

    let expiry = now.timestamp() + 3600;
    let expired = signing::signed_prefix(&first_key, "signer", "demo", now.timestamp() - 60);
    let token = signing::token(&first_key, "signer", "demo", expiry);
    let tampered_token = format!(
        "{}{}",
        &token[..token.len() - 1],
        if token.ends_with('0') { '1' } else { '0' }
    );
    let tampered = format!("/p/signer/t/{tampered_token}/demo/");
    let other_channel = format!("/p/signer/t/{token}/news/");
    // acme's own key, signing for acme: not signer's.
    let acme_token = signing::token(&acme_key, "acme", "demo", expiry);
    let other_partner = format!("/p/signer/t/{acme_token}/demo/");
    let damaged = "/p/signer/t/12.zz/demo/".to_owned();
    for (prefix, reason) in [
        (&expired, "expired"),
        (&tampered, "does not match"),
        (&other_channel, "does not match"),
        (&other_partner, "does not match"),
        (&damaged, "not {expiry}.{signature}"),
    ] {
        for file in ["360p/ts.m3u8", &segment[before_rotation.len()..]] {
            let (status, text) = get_text(&url(&format!("{prefix}{file}")));
            assert_eq!(status, 403, "{prefix}{file}: {text}");
            assert!(text.contains(reason), "{prefix}{file}: {text}");
        }
    }

    // After a rotation, the old key's prefix still works within the overlap, and so does the
    // new key's.
    let rotated = partner_cli(&env, &["rotate-key", "signer"]);
    let new_key = rotated["key"].as_str().unwrap();
    assert_ne!(new_key, first_key);
    assert_eq!(rotated["keys"].as_array().unwrap().len(), 2, "{rotated}");
    let (status, signed) = api(
        "POST",
        &url("/api/partners/signer/sign"),
        Some(json!({"channel": "demo"})),
        None,
    );
    assert_eq!(status, 200, "{signed}");
    let after_rotation = signed["prefix"].as_str().unwrap().to_owned();
    assert_ne!(after_rotation, before_rotation);
    assert_eq!(
        after_rotation,
        signing::signed_prefix(
            new_key,
            "signer",
            "demo",
            after_rotation
                .split('/')
                .nth(4)
                .unwrap()
                .split('.')
                .next()
                .unwrap()
                .parse()
                .unwrap()
        )
    );
    for prefix in [&before_rotation, &after_rotation] {
        let (status, text) = get_text(&url(&format!("{prefix}360p/ts.m3u8")));
        assert_eq!(status, 200, "{prefix}: {text}");
    }

    // Every request was counted, the refused ones too.
    let (status, shown) = api("GET", &url("/api/partners/signer"), None, None);
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["requests"]["refused"], 11, "{shown}");
    assert_eq!(shown["requests"]["requests"], 15, "{shown}");
    assert!(
        shown.get("key").is_none(),
        "a shown partner carries no secret: {shown}"
    );
    // And /metrics says the same, per partner.
    let (status, metrics) = get_text(&url("/metrics"));
    assert_eq!(status, 200, "{metrics}");
    for (series, value) in [
        ("onair_partner_requests_total{partner=\"signer\"} ", "15"),
        (
            "onair_partner_requests_refused_total{partner=\"signer\"} ",
            "11",
        ),
    ] {
        let line = metrics.lines().find(|line| line.starts_with(series));
        assert_eq!(
            line.and_then(|line| line.strip_prefix(series)),
            Some(value),
            "{series}in:\n{metrics}"
        );
    }

    // Malformed settings are refused naming their fields, and nothing is stored.
    let (status, refused) = api(
        "POST",
        &url("/api/partners"),
        Some(
            json!({"name": "bad", "channels": ["nope"], "cue_dialect": "scte", "outputs": ["rtmp"]}),
        ),
        None,
    );
    assert_eq!(status, 422, "{refused}");
    let fields: Vec<&str> = refused["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|problem| problem["field"].as_str().unwrap())
        .collect();
    assert_eq!(fields, ["channels", "outputs", "cue_dialect"], "{refused}");
    assert_eq!(api("GET", &url("/api/partners/bad"), None, None).0, 404);

    // An edit on a stale version is refused; on the current one it lands.
    let edit = json!({"channels": ["demo"], "cue_dialect": "daterange"});
    let (status, stale) = api(
        "PUT",
        &url("/api/partners/acme"),
        Some(edit.clone()),
        Some(7),
    );
    assert_eq!(status, 409, "{stale}");
    let (status, edited) = api("PUT", &url("/api/partners/acme"), Some(edit), Some(1));
    assert_eq!(status, 200, "{edited}");
    assert_eq!(edited["version"], 2);
    let (_, playlist) = get_text(&url("/p/acme/demo/360p/ts.m3u8"));
    assert!(playlist.contains("#EXT-X-DATERANGE"), "{playlist}");
    assert!(!playlist.contains("#EXT-X-CUE-"), "{playlist}");

    // Deleted, its URLs are gone.
    assert_eq!(api("DELETE", &url("/api/partners/acme"), None, None).0, 204);
    assert_eq!(get(&url("/p/acme/demo/master.m3u8")).0, 404);
}
