//! Server-side ad insertion through the real binary: sessions on the demo channel (a private
//! copy of the shared demo database, whose creatives are transcoded), ads decided by a real
//! HTTP ad server in this test (VAST with a pod, a wrapper and a buffet ad; garbage, a slow
//! answer, an empty VAST for other sessions) and beacons received by a receiver here, with
//! their headers. The server's clock starts shortly before a break, at normal speed; the test
//! polls the playlists through the break as a player would, fetching the ad segments.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use onair_domain::ChannelSlug;
use onair_store::Store;
use serde_json::{Value, json};

use crate::support;
use crate::support::{Server, block_on, copy_demo_database, demo_data_dir, get_text};

/// A beacon or error the receiver got, in arrival order.
#[derive(Debug, Clone)]
struct Hit {
    query: HashMap<String, String>,
    device_ip: Option<String>,
    device_ua: Option<String>,
}

#[derive(Clone, Default)]
struct AdServer {
    hits: Arc<Mutex<Vec<Hit>>>,
    requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

/// Starts the test's ad server on a free port of its own runtime.
fn start_ad_server() -> (SocketAddr, AdServer) {
    let state = AdServer::default();
    let router = Router::new()
        .route("/vast", get(vast))
        .route("/wrapped", get(wrapped))
        .route("/beacon", get(beacon))
        .with_state(state.clone());
    let (sender, receiver) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            sender.send(listener.local_addr().unwrap()).unwrap();
            axum::serve(listener, router).await.unwrap();
        });
    });
    (receiver.recv().unwrap(), state)
}

