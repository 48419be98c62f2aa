//! The README's walk, through the real binary: a file of one's own becomes an asset, then a new
//! channel in another time zone with its own grid, on air, playable by ffmpeg and listed in the
//! EPG; and the mistakes a newcomer makes are refused with the field named, on the command line
//! and over HTTP.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use crate::support;
use crate::support::{Server, block_on, get_text, onair};
use serde_json::{Value, json};

/// A 20 s 640x360 clip with a tone, made with ffmpeg: "a file of one's own".
fn make_show(path: &Path) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc2=size=640x360:rate=25:duration=20")
        .args(["-f", "lavfi", "-i", "sine=frequency=330:duration=20"])
        .args([
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-c:a",
            "aac",
            "-shortest",
        ])
        .arg(path)
        .status()
        .expect("ffmpeg runs");
    assert!(status.success(), "ffmpeg made the show");
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn run(config: &Path, args: &[&str]) -> Output {
    let mut all = vec!["--config", config.to_str().unwrap()];
    all.extend_from_slice(args);
    onair(&all, &[("ONAIR_LOG", "warn")])
}

fn send(method: reqwest::Method, url: &str, body: Option<Value>) -> (u16, Value) {
    block_on(async {
        let mut request = support::client().request(method, url);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    })
}

/// The `field`s a 422 names.
fn fields(answer: &Value) -> Vec<String> {
    answer["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .filter_map(|error| error["field"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_file_of_ones_own_becomes_a_channel_on_air_in_its_own_time_zone() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    // The lock horizon is the playout window plus this margin (2 minutes by default): none
    // here, so the grid airs within the window instead of minutes later.
    let config = dir.path().join("onair.toml");
    std::fs::write(
        &config,
        format!(
            "[storage]\ndata_dir = {:?}\n\n[playout]\nrefresh_interval = \"1s\"\nlock_margin = \"0s\"\n",
            data.to_str().unwrap()
        ),
    )
    .unwrap();

    // 1. The file becomes an asset on the small demo ladder.
    let show = dir.path().join("show.mp4");
    make_show(&show);
    let added = run(
        &config,
        &[
            "asset",
            "add",
            show.to_str().unwrap(),
            "--title",
            "My Show",
            "--ladder",
            "demo",
        ],
    );
    assert!(added.status.success(), "{}", text(&added));
    let asset: i64 = String::from_utf8_lossy(&added.stdout)
        .lines()
        .find_map(|line| {
            line.strip_prefix("asset ")?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .unwrap_or_else(|| panic!("no asset id in {}", text(&added)));
    let listed = run(&config, &["asset", "list", "--title", "my show"]);
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("\"My Show\""),
        "{}",
        text(&listed)
    );

    // 2. A channel of one's own, in New York, with a slate generated for it.
    let created = run(
        &config,
        &[
            "channel",
            "create",
            "mine",
            "--name",
            "My Channel",
            "--time-zone",
            "America/New_York",
            "--ladder",
            "demo",
        ],
    );
    assert!(created.status.success(), "{}", text(&created));
    assert!(
        text(&created).contains("slate: asset"),
        "{}",
        text(&created)
    );

    // The mistakes are refused with the field named, and change nothing.
    for (args, field) in [
        (vec!["--name", "Again", "--ladder", "demo"], "slug"),
        (
            vec!["--name", "Mars", "--time-zone", "Mars/Olympus"],
            "time_zone",
        ),
        (vec!["--name", "Odd", "--ladder", "nope"], "ladder"),
    ] {
        let slug = if field == "slug" { "mine" } else { "other" };
        let mut all = vec!["channel", "create", slug];
        all.extend(args);
        let refused = run(&config, &all);
        assert!(!refused.status.success(), "{}", text(&refused));
        assert!(
            text(&refused).contains(&format!("{field}:")),
            "{field} is named: {}",
            text(&refused)
        );
    }

    // 3. Its grid: fill every day from midnight, New York time, with the show.
    let grid = dir.path().join("grid.json");
    std::fs::write(
        &grid,
        json!({
            "templates": [{"name": "all day", "slots": [{"rule": "daily 00:00", "fill": "shows"}]}],
            "fill": {"rules": {"shows": {"playlist": [asset]}}},
        })
        .to_string(),
    )
    .unwrap();
    let put = run(
        &config,
        &["grid", "put", "--channel", "mine", grid.to_str().unwrap()],
    );
    assert!(put.status.success(), "{}", text(&put));

    // 4. On air: the playlist lists the show's segments once the grid takes effect.
    let server = Server::start_with(&["--config", config.to_str().unwrap(), "serve"], &[]);
    let media_playlist = format!("{}/channels/mine/360p/ts.m3u8", server.url);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, playlist) = get_text(&media_playlist);
        if status == 200 && playlist.contains(&format!("assets/{asset}/")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the show never aired on mine: {status}\n{playlist}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let played = Command::new("ffmpeg")
        .args(["-v", "error", "-i"])
        .arg(format!("{}/channels/mine/master.m3u8", server.url))
        .args(["-t", "4", "-f", "null", "-"])
        .output()
        .expect("ffmpeg runs");
    assert!(
        played.status.success(),
        "ffmpeg plays mine: {}",
        text(&played)
    );

    // 5. Listed in the EPG, in its own zone's channel list.
    let (status, xml) = get_text(&format!("{}/channels/mine/epg.xml", server.url));
    assert_eq!(status, 200, "{xml}");
    assert!(
        xml.contains(r#"<channel id="mine.onair.example">"#),
        "{xml}"
    );
    assert!(xml.contains("My Show"), "{xml}");
    let (status, channels) = send(
        reqwest::Method::GET,
        &format!("{}/api/channels", server.url),
        None,
    );
    assert_eq!(status, 200);
    let mine = channels["channels"]
        .as_array()
        .unwrap()
        .iter()
        .find(|channel| channel["slug"] == "mine")
        .cloned()
        .unwrap();
    assert_eq!(mine["time_zone"], "America/New_York", "{mine}");
    assert_eq!(mine["ladder"], "demo", "{mine}");

    // The same refusals over HTTP: a taken slug, an unknown zone and ladder.
    let create = format!("{}/api/channels", server.url);
    let (status, answer) = send(
        reqwest::Method::POST,
        &create,
        Some(json!({"slug": "mine", "name": "Again", "ladder": "demo"})),
    );
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"].as_str().unwrap().starts_with("slug:"),
        "{answer}"
    );
    let (status, answer) = send(
        reqwest::Method::POST,
        &create,
        Some(
            json!({"slug": "other", "name": "Other", "time_zone": "Mars/Olympus", "ladder": "nope"}),
        ),
    );
    assert_eq!(status, 422, "{answer}");
    assert_eq!(fields(&answer), ["time_zone", "ladder"], "{answer}");

    // A channel made over HTTP gets its slate from the server: it airs at once, not nothing.
    let (status, answer) = send(
        reqwest::Method::POST,
        &create,
        Some(json!({"slug": "from-api", "name": "From the API", "ladder": "demo"})),
    );
    assert_eq!(status, 201, "{answer}");
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, playlist) =
            get_text(&format!("{}/channels/from-api/360p/ts.m3u8", server.url));
        if status == 200 && playlist.contains("#EXTINF") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "from-api never aired its slate: {status}\n{playlist}"
        );
        std::thread::sleep(Duration::from_millis(500));
    }

    // 6. The show airs: deleting it is refused, naming where it is scheduled.
    let refused = run(&config, &["asset", "rm", &asset.to_string()]);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(text(&refused).contains("in use"), "{}", text(&refused));
    let (status, answer) = send(
        reqwest::Method::DELETE,
        &format!("{}/api/assets/{asset}", server.url),
        None,
    );
    assert_eq!(status, 409, "{answer}");
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("in the grid: mine"),
        "{answer}"
    );
}
