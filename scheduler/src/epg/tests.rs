//! The EPG's tests: the documented rules as tables, the fixed day and short programmes as
//! snapshots, random grids as a property, and the XMLTV through `tv_validate_file`. One file:
//! every test reads the same fixed day and fixtures, and the tables are most of its length.

use std::path::Path;
use std::process::Command;

use std::sync::Arc;

use chrono_tz::Tz;
use onair_domain::{Asset, AssetId};

use super::feeds::{onscreen, xmltv_ns};
use super::*;
use crate::ad_policy::{AdPolicy, Cadence};
use crate::fill::{FillRule, FillRules, FillSource, SplitMix64};
use crate::grid::{AdBreakSpec, Block, BlockLibrary, GridEntry, GridItem, Start};
use crate::pipeline::{ChannelGrid, build_plan};
use crate::plan::{PlanOptions, PlannedItem, plan_grid};
use crate::template::{SlotContent, WeeklyTemplate};
use crate::test_support::{asset, assets, at_utc, minutes};

fn news() -> ProgrammeInfo {
    ProgrammeInfo {
        title: "Morning News".into(),
        episode_title: Some("Saturday edition".into()),
        season: Some(3),
        episode: Some(12),
        description: Some("Headlines, sport & weather.".into()),
        genres: vec!["News".into()],
        rating: Some(Rating {
            system: Some("VCHIP".into()),
            value: "TV-G".into(),
        }),
        artwork_url: Some("https://img.example/news.jpg?size=l&fmt=jpg".into()),
    }
}

fn movie() -> GridItem {
    let info = ProgrammeInfo {
        title: "Tom & Jerry's \"Big\" <Night>".into(),
        description: Some("A cat, a mouse\u{1} and a very long night.".into()),
        genres: vec!["Movie".into(), "Comedy".into()],
        rating: Some(Rating {
            system: Some("MPAA".into()),
            value: "PG".into(),
        }),
        ..ProgrammeInfo::default()
    };
    GridItem {
        breaks: vec![
            AdBreakSpec::at(minutes(30), minutes(3)),
            AdBreakSpec::at(minutes(60), minutes(3)),
        ],
        ..GridItem::new(AssetId(5), Start::Soft, info)
    }
}

/// Saturday 2026-11-21 in New York (EST), 06:00 to 13:00 local: a news block with a break,
/// cartoons drawn to fill the gap after it and two hours more under an ad policy, promo
/// filler for what is left, a live event on its fallback, and a film with cue-point breaks
/// and a title that needs escaping.
fn fixed_day() -> (Plan, Vec<String>, Timestamp, Timestamp) {
    let zone: Tz = "America/New_York".parse().unwrap();
    let assets = assets(vec![
        asset(1, 1500, 6),
        asset(2, 300, 6),
        asset(21, 660, 6),
        asset(22, 660, 6),
        asset(23, 420, 6),
        asset(24, 540, 6),
        asset(5, 5700, 6),
        asset(6, 300, 6),
        asset(7, 60, 6),
        asset(9, 10, 2),
    ]);
    let blocks = BlockLibrary::from([(
        "Morning".to_owned(),
        Block {
            entries: vec![
                GridEntry::Item(GridItem::new(AssetId(1), Start::Soft, news())),
                GridEntry::Break {
                    duration: minutes(2),
                },
                GridEntry::Item(GridItem::new(
                    AssetId(2),
                    Start::Soft,
                    ProgrammeInfo::titled("Weather"),
                )),
            ],
        },
    )]);
    let live = GridItem::live(
        "stadium-srt",
        Timestamp(0),
        Ticks::from_secs(2 * 3600),
        AssetId(6),
        ProgrammeInfo {
            genres: vec!["Sports".into()],
            ..ProgrammeInfo::titled("Cup Final")
        },
    );
    let template = WeeklyTemplate::new(zone)
        .with_line("daily 06:00: block Morning")
        .unwrap()
        .with_line("Sat 07:00: fill cartoons")
        .unwrap()
        .with_slot(
            "Sat 09:00",
            SlotContent::Item {
                item: Box::new(live),
            },
        )
        .unwrap()
        .with_slot(
            "Sat 11:00",
            SlotContent::Item {
                item: Box::new(movie()),
            },
        )
        .unwrap();
    let fill_rules = FillRules::from([(
        "cartoons".to_owned(),
        FillRule {
            source: FillSource::Category {
                assets: vec![AssetId(21), AssetId(22), AssetId(23), AssetId(24)],
                no_repeat_within: minutes(25),
                seed: 42,
            },
            info: Some(ProgrammeInfo {
                genres: vec!["Kids".into()],
                ..ProgrammeInfo::titled("Saturday Cartoons")
            }),
        },
    )]);
    let policy = AdPolicy {
        cadence: Cadence::EveryItems(2),
        break_duration: minutes(2),
        max_per_hour: Some(minutes(8)),
        min_break: Ticks::from_secs(30),
        zone,
    };
    let options = PlanOptions {
        slate: Some(AssetId(9)),
        filler: vec![AssetId(7)],
        cut_threshold: Ticks::from_secs(30),
        max_ad_per_hour: Some(minutes(8)),
        zone,
        ..PlanOptions::default()
    };
    let (from, to) = (
        at_utc("2026-11-21T11:00:00Z"),
        at_utc("2026-11-21T18:00:00Z"),
    );
    let (plan, problems) = build_plan(&ChannelGrid {
        from,
        to,
        templates: &[template],
        entries: &[],
        blocks: &blocks,
        fill_rules: &fill_rules,
        default_fill: Some("cartoons"),
        ad_policy: Some(&policy),
        assets: &assets,
        history: &[],
        options: &options,
    });
    let problems = problems.iter().map(ToString::to_string).collect();
    (plan, problems, from, to)
}

