//! The EPG, from the same [`Plan`] playout follows so it never lies: a list of programmes with
//! start and stop instants, written as XMLTV (per channel or for all channels) and as a JSON
//! feed.
//!
//! # From runs to programmes
//!
//! [`programmes`] walks the timeline's runs (every pass of a repeating one that touches the
//! window) and groups them by the item they belong to ([`Plan::run_items`]):
//!
//! - An item's runs are **one programme**, its ad breaks included, wherever they fall (before,
//!   inside, after): a film split by three breaks is one entry from its first run to its last.
//! - **Filler and slate** that fill gaps are folded into the programme before them when
//!   shorter than [`EpgOptions::fold_gaps_under`] (10 minutes by default): the EPG shows the
//!   slot, as viewers expect. Longer stretches are entries of their own, titled
//!   [`EpgOptions::gap_title`] ("We'll be right back"), kind [`EpgKind::Gap`].
//! - Entries shorter than [`EpgOptions::min_programme`] (3 minutes) merge into the entry before
//!   them (or, first in the list, the one after); entries longer than
//!   [`EpgOptions::max_programme`] (6 hours) are split into equal parts, numbered. These are
//!   Wurl's bounds, so the JSON feed meets them: programmes of 3 minutes to 6 hours, with no gaps
//!   or overlaps while the plan runs.
//! - A live event is a programme of kind [`EpgKind::Live`], with its source key.
//! - Entries keep their real start and stop even when they reach outside the window asked for;
//!   only entries that touch the window are listed.
//!
//! # XMLTV
//!
//! [`xmltv`] writes `<tv>` with one `<channel id>` (and `display-name`, `icon`) per channel, then
//! the programmes: `start`/`stop` as `20261121200000 +0000` (UTC), `title`, `sub-title`, `desc`,
//! `category` (one per genre), `keyword` `live` for live events, `icon` (artwork),
//! `episode-num` in `xmltv_ns` (zero-based `season.episode.part/parts`) and `onscreen`
//! (`S02E05`), and `rating` (`system` attribute, `value`), in the order the XMLTV DTD demands.
//! Text is escaped by quick-xml, and characters XML 1.0 forbids are dropped. Channel ids must
//! look like `news.onair.example` (`tv_validate_file` insists): see [`xmltv_channel_id`].
//!
//! # JSON feed
//!
//! [`json_feed`] writes, for platforms that take JSON (Wurl-like):
//!
//! ```json
//! {"channels": [{
//!   "id": "news.onair.example", "name": "News 24", "icon": "https://…",
//!   "programs": [{
//!     "start": "2026-11-21T20:00:00Z", "end": "2026-11-21T20:30:00Z", "duration": 1800,
//!     "title": "…", "episode_title": "…", "season": 2, "episode": 5, "description": "…",
//!     "genres": ["News"], "rating": {"system": "VCHIP", "value": "TV-PG"}, "image": "https://…",
//!     "type": "programme" | "live" | "filler", "live_source": "…", "part": 1, "parts": 2
//!   }]
//! }]}
//! ```
//!
//! Instants are RFC 3339 UTC to the second, `duration` is in seconds; optional fields are left
//! out when empty.

use std::io;

use onair_domain::{ScheduleItemId, Ticks, Timestamp};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde::Serialize;

use crate::grid::{ProgrammeInfo, Rating};
use crate::plan::Plan;

/// How far ahead XMLTV goes: today plus 13 days.
pub const XMLTV_DAYS: i64 = 14;

/// How far ahead the JSON feed goes (Wurl takes up to 8 days).
pub const JSON_FEED_DAYS: i64 = 8;

/// The window `[from, from + days)`.
pub fn days_ahead(from: Timestamp, days: i64) -> (Timestamp, Timestamp) {
    (from, from + Ticks::from_secs(days * 86_400))
}

/// How runs become programmes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpgOptions {
    /// The title of a gap entry.
    pub gap_title: String,
    /// Filler and slate shorter than this fold into the programme before them.
    pub fold_gaps_under: Ticks,
    /// Entries shorter than this merge into a neighbour.
    pub min_programme: Ticks,
    /// Entries longer than this are split into parts.
    pub max_programme: Ticks,
}

impl Default for EpgOptions {
    fn default() -> EpgOptions {
        EpgOptions {
            gap_title: "We'll be right back".into(),
            fold_gaps_under: Ticks::from_secs(10 * 60),
            min_programme: Ticks::from_secs(3 * 60),
            max_programme: Ticks::from_secs(6 * 3600),
        }
    }
}

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EpgKind {
    Programme,
    Live,
    /// Filler or slate standing alone.
    #[serde(rename = "filler")]
    Gap,
}

