//! End to end: each partner's EPG through the real binary, on a private copy of the demo
//! database with the clock all but stopped. A partner reading XMLTV gets `epg.xml` (valid under
//! `tv_validate_file` when installed), one reading Wurl-style JSON gets `epg.json` with
//! programmes of 3 min to 6 h and no gap, one reading Roku-style JSON gets its feed, signed;
//! the other extension is a 404 naming the format, a channel not carried a 404, a signed
//! partner's feed without or with a bad token a 403; every request is counted. Each feed lists
//! the programmes the channel's own `/channels/{slug}/epg.json` lists over the same window:
//! equal to what airs.

use std::collections::HashMap;

use crate::support;
use crate::support::partners::{PrivateDemo, partner_cli, validate_xmltv};
use crate::support::{Server, client, get_text, onair};
use chrono::{DateTime, Utc};
use onair_control::partners::signing;
use serde_json::Value;

fn get_with_headers(url: &str) -> (u16, HashMap<String, String>, String) {
    support::block_on(async {
        let response = client().get(url).send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response
            .headers()
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap_or("").to_owned()))
            .collect();
        (status, headers, response.text().await.unwrap())
    })
}

fn json(url: &str) -> Value {
    let (status, text) = get_text(url);
    assert_eq!(status, 200, "{url}: {text}");
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{url}: {error}: {text}"))
}

fn instant(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).unwrap().to_utc()
}

/// (start, end, title) of a programme list whose items say when they start and how long they
/// last in seconds (or when they end).
type Row = (DateTime<Utc>, DateTime<Utc>, String);

fn rows(items: &Value, start: &str, end_or_duration: &str) -> Vec<Row> {
    items
        .as_array()
        .unwrap()
        .iter()
        .map(|item| {
            let start_at = instant(item[start].as_str().unwrap());
            let end_at = match &item[end_or_duration] {
                Value::String(end) => instant(end),
                Value::Number(seconds) => {
                    start_at + chrono::Duration::seconds(seconds.as_i64().unwrap())
                }
                other => panic!("{end_or_duration}: {other}"),
            };
            (start_at, end_at, item["title"].as_str().unwrap().to_owned())
        })
        .collect()
}

/// The rows of XMLTV `<programme>`s: start, stop, title.
fn xmltv_rows(xml: &str) -> Vec<Row> {
    let attribute = |tag: &str, name: &str| -> DateTime<Utc> {
        let value = tag
            .split(&format!("{name}=\""))
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .unwrap();
        DateTime::parse_from_str(value, "%Y%m%d%H%M%S %z")
            .unwrap()
            .to_utc()
    };
    xml.split("<programme ")
        .skip(1)
        .map(|tag| {
            let title = tag
                .split("<title>")
                .nth(1)
                .and_then(|rest| rest.split("</title>").next())
                .unwrap()
                .replace("&apos;", "'")
                .replace("&amp;", "&");
            (attribute(tag, "start"), attribute(tag, "stop"), title)
        })
        .collect()
}

/// No gap or overlap from the first programme to the last.
fn assert_contiguous(rows: &[Row], what: &str) {
    assert!(!rows.is_empty(), "{what}: no programmes");
    for pair in rows.windows(2) {
        assert_eq!(pair[0].1, pair[1].0, "{what}: a gap or overlap at {pair:?}");
    }
}

/// The rows of `feed` inside `[from, to)` equal those of `channel` there.
fn assert_same_programmes(feed: &[Row], channel: &[Row], what: &str) {
    let (from, to) = (channel[0].0, channel[channel.len() - 1].1);
    let (from, to) = (from.max(feed[0].0), to.min(feed[feed.len() - 1].1));
    let within = |rows: &[Row]| -> Vec<Row> {
        rows.iter()
            .filter(|row| row.0 >= from && row.1 <= to)
            .cloned()
            .collect()
    };
    let (listed, aired) = (within(feed), within(channel));
    assert!(
        aired.len() >= 10,
        "{what}: a window with programmes: {aired:?}"
    );
    assert_eq!(
        listed, aired,
        "{what}: the partner's feed is the channel's own EPG"
    );
}