fn channel(id: &str, name: &str, programmes: Vec<EpgProgramme>) -> EpgChannel {
    EpgChannel {
        id: id.into(),
        display_name: name.into(),
        icon_url: Some("https://img.example/logo.png".into()),
        programmes,
    }
}

fn fixed_day_channel() -> EpgChannel {
    let (plan, _, from, to) = fixed_day();
    channel(
        "saturday.onair.example",
        "Saturday TV",
        programmes(&plan, from, to, &EpgOptions::default()),
    )
}

#[test]
fn the_fixed_day_plans_with_the_problems_expected() {
    let (plan, problems, _, _) = fixed_day();
    insta::assert_snapshot!(problems.join("\n"));
    let live = plan.items.iter().find(|item| item.live.is_some()).unwrap();
    assert_eq!(live.start, at_utc("2026-11-21T14:00:00Z"));
    assert_eq!(live.end, at_utc("2026-11-21T16:00:00Z"));
    assert_eq!(live.live.as_ref().unwrap().source_key, "stadium-srt");
}

#[test]
fn the_fixed_day_xmltv_matches_its_snapshot() {
    let (xml, problems) = xmltv(&[fixed_day_channel()]);
    assert_eq!(problems, vec![]);
    assert!(xml.contains("<title>Tom &amp; Jerry&apos;s &quot;Big&quot; &lt;Night&gt;</title>"));
    assert!(
        xml.contains("A cat, a mouse and a very long night."),
        "control character dropped"
    );
    insta::assert_snapshot!(xml);
}

#[test]
fn the_fixed_day_json_feed_matches_its_snapshot() {
    let json = json_feed(&[fixed_day_channel()]);
    let parsed: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(parsed["channels"][0]["id"], "saturday.onair.example");
    insta::assert_snapshot!(json);
}

#[test]
fn the_json_feed_has_programmes_of_three_minutes_to_six_hours_with_no_gaps() {
    let (plan, _, from, _) = fixed_day();
    // Fourteen days of a channel whose plan ends after one day: only the planned part.
    let list = programmes(
        &plan,
        from,
        days_ahead(from, XMLTV_DAYS).1,
        &EpgOptions::default(),
    );
    assert!(!list.is_empty());
    for pair in list.windows(2) {
        assert_eq!(pair[0].stop, pair[1].start, "no gap or overlap: {pair:?}");
    }
    for programme in &list {
        let duration = programme.duration();
        assert!(
            duration >= minutes(3) && duration <= Ticks::from_secs(6 * 3600),
            "{programme:?}"
        );
    }
}