/// One EPG entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpgProgramme {
    pub start: Timestamp,
    pub stop: Timestamp,
    pub kind: EpgKind,
    pub info: ProgrammeInfo,
    /// The live source, for a live event.
    pub live_source: Option<String>,
    /// The stored item it came from.
    pub item_id: Option<ScheduleItemId>,
    /// `(part, parts)`, counted from 1, for a programme split because it is too long.
    pub part: Option<(u32, u32)>,
}

impl EpgProgramme {
    pub fn duration(&self) -> Ticks {
        self.stop - self.start
    }
}

/// A channel as the EPG shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpgChannel {
    /// XMLTV id, e.g. `news.onair.example`: see [`xmltv_channel_id`].
    pub id: String,
    pub display_name: String,
    pub icon_url: Option<String>,
    pub programmes: Vec<EpgProgramme>,
}

/// What makes an EPG unusable for some consumers. The EPG is still written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EpgProblem {
    #[error(
        "channel id {id:?} is not a valid XMLTV id: use letters, digits and '-' in two or more dot-separated parts, e.g. \"news.onair.example\""
    )]
    InvalidChannelId { id: String },
    #[error("channel id {id:?} is used by more than one channel")]
    DuplicateChannelId { id: String },
    #[error("channel {id:?} has no programmes in the window")]
    NoProgrammes { id: String },
}

/// An XMLTV channel id from a channel slug and a domain: `news` + `onair.example` →
/// `news.onair.example`. Characters other than letters, digits, `-` and `.` become `-`.
pub fn xmltv_channel_id(slug: &str, domain: &str) -> String {
    let clean = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    format!("{}.{}", clean(slug), clean(domain))
}

