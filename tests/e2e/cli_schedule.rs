//! `onair schedule …` and `onair as-run export`, the real binary against a database prepared in
//! a temporary folder: what they print, what they change, and one `onair: error:` line for each
//! mistake. The days are in 2030, far beyond any lock horizon; Berlin's clocks go back on Sunday
//! 2030-10-27.

use std::path::Path;
use std::process::Output;

use crate::support::onair;
use onair_domain::{
    AssetId, ChannelId, ChannelSlug, Ladder, LadderId, OutputFormat, Packaging, Rendition, RunKind,
    ScheduleItemId, SegmentInfo, Ticks, Timestamp,
};
use onair_store::{AsRunEntry, NewChannel, Store};
use serde_json::{Value, json};

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(future)
}

/// A data folder with channel `news` (Europe/Berlin) and two ready assets.
struct Data {
    dir: tempfile::TempDir,
    channel: ChannelId,
    news: AssetId,
    film: AssetId,
}

impl Data {
    fn new() -> Data {
        let dir = tempfile::tempdir().unwrap();
        let (channel, news, film) = block_on(async {
            let store = open(dir.path()).await;
            let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
            let channel = store
                .insert_channel(&NewChannel {
                    slug: ChannelSlug::parse("news").unwrap(),
                    name: "News".into(),
                    time_zone: chrono_tz::Europe::Berlin,
                    ladder_id: ladder,
                    outputs: vec![OutputFormat::HlsTs],
                    window_segments: 6,
                    grid_repeat: None,
                    on_air: true,
                })
                .await
                .unwrap()
                .id;
            let news = ready_asset(&store, ladder, "news").await;
            let film = ready_asset(&store, ladder, "film").await;
            store.close().await;
            (channel, news, film)
        });
        Data {
            dir,
            channel,
            news,
            film,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        onair(
            args,
            &[("ONAIR_DATA_DIR", self.dir.path().to_str().unwrap())],
        )
    }

    /// Runs a command that must succeed; its standard output.
    fn ok(&self, args: &[&str]) -> String {
        let output = self.run(args);
        assert!(
            output.status.success(),
            "onair {args:?} failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    }

    /// `(start, title)` of every item, by start.
    fn schedule(&self) -> Vec<(String, String)> {
        block_on(async {
            let store = open(self.dir.path()).await;
            let items = store.schedule_items(self.channel).await.unwrap();
            store.close().await;
            items
                .into_iter()
                .map(|item| (item.start.to_rfc3339_millis(), item.title))
                .collect()
        })
    }
}

async fn open(dir: &Path) -> Store {
    let store = Store::connect(&format!("sqlite://{}", dir.join("onair.db").display()))
        .await
        .unwrap();
    store.migrate().await.unwrap();
    store
}

/// Ten minutes in 2 s segments.
async fn ready_asset(store: &Store, ladder: LadderId, title: &str) -> AssetId {
    let id = store
        .insert_asset(title, &format!("/media/{title}.mp4"), ladder)
        .await
        .unwrap();
    let renditions: Vec<Rendition> = Ladder::demo()
        .rungs
        .iter()
        .map(|rung| Rendition {
            rung: rung.name.clone(),
            packaging: Packaging::Ts,
            codecs: rung.codecs(),
            width: rung.width,
            height: rung.height,
            peak_bandwidth: rung.total_bitrate() * 11 / 10,
            average_bandwidth: rung.total_bitrate(),
            init_path: None,
            segments: (0..300)
                .map(|index| SegmentInfo {
                    index,
                    duration: Ticks::from_secs(2),
                    size_bytes: 1000,
                    path: format!("assets/{id}/{}/ts/{index:05}.ts", rung.name),
                })
                .collect(),
        })
        .collect();
    store
        .publish_asset(id, Ticks::from_secs(600), &renditions)
        .await
        .unwrap();
    id
}

fn one_error_line(output: &Output) -> String {
    assert!(
        !output.status.success(),
        "expected a failure, got success: {}",
        String::from_utf8_lossy(&output.stdout)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.starts_with("onair: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "exactly one error line in:\n{stderr}");
    errors[0].to_owned()
}

/// Saturday 2030-10-26 (summer time): the evening news with a pre-roll break, and a late film.
fn saturday(data: &Data) -> Value {
    json!({"from": "2030-10-26T00:00:00+02:00", "to": "2030-10-27T00:00:00+02:00", "items": [
        {"asset_id": data.news.0, "start": "2030-10-26T20:00:00+02:00", "title": "Evening news",
         "ad_breaks": [{"offset_ms": 0, "duration_ms": 30_000}]},
        {"asset_id": data.film.0, "start": "2030-10-26T21:00:00+02:00", "title": "Late film"},
    ]})
}

#[test]
fn a_day_imported_from_json_exports_as_csv_and_json_and_is_kept_as_a_version_by_the_cli() {
    let data = Data::new();
    let file = data.write("saturday.json", &saturday(&data).to_string());
    let printed = data.ok(&["schedule", "import", "--channel", "news", &file]);
    assert_eq!(
        printed.trim(),
        format!("imported {file} into news: schedule version 1")
    );

    let csv = data.ok(&[
        "schedule",
        "export",
        "--channel",
        "news",
        "--from",
        "2030-10-26",
        "--format",
        "csv",
    ]);
    assert_eq!(
        csv.lines().collect::<Vec<_>>(),
        [
            "start,asset_id,hard_start,title,ad_breaks,length_ms".to_owned(),
            format!(
                "2030-10-26T18:00:00.000Z,{},true,Evening news,0/30000,",
                data.news
            ),
            format!("2030-10-26T19:00:00.000Z,{},true,Late film,,", data.film),
        ]
    );

    // The JSON export names its version and window: it imports back as it is.
    let exported = data.ok(&[
        "schedule",
        "export",
        "--channel",
        "news",
        "--from",
        "2030-10-26",
    ]);
    let parsed: Value = serde_json::from_str(&exported).unwrap();
    assert_eq!(parsed["version"], 1);
    assert_eq!(parsed["from"], "2030-10-25T22:00:00.000Z", "local midnight");
    assert_eq!(parsed["items"].as_array().unwrap().len(), 2);
    let again = data.write("export.json", &exported);
    let printed = data.ok(&["schedule", "import", "--channel", "news", &again]);
    assert!(printed.contains("schedule version 2"), "{printed}");

    let versions = data.ok(&["schedule", "versions", "--channel", "news"]);
    let lines: Vec<&str> = versions.lines().collect();
    assert_eq!(lines[0], "news is at schedule version 2");
    assert_eq!(lines.len(), 3, "{versions}");
    assert!(
        lines[1].trim_start().starts_with("2 ") && lines[1].ends_with("cli"),
        "{versions}"
    );
    assert!(lines[2].contains("2 item(s)"), "{versions}");
}

#[test]
fn copying_saturday_onto_the_sunday_the_clocks_go_back_keeps_the_wall_clock_times() {
    let data = Data::new();
    let night = json!({"from": "2030-10-26T00:00:00+02:00", "to": "2030-10-27T00:00:00+02:00", "items": [
        {"asset_id": data.news.0, "start": "2030-10-26T02:30:00+02:00", "title": "Night news"},
        {"asset_id": data.film.0, "start": "2030-10-26T20:00:00+02:00", "title": "Film"},
    ]});
    let file = data.write("night.json", &night.to_string());
    data.ok(&["schedule", "import", "--channel", "news", &file]);
    let printed = data.ok(&[
        "schedule",
        "copy",
        "--channel",
        "news",
        "--from",
        "2030-10-26",
        "--to",
        "2030-10-27",
        "--to",
        "2030-10-28",
    ]);
    assert_eq!(
        printed.trim(),
        "copied 1 day(s) from 2030-10-26 to 2030-10-27, 2030-10-28 on news: schedule version 2"
    );
    let starts: Vec<String> = data
        .schedule()
        .into_iter()
        .map(|(start, _)| start)
        .collect();
    assert_eq!(
        starts,
        [
            "2030-10-26T00:30:00.000Z",
            "2030-10-26T18:00:00.000Z",
            // 02:30 happens twice on Sunday: its first occurrence, still summer time.
            "2030-10-27T00:30:00.000Z",
            "2030-10-27T19:00:00.000Z",
            "2030-10-28T01:30:00.000Z",
            "2030-10-28T19:00:00.000Z",
        ]
    );
}

#[test]
fn restoring_a_version_brings_its_schedule_back_as_a_new_version() {
    let data = Data::new();
    let first = data.write("first.json", &saturday(&data).to_string());
    data.ok(&["schedule", "import", "--channel", "news", &first]);
    let mut changed = saturday(&data);
    changed["items"][1]["title"] = json!("Another film");
    let second = data.write("second.json", &changed.to_string());
    data.ok(&["schedule", "import", "--channel", "news", &second]);
    assert_eq!(data.schedule()[1].1, "Another film");

    let printed = data.ok(&["schedule", "restore", "--channel", "news", "1"]);
    assert_eq!(
        printed.trim(),
        "restored version 1 of news: schedule version 3"
    );
    assert_eq!(data.schedule()[1].1, "Late film");
    let printed = data.ok(&["schedule", "restore", "--channel", "news", "3"]);
    assert!(printed.contains("nothing changed"), "{printed}");
    let versions = data.ok(&["schedule", "versions", "--channel", "news"]);
    assert!(
        versions.contains("cli (restore of version 1)"),
        "{versions}"
    );
}

#[test]
fn a_refused_import_is_one_error_line_naming_each_bad_line_and_changes_nothing() {
    let data = Data::new();
    let csv = format!(
        "start,asset_id,title\n\
         2030-10-26T20:00:00+02:00,{},Fine\n\
         2030-10-26T21:00:00+02:00,404,Gone\n\
         tomorrow,{},Undated\n",
        data.news, data.film
    );
    let file = data.write("bad.csv", &csv);
    let line = one_error_line(&data.run(&[
        "schedule",
        "import",
        "--channel",
        "news",
        "--from",
        "2030-10-26",
        &file,
    ]));
    assert!(
        line.contains(&format!("cannot import {file} into news")),
        "{line}"
    );
    assert!(line.contains("refused with 2 problem(s)"), "{line}");
    assert!(line.contains("line 3: asset 404 does not exist"), "{line}");
    assert!(
        line.contains("line 4: start: \"tomorrow\" is not an RFC 3339 instant"),
        "{line}"
    );
    assert_eq!(data.schedule(), []);
}

#[test]
fn each_mistake_on_the_command_line_is_one_error_line_that_names_it() {
    let data = Data::new();
    let csv = data.write("day.csv", "start,asset_id,title\n");
    let table: &[(&[&str], &str)] = &[
        (
            &[
                "schedule",
                "export",
                "--channel",
                "nope",
                "--from",
                "2030-10-26",
            ],
            "channel \"nope\" not found",
        ),
        (
            &[
                "schedule",
                "export",
                "--channel",
                "news",
                "--from",
                "26/10/2030",
            ],
            "--from \"26/10/2030\" is not a day like 2026-10-23",
        ),
        (
            &[
                "schedule",
                "export",
                "--channel",
                "news",
                "--from",
                "2030-10-26",
                "--format",
                "xml",
            ],
            "--format \"xml\" is neither json nor csv",
        ),
        (
            &["schedule", "import", "--channel", "news", &csv],
            "a CSV file does not say which days it replaces",
        ),
        (
            &[
                "schedule",
                "import",
                "--channel",
                "news",
                "/nonexistent/day.json",
            ],
            "cannot read /nonexistent/day.json",
        ),
        (
            &["schedule", "restore", "--channel", "news", "99"],
            "channel news has no published schedule version 99",
        ),
        (
            &[
                "schedule",
                "copy",
                "--channel",
                "news",
                "--from",
                "2030-10-26",
                "--days",
                "2",
                "--to",
                "2030-10-28",
                "--to",
                "2030-10-29",
            ],
            "overlap",
        ),
        (
            &[
                "as-run",
                "export",
                "--channel",
                "news",
                "--from",
                "2030-10-27",
                "--to",
                "2030-10-26",
            ],
            "must be before to",
        ),
        (
            &[
                "as-run",
                "export",
                "--channel",
                "news",
                "--from",
                "2030-01-01",
                "--to",
                "2030-03-01",
            ],
            "longer than 31 days",
        ),
        (
            &[
                "as-run",
                "export",
                "--channel",
                "news",
                "--from",
                "noon",
                "--to",
                "2030-10-26",
            ],
            "--from: \"noon\" is not an RFC 3339 instant",
        ),
        (
            &[
                "as-run",
                "export",
                "--channel",
                "nope",
                "--from",
                "2030-10-26",
                "--to",
                "2030-10-27",
            ],
            "channel \"nope\" not found",
        ),
    ];
    for (args, message) in table {
        let line = one_error_line(&data.run(args));
        assert!(line.contains(message), "onair {args:?}: {line}");
    }
}

#[test]
fn the_as_run_log_exports_as_csv_and_json_between_two_instants() {
    let data = Data::new();
    let at = |text: &str| {
        Timestamp::from_datetime(chrono::DateTime::parse_from_rfc3339(text).unwrap().to_utc())
    };
    let entry =
        |start: &str, end: &str, kind: RunKind, item: Option<i64>, title: &str| AsRunEntry {
            start: at(start),
            end: at(end),
            kind,
            schedule_item_id: item.map(ScheduleItemId),
            title: title.into(),
            asset_id: data.news,
            live_source: None,
            ad_break: None,
            media_sequence: 0,
            schedule_version: 1,
            recovered: false,
        };
    block_on(async {
        let store = open(data.dir.path()).await;
        let entries = [
            entry(
                "2030-10-26T17:59:00Z",
                "2030-10-26T18:00:00Z",
                RunKind::Slate,
                None,
                "slate",
            ),
            entry(
                "2030-10-26T18:00:00Z",
                "2030-10-26T18:10:00Z",
                RunKind::Programme,
                Some(1),
                "Evening news",
            ),
            entry(
                "2030-10-26T18:10:00Z",
                "2030-10-26T18:11:00Z",
                RunKind::Slate,
                None,
                "slate",
            ),
        ];
        store
            .record_as_run(data.channel, &entries, at("2030-10-26T18:11:00Z"))
            .await
            .unwrap();
        store.close().await;
    });
    let csv = data.ok(&[
        "as-run",
        "export",
        "--channel",
        "news",
        "--from",
        "2030-10-26T18:00:00Z",
        "--to",
        "2030-10-26T18:10:30+00:00",
    ]);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines[0],
        "start,end,duration_ms,kind,schedule_item_id,title,asset_id,live_source,break_number,break_duration_ms,media_sequence,schedule_version,recovered,ad_sessions,ad_sessions_filled,ads_aired"
    );
    assert_eq!(lines.len(), 3, "{csv}");
    assert!(lines[1].starts_with(
        "2030-10-26T18:00:00.000Z,2030-10-26T18:10:00.000Z,600000,programme,1,Evening news,"
    ));
    assert!(lines[2].starts_with("2030-10-26T18:10:00.000Z,"));
    let json = data.ok(&[
        "as-run",
        "export",
        "--channel",
        "news",
        "--from",
        "2030-10-26",
        "--to",
        "2030-10-27",
        "--format",
        "json",
    ]);
    let parsed: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["from"], "2030-10-25T22:00:00.000Z", "local midnight");
    assert_eq!(parsed["entries"].as_array().unwrap().len(), 3);
    assert_eq!(parsed["entries"][1]["title"], "Evening news");
}