/// Programme derivation on a hand-made plan: 10-second segments, slate of 10 seconds.
#[test]
fn runs_become_programmes_by_the_documented_rules() {
    let assets = assets(vec![
        asset(1, 1800, 10),
        asset(2, 120, 10),
        asset(3, 8 * 3600, 10),
        asset(9, 10, 10),
    ]);
    let at = |hh_mm: &str| at_utc(&format!("2026-11-21T{hh_mm}:00Z"));
    let item = |asset_id: i64, start: Start, title: &str| {
        GridItem::new(AssetId(asset_id), start, ProgrammeInfo::titled(title))
    };
    let with_break = GridItem {
        breaks: vec![AdBreakSpec::at(minutes(10), minutes(2))],
        ..item(1, Start::Hard(at("00:00")), "Split by a break")
    };
    let items = vec![
        with_break,                                             // 00:00-00:32
        item(1, Start::Hard(at("00:40")), "After a short gap"), // 8-minute gap folds
        item(2, Start::Soft, "Two minutes"), // 01:10-01:12: a medley with the minute before
        item(1, Start::Hard(at("02:00")), "After a long gap"), // gaps of 48 and 30 minutes stand
        item(3, Start::Hard(at("03:00")), "Eight hours"), // split in two parts
    ];
    let options = PlanOptions {
        slate: Some(AssetId(9)),
        ..PlanOptions::default()
    };
    let (plan, _) = plan_grid(&items, &assets, &options);
    let list = programmes(&plan, at("00:00"), at("23:59"), &EpgOptions::default());
    let test_tv = channel("test.onair.example", "Test TV", list.clone());
    let got: Vec<(String, String, String, EpgKind, Option<(u32, u32)>)> = list
        .iter()
        .map(|p| {
            (
                p.start.to_datetime().format("%H:%M").to_string(),
                p.stop.to_datetime().format("%H:%M").to_string(),
                test_tv.title_of(p).to_owned(),
                p.kind,
                p.part,
            )
        })
        .collect();
    let row = |start: &str, stop: &str, title: &str, kind, part| {
        (
            start.to_owned(),
            stop.to_owned(),
            title.to_owned(),
            kind,
            part,
        )
    };
    use EpgKind::{Gap, Medley, Programme};
    assert_eq!(
        got,
        vec![
            row("00:00", "00:40", "Split by a break", Programme, None),
            row("00:40", "01:09", "After a short gap", Programme, None),
            row("01:09", "01:12", "Test TV", Medley, None),
            row("01:12", "02:00", "We'll be right back", Gap, None),
            row("02:00", "02:30", "After a long gap", Programme, None),
            row("02:30", "03:00", "We'll be right back", Gap, None),
            row("03:00", "07:00", "Eight hours", Programme, Some((1, 2))),
            row("07:00", "11:00", "Eight hours", Programme, Some((2, 2))),
        ]
    );
    assert_eq!(
        list[2].info.description.as_deref(),
        Some("After a short gap and Two minutes")
    );
    let window = programmes(&plan, at("05:00"), at("05:01"), &EpgOptions::default());
    assert_eq!(window.len(), 1, "only what touches the window, unclipped");
    assert_eq!(window[0].start, at("03:00"));
}

#[test]
fn a_repeating_timeline_gives_programmes_for_every_pass_in_the_window() {
    let assets = assets(vec![asset(1, 1800, 10), asset(2, 1800, 10)]);
    let items = vec![
        GridItem::new(
            AssetId(1),
            Start::Hard(at_utc("2026-11-21T00:00:00Z")),
            ProgrammeInfo::titled("A"),
        ),
        GridItem::new(AssetId(2), Start::Soft, ProgrammeInfo::titled("B")),
    ];
    let options = PlanOptions {
        grid_repeat: Some(Ticks::from_secs(3600)),
        ..PlanOptions::default()
    };
    let (plan, _) = plan_grid(&items, &assets, &options);
    let (from, to) = days_ahead(at_utc("2026-11-22T10:15:00Z"), 1);
    let list = programmes(&plan, from, to, &EpgOptions::default());
    assert_eq!(
        list.len(),
        49,
        "A at 10:00 (started before the window) then 48 more"
    );
    assert_eq!(list[0].start, at_utc("2026-11-22T10:00:00Z"));
    assert_eq!(list[1].info.title, "B");
}

#[test]
fn bad_channel_ids_and_empty_channels_are_reported() {
    assert_eq!(
        xmltv_channel_id("news 24", "onair.example"),
        "news-24.onair.example"
    );
    assert!(is_valid_xmltv_id("news-24.onair.example"));
    for bad in ["news", "news..example", "news.on air", ".news"] {
        assert!(!is_valid_xmltv_id(bad), "{bad}");
    }
    let channels = [
        channel("news", "News", vec![]),
        channel("news", "Again", vec![]),
    ];
    let messages: Vec<String> = check_channels(&channels)
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(messages.len(), 5, "{messages:?}");
    assert!(messages[0].starts_with("channel id \"news\" is not a valid XMLTV id"));
    assert_eq!(
        messages[1],
        "channel \"news\" has no programmes in the window"
    );
    assert_eq!(
        messages[3],
        "channel id \"news\" is used by more than one channel"
    );
}