/// Whether `id` passes `tv_validate_file`: `^[-a-zA-Z0-9]+(\.[-a-zA-Z0-9]+)+$`.
pub fn is_valid_xmltv_id(id: &str) -> bool {
    let parts: Vec<&str> = id.split('.').collect();
    parts.len() >= 2
        && parts.iter().all(|part| {
            !part.is_empty() && part.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// A stretch of runs of one item (or of gap fill).
struct Span {
    start: Timestamp,
    stop: Timestamp,
    /// Index in `plan.items`, `None` for gap fill; with the pass, for repeating timelines.
    source: Option<(usize, i64)>,
}

/// The programmes of `plan` that touch `[from, to)` (see the module doc).
pub fn programmes(
    plan: &Plan,
    from: Timestamp,
    to: Timestamp,
    options: &EpgOptions,
) -> Vec<EpgProgramme> {
    let Some(timeline) = &plan.timeline else {
        return Vec::new();
    };
    if to <= from {
        return Vec::new();
    }
    let origin = timeline.origin();
    let period = timeline.period();
    let (first_pass, last_pass) = if timeline.repeats() {
        let pass_of = |at: Timestamp| (at - origin).0.div_euclid(period.0);
        ((pass_of(from) - 1).max(0), pass_of(to).max(0))
    } else {
        (0, 0)
    };
    let mut spans: Vec<Span> = Vec::new();
    for pass in first_pass..=last_pass {
        let mut at = origin + Ticks(period.0 * pass);
        for (run_index, run) in timeline.runs().iter().enumerate() {
            let stop = at + run.duration();
            let source = plan
                .run_items
                .get(run_index)
                .copied()
                .flatten()
                .map(|item| (item, pass));
            match spans.last_mut() {
                Some(last) if last.source == source && last.stop == at => last.stop = stop,
                _ => spans.push(Span {
                    start: at,
                    stop,
                    source,
                }),
            }
            at = stop;
        }
    }

    let mut entries: Vec<EpgProgramme> = Vec::new();
    for span in spans {
        match span.source {
            Some((item_index, pass)) => {
                let item = &plan.items[item_index];
                let mut info = item.info.clone();
                if info.title.trim().is_empty() {
                    info.title = "Untitled".into();
                }
                entries.push(EpgProgramme {
                    start: span.start,
                    stop: span.stop,
                    kind: if item.live.is_some() {
                        EpgKind::Live
                    } else {
                        EpgKind::Programme
                    },
                    info,
                    live_source: item.live.as_ref().map(|live| live.source_key.clone()),
                    item_id: plan.item_id(item_index, pass),
                    part: None,
                });
            }
            None => match entries.last_mut() {
                Some(last)
                    if span.stop - span.start < options.fold_gaps_under
                        && last.stop == span.start =>
                {
                    last.stop = span.stop;
                }
                _ => entries.push(EpgProgramme {
                    start: span.start,
                    stop: span.stop,
                    kind: EpgKind::Gap,
                    info: ProgrammeInfo::titled(options.gap_title.clone()),
                    live_source: None,
                    item_id: None,
                    part: None,
                }),
            },
        }
    }

    // Too short: into the entry before (or the one after, for the first).
    let mut merged: Vec<EpgProgramme> = Vec::with_capacity(entries.len());
    for entry in entries {
        let only_one = merged.len() == 1;
        match merged.last_mut() {
            Some(last) if entry.duration() < options.min_programme && last.stop == entry.start => {
                last.stop = entry.stop;
            }
            Some(last)
                if only_one
                    && last.duration() < options.min_programme
                    && last.stop == entry.start =>
            {
                let start = last.start;
                *last = EpgProgramme { start, ..entry };
            }
            _ => merged.push(entry),
        }
    }

    // Too long: equal parts, on whole seconds.
    let mut result = Vec::with_capacity(merged.len());
    for entry in merged {
        let duration = entry.duration();
        if options.max_programme <= Ticks::ZERO || duration <= options.max_programme {
            result.push(entry);
            continue;
        }
        let parts = (duration.0 + options.max_programme.0 - 1) / options.max_programme.0;
        let second = Ticks::from_secs(1).0;
        let boundary = |k: i64| -> Timestamp {
            if k == parts {
                return entry.stop;
            }
            let at = entry.start.0 + duration.0 * k / parts;
            Timestamp(at - at.rem_euclid(second))
        };
        for k in 0..parts {
            result.push(EpgProgramme {
                start: if k == 0 { entry.start } else { boundary(k) },
                stop: boundary(k + 1),
                part: Some((k as u32 + 1, parts as u32)),
                ..entry.clone()
            });
        }
    }
    result.retain(|entry| entry.stop > from && entry.start < to);
    result
}

/// Checks channel ids and that every channel has programmes.
pub fn check_channels(channels: &[EpgChannel]) -> Vec<EpgProblem> {
    let mut problems = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for channel in channels {
        if !is_valid_xmltv_id(&channel.id) {
            problems.push(EpgProblem::InvalidChannelId {
                id: channel.id.clone(),
            });
        }
        if !seen.insert(channel.id.as_str()) {
            problems.push(EpgProblem::DuplicateChannelId {
                id: channel.id.clone(),
            });
        }
        if channel.programmes.is_empty() {
            problems.push(EpgProblem::NoProgrammes {
                id: channel.id.clone(),
            });
        }
    }
    problems
}

/// XMLTV for these channels (one for a per-channel file, all for the combined one), with the
/// problems that would make it fail validation.
pub fn xmltv(channels: &[EpgChannel]) -> (String, Vec<EpgProblem>) {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 2);
    write_xmltv(&mut writer, channels).expect("writing XML to memory cannot fail");
    let mut text = String::from_utf8(writer.into_inner()).expect("quick-xml writes UTF-8");
    text.push('\n');
    (text, check_channels(channels))
}

fn write_xmltv(writer: &mut Writer<Vec<u8>>, channels: &[EpgChannel]) -> io::Result<()> {
    writer.write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))?;
    writer.write_event(Event::DocType(BytesText::from_escaped(
        "tv SYSTEM \"xmltv.dtd\"",
    )))?;
    writer
        .create_element("tv")
        .with_attribute(("generator-info-name", "onair"))
        .write_inner_content(|writer| {
            for channel in channels {
                write_channel(writer, channel)?;
            }
            for channel in channels {
                for programme in &channel.programmes {
                    write_programme(writer, &channel.id, programme)?;
                }
            }
            Ok(())
        })?;
    Ok(())
}

fn write_channel(writer: &mut Writer<Vec<u8>>, channel: &EpgChannel) -> io::Result<()> {
    writer
        .create_element("channel")
        .with_attribute(("id", xml_clean(&channel.id).as_str()))
        .write_inner_content(|writer| {
            let name = xml_clean(&channel.display_name);
            let name = if name.is_empty() {
                xml_clean(&channel.id)
            } else {
                name
            };
            writer
                .create_element("display-name")
                .write_text_content(BytesText::new(&name))?;
            if let Some(icon) = non_empty(channel.icon_url.as_deref()) {
                writer
                    .create_element("icon")
                    .with_attribute(("src", icon.as_str()))
                    .write_empty()?;
            }
            Ok(())
        })?;
    Ok(())
}