fn host(headers: &HeaderMap) -> String {
    headers
        .get("host")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

async fn vast(
    State(state): State<AdServer>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    state.requests.lock().unwrap().push(query.clone());
    let base = format!("http://{}", host(&headers));
    let sid = query.get("sid").cloned().unwrap_or_default();
    match query.get("mode").map(String::as_str) {
        Some("garbage") => return "<VAST version=\"4.1\"><Ad><InLine><oops".into_response(),
        Some("slow") => {
            tokio::time::sleep(Duration::from_secs(6)).await;
        }
        Some("5xx") => return StatusCode::SERVICE_UNAVAILABLE.into_response(),
        Some("empty") => {
            return format!(
                "<VAST version=\"4.1\"><Error><![CDATA[{base}/beacon?event=error&code=[ERRORCODE]&sid={sid}]]></Error></VAST>"
            )
            .into_response();
        }
        _ => {}
    }
    // The pod's first ad is the session's own: A for one parity of the id's sum, C for the other.
    let first = if sid.bytes().map(u32::from).sum::<u32>() % 2 == 0 {
        "a"
    } else {
        "c"
    };
    let wrapper = format!(
        r#"<Ad id="wrapper-b" sequence="2"><Wrapper><AdSystem>test</AdSystem>
<VASTAdTagURI><![CDATA[ {base}/wrapped?sid={sid} ]]></VASTAdTagURI>
<Impression><![CDATA[{base}/beacon?ad=wrapper-b&event=impression&sid={sid}]]></Impression>
<Creatives><Creative><Linear><TrackingEvents>
<Tracking event="complete"><![CDATA[{base}/beacon?ad=wrapper-b&event=complete&sid={sid}]]></Tracking>
</TrackingEvents></Linear></Creative></Creatives></Wrapper></Ad>"#
    );
    format!(
        "<VAST version=\"4.1\">{}{wrapper}{}</VAST>",
        inline(first, Some(1), &base, &sid),
        inline("d", None, &base, &sid)
    )
    .into_response()
}

async fn wrapped(headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let base = format!("http://{}", host(&headers));
    let sid = query.get("sid").cloned().unwrap_or_default();
    format!(
        "<VAST version=\"4.1\">{}</VAST>",
        inline("b", None, &base, &sid)
    )
    .into_response()
}

/// An inline ad whose creative is one of the demo's (ready in the shared demo database).
fn inline(name: &str, sequence: Option<u32>, base: &str, sid: &str) -> String {
    let seconds = match name {
        "a" => 16,
        "b" => 20,
        "c" => 12,
        _ => 8,
    };
    let beacon =
        |event: &str| format!("<![CDATA[{base}/beacon?ad={name}&event={event}&sid={sid}]]>");
    let tracking: String = [
        "start",
        "firstQuartile",
        "midpoint",
        "thirdQuartile",
        "complete",
    ]
    .iter()
    .map(|event| format!("<Tracking event=\"{event}\">{}</Tracking>", beacon(event)))
    .collect();
    let sequence = sequence.map_or(String::new(), |n| format!(" sequence=\"{n}\""));
    let error =
        format!("<![CDATA[{base}/beacon?ad={name}&event=error&code=[ERRORCODE]&sid={sid}]]>");
    format!(
        r#"<Ad id="ad-{name}"{sequence}><InLine><AdSystem>test</AdSystem><AdTitle>Ad {name}</AdTitle>
<Error>{error}</Error><Impression>{impression}</Impression>
<Creatives><Creative><UniversalAdId idRegistry="onair-demo">ad-{name}</UniversalAdId><Linear>
<Duration>00:00:{seconds:02}</Duration><TrackingEvents>{tracking}</TrackingEvents>
<MediaFiles><MediaFile delivery="progressive" type="video/mp4" width="640" height="360"><![CDATA[{base}/media/ad-{name}.mp4]]></MediaFile></MediaFiles>
</Linear></Creative></Creatives></InLine></Ad>"#,
        impression = beacon("impression"),
    )
}

async fn beacon(
    State(state): State<AdServer>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> StatusCode {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
    };
    state.hits.lock().unwrap().push(Hit {
        query,
        device_ip: header("x-device-ip"),
        device_ua: header("x-device-user-agent"),
    });
    StatusCode::NO_CONTENT
}

// ---------------------------------------------------------------------------------------------
// The server

/// A private copy of the demo database whose channel takes its ads from `ad_server`, inserted
/// as `insertion` says (`stitched` or `interstitials`).
fn demo_copy_with_ads(
    ad_server: SocketAddr,
    insertion: &str,
) -> (tempfile::TempDir, std::path::PathBuf) {
    let shared = demo_data_dir();
    let copy = tempfile::tempdir().unwrap();
    copy_demo_database(copy.path());
    block_on(async {
        let store = Store::connect(&format!(
            "sqlite://{}",
            copy.path().join("onair.db").display()
        ))
        .await
        .unwrap();
        store.migrate().await.unwrap();
        let demo = store
            .channel_by_slug(&ChannelSlug::parse("demo").unwrap())
            .await
            .unwrap()
            .unwrap();
        let current = store.ad_config(demo.id).await.unwrap().map(|c| c.version);
        let config = json!({
            "tag": format!("http://{ad_server}/vast?sid={{session.id}}&mode={{param.mode}}&dur=[BREAKMAXDURATION]"),
            "lead_seconds": 20,
            "freeze_seconds": 4,
            "timeout_ms": 1500,
            "allow_private": true,
            "insertion": insertion,
        });
        store
            .put_ad_config(
                demo.id,
                current,
                &config.to_string(),
                "e2e",
                onair_domain::Timestamp::from_unix_secs(1),
            )
            .await
            .unwrap();
        store.close().await;
        // Servers on the shared demo data (some on virtual clocks ahead of now) may have logged
        // past the break this test watches: the copy's recorder would resume after it.
        use sqlx::Connection;
        let url = format!("sqlite://{}", copy.path().join("onair.db").display());
        let mut connection = sqlx::SqliteConnection::connect(&url).await.unwrap();
        sqlx::query("DELETE FROM as_run")
            .execute(&mut connection)
            .await
            .unwrap();
        connection.close().await.unwrap();
    });
    (copy, shared.join("media"))
}

/// The next demo break after now + 40 s: breaks start at 120 s into each 180 s of the day.
fn next_break() -> DateTime<Utc> {
    let now = Utc::now().timestamp() + 40;
    let period_start = now - now.rem_euclid(180);
    let start = if now.rem_euclid(180) <= 120 {
        period_start + 120
    } else {
        period_start + 300
    };
    Utc.timestamp_opt(start, 0).unwrap()
}

fn server_on_clock(
    start: DateTime<Utc>,
    data: &std::path::Path,
    media: &std::path::Path,
) -> (Server, tempfile::TempDir) {
    let config_dir = tempfile::tempdir().unwrap();
    let config = config_dir.path().join("onair.toml");
    std::fs::write(
        &config,
        format!(
            "[playout]\nvirtual_clock = {{ start = \"{}\", speed = 1.0 }}\n[as_run]\ninterval = \"2s\"\n",
            start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    )
    .unwrap();
    let server = Server::start_with(
        &["--config", config.to_str().unwrap(), "serve"],
        &[
            ("ONAIR_DATA_DIR", data.to_str().unwrap()),
            ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
        ],
    );
    (server, config_dir)
}

/// A server on a private copy of the demo whose ads come from a fresh test ad server, inserted
/// as `insertion` says, on a clock 17 s before the next break: sessions created at once are
/// decided for it.
struct BeforeBreak {
    ad_server: AdServer,
    data: tempfile::TempDir,
    media: std::path::PathBuf,
    break_start: DateTime<Utc>,
    server: Server,
    _config: tempfile::TempDir,
}

fn serve_before_break(insertion: &str) -> BeforeBreak {
    let (ad_address, ad_server) = start_ad_server();
    let (data, media) = demo_copy_with_ads(ad_address, insertion);
    let break_start = next_break();
    let (server, _config) = server_on_clock(
        break_start - chrono::Duration::seconds(17),
        data.path(),
        &media,
    );
    BeforeBreak {
        ad_server,
        data,
        media,
        break_start,
        server,
        _config,
    }
}

fn post_session(server: &Server, params: Value, ip: &str, agent: &str) -> (u16, Value) {
    block_on(async {
        let response = support::client()
            .post(format!("{}/channels/demo/sessions", server.url))
            .header("X-Forwarded-For", ip)
            .header("User-Agent", agent)
            .json(&json!({ "params": params }))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    })
}

fn server_now(server: &Server) -> DateTime<Utc> {
    let (_, text) = get_text(&format!("{}/time", server.url));
    DateTime::parse_from_rfc3339(text.trim())
        .unwrap()
        .with_timezone(&Utc)
}

/// One listed segment: its number, discontinuity number, start (ms), duration (ms) and URI.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Listed {
    sequence: u64,
    discontinuity: u64,
    start_ms: i64,
    duration_ms: i64,
    uri: String,
}

/// Parses a media playlist into its segments with the numbers a player derives.
fn listed(text: &str) -> Vec<Listed> {
    let mut sequence = 0;
    let mut discontinuity = 0;
    let mut date: Option<i64> = None;
    let mut duration_ms = 0;
    let mut out = Vec::new();
    for line in text.lines() {
        if let Some(value) = line.strip_prefix("#EXT-X-MEDIA-SEQUENCE:") {
            sequence = value.parse().unwrap();
        } else if let Some(value) = line.strip_prefix("#EXT-X-DISCONTINUITY-SEQUENCE:") {
            discontinuity = value.parse().unwrap();
        } else if line == "#EXT-X-DISCONTINUITY" {
            discontinuity += 1;
        } else if let Some(value) = line.strip_prefix("#EXT-X-PROGRAM-DATE-TIME:") {
            date = Some(
                DateTime::parse_from_rfc3339(value)
                    .unwrap()
                    .timestamp_millis(),
            );
        } else if let Some(value) = line.strip_prefix("#EXTINF:") {
            let seconds: f64 = value.trim_end_matches(',').parse().unwrap();
            duration_ms = (seconds * 1000.0).round() as i64;
        } else if !line.starts_with('#') && !line.is_empty() {
            let start_ms = date.expect("a date before the first segment");
            out.push(Listed {
                sequence,
                discontinuity,
                start_ms,
                duration_ms,
                uri: line.to_owned(),
            });
            sequence += 1;
            date = Some(start_ms + duration_ms);
        }
    }
    out
}

#[test]
fn sessions_get_their_own_ads_in_the_break_with_its_length_and_beacons_fire_once_in_order_on_segment_fetch()
 {
    let BeforeBreak {
        ad_server,
        data,
        media,
        break_start,
        server,
        _config,
    } = serve_before_break("stitched");

    // Sessions: two that get ads, and three whose ad server answers garbage, too late, nothing.
    let (status, one) = post_session(
        &server,
        json!({"mode": "ok"}),
        "198.51.100.1",
        "PlayerOne/1.0",
    );
    assert_eq!(status, 201, "{one}");
    let mut others = Vec::new();
    for (mode, ip) in [
        ("ok", "198.51.100.2"),
        ("garbage", "198.51.100.3"),
        ("slow", "198.51.100.4"),
        ("empty", "198.51.100.5"),
    ] {
        let (status, session) = post_session(&server, json!({"mode": mode}), ip, "PlayerTwo/2.0");
        assert_eq!(status, 201, "{session}");
        others.push((mode, session["session_id"].as_str().unwrap().to_owned()));
    }
    let first = one["session_id"].as_str().unwrap().to_owned();
    // Two sessions whose ids' parities differ get different first ads: make sure the pair does.
    let parity = |id: &str| id.bytes().map(u32::from).sum::<u32>() % 2;
    let second = others
        .iter()
        .find(|(mode, id)| *mode == "ok" && parity(id) != parity(&first))
        .map(|(_, id)| id.clone());

    // A bad parameter is a 400 that says why; the channel URL with parameters starts a session.
    let (status, refused) = post_session(&server, json!({"bad name": "x"}), "198.51.100.9", "P");
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"].as_str().unwrap().contains("bad name"),
        "{refused}"
    );
    let (status, master) = get_text(&format!("{}/channels/demo/master.m3u8?aid=7", server.url));
    assert_eq!(status, 200);
    assert!(master.contains("sessions/"), "{master}");

    // Poll the first session and the channel once a second through the break, fetching every
    // new ad segment as a player would.
    let session_playlist = format!("{}/channels/demo/sessions/{first}/360p/ts.m3u8", server.url);
    let channel_playlist = format!("{}/channels/demo/360p/ts.m3u8", server.url);
    let mut seen: BTreeMap<u64, Listed> = BTreeMap::new();
    let mut fetched: Vec<String> = Vec::new();
    let client = reqwest::Client::builder().build().unwrap();
    let break_end = break_start + chrono::Duration::seconds(60);
    let start_of_break_ms = break_start.timestamp_millis();
    while server_now(&server) < break_end + chrono::Duration::seconds(8) {
        let (_, text) = get_text(&session_playlist);
        let (_, channel_text) = get_text(&channel_playlist);
        let (ours, theirs) = (listed(&text), listed(&channel_text));
        // The two requests may straddle a segment boundary: compare the segments both list.
        for theirs in &theirs {
            if let Some(ours) = ours.iter().find(|ours| ours.sequence == theirs.sequence)
                && !ours.uri.contains("/ads/")
                && !theirs.uri.contains("/ads/")
                && ours.start_ms < start_of_break_ms
            {
                assert_eq!(
                    ours.uri, theirs.uri,
                    "before the break, the channel's segments"
                );
                assert_eq!(ours.start_ms, theirs.start_ms);
            }
        }
        assert!(
            ours.first()
                .map_or(0, |s| s.sequence)
                .abs_diff(theirs.first().map_or(0, |s| s.sequence))
                <= 1,
            "the session keeps the channel's media sequence"
        );
        for segment in &ours {
            if let Some(earlier) = seen.get(&segment.sequence) {
                assert_eq!(
                    earlier, segment,
                    "a listed segment never changes between polls"
                );
            }
            seen.insert(segment.sequence, segment.clone());
            if segment.uri.contains("/ads/") && !fetched.contains(&segment.uri) {
                let status = block_on(
                    client
                        .get(format!("{}{}", server.url, segment.uri))
                        .header("User-Agent", "PlayerOne/1.0")
                        .send(),
                )
                .unwrap()
                .status();
                assert_eq!(
                    status, 200,
                    "the ad segment redirects to a segment that is there"
                );
                fetched.push(segment.uri.clone());
            }
        }
        std::thread::sleep(Duration::from_millis(1000));
    }

    // Another replica on the same database, its clock where the first's is, serves the same
    // session identically: it loads the session and its decisions from the store.
    let (replica, _replica_config) = server_on_clock(server_now(&server), data.path(), &media);
    let (status, text) = get_text(&format!(
        "{}/channels/demo/sessions/{first}/360p/ts.m3u8",
        replica.url
    ));
    assert_eq!(status, 200, "{text}");
    let compared: Vec<Listed> = listed(&text)
        .into_iter()
        .filter(|segment| seen.contains_key(&segment.sequence))
        .collect();
    assert!(
        !compared.is_empty(),
        "the replica's window overlaps: {text}"
    );
    for segment in &compared {
        assert_eq!(&seen[&segment.sequence], segment, "the replica agrees");
    }
    drop(replica);

    // The break lasts its slot to the segment: 30 segments, 60.000 s, as the channel's.
    let start_ms = break_start.timestamp_millis();
    let in_break: Vec<&Listed> = seen
        .values()
        .filter(|s| s.start_ms >= start_ms && s.start_ms < break_end.timestamp_millis())
        .collect();
    assert_eq!(in_break.len(), 30, "{in_break:#?}");
    assert_eq!(in_break.iter().map(|s| s.duration_ms).sum::<i64>(), 60_000);
    let after = seen
        .values()
        .find(|s| s.start_ms >= break_end.timestamp_millis())
        .expect("content after the break");
    assert!(
        !after.uri.contains("/ads/"),
        "content comes back after the break"
    );
    let ad_segments = in_break.iter().filter(|s| s.uri.contains("/ads/")).count();
    let first_ad_segments = if parity(&first) == 0 { 8 } else { 6 };
    assert_eq!(
        ad_segments,
        first_ad_segments + 10,
        "ad A or C (16 or 12 s) and ad B (20 s) air whole"
    );

    // Beacons: each event once per ad, in order, with the device's headers.
    std::thread::sleep(Duration::from_secs(3));
    let hits = ad_server.hits.lock().unwrap().clone();
    let of_first: Vec<&Hit> = hits
        .iter()
        .filter(|hit| hit.query.get("sid") == Some(&first))
        .collect();
    let ads: Vec<String> = {
        let mut names: Vec<String> = of_first
            .iter()
            .filter_map(|hit| hit.query.get("ad").cloned())
            .filter(|ad| ad != "wrapper-b")
            .collect();
        names.dedup();
        names
    };
    assert_eq!(ads.len(), 2, "two ads aired: {of_first:#?}");
    for ad in &ads {
        let events: Vec<&str> = of_first
            .iter()
            .filter(|hit| hit.query.get("ad") == Some(ad))
            .map(|hit| hit.query["event"].as_str())
            .collect();
        assert_eq!(
            events,
            [
                "impression",
                "start",
                "firstQuartile",
                "midpoint",
                "thirdQuartile",
                "complete"
            ],
            "ad {ad}"
        );
    }
    assert!(
        of_first
            .iter()
            .all(|hit| hit.device_ip.as_deref() == Some("198.51.100.1")
                && hit.device_ua.as_deref() == Some("PlayerOne/1.0")),
        "{of_first:#?}"
    );
    let wrapper_events: Vec<&str> = of_first
        .iter()
        .filter(|hit| hit.query.get("ad").map(String::as_str) == Some("wrapper-b"))
        .map(|hit| hit.query["event"].as_str())
        .collect();
    assert_eq!(
        wrapper_events,
        ["impression", "complete"],
        "the wrapper's tracking merged into its ad's"
    );

    // Two sessions get different ads.
    let creatives = |id: &str| -> Vec<String> {
        let (_, text) = get_text(&format!(
            "{}/channels/demo/sessions/{id}/tracking",
            server.url
        ));
        let tracking: Value = serde_json::from_str(&text).unwrap();
        tracking["avails"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|avail| {
                avail["ads"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|ad| ad["creativeKey"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    if let Some(second) = &second {
        assert_ne!(
            creatives(&first),
            creatives(second),
            "two sessions get different ads"
        );
    }

    // A session whose ad server fails airs the channel's break (slate), exactly.
    for (mode, id) in &others {
        if *mode == "ok" {
            continue;
        }
        assert!(creatives(id).is_empty(), "{mode}: no ad airs");
    }
    let empty = others.iter().find(|(mode, _)| *mode == "empty").unwrap();
    assert!(
        hits.iter().any(|hit| hit.query.get("sid") == Some(&empty.1)
            && hit.query.get("code").map(String::as_str) == Some("303")),
        "an empty VAST fires 303 to its Error URL"
    );

    // The report counts the break's decisions, fill and errors.
    let (status, text) = get_text(&format!(
        "{}/api/channels/demo/ads/report?from={}&to={}",
        server.url,
        (break_start - chrono::Duration::seconds(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        break_end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    ));
    assert_eq!(status, 200, "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    let totals = &report["totals"];
    assert!(totals["decisions"].as_u64().unwrap() >= 5, "{report}");
    assert!(totals["filled"].as_u64().unwrap() >= 2, "{report}");
    assert!(totals["beacons_sent"].as_u64().unwrap() >= 12, "{report}");
    let errors = totals["errors_by_code"].as_object().unwrap();
    assert!(
        errors.contains_key("303") && errors.contains_key("100"),
        "{report}"
    );

    // The as-run log's first run of the break says what the sessions aired in it, once the
    // recorder (every 2 s of clock time here) has recorded past the break.
    let as_run_url = format!(
        "{}/api/channels/demo/as-run?from={}&to={}",
        server.url,
        (break_start - chrono::Duration::seconds(1))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        break_end.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let opening = loop {
        let (status, text) = get_text(&as_run_url);
        assert_eq!(status, 200, "{text}");
        let log: Value = serde_json::from_str(&text).unwrap();
        let opening = log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["kind"] == "ad_break" && entry["ad_sessions"].is_u64())
            .cloned();
        match opening {
            Some(opening) => break opening,
            None if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(500))
            }
            None => panic!("the break's first run carries its fill: {log}"),
        }
    };
    assert!(opening["ad_sessions"].as_u64().unwrap() >= 5, "{opening}");
    assert!(
        opening["ad_sessions_filled"].as_u64().unwrap() >= 2,
        "{opening}"
    );
    assert!(
        opening["ads_aired"]
            .as_str()
            .unwrap()
            .contains("onair-demo:ad-b×"),
        "{opening}"
    );

    // ffprobe reads the session's playlist.
    if Command::new("ffprobe").arg("-version").output().is_ok() {
        let probe = Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name",
                "-of",
                "csv=p=0",
            ])
            .arg(&session_playlist)
            .output()
            .unwrap();
        assert!(
            probe.status.success(),
            "{}",
            String::from_utf8_lossy(&probe.stderr)
        );
        let codecs = String::from_utf8_lossy(&probe.stdout);
        assert!(
            codecs.contains("h264") && codecs.contains("aac"),
            "{codecs}"
        );
    } else {
        eprintln!("FFPROBE NOT FOUND: the session's playlist is not probed");
    }
}

#[test]
fn the_tag_inspector_shows_every_hop_the_pod_the_files_and_whether_each_creative_is_ready() {
    let (ad_address, ad_server) = start_ad_server();
    let (data, _media) = demo_copy_with_ads(ad_address, "stitched");
    let tag = format!("http://{ad_address}/vast?sid=inspector&mode=ok");
    let output = support::onair(
        &[
            "ads",
            "resolve",
            &tag,
            "--channel",
            "demo",
            "--allow-private",
            "--duration",
            "60",
        ],
        &[("ONAIR_DATA_DIR", data.path().to_str().unwrap())],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let hops = report["resolution"]["hops"].as_array().unwrap();
    assert_eq!(
        hops.len(),
        2,
        "the tag and the wrapper's target: {report:#}"
    );
    assert!(
        hops.iter()
            .all(|hop| hop["status"] == 200 && hop["millis"].is_u64())
    );
    let keys: Vec<&str> = report["creatives"]
        .as_array()
        .unwrap()
        .iter()
        .map(|creative| creative["creative_key"].as_str().unwrap())
        .collect();
    assert_eq!(keys.len(), 3, "{report:#}");
    assert!(keys.contains(&"onair-demo:ad-b") && keys.contains(&"onair-demo:ad-d"));
    assert!(
        report["creatives"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "ready"),
        "{report:#}"
    );
    let first_media = &report["resolution"]["ads"][0]["media"];
    assert!(
        first_media["url"].as_str().unwrap().ends_with(".mp4"),
        "{first_media}"
    );
    assert!(!first_media["reason"].as_str().unwrap().is_empty());
    assert!(
        ad_server.hits.lock().unwrap().is_empty(),
        "the inspector fires nothing"
    );

    // A private address is refused unless allowed, with the reason.
    let output = support::onair(
        &["ads", "resolve", &tag],
        &[("ONAIR_DATA_DIR", data.path().to_str().unwrap())],
    );
    assert!(output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    let hop = &report["resolution"]["hops"][0];
    assert!(
        hop["error"].as_str().unwrap().contains("loopback"),
        "{report:#}"
    );
}

/// What `url` answers as text, following redirects.
fn get_following(url: &str) -> (u16, String) {
    block_on(async {
        let response = support::client().get(url).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

#[test]
fn interstitial_sessions_share_the_channels_playlist_and_get_their_ads_from_their_asset_list_with_beacons_once()
 {
    // The data and configuration folders live as long as the server.
    let BeforeBreak {
        ad_server,
        data: _data,
        break_start,
        server,
        _config,
        ..
    } = serve_before_break("interstitials");
    let (status, one) = post_session(
        &server,
        json!({"mode": "ok"}),
        "198.51.100.1",
        "PlayerOne/1.0",
    );
    assert_eq!(status, 201, "{one}");
    let (status, empty) = post_session(
        &server,
        json!({"mode": "empty"}),
        "198.51.100.5",
        "PlayerTwo/2.0",
    );
    assert_eq!(status, 201, "{empty}");
    let (first, other) = (
        one["session_id"].as_str().unwrap().to_owned(),
        empty["session_id"].as_str().unwrap().to_owned(),
    );

    // A session's multivariant playlists (explicit or implicit) define it and name the
    // channel's shared interstitial playlists.
    for (url, session) in [
        (
            format!("/channels/demo/sessions/{first}/master.m3u8"),
            Some(&first),
        ),
        ("/channels/demo/master-fmp4.m3u8?aid=7".to_owned(), None),
    ] {
        let (status, master) = get_text(&format!("{}{url}", server.url));
        assert_eq!(status, 200, "{master}");
        assert!(master.contains("#EXT-X-VERSION:8\n"), "{master}");
        let define = master
            .lines()
            .find(|line| line.starts_with("#EXT-X-DEFINE:NAME=\"sid\",VALUE=\""))
            .unwrap_or_else(|| panic!("the session is defined: {master}"));
        if let Some(session) = session {
            assert!(define.contains(session.as_str()), "{define}");
        }
        let uris: Vec<&str> = master
            .lines()
            .filter(|line| !line.starts_with('#'))
            .collect();
        assert!(
            !uris.is_empty()
                && uris
                    .iter()
                    .all(|uri| uri.starts_with("/channels/demo/interstitials/")),
            "{master}"
        );
    }

    // The shared playlist declares the break once its first segment is listed (the channel's
    // live delay after it ends): same bytes for every viewer (it names none), cacheable, the
    // channel's segments under it.
    let shared = format!("{}/channels/demo/interstitials/360p/ts.m3u8", server.url);
    let mut declared = None;
    while declared.is_none() && server_now(&server) < break_start + chrono::Duration::seconds(12) {
        let (status, text) = get_text(&shared);
        assert_eq!(status, 200, "{text}");
        assert!(text.contains("#EXT-X-DEFINE:IMPORT=\"sid\"\n"), "{text}");
        assert!(!text.contains(&first) && !text.contains(&other), "{text}");
        declared = text
            .lines()
            .find(|line| line.contains("CLASS=\"com.apple.hls.interstitial\""))
            .map(str::to_owned);
        std::thread::sleep(Duration::from_millis(500));
    }
    let declared = declared.expect("the break is declared by the time it starts");
    let start_date = format!(
        "START-DATE=\"{}\"",
        break_start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    assert!(declared.contains(&start_date), "{declared}");
    assert!(
        declared.contains(",DURATION=60.000,X-PLAYOUT-LIMIT=60.000,"),
        "{declared}"
    );
    assert!(
        declared.contains("X-RESTRICT=\"SKIP,JUMP\"") && declared.contains("X-SNAP=\"OUT,IN\""),
        "{declared}"
    );
    let list_url = declared
        .split("X-ASSET-LIST=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .to_owned();
    assert!(
        list_url.starts_with("/channels/demo/sessions/{$sid}/ads/")
            && list_url.ends_with("/assets.json"),
        "{list_url}"
    );
    let break_sequence: u64 = list_url.split('/').nth(6).unwrap().parse().unwrap();
    let cache_control = block_on(async {
        support::client()
            .get(&shared)
            .send()
            .await
            .unwrap()
            .headers()["cache-control"]
            .to_str()
            .unwrap()
            .to_owned()
    });
    assert!(cache_control.starts_with("public"), "{cache_control}");

    // The decided session's list: its ads, then slate, adding up to the break; every URI
    // absolute, on this server.
    let list_of = |session: &str, query: &str| {
        get_text(&format!(
            "{}{}{query}",
            server.url,
            list_url.replace("{$sid}", session)
        ))
    };
    let (status, text) = list_of(&first, "?_HLS_primary_id=abc&_HLS_start_offset=0");
    assert_eq!(status, 200, "{text}");
    let list: Value = serde_json::from_str(&text).unwrap();
    let assets = list["ASSETS"].as_array().unwrap();
    let total_ms: i64 = assets
        .iter()
        .map(|asset| (asset["DURATION"].as_f64().unwrap() * 1000.0).round() as i64)
        .sum();
    assert_eq!(total_ms, 60_000, "the assets last the break: {list}");
    let first_ad_ms = if first.bytes().map(u32::from).sum::<u32>() % 2 == 0 {
        16_000
    } else {
        12_000
    };
    let durations: Vec<i64> = assets
        .iter()
        .map(|asset| (asset["DURATION"].as_f64().unwrap() * 1000.0).round() as i64)
        .collect();
    assert_eq!(
        durations,
        [first_ad_ms, 20_000, 60_000 - first_ad_ms - 20_000],
        "ad A or C, ad B, then slate: {list}"
    );
    let asset_prefix = format!(
        "{}/channels/demo/sessions/{first}/ads/{break_sequence}/",
        server.url
    );
    for (position, asset) in assets.iter().enumerate() {
        assert_eq!(
            asset["URI"],
            format!("{asset_prefix}{position}/master.m3u8"),
            "{list}"
        );
    }

    // An undecided (here: unfilled) session's list is empty: the channel's break plays.
    let (status, text) = list_of(&other, "");
    assert_eq!(status, 200, "{text}");
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"ASSETS": []})
    );
    // An unknown session is a 404, a bad offset a 400, a segment that starts no break a 404.
    let (status, _) = list_of(&"0".repeat(32), "");
    assert_eq!(status, 404);
    let (status, text) = list_of(&first, "?_HLS_start_offset=soon");
    assert_eq!(status, 400, "{text}");
    let (status, _) = get_text(&format!(
        "{}/channels/demo/sessions/{first}/ads/{}/assets.json",
        server.url,
        break_sequence + 1
    ));
    assert_eq!(status, 404);

    // Each ad asset is a VOD playlist per variant whose segments go through the session's
    // tracking URLs; a player fetching them fires each beacon once, whatever it fetches twice.
    for (position, asset) in assets.iter().enumerate().take(2) {
        let (status, master) = get_text(&format!("{asset_prefix}{position}/master.m3u8"));
        assert_eq!(status, 200, "{master}");
        let variant = master
            .lines()
            .find(|line| line.starts_with("360p/"))
            .unwrap_or_else(|| panic!("{master}"));
        let (status, playlist) = get_text(&format!("{asset_prefix}{position}/{variant}"));
        assert_eq!(status, 200, "{playlist}");
        assert!(
            playlist.contains("#EXT-X-PLAYLIST-TYPE:VOD\n")
                && playlist.ends_with("#EXT-X-ENDLIST\n"),
            "{playlist}"
        );
        let tracked =
            format!("/channels/demo/sessions/{first}/ads/{break_sequence}/{position}/media/");
        let segments: Vec<&str> = playlist
            .lines()
            .filter(|line| !line.starts_with('#'))
            .collect();
        assert_eq!(
            listed(&format!(
                "#EXT-X-PROGRAM-DATE-TIME:2000-01-01T00:00:00Z\n{playlist}"
            ))
            .iter()
            .map(|segment| segment.duration_ms)
            .sum::<i64>(),
            (asset["DURATION"].as_f64().unwrap() * 1000.0).round() as i64,
            "the asset's playlist lasts what the list says"
        );
        for _twice in 0..2 {
            for segment in &segments {
                assert!(segment.starts_with(&tracked), "{segment}");
                let (status, _) = get_following(&format!("{}{segment}", server.url));
                assert_eq!(
                    status, 200,
                    "{segment} redirects to a segment that is there"
                );
            }
        }
    }
    let slate = &assets[2]["URI"]
        .as_str()
        .unwrap()
        .replace("master.m3u8", "360p/ts.m3u8");
    let (status, playlist) = get_text(slate);
    assert_eq!(status, 200, "{playlist}");
    assert!(
        playlist.contains("\n/media/"),
        "the slate plays from /media/: {playlist}"
    );

    std::thread::sleep(Duration::from_secs(3));
    let hits = ad_server.hits.lock().unwrap().clone();
    for ad in [if first_ad_ms == 16_000 { "a" } else { "c" }, "b"] {
        let events: Vec<&str> = hits
            .iter()
            .filter(|hit| {
                hit.query.get("sid") == Some(&first)
                    && hit.query.get("ad").map(String::as_str) == Some(ad)
            })
            .map(|hit| hit.query["event"].as_str())
            .collect();
        assert_eq!(
            events,
            [
                "impression",
                "start",
                "firstQuartile",
                "midpoint",
                "thirdQuartile",
                "complete"
            ],
            "ad {ad}: each event once, in order"
        );
    }

    // The tracking JSON still says what the session airs; DASH stays stitched.
    let (status, text) = get_text(&format!(
        "{}/channels/demo/sessions/{first}/tracking",
        server.url
    ));
    assert_eq!(status, 200, "{text}");
    let tracking: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        tracking["avails"][0]["ads"].as_array().unwrap().len(),
        2,
        "{tracking}"
    );
    let (status, mpd) = get_text(&format!(
        "{}/channels/demo/sessions/{first}/manifest.mpd",
        server.url
    ));
    assert_eq!(status, 200, "{mpd}");
}