/// The combined XMLTV of four channels, 14 days ahead, medleys included, passes
/// `tv_validate_file` (Debian `xmltv-util`).
#[test]
fn xmltv_for_all_channels_validates_with_tv_validate_file() {
    let Some(validator) = find_validator() else {
        let message = "tv_validate_file NOT FOUND: install Debian's xmltv-util (scripts/install-deps) — XMLTV NOT VALIDATED";
        eprintln!("\n{bar}\n!!! {message}\n{bar}\n", bar = "!".repeat(100));
        assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
        return;
    };
    let assets = assets(vec![asset(1, 1500, 6), asset(2, 300, 6)]);
    let items = vec![
        GridItem::new(
            AssetId(1),
            Start::Hard(at_utc("2026-11-21T00:00:00Z")),
            news(),
        ),
        GridItem::new(
            AssetId(2),
            Start::Soft,
            ProgrammeInfo::titled("Weather & more"),
        ),
    ];
    let options = PlanOptions {
        grid_repeat: Some(minutes(30)),
        ..PlanOptions::default()
    };
    let (plan, _) = plan_grid(&items, &assets, &options);
    let (from, to) = days_ahead(at_utc("2026-11-21T11:00:00Z"), XMLTV_DAYS);
    let news_channel = channel(
        &xmltv_channel_id("news", "onair.example"),
        "News 24",
        programmes(&plan, from, to, &EpgOptions::default()),
    );
    assert_eq!(
        news_channel.programmes.len(),
        14 * 24 * 4,
        "News and Weather each half hour"
    );
    // Medleys: short programmes under their block's or the channel's name.
    let (_, short_clips) = short_clips_channel();
    let demo_like = channel(
        "demo.onair.example",
        "Demo",
        programmes(&demo_like_loop(), from, to, &EpgOptions::default()),
    );
    let (xml, problems) = xmltv(&[fixed_day_channel(), news_channel, short_clips, demo_like]);
    assert_eq!(problems, vec![]);
    let path = std::env::temp_dir().join(format!("onair-xmltv-{}.xml", std::process::id()));
    std::fs::write(&path, &xml).unwrap();
    let mut command = Command::new(validator);
    let dtd = Path::new("/usr/share/xmltv/xmltv.dtd");
    if dtd.exists() {
        // Otherwise it fetches the DTD from the web.
        command.arg("--dtd-file").arg(dtd);
    }
    let output = command.arg(&path).output().unwrap();
    let _ = std::fs::remove_file(&path);
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "tv_validate_file refused the XMLTV:\n{report}"
    );
    assert!(report.contains("Validated ok"), "{report}");
}

fn find_validator() -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("tv_validate_file"))
            .find(|candidate| candidate.is_file())
    })
}

/// Items and gap fill airing in `[start, stop)` of a plan that does not repeat: `None` for
/// gap fill.
fn airing_between(plan: &Plan, start: Timestamp, stop: Timestamp) -> Vec<Option<&PlannedItem>> {
    let timeline = plan.timeline.as_deref().unwrap();
    assert!(!timeline.repeats(), "only for plans that do not repeat");
    let mut at = timeline.origin();
    let mut airing = Vec::new();
    for (run_index, run) in timeline.runs().iter().enumerate() {
        let run_stop = at + run.duration();
        if at < stop && run_stop > start {
            airing.push(plan.item_of_run(run_index));
        }
        at = run_stop;
    }
    airing
}

/// The rule of the module doc, checked against what airs: entries follow one another with
/// no gap; an entry with a programme's title covers only programmes of that title (and gap
/// fill); a medley is titled with the channel or with a block every programme in it belongs
/// to, lists what it is made of, and carries no episode or artwork of one of them.
fn assert_no_entry_lends_one_programme_its_title(plan: &Plan, channel: &EpgChannel) {
    let name = &channel.id;
    for pair in channel.programmes.windows(2) {
        assert_eq!(
            pair[0].stop, pair[1].start,
            "{name}: no gap or overlap: {pair:#?}"
        );
    }
    for entry in &channel.programmes {
        let airing = airing_between(plan, entry.start, entry.stop);
        let items: Vec<&PlannedItem> = airing.iter().flatten().copied().collect();
        let shown = channel.title_of(entry);
        if entry.kind != EpgKind::Medley {
            for item in &items {
                assert_eq!(
                    item.info.title, shown,
                    "{name}: {shown:?} {}–{} also covers {:?}",
                    entry.start, entry.stop, item.info.title
                );
            }
            continue;
        }
        let titles: Vec<&str> = items.iter().map(|item| item.info.title.as_str()).collect();
        let in_block = |block: &str| {
            items.iter().all(|item| {
                item.blocks
                    .as_deref()
                    .is_some_and(|blocks| blocks.iter().any(|name| name == block))
            })
        };
        assert!(
            shown == channel.name() || in_block(shown),
            "{name}: a medley of {titles:?} is titled {shown:?}"
        );
        let description = entry.info.description.as_deref().unwrap_or_default();
        assert!(
            titles
                .iter()
                .all(|title| description.contains(title) || description.ends_with(" more")),
            "{name}: a medley of {titles:?} says {description:?}"
        );
        assert_eq!(
            (
                &entry.info.episode_title,
                entry.info.season,
                entry.info.episode,
                &entry.info.artwork_url,
                entry.item_id,
            ),
            (&None, None, None, &None, None),
            "{name}: a medley borrows nothing from one programme: {entry:#?}"
        );
    }
}