fn write_programme(
    writer: &mut Writer<Vec<u8>>,
    channel_id: &str,
    programme: &EpgProgramme,
) -> io::Result<()> {
    let info = &programme.info;
    writer
        .create_element("programme")
        .with_attribute(("start", xmltv_time(programme.start).as_str()))
        .with_attribute(("stop", xmltv_time(programme.stop).as_str()))
        .with_attribute(("channel", xml_clean(channel_id).as_str()))
        .write_inner_content(|writer| {
            let title = non_empty(Some(&info.title)).unwrap_or_else(|| "Untitled".into());
            text_element(writer, "title", &title)?;
            if let Some(sub_title) = non_empty(info.episode_title.as_deref()) {
                text_element(writer, "sub-title", &sub_title)?;
            }
            if let Some(desc) = non_empty(info.description.as_deref()) {
                text_element(writer, "desc", &desc)?;
            }
            for genre in &info.genres {
                if let Some(genre) = non_empty(Some(genre)) {
                    text_element(writer, "category", &genre)?;
                }
            }
            if programme.kind == EpgKind::Live {
                text_element(writer, "keyword", "live")?;
            }
            if let Some(icon) = non_empty(info.artwork_url.as_deref()) {
                writer
                    .create_element("icon")
                    .with_attribute(("src", icon.as_str()))
                    .write_empty()?;
            }
            if let Some(xmltv_ns) = xmltv_ns(info, programme.part) {
                writer
                    .create_element("episode-num")
                    .with_attribute(("system", "xmltv_ns"))
                    .write_text_content(BytesText::new(&xmltv_ns))?;
            }
            if let Some(onscreen) = onscreen(info) {
                writer
                    .create_element("episode-num")
                    .with_attribute(("system", "onscreen"))
                    .write_text_content(BytesText::new(&onscreen))?;
            }
            if let Some(rating) = &info.rating
                && let Some(value) = non_empty(Some(&rating.value))
            {
                let element = writer.create_element("rating");
                let element = match non_empty(rating.system.as_deref()) {
                    Some(system) => element.with_attribute(("system", system.as_str())),
                    None => element,
                };
                element.write_inner_content(|writer| text_element(writer, "value", &value))?;
            }
            Ok(())
        })?;
    Ok(())
}

fn text_element(writer: &mut Writer<Vec<u8>>, name: &str, text: &str) -> io::Result<()> {
    writer
        .create_element(name)
        .write_text_content(BytesText::new(text))?;
    Ok(())
}

/// `20261121200000 +0000`.
fn xmltv_time(at: Timestamp) -> String {
    at.to_datetime().format("%Y%m%d%H%M%S +0000").to_string()
}

/// Zero-based `season.episode.part/parts`, each part optional; `None` when all are absent.
fn xmltv_ns(info: &ProgrammeInfo, part: Option<(u32, u32)>) -> Option<String> {
    if info.season.is_none() && info.episode.is_none() && part.is_none() {
        return None;
    }
    let zero_based = |n: Option<u32>| {
        n.map(|n| n.saturating_sub(1).to_string())
            .unwrap_or_default()
    };
    let part = part
        .map(|(part, parts)| format!("{}/{parts}", part - 1))
        .unwrap_or_default();
    Some(format!(
        "{}.{}.{part}",
        zero_based(info.season),
        zero_based(info.episode)
    ))
}

/// `S02E05`, `S02` or `E05`.
fn onscreen(info: &ProgrammeInfo) -> Option<String> {
    match (info.season, info.episode) {
        (Some(season), Some(episode)) => Some(format!("S{season:02}E{episode:02}")),
        (Some(season), None) => Some(format!("S{season:02}")),
        (None, Some(episode)) => Some(format!("E{episode:02}")),
        (None, None) => None,
    }
}

/// Drops the characters XML 1.0 forbids and trims.
fn xml_clean(text: &str) -> String {
    text.chars()
        .filter(|c| {
            matches!(c, '\t' | '\n' | '\r') || (*c >= ' ' && !matches!(c, '\u{FFFE}' | '\u{FFFF}'))
        })
        .collect::<String>()
        .trim()
        .to_owned()
}

fn non_empty(text: Option<&str>) -> Option<String> {
    text.map(xml_clean).filter(|text| !text.is_empty())
}