#[test]
fn each_partner_reads_its_own_epg_format_contiguous_signed_counted_and_equal_to_what_airs() {
    let now = Utc::now();
    let demo = PrivateDemo::at(now);
    let env = demo.env();
    partner_cli(
        &env,
        &["add", "guide", "--channel", "demo", "--epg", "xmltv"],
    );
    partner_cli(
        &env,
        &["add", "wurl", "--channel", "demo", "--epg", "wurl-json"],
    );
    let roku = partner_cli(
        &env,
        &[
            "add",
            "roku",
            "--channel",
            "demo",
            "--channel",
            "studio",
            "--epg",
            "roku-json",
            "--signed",
        ],
    );
    let roku_key = roku["key"].as_str().unwrap().to_owned();

    // `onair partner url` prints the channel's EPG and the partner's, signed.
    let url_output = onair(&["partner", "url", "roku", "demo"], &env);
    assert!(
        url_output.status.success(),
        "{}",
        String::from_utf8_lossy(&url_output.stderr)
    );
    let printed = String::from_utf8_lossy(&url_output.stdout).into_owned();
    let printed_paths: Vec<&str> = printed
        .lines()
        .filter_map(|line| line.strip_prefix("http://"))
        .map(|rest| &rest[rest.find('/').unwrap()..])
        .collect();
    assert_eq!(printed_paths.len(), 3, "{printed}");
    assert!(printed_paths[1].ends_with("/demo/epg.json"), "{printed}");
    assert!(
        printed_paths[2].starts_with("/p/roku/t/") && printed_paths[2].ends_with("/epg.json"),
        "{printed}"
    );

    let server = Server::start_with(
        &["--config", demo.config.to_str().unwrap(), "serve"],
        &env[..2],
    );
    let url = |path: &str| format!("{}{path}", server.url);

    // The channel's own EPG, over its 8 days from now.
    let own = json(&url("/channels/demo/epg.json"));
    let own_rows = rows(&own["channels"][0]["programs"], "start", "end");
    assert_contiguous(&own_rows, "the channel's own EPG");

    // XMLTV for the partner that reads it: today (UTC, the demo's zone) and 13 days more.
    let (status, headers, xml) = get_with_headers(&url("/p/guide/demo/epg.xml"));
    assert_eq!(status, 200, "{xml}");
    assert_eq!(headers["content-type"], "application/xml; charset=utf-8");
    assert_eq!(headers["cache-control"], "public, max-age=60");
    let xml_rows = xmltv_rows(&xml);
    assert_contiguous(&xml_rows, "XMLTV");
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    assert_eq!(xml_rows[0].0, midnight, "from the start of today");
    assert_eq!(
        xml_rows.last().unwrap().1,
        midnight + chrono::Duration::days(14),
        "to the end of today + 13 days"
    );
    assert_same_programmes(&xml_rows, &own_rows, "XMLTV");
    validate_xmltv(&xml, demo.dir.path());
    let (status, all) = get_text(&url("/p/guide/epg.xml"));
    assert_eq!(status, 200, "{all}");
    assert_eq!(all, xml, "one channel carried: the same document");
    let (status, text) = get_text(&url("/p/guide/demo/epg.json"));
    assert_eq!(status, 404, "{text}");
    assert!(
        text.contains("reads its EPG as xmltv, at epg.xml"),
        "{text}"
    );

    // Wurl-style JSON: 8 days, programmes of 3 min to 6 h, no gap.
    let wurl = json(&url("/p/wurl/demo/epg.json"));
    assert_eq!(wurl["channel"]["id"], "demo.onair.example");
    let programs = &wurl["channel"]["programs"];
    let wurl_rows = rows(programs, "start_time", "end_time");
    assert_contiguous(&wurl_rows, "Wurl");
    assert_eq!(wurl_rows[0].0, midnight);
    assert_eq!(
        wurl_rows.last().unwrap().1,
        midnight + chrono::Duration::days(8)
    );
    for program in programs.as_array().unwrap() {
        let duration = program["duration"].as_i64().unwrap();
        assert!((180..=6 * 3600).contains(&duration), "{program}");
    }
    assert_same_programmes(&wurl_rows, &own_rows, "Wurl");
    let (status, text) = get_text(&url("/p/wurl/demo/epg.xml"));
    assert_eq!(status, 404, "{text}");
    assert!(
        text.contains("reads its EPG as wurl-json, at epg.json"),
        "{text}"
    );
    let (status, text) = get_text(&url("/p/wurl/studio/epg.json"));
    assert_eq!(status, 404, "{text}");
    assert!(text.contains("does not carry channel studio"), "{text}");

    // Roku-style JSON, signed: refused without a token or with a bad one…
    for path in ["/p/roku/demo/epg.json", "/p/roku/epg.json"] {
        let (status, text) = get_text(&url(path));
        assert_eq!(status, 403, "{path}: {text}");
        assert!(text.contains("needs signed URLs"), "{text}");
    }
    let expiry = now.timestamp() + 3600;
    let token = signing::token(&roku_key, "roku", "demo", expiry);
    let tampered = format!(
        "{}{}",
        &token[..token.len() - 1],
        if token.ends_with('0') { '1' } else { '0' }
    );
    let channel_token_for_all = format!("/p/roku/t/{token}/epg.json");
    for path in [
        format!("/p/roku/t/{tampered}/demo/epg.json"),
        format!(
            "/p/roku/t/{}/demo/epg.json",
            signing::token(&roku_key, "roku", "demo", now.timestamp() - 60)
        ),
        channel_token_for_all,
        "/p/roku/t/12.zz/epg.json".to_owned(),
    ] {
        let (status, text) = get_text(&url(&path));
        assert_eq!(status, 403, "{path}: {text}");
    }
    // …served with the token the CLI printed, and with one signed for the channel.
    let roku_all = json(&url(printed_paths[2]));
    let roku_demo = json(&url(printed_paths[1]));
    assert_eq!(
        roku_demo,
        json(&url(&format!("/p/roku/t/{token}/demo/epg.json")))
    );
    let channels = roku_all["linearChannels"].as_array().unwrap();
    let ids: Vec<&str> = channels
        .iter()
        .map(|channel| channel["id"].as_str().unwrap())
        .collect();
    assert!(ids.contains(&"demo.onair.example"), "{ids:?}");
    let demo_in_all = channels
        .iter()
        .find(|channel| channel["id"] == "demo.onair.example")
        .unwrap();
    assert_eq!(demo_in_all, &roku_demo["linearChannels"][0]);
    let roku_rows = rows(
        &roku_demo["linearChannels"][0]["schedule"],
        "startTime",
        "duration",
    );
    assert_contiguous(&roku_rows, "Roku");
    assert_eq!(
        roku_rows.last().unwrap().1,
        midnight + chrono::Duration::days(14)
    );
    assert_same_programmes(&roku_rows, &own_rows, "Roku");

    // Every request counted, the refused ones too.
    let (status, counts) = support::block_on(async {
        let response = client()
            .get(url("/api/partners/roku"))
            .send()
            .await
            .unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    });
    assert_eq!(status, 200, "{counts}");
    let text = counts.to_string();
    assert!(
        text.contains("\"requests\":9") && text.contains("\"refused\":6"),
        "{counts}"
    );
}