/// 06:00 UTC: an hour of 20-second clips, "Morning Show", "Nature Break" and "City News" in
/// turn; a 30-minute film; a one-minute promo; six 30-second weather reports; the block
/// "Kids" (twenty minutes of 30-second cartoons, "Cat" and "Dog" in turn); the news.
fn short_clips_morning() -> (Plan, Timestamp, Timestamp) {
    let assets = assets(vec![
        asset(1, 20, 2),
        asset(2, 20, 2),
        asset(3, 20, 2),
        asset(4, 1800, 6),
        asset(5, 60, 2),
        asset(6, 30, 2),
        asset(7, 30, 2),
        asset(8, 30, 2),
        asset(10, 1500, 6),
    ]);
    let item = |asset_id: i64, start: Start, title: &str| {
        GridEntry::Item(GridItem::new(
            AssetId(asset_id),
            start,
            ProgrammeInfo::titled(title),
        ))
    };
    let from = at_utc("2026-11-21T06:00:00Z");
    let clips = ["Morning Show", "Nature Break", "City News"];
    let mut entries: Vec<GridEntry> = (0..180)
        .map(|n| {
            let start = if n == 0 {
                Start::Hard(from)
            } else {
                Start::Soft
            };
            item(n % 3 + 1, start, clips[n as usize % 3])
        })
        .collect();
    entries.push(GridEntry::Item(GridItem::new(
        AssetId(4),
        Start::Soft,
        ProgrammeInfo {
            season: Some(1),
            episode: Some(7),
            artwork_url: Some("https://img.example/film.jpg".into()),
            ..ProgrammeInfo::titled("Film")
        },
    )));
    entries.push(item(5, Start::Soft, "Promo"));
    entries.extend((0..6).map(|_| item(6, Start::Soft, "Weather")));
    entries.push(GridEntry::Block {
        name: "Kids".into(),
        start: Start::Soft,
    });
    entries.push(item(10, Start::Soft, "News"));
    let blocks = BlockLibrary::from([(
        "Kids".to_owned(),
        Block {
            entries: (0..40)
                .map(|n| item(7 + n % 2, Start::Soft, ["Cat", "Dog"][n as usize % 2]))
                .collect(),
        },
    )]);
    let to = at_utc("2026-11-21T09:00:00Z");
    let (plan, problems) = build_plan(&ChannelGrid {
        from,
        to,
        templates: &[],
        entries: &entries,
        blocks: &blocks,
        fill_rules: &FillRules::new(),
        default_fill: None,
        ad_policy: None,
        assets: &assets,
        history: &[],
        options: &PlanOptions::default(),
    });
    assert_eq!(problems, vec![]);
    (plan, from, to)
}

fn short_clips_channel() -> (Plan, EpgChannel) {
    let (plan, from, to) = short_clips_morning();
    let list = programmes(&plan, from, to, &EpgOptions::default());
    (plan, channel("shorts.onair.example", "Short TV", list))
}

/// (start, stop, title shown, kind, description) per entry.
fn rows(channel: &EpgChannel) -> Vec<(String, String, String, EpgKind, String)> {
    channel
        .programmes
        .iter()
        .map(|p| {
            (
                p.start.to_datetime().format("%H:%M:%S").to_string(),
                p.stop.to_datetime().format("%H:%M:%S").to_string(),
                channel.title_of(p).to_owned(),
                p.kind,
                p.info.description.clone().unwrap_or_default(),
            )
        })
        .collect()
}

fn row(
    start: &str,
    stop: &str,
    title: &str,
    kind: EpgKind,
    description: &str,
) -> (String, String, String, EpgKind, String) {
    (
        start.into(),
        stop.into(),
        title.into(),
        kind,
        description.into(),
    )
}