#[derive(Serialize)]
struct JsonFeed<'a> {
    channels: Vec<JsonChannel<'a>>,
}

#[derive(Serialize)]
struct JsonChannel<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    programs: Vec<JsonProgram<'a>>,
}

#[derive(Serialize)]
struct JsonProgram<'a> {
    start: String,
    end: String,
    duration: i64,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode_title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    season: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    genres: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<&'a Rating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(rename = "type")]
    kind: EpgKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    live_source: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parts: Option<u32>,
}

/// The JSON feed for these channels (shape in the module doc), pretty-printed.
pub fn json_feed(channels: &[EpgChannel]) -> String {
    let seconds = |at: Timestamp| at.0.div_euclid(Ticks::from_secs(1).0);
    let rfc3339 = |at: Timestamp| {
        chrono::DateTime::from_timestamp(seconds(at), 0)
            .unwrap_or_default()
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    };
    let feed = JsonFeed {
        channels: channels
            .iter()
            .map(|channel| JsonChannel {
                id: &channel.id,
                name: &channel.display_name,
                icon: channel.icon_url.as_deref().filter(|url| !url.is_empty()),
                programs: channel
                    .programmes
                    .iter()
                    .map(|programme| {
                        let info = &programme.info;
                        JsonProgram {
                            start: rfc3339(programme.start),
                            end: rfc3339(programme.stop),
                            duration: seconds(programme.stop) - seconds(programme.start),
                            title: &info.title,
                            episode_title: info.episode_title.as_deref(),
                            season: info.season,
                            episode: info.episode,
                            description: info.description.as_deref(),
                            genres: &info.genres,
                            rating: info.rating.as_ref(),
                            image: info.artwork_url.as_deref(),
                            kind: programme.kind,
                            live_source: programme.live_source.as_deref(),
                            part: programme.part.map(|(part, _)| part),
                            parts: programme.part.map(|(_, parts)| parts),
                        }
                    })
                    .collect(),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&feed).expect("the feed is plain data");
    text.push('\n');
    text
}

#[cfg(test)]
#[allow(clippy::type_complexity, reason = "table tests spell out their rows")]
mod tests {
    use std::path::Path;
    use std::process::Command;

    use chrono_tz::Tz;
    use onair_domain::AssetId;

    use super::*;
    use crate::ad_policy::{AdPolicy, Cadence};
    use crate::fill::{FillRule, FillRules, FillSource};
    use crate::grid::{AdBreakSpec, Block, BlockLibrary, GridEntry, GridItem, Start};
    use crate::pipeline::{ChannelGrid, build_plan};
    use crate::plan::{PlanOptions, plan_grid};
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
        assert!(
            xml.contains("<title>Tom &amp; Jerry&apos;s &quot;Big&quot; &lt;Night&gt;</title>")
        );
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
            item(2, Start::Soft, "Two minutes"), // 01:10-01:12, merges into the one before
            item(1, Start::Hard(at("02:00")), "After a long gap"), // gaps of 48 and 30 minutes stand
            item(3, Start::Hard(at("03:00")), "Eight hours"),      // split in two parts
        ];
        let options = PlanOptions {
            slate: Some(AssetId(9)),
            ..PlanOptions::default()
        };
        let (plan, _) = plan_grid(&items, &assets, &options);
        let list = programmes(&plan, at("00:00"), at("23:59"), &EpgOptions::default());
        let got: Vec<(String, String, String, EpgKind, Option<(u32, u32)>)> = list
            .iter()
            .map(|p| {
                (
                    p.start.to_datetime().format("%H:%M").to_string(),
                    p.stop.to_datetime().format("%H:%M").to_string(),
                    p.info.title.clone(),
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
        use EpgKind::{Gap, Programme};
        assert_eq!(
            got,
            vec![
                row("00:00", "00:40", "Split by a break", Programme, None),
                row("00:40", "01:12", "After a short gap", Programme, None),
                row("01:12", "02:00", "We'll be right back", Gap, None),
                row("02:00", "02:30", "After a long gap", Programme, None),
                row("02:30", "03:00", "We'll be right back", Gap, None),
                row("03:00", "07:00", "Eight hours", Programme, Some((1, 2))),
                row("07:00", "11:00", "Eight hours", Programme, Some((2, 2))),
            ]
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

    /// The combined XMLTV of two channels, 14 days ahead, passes `tv_validate_file` (Debian
    /// `xmltv-util`).
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
        let (xml, problems) = xmltv(&[fixed_day_channel(), news_channel]);
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
}
