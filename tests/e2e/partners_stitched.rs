//! A stitched partner through the real binary: a private copy of the demo database whose
//! channel takes its own ads (creative A) from an ad server in this test, and a signed stitched
//! partner whose tag asks the same server for creative D. The server's clock starts shortly
//! before a break, at normal speed: the partner's master starts a session under its signed
//! prefix, whose break lists creative D's segments (not the channel's A) without cue tags, whose
//! ad tracking URLs fire the partner tag's beacons, and which no other URL knows.

use std::collections::{BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::get;
use chrono::{DateTime, TimeZone, Utc};
use onair_control::Control;
use onair_control::partners::PartnerInput;
use onair_domain::{AssetId, ChannelSlug, SystemClock};
use onair_store::Store;
use serde_json::json;

use crate::support;
use crate::support::{Server, block_on, copy_demo_database, demo_data_dir, get_text};

/// What the test's ad server was asked: every ad request's and every beacon's query.
#[derive(Clone, Default)]
struct Asked {
    ad_requests: Arc<Mutex<Vec<HashMap<String, String>>>>,
    beacons: Arc<Mutex<Vec<HashMap<String, String>>>>,
}

/// An ad server on a free port: `/vast?ad=NAME&sid=…` answers one inline ad, the demo's
/// creative `NAME` (ready in the demo database), whose beacons come back to `/beacon`.
fn start_ad_server() -> (SocketAddr, Asked) {
    let asked = Asked::default();
    let router = Router::new()
        .route("/vast", get(one_ad))
        .route("/beacon", get(beacon))
        .with_state(asked.clone());
    (support::stub_server::serve_router(router), asked)
}

async fn one_ad(
    State(asked): State<Asked>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> String {
    asked.ad_requests.lock().unwrap().push(query.clone());
    let host = headers
        .get("host")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    let (name, sid) = (&query["ad"], &query["sid"]);
    let seconds = if name == "a" { 16 } else { 8 };
    let beacon = format!("http://{host}/beacon?ad={name}&sid={sid}&event=");
    format!(
        r#"<VAST version="4.1"><Ad id="ad-{name}"><InLine><AdSystem>test</AdSystem><AdTitle>Ad {name}</AdTitle>
<Impression><![CDATA[{beacon}impression]]></Impression>
<Creatives><Creative><UniversalAdId idRegistry="onair-demo">ad-{name}</UniversalAdId><Linear>
<Duration>00:00:{seconds:02}</Duration><TrackingEvents><Tracking event="start"><![CDATA[{beacon}start]]></Tracking></TrackingEvents>
<MediaFiles><MediaFile delivery="progressive" type="video/mp4" width="640" height="360"><![CDATA[http://{host}/media/ad-{name}.mp4]]></MediaFile></MediaFiles>
</Linear></Creative></Creatives></InLine></Ad></VAST>"#
    )
}

async fn beacon(
    State(asked): State<Asked>,
    Query(query): Query<HashMap<String, String>>,
) -> StatusCode {
    asked.beacons.lock().unwrap().push(query);
    StatusCode::NO_CONTENT
}

/// The partners this test makes: a signed stitched one, another stitched one, each asking
/// `ad_server` for its own creative.
const STITCHED: &str = "stitched-tv";
const OTHER: &str = "other-tv";

/// The private copy: the channel's ads are creative A; `stitched-tv` (signed, HLS-TS) asks for D
/// with the player's `aid` and its own name, `other-tv` (unsigned, HLS-TS and DASH) for B.
/// Returns the folder, the
/// stitched partner's signed prefix for `demo`, and the paths of creative D's segments.
fn private_demo(ad_server: SocketAddr) -> (tempfile::TempDir, String, BTreeSet<String>) {
    let copy = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    copy_demo_database(copy.path());
    let (prefix, creative_d) = block_on(async {
        let url = format!("sqlite://{}", copy.path().join("onair.db").display());
        let store = Store::connect(&url).await.unwrap();
        store.migrate().await.unwrap();
        let demo = store
            .channel_by_slug(&ChannelSlug::parse("demo").unwrap())
            .await
            .unwrap()
            .unwrap();
        let current = store.ad_config(demo.id).await.unwrap().map(|c| c.version);
        let config = json!({
            "tag": format!("http://{ad_server}/vast?ad=a&sid={{session.id}}"),
            "lead_seconds": 20,
            "freeze_seconds": 4,
            "timeout_ms": 1500,
            "allow_private": true,
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
        let control = Control::new(store.clone(), Arc::new(SystemClock));
        for (name, ad, signed, outputs) in [
            (STITCHED, "d", true, vec!["hls-ts".to_owned()]),
            (
                OTHER,
                "b",
                false,
                vec!["hls-ts".to_owned(), "dash".to_owned()],
            ),
        ] {
            control
                .create_partner(
                    &PartnerInput {
                        name: Some(name.into()),
                        channels: vec!["demo".into()],
                        ad_mode: Some("stitched".into()),
                        ad_tag: Some(format!(
                            "http://{ad_server}/vast?ad={ad}&sid={{session.id}}&aid={{param.aid}}&p={{partner}}"
                        )),
                        signed: Some(signed),
                        outputs: Some(outputs),
                        ..PartnerInput::default()
                    },
                    "e2e",
                )
                .await
                .unwrap();
        }
        let prefix = control
            .signed_partner_prefix(STITCHED, "demo", 2)
            .await
            .unwrap()
            .prefix;
        let keys = ["onair-demo:ad-d".to_owned()];
        let creative = store
            .creatives_by_keys(&keys, demo.ladder_id)
            .await
            .unwrap();
        let asset_id: AssetId = creative[0]
            .asset_id
            .expect("creative D is ready in the demo");
        let assets = store.assets_by_ids(&[asset_id]).await.unwrap();
        let paths = assets[0]
            .renditions
            .iter()
            .flat_map(|rendition| {
                rendition
                    .segments
                    .iter()
                    .map(|segment| segment.path.clone())
            })
            .collect();
        store.close().await;
        (prefix, paths)
    });
    (copy, prefix, creative_d)
}

/// The next demo break at least 40 s away: breaks start 120 s into each 180 s of the day.
fn next_break() -> DateTime<Utc> {
    let soon = Utc::now().timestamp() + 40;
    let into_period = soon.rem_euclid(180);
    let start = soon - into_period + if into_period <= 120 { 120 } else { 300 };
    Utc.timestamp_opt(start, 0).unwrap()
}

/// A server on `data` whose clock starts at `start` and runs in real time.
fn serve_from(start: DateTime<Utc>, data: &std::path::Path) -> Server {
    let config = data.join("onair.toml");
    std::fs::write(
        &config,
        format!(
            "[playout]\nvirtual_clock = {{ start = \"{}\", speed = 1.0 }}\n",
            start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        ),
    )
    .unwrap();
    let media = demo_data_dir().join("media");
    Server::start_with(
        &["--config", config.to_str().unwrap(), "serve"],
        &[
            ("ONAIR_DATA_DIR", data.to_str().unwrap()),
            ("ONAIR_MEDIA_DIR", media.to_str().unwrap()),
        ],
    )
}

/// The session id a multivariant playlist's first variant names (`…sessions/{id}/…`).
fn session_of(master: &str) -> String {
    let variant = master
        .lines()
        .find(|line| !line.starts_with('#') && !line.is_empty())
        .unwrap_or_else(|| panic!("a variant: {master}"));
    let after = variant
        .split_once("sessions/")
        .unwrap_or_else(|| panic!("a session's variant: {master}"))
        .1;
    after.split('/').next().unwrap().to_owned()
}

/// The URIs a media playlist lists.
fn uris(playlist: &str) -> Vec<&str> {
    playlist
        .lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .collect()
}

#[test]
fn a_stitched_partners_viewer_gets_the_partners_ads_under_its_signed_prefix_and_nobody_elses_session()
 {
    let (ad_address, asked) = start_ad_server();
    let (data, prefix, creative_d) = private_demo(ad_address);
    let break_start = next_break();
    let server = serve_from(break_start - chrono::Duration::seconds(17), data.path());
    let base = &server.url;

    // The partner's master, signed, with a player parameter: a session under the prefix.
    let (status, master) = get_text(&format!("{base}{prefix}master.m3u8?aid=42"));
    assert_eq!(status, 200, "{master}");
    let ours = session_of(&master);
    assert!(master.contains(&format!("\nsessions/{ours}/")), "{master}");
    // Another stitched partner's viewer (without parameters) and the channel's own viewer.
    let (status, other_master) = get_text(&format!("{base}/p/{OTHER}/demo/master.m3u8"));
    assert_eq!(status, 200, "{other_master}");
    let theirs = session_of(&other_master);
    let (status, own_master) = get_text(&format!("{base}/channels/demo/master.m3u8?aid=1"));
    assert_eq!(status, 200, "{own_master}");
    let own = session_of(&own_master);

    // Each session is known only at its own URLs.
    let media = |at: &str, id: &str| format!("{base}{at}sessions/{id}/360p/ts.m3u8");
    for (at, id) in [
        (prefix.as_str(), theirs.as_str()),
        (prefix.as_str(), own.as_str()),
        (&format!("/p/{OTHER}/demo/"), ours.as_str()),
        ("/channels/demo/", ours.as_str()),
    ] {
        let (status, body) = get_text(&media(at, id));
        assert_eq!(status, 404, "{at} {id}: {body}");
    }
    assert_eq!(
        get_text(&media(&format!("/p/{OTHER}/demo/"), &theirs)).0,
        200
    );
    assert_eq!(get_text(&media("/channels/demo/", &own)).0, 200);
    // Refusals: a bad parameter, a tampered token, a clean partner's sessions.
    let (status, body) = get_text(&format!("{base}{prefix}master.m3u8?bad%20name=1"));
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("bad name"), "{body}");
    let tampered = prefix.replacen("/t/", "/t/1", 1);
    assert_eq!(get_text(&media(&tampered, &ours)).0, 403);
    let (status, clean) = get_text(&format!("{base}/p/fastplus/demo/master.m3u8"));
    assert_eq!(status, 200, "{clean}");
    assert!(
        !clean.contains("sessions/"),
        "a clean partner is unchanged: {clean}"
    );
    assert_eq!(get_text(&media("/p/fastplus/demo/", &ours)).0, 404);
    // DASH where the partner is allowed it: a session's MPD under the prefix; not where not.
    let no_redirect = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = block_on(
        no_redirect
            .get(format!("{base}/p/{OTHER}/demo/manifest.mpd"))
            .send(),
    )
    .unwrap();
    assert_eq!(started.status().as_u16(), 302);
    let mpd_url = started.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        mpd_url.starts_with(&format!("/p/{OTHER}/demo/sessions/")),
        "{mpd_url}"
    );
    let (status, mpd) = get_text(&format!("{base}{mpd_url}"));
    assert_eq!(status, 200, "{mpd}");
    assert!(mpd.contains(&format!("\"/p/{OTHER}/demo/media/")), "{mpd}");
    assert!(
        !mpd.contains("\"/media/"),
        "every file under the prefix: {mpd}"
    );
    assert_eq!(get_text(&format!("{base}{prefix}manifest.mpd")).0, 404);

    // Poll the session until its break lists ads.
    let deadline = break_start + chrono::Duration::seconds(30);
    let playlist = loop {
        let (status, text) = get_text(&media(&prefix, &ours));
        assert_eq!(status, 200, "{text}");
        if text.contains("/ads/") {
            break text;
        }
        assert!(Utc::now() < deadline, "no ad listed by {deadline}: {text}");
        std::thread::sleep(Duration::from_millis(1000));
    };
    let ad_prefix = format!("{prefix}sessions/{ours}/ads/");
    let ads: Vec<&str> = uris(&playlist)
        .into_iter()
        .filter(|uri| uri.contains("/ads/"))
        .collect();
    for ad in &ads {
        assert!(ad.starts_with(&ad_prefix), "{ad} under {ad_prefix}");
        let path = ad.split_once("/media/").unwrap().1;
        assert!(
            creative_d.contains(path),
            "{path} is creative D's: {playlist}"
        );
    }
    for uri in uris(&playlist) {
        assert!(
            uri.starts_with(&prefix),
            "every URL under the prefix: {uri}"
        );
    }
    assert!(
        !playlist.contains("#EXT-X-CUE-OUT") && !playlist.contains("SCTE35-OUT"),
        "the filled break carries no cue: {playlist}"
    );

    // The ad's tracking URL fires the partner tag's impression and redirects under the prefix.
    let response = block_on(no_redirect.get(format!("{base}{}", ads[0])).send()).unwrap();
    assert_eq!(response.status().as_u16(), 302);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        location.starts_with(&format!("{prefix}media/")),
        "{location}"
    );
    assert_eq!(get_text(&format!("{base}{location}")).0, 200);
    let impression = |beacons: &[HashMap<String, String>]| {
        beacons.iter().any(|hit| {
            hit.get("sid") == Some(&ours)
                && hit.get("ad").map(String::as_str) == Some("d")
                && hit.get("event").map(String::as_str) == Some("impression")
        })
    };
    let fired_by = std::time::Instant::now() + Duration::from_secs(10);
    while !impression(&asked.beacons.lock().unwrap()) {
        assert!(std::time::Instant::now() < fired_by, "no impression fired");
        std::thread::sleep(Duration::from_millis(200));
    }
    let requests = asked.ad_requests.lock().unwrap().clone();
    let ours_asked = requests
        .iter()
        .find(|query| query.get("sid") == Some(&ours))
        .expect("the partner's session asked for ads");
    assert_eq!(
        (
            &ours_asked["ad"][..],
            &ours_asked["aid"][..],
            &ours_asked["p"][..]
        ),
        ("d", "42", STITCHED),
        "the partner's tag, its macros expanded"
    );
    // The other partner's DASH session, now in the break: its ads (B) under its prefix, and no
    // SCTE-35 event for the break it fills.
    let (status, mpd) = get_text(&format!(
        "{base}/p/{OTHER}/demo/sessions/{theirs}/manifest.mpd"
    ));
    assert_eq!(status, 200, "{mpd}");
    assert!(
        mpd.contains(&format!("\"/p/{OTHER}/demo/sessions/{theirs}/ads/")),
        "{mpd}"
    );
    assert!(!mpd.contains("urn:scte:scte35"), "{mpd}");
    let own_asked = requests
        .iter()
        .find(|query| query.get("sid") == Some(&own))
        .expect("the channel's session asked for ads");
    assert_eq!(own_asked["ad"], "a", "the channel's own tag");
}