#[test]
fn short_programmes_merge_without_lending_any_one_of_them_their_title() {
    let (plan, channel) = short_clips_channel();
    use EpgKind::{Medley, Programme};
    assert_eq!(
        rows(&channel),
        vec![
            // An hour of 20-second clips: the channel's name, and what it is made of.
            row(
                "06:00:00",
                "07:00:00",
                "Short TV",
                Medley,
                "Morning Show, Nature Break and City News"
            ),
            // A long programme keeps its title, less the two minutes the promo lacks.
            row("07:00:00", "07:28:00", "Film", Programme, ""),
            row("07:28:00", "07:31:00", "Short TV", Medley, "Film and Promo"),
            // Same-titled neighbours merge under their title.
            row("07:31:00", "07:34:00", "Weather", Programme, ""),
            // Short programmes of one block: the block's name.
            row("07:34:00", "07:54:00", "Kids", Medley, "Cat and Dog"),
            row("07:54:00", "08:19:00", "News", Programme, ""),
        ]
    );
    assert_eq!(channel.programmes[1].info.episode, Some(7));
    assert_no_entry_lends_one_programme_its_title(&plan, &channel);
}

#[test]
fn no_entry_titled_morning_show_spans_more_than_one_clip_of_it() {
    let (plan, channel) = short_clips_channel();
    for entry in &channel.programmes {
        if channel.title_of(entry) == "Morning Show" {
            assert!(entry.duration() <= Ticks::from_secs(20), "{entry:#?}");
        }
    }
    let medley = &channel.programmes[0];
    let clips = airing_between(&plan, medley.start, medley.stop);
    assert_eq!(
        clips.len(),
        180,
        "the medley stands for every clip of the hour"
    );
}

#[test]
fn the_xmltv_of_short_programmes_matches_its_snapshot() {
    let (_, channel) = short_clips_channel();
    let (xml, problems) = xmltv(std::slice::from_ref(&channel));
    assert_eq!(problems, vec![]);
    assert!(!xml.contains("<title>Morning Show</title>"));
    insta::assert_snapshot!(xml);
}

#[test]
fn the_json_feed_lists_what_the_xmltv_lists() {
    let (_, channel) = short_clips_channel();
    let channels = [fixed_day_channel(), channel];
    let (xml, _) = xmltv(&channels);
    let xml_titles: Vec<&str> = xml
        .lines()
        .filter_map(|line| line.trim().strip_prefix("<title>"))
        .filter_map(|line| line.strip_suffix("</title>"))
        .collect();
    let xml_starts: Vec<&str> = xml
        .lines()
        .filter_map(|line| line.split("<programme start=\"").nth(1))
        .filter_map(|rest| rest.split('"').next())
        .collect();
    let feed: serde_json::Value = serde_json::from_str(&json_feed(&channels)).unwrap();
    let programs: Vec<&serde_json::Value> = feed["channels"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|channel| channel["programs"].as_array().unwrap())
        .collect();
    let json_titles: Vec<String> = programs
        .iter()
        .map(|p| {
            let title = p["title"].as_str().unwrap();
            // As quick-xml escapes it.
            title
                .replace('&', "&amp;")
                .replace('\'', "&apos;")
                .replace('"', "&quot;")
                .replace('<', "&lt;")
                .replace('>', "&gt;")
        })
        .collect();
    assert_eq!(json_titles, xml_titles);
    let json_starts: Vec<String> = programs
        .iter()
        .map(|p| {
            let start = chrono::DateTime::parse_from_rfc3339(p["start"].as_str().unwrap());
            start.unwrap().format("%Y%m%d%H%M%S +0000").to_string()
        })
        .collect();
    assert_eq!(json_starts, xml_starts);
    let medleys: Vec<&&serde_json::Value> =
        programs.iter().filter(|p| p["type"] == "medley").collect();
    assert_eq!(medleys.len(), 3);
    assert_eq!(medleys[0]["title"], "Short TV");
    assert_eq!(
        medleys[0]["description"],
        "Morning Show, Nature Break and City News"
    );
    assert!(medleys.iter().all(|p| p.get("episode").is_none()));
}

/// Saturday: block "Saturday" at 06:00 with block "Shorts" (Short A and Short B in turn,
/// 30 s each, for five minutes) and a fill of 30-second cartoons up to the news at 06:30;
/// at 07:00, block "Shorts" alone, then the news again.
#[test]
fn a_medley_takes_the_innermost_block_all_its_programmes_share() {
    let assets = assets(vec![
        asset(1, 30, 2),
        asset(2, 30, 2),
        asset(3, 30, 2),
        asset(4, 30, 2),
        asset(10, 1500, 6),
        asset(9, 10, 2),
    ]);
    let item = |asset_id: i64, start: Start, title: &str| {
        GridEntry::Item(GridItem::new(
            AssetId(asset_id),
            start,
            ProgrammeInfo::titled(title),
        ))
    };
    let block = |name: &str, start: Start| GridEntry::Block {
        name: name.into(),
        start,
    };
    let blocks = BlockLibrary::from([
        (
            "Saturday".to_owned(),
            Block {
                entries: vec![
                    block("Shorts", Start::Soft),
                    GridEntry::Fill {
                        rule: "cartoons".into(),
                        start: Start::Soft,
                    },
                ],
            },
        ),
        (
            "Shorts".to_owned(),
            Block {
                entries: (0..10)
                    .map(|n| {
                        item(
                            1 + n % 2,
                            Start::Soft,
                            ["Short A", "Short B"][n as usize % 2],
                        )
                    })
                    .collect(),
            },
        ),
    ]);
    let fill_rules = FillRules::from([(
        "cartoons".to_owned(),
        FillRule {
            source: FillSource::Playlist(vec![AssetId(3), AssetId(4)]),
            info: None,
        },
    )]);
    let at = |hh_mm: &str| at_utc(&format!("2026-11-21T{hh_mm}:00Z"));
    let entries = [
        block("Saturday", Start::Hard(at("06:00"))),
        item(10, Start::Hard(at("06:30")), "News"),
        block("Shorts", Start::Hard(at("07:00"))),
        item(10, Start::Soft, "News"),
    ];
    let (plan, problems) = build_plan(&ChannelGrid {
        from: at("06:00"),
        to: at("08:00"),
        templates: &[],
        entries: &entries,
        blocks: &blocks,
        fill_rules: &fill_rules,
        default_fill: None,
        ad_policy: None,
        assets: &assets,
        history: &[],
        options: &PlanOptions {
            slate: Some(AssetId(9)),
            ..PlanOptions::default()
        },
    });
    let problems: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(
        problems.len(),
        1,
        "only the slate before 07:00: {problems:?}"
    );
    let list = programmes(&plan, at("06:00"), at("08:00"), &EpgOptions::default());
    let channel = channel("saturday.onair.example", "Saturday TV", list);
    use EpgKind::{Medley, Programme};
    assert_eq!(
        rows(&channel),
        vec![
            row(
                "06:00:00",
                "06:30:00",
                "Saturday",
                Medley,
                "Short A, Short B, asset 3 and asset 4"
            ),
            // The five minutes of slate before 07:00 fold into the news.
            row("06:30:00", "07:00:00", "News", Programme, ""),
            row(
                "07:00:00",
                "07:05:00",
                "Shorts",
                Medley,
                "Short A and Short B"
            ),
            row("07:05:00", "07:30:00", "News", Programme, ""),
        ]
    );
    assert_no_entry_lends_one_programme_its_title(&plan, &channel);
}

/// A loop like the demo's: "Morning Show" (12 s), a 12-second break and "City News" (20 s),
/// "Nature Break" (16 s), every minute. The partner feeds' tests use it too.
pub(in crate::epg) fn demo_like_loop() -> Plan {
    let assets = assets(vec![
        asset(1, 12, 2),
        asset(2, 16, 2),
        asset(3, 20, 2),
        asset(9, 12, 2),
    ]);
    let items = vec![
        GridItem::new(
            AssetId(1),
            Start::Hard(at_utc("2026-11-21T00:00:00Z")),
            ProgrammeInfo::titled("Morning Show"),
        ),
        GridItem {
            breaks: vec![AdBreakSpec::before(Ticks::from_secs(12))],
            ..GridItem::new(AssetId(3), Start::Soft, ProgrammeInfo::titled("City News"))
        },
        GridItem::new(
            AssetId(2),
            Start::Soft,
            ProgrammeInfo::titled("Nature Break"),
        ),
    ];
    let options = PlanOptions {
        slate: Some(AssetId(9)),
        grid_repeat: Some(minutes(1)),
        ..PlanOptions::default()
    };
    let (plan, problems) = plan_grid(&items, &assets, &options);
    assert_eq!(problems, vec![]);
    plan.folded()
}

#[test]
fn a_loop_of_short_clips_is_listed_as_hourly_medleys_whenever_the_guide_is_asked_for() {
    let plan = demo_like_loop();
    let list_from = |at: &str| {
        let (from, to) = days_ahead(at_utc(at), 1);
        programmes(&plan, from, to, &EpgOptions::default())
    };
    let early = list_from("2026-11-22T10:15:00Z");
    let late = list_from("2026-11-22T10:47:30Z");
    assert_eq!(early[0].start, at_utc("2026-11-22T10:00:00Z"));
    assert_eq!(early.len(), 25);
    for entry in &early {
        assert_eq!(entry.duration(), minutes(60), "{entry:#?}");
        assert_eq!(entry.kind, EpgKind::Medley);
        assert_eq!(entry.info.title, "", "titled with the channel's name");
        assert_eq!(
            entry.info.description.as_deref(),
            Some("Morning Show, City News and Nature Break")
        );
    }
    assert_eq!(early, late, "the same hours, asked for at 10:15 or 10:47");
}

/// Random grids of short and long programmes with random titles, blocks and gaps: every
/// entry is titled by what all its programmes share, and none is shorter than 3 minutes or
/// longer than 6 hours once the plan is at least 3 minutes long.
#[test]
fn for_random_grids_every_entry_is_titled_by_what_all_its_programmes_share() {
    let options = EpgOptions::default();
    let block_paths: [Option<Arc<[String]>>; 4] = [
        None,
        Some(Arc::from(["Night".to_owned()])),
        Some(Arc::from(["Night".to_owned(), "Shorts".to_owned()])),
        Some(Arc::from(["Day".to_owned()])),
    ];
    for seed in 0..400 {
        let mut random = SplitMix64(seed);
        let mut below = |n: u64| random.next() % n;
        let mut durations: Vec<i64> = Vec::new();
        let mut items: Vec<GridItem> = Vec::new();
        let mut cursor = at_utc("2026-11-21T00:00:00Z");
        for index in 0..1 + below(40) as usize {
            let secs = match below(4) {
                0 => 180 + 2 * below(4 * 3600) as i64,
                _ => 2 + 2 * below(100) as i64,
            };
            durations.push(secs);
            let gap = match below(8) {
                0 => Ticks::from_secs(2 * below(1200) as i64),
                _ => Ticks::ZERO,
            };
            let start = if index == 0 || gap > Ticks::ZERO {
                Start::Hard(cursor + gap)
            } else {
                Start::Soft
            };
            cursor = cursor + gap + Ticks::from_secs(secs);
            let title = ["A", "B", "C"][below(3) as usize];
            items.push(GridItem {
                blocks: block_paths[below(4) as usize].clone(),
                ..GridItem::new(
                    AssetId(index as i64 + 1),
                    start,
                    ProgrammeInfo::titled(title),
                )
            });
        }
        let mut list: Vec<Asset> = durations
            .iter()
            .enumerate()
            .map(|(index, secs)| asset(index as i64 + 1, *secs, if *secs < 180 { 2 } else { 60 }))
            .collect();
        list.push(asset(1000, 10, 2));
        let plan_options = PlanOptions {
            slate: Some(AssetId(1000)),
            ..PlanOptions::default()
        };
        let (plan, _) = plan_grid(&items, &assets(list), &plan_options);
        let timeline = plan.timeline.as_deref().unwrap();
        let (start, end) = (timeline.origin(), timeline.origin() + timeline.period());
        let list = programmes(&plan, start, end, &options);
        let channel = channel(&format!("seed-{seed}.onair.example"), "Random TV", list);
        let context = format!("seed {seed}: {:#?}", rows(&channel));
        assert_eq!(channel.programmes[0].start, start, "{context}");
        assert_eq!(channel.programmes.last().unwrap().stop, end, "{context}");
        assert_no_entry_lends_one_programme_its_title(&plan, &channel);
        if end - start >= options.min_programme {
            for entry in &channel.programmes {
                let duration = entry.duration();
                assert!(
                    duration >= options.min_programme && duration <= options.max_programme,
                    "{context}"
                );
            }
        }
    }
}

#[test]
fn episode_numbers_follow_xmltv_ns_and_onscreen_conventions() {
    let info = |season, episode| ProgrammeInfo {
        season,
        episode,
        ..ProgrammeInfo::titled("x")
    };
    #[rustfmt::skip]
    let table: &[(Option<u32>, Option<u32>, Option<(u32, u32)>, Option<&str>, Option<&str>)] = &[
        (Some(2), Some(5), None, Some("1.4."), Some("S02E05")),
        (None, Some(5), None, Some(".4."), Some("E05")),
        (Some(1), None, None, Some("0.."), Some("S01")),
        (None, None, Some((2, 3)), Some("..1/3"), None),
        (None, None, None, None, None),
    ];
    for (season, episode, part, ns, screen) in table {
        let info = info(*season, *episode);
        assert_eq!(xmltv_ns(&info, *part).as_deref(), *ns);
        assert_eq!(onscreen(&info).as_deref(), *screen);
    }
}
