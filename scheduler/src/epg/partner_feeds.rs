//! The EPG as each partner reads it: XMLTV, a Wurl-style JSON feed and a Roku-style JSON feed,
//! every one **contiguous** over whole local days and built from the same [`programmes`] of the
//! plan playout airs (the registry's plan), so that a partner's guide equals what airs.
//!
//! # Windows
//!
//! A feed covers whole days of the channel's zone (UTC when it has none), from the start of
//! "today" at `now` ([`local_days`]): on a DST day the day is 23 or 25 hours long, and a day
//! whose midnight a change skips starts at its first instant (see [`crate::rules::local_day`]).
//! Whole days matter: Wurl judges gaps and overlaps per day and sends a day with one to its
//! backup schedule.
//!
//! | feed | window | why |
//! |---|---|---|
//! | [`PartnerFeed::Xmltv`] | today + 13 days | the common XMLTV horizon |
//! | [`PartnerFeed::WurlJson`] | today + 7 days (8 days) | Wurl takes "up to 8 days of schedule at a time" and recommends the next 7 days each time |
//! | [`PartnerFeed::RokuJson`] | today + 13 days | Roku's public linear-ingest pages ask for a schedule ahead without a horizon we could confirm; we send as much as XMLTV (a partner ignores what it does not want) |
//!
//! # Contiguous programmes
//!
//! [`contiguous_programmes`] takes [`programmes`] of the window (merging of short programmes,
//! medleys and folded slate as that module documents, unchanged) and adds only two things:
//!
//! - **Filler where nothing is listed**, so the feed runs from the window's start to its end
//!   without a gap: before the plan's origin and after its end (a plan that stops early), kind
//!   [`EpgKind::Gap`], titled [`EpgOptions::gap_title`] where the channel's slate tail airs
//!   (the same title the XMLTV gives slate inside the plan) and [`OFF_AIR_TITLE`] where nothing
//!   airs at all. A filler keeps the plan's own boundary exactly and, on its other side, reaches
//!   out to a whole hour (UTC) and to at least [`EpgOptions::min_programme`].
//! - **Splits at whole hours** instead of equal parts: an entry longer than
//!   [`EpgOptions::max_programme`] (6 h) is cut at the latest whole UTC hour that keeps the part
//!   at most 6 h and what is left at least the minimum (3 min); each part keeps the title and
//!   says `part`/`parts` (filler is not numbered). A 9-hour film from 20:10 is 20:10–02:00 and
//!   02:00–05:10.
//!
//! So every boundary is a run boundary of the timeline, a medley's cut (see [`programmes`]), a
//! whole-hour split, or the outer edge of a filler; entries are 3 min to 6 h unless the whole
//! plan airs for less than 3 min. [`check_feed`] says where a list breaks these rules.
//!
//! # Wurl-style JSON ([`wurl_json`])
//!
//! Modelled on Wurl's public "Programming API – Restreaming EPG endpoint" specification (a JSON
//! document with a `channel` root node whose lineup events last 3 min to 6 h, no gap or overlap
//! in a day, up to 8 days per push). That page names the root node and the rules; the field
//! names below are ours where we could not read Wurl's schema, chosen to say what they hold:
//!
//! ```json
//! {"channel": {
//!   "id": "news.onair.example", "name": "News 24", "icon": "https://…",
//!   "programs": [{
//!     "id": "news.onair.example-1795377600", "title": "…", "episode_title": "…",
//!     "season": 2, "episode": 5, "description": "…",
//!     "start_time": "2026-11-21T20:00:00Z", "end_time": "2026-11-21T20:30:00Z", "duration": 1800,
//!     "genres": ["News"], "rating": {"system": "VCHIP", "value": "TV-PG"}, "image": "https://…",
//!     "type": "programme" | "live" | "filler" | "medley", "part": 1, "parts": 2
//!   }]
//! }}
//! ```
//!
//! One channel per document, as Wurl takes one channel per push; a document of several channels
//! (a partner's `epg.json` for all it carries) is `{"channels": [<channel>, …]}`. A programme's
//! `id` is the channel id and its start in Unix seconds: stable while the schedule is.
//!
//! # Roku-style JSON ([`roku_json`])
//!
//! Modelled on Roku's public feed conventions (the Direct Publisher / The Roku Channel JSON
//! feeds: camelCase, `shortDescription`, `thumbnail`, `rating` with `ratingSource`) for a linear
//! channel's schedule of content items with id, title, start time and duration. We could not
//! read Roku's current linear schema, so this is "Roku-style", not a certified Roku feed:
//!
//! ```json
//! {"providerName": "onair", "lastUpdated": "2026-11-21T11:00:00Z",
//!  "linearChannels": [{
//!    "id": "news.onair.example", "title": "News 24", "thumbnail": "https://…",
//!    "schedule": [{
//!      "id": "news.onair.example-1795377600", "title": "…", "startTime": "2026-11-21T20:00:00Z",
//!      "duration": 1800, "shortDescription": "…", "episodeTitle": "…", "seasonNumber": 2,
//!      "episodeNumber": 5, "genres": ["news"], "rating": {"rating": "TV-PG", "ratingSource": "VCHIP"},
//!      "thumbnail": "https://…", "isLive": false, "contentType": "programme"
//!    }]
//!  }]}
//! ```
//!
//! Genres are lowercased (Roku's genre vocabulary is lowercase). In both JSON feeds instants are
//! RFC 3339 UTC to the second and durations whole seconds (both ends truncated to the second,
//! so consecutive programmes still meet); optional fields are left out when empty.

use chrono::Days;
use chrono_tz::Tz;
use onair_domain::Timeline;

use super::*;
use crate::rules::{local_day, local_time};

/// The title of filler where nothing airs (before a plan's origin, after an end without slate).
pub const OFF_AIR_TITLE: &str = "Off air";

/// Days of the Wurl-style feed: today and the next 7.
pub const WURL_DAYS: i64 = 8;

/// Days of the Roku-style feed: today and the next 13 (see the module doc).
pub const ROKU_DAYS: i64 = 14;

/// The EPG a partner reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PartnerFeed {
    Xmltv,
    WurlJson,
    RokuJson,
}

impl PartnerFeed {
    /// How many local days it lists, today included.
    pub fn days(self) -> i64 {
        match self {
            PartnerFeed::Xmltv => XMLTV_DAYS,
            PartnerFeed::WurlJson => WURL_DAYS,
            PartnerFeed::RokuJson => ROKU_DAYS,
        }
    }

    /// The file it is served as: `epg.xml` or `epg.json`.
    pub fn file_name(self) -> &'static str {
        match self {
            PartnerFeed::Xmltv => "epg.xml",
            PartnerFeed::WurlJson | PartnerFeed::RokuJson => "epg.json",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            PartnerFeed::Xmltv => "application/xml; charset=utf-8",
            PartnerFeed::WurlJson | PartnerFeed::RokuJson => "application/json",
        }
    }
}

/// The instants `[start of today, start of today + days)` in `zone`, "today" being the local
/// date at `now`.
pub fn local_days(zone: Tz, now: Timestamp, days: i64) -> (Timestamp, Timestamp) {
    let today = local_time(zone, now).date();
    let days = u64::try_from(days.max(1)).unwrap_or(1);
    let last = today.checked_add_days(Days::new(days)).unwrap_or(today);
    (local_day(zone, today).0, local_day(zone, last).0)
}

/// A channel's programmes for a partner feed over `[from, to)`: [`programmes`] with filler
/// where nothing is listed and long entries split at whole hours (see the module doc).
pub fn contiguous_programmes(
    plan: &Plan,
    from: Timestamp,
    to: Timestamp,
    options: &EpgOptions,
) -> Vec<EpgProgramme> {
    if to <= from {
        return Vec::new();
    }
    let unsplit = EpgOptions {
        max_programme: Ticks::ZERO,
        ..options.clone()
    };
    let listed = programmes(plan, from, to, &unsplit);
    let timeline = plan.timeline.as_deref();
    let off_air =
        |from, to, earliest, latest| filler(from, to, earliest, latest, OFF_AIR_TITLE, options);
    // What airs after a plan that stops: its slate tail, else nothing.
    let after_end = |from, to, earliest| match timeline.and_then(Timeline::tail) {
        Some(_) => filler(from, to, earliest, FAR_FUTURE, &options.gap_title, options),
        None => off_air(from, to, earliest, FAR_FUTURE),
    };
    let mut list = Vec::with_capacity(listed.len() + 2);
    match (listed.first(), listed.last(), timeline) {
        (Some(first), Some(last), _) => {
            if first.start > from {
                list.extend(off_air(from, first.start, FAR_PAST, first.start));
            }
            let last_stop = last.stop;
            list.extend(listed);
            if last_stop < to {
                list.extend(after_end(last_stop, to, last_stop));
            }
        }
        (_, _, Some(timeline)) if to <= timeline.origin() => {
            list.extend(off_air(from, to, FAR_PAST, timeline.origin()));
        }
        (_, _, Some(timeline)) => {
            let end = timeline.end().unwrap_or(from).min(from);
            list.extend(after_end(from, to, end));
        }
        (_, _, None) => list.extend(off_air(from, to, FAR_PAST, FAR_FUTURE)),
    }
    list.into_iter()
        .flat_map(|entry| split_at_hours(entry, options))
        .collect()
}

const FAR_PAST: Timestamp = Timestamp(i64::MIN / 4);
const FAR_FUTURE: Timestamp = Timestamp(i64::MAX / 4);
const HOUR: i64 = Ticks::from_secs(3600).0;
const SECOND: i64 = Ticks::from_secs(1).0;

fn floor_to(at: Timestamp, unit: i64) -> Timestamp {
    Timestamp(at.0 - at.0.rem_euclid(unit))
}

fn ceil_to(at: Timestamp, unit: i64) -> Timestamp {
    Timestamp(at.0 + (unit - at.0.rem_euclid(unit)) % unit)
}

/// One filler entry covering `[from, to)`, reaching out (never before `earliest` nor after
/// `latest`) to whole hours and to at least the minimum length. Split later, like any entry.
fn filler(
    from: Timestamp,
    to: Timestamp,
    earliest: Timestamp,
    latest: Timestamp,
    title: &str,
    options: &EpgOptions,
) -> Option<EpgProgramme> {
    if to <= from {
        return None;
    }
    let min = options.min_programme.max(Ticks::ZERO);
    let mut start = if from > earliest {
        floor_to(from, HOUR).max(earliest)
    } else {
        from
    };
    let mut stop = if to < latest {
        ceil_to(to, HOUR).min(latest)
    } else {
        to
    };
    if stop - start < min {
        if latest - start >= min {
            stop = ceil_to(start + min, SECOND).min(latest);
        } else if stop - earliest >= min {
            start = floor_to(stop - min, SECOND).max(earliest);
        }
    }
    Some(EpgProgramme {
        start,
        stop,
        kind: EpgKind::Gap,
        info: ProgrammeInfo::titled(title),
        live_source: None,
        item_id: None,
        part: None,
    })
}

/// `entry` cut at whole UTC hours into parts of at most `max_programme`, none left shorter than
/// `min_programme` (a whole second when no whole hour fits).
fn split_at_hours(entry: EpgProgramme, options: &EpgOptions) -> Vec<EpgProgramme> {
    let (min, max) = (
        options.min_programme.max(Ticks::ZERO),
        options.max_programme,
    );
    if max <= Ticks::ZERO || entry.duration() <= max {
        return vec![entry];
    }
    let mut cuts = vec![entry.start];
    let mut cursor = entry.start;
    while entry.stop - cursor > max {
        let mut cut = floor_to(cursor + max, HOUR);
        while cut - cursor > min && entry.stop - cut < min {
            cut = cut - Ticks(HOUR);
        }
        if cut - cursor <= min || cut - cursor > max {
            cut = floor_to(cursor + max, SECOND);
        }
        cuts.push(cut);
        cursor = cut;
    }
    cuts.push(entry.stop);
    let parts = (cuts.len() - 1) as u32;
    let numbered = entry.kind != EpgKind::Gap;
    cuts.windows(2)
        .enumerate()
        .map(|(index, pair)| EpgProgramme {
            start: pair[0],
            stop: pair[1],
            part: numbered.then_some((index as u32 + 1, parts)),
            ..entry.clone()
        })
        .collect()
}

/// What makes a partner feed's list fail the contiguity rules.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeedProblem {
    #[error("channel {channel}: nothing is listed from {from} to {to}")]
    Gap {
        channel: String,
        from: String,
        to: String,
    },
    #[error("channel {channel}: programmes overlap from {from} to {to}")]
    Overlap {
        channel: String,
        from: String,
        to: String,
    },
    #[error(
        "channel {channel}: the programme at {start} lasts {seconds} s, outside {min} to {max} s"
    )]
    Length {
        channel: String,
        start: String,
        seconds: i64,
        min: i64,
        max: i64,
    },
}

/// Where `channel`'s programmes fail to cover `[from, to)` exactly once, or (with `bounds`,
/// `(min, max)`) last less than `min` or more than `max`.
pub fn check_feed(
    channel: &EpgChannel,
    from: Timestamp,
    to: Timestamp,
    bounds: Option<(Ticks, Ticks)>,
) -> Vec<FeedProblem> {
    let id = || channel.id.clone();
    let text = |at: Timestamp| at.to_rfc3339_millis();
    let mut problems = Vec::new();
    // Listed up to here; nothing listed yet counts as listed up to `from`.
    let mut covered_to = from;
    for (index, programme) in channel.programmes.iter().enumerate() {
        if programme.start > covered_to && covered_to < to {
            problems.push(FeedProblem::Gap {
                channel: id(),
                from: text(covered_to),
                to: text(programme.start.min(to)),
            });
        } else if index > 0 && programme.start < covered_to && programme.stop > from {
            problems.push(FeedProblem::Overlap {
                channel: id(),
                from: text(programme.start.max(from)),
                to: text(covered_to.min(programme.stop)),
            });
        }
        covered_to = covered_to.max(programme.stop);
        if let Some((min, max)) = bounds {
            let duration = programme.duration();
            if duration < min || duration > max {
                problems.push(FeedProblem::Length {
                    channel: id(),
                    start: text(programme.start),
                    seconds: duration.0 / SECOND,
                    min: min.0 / SECOND,
                    max: max.0 / SECOND,
                });
            }
        }
    }
    if covered_to < to {
        problems.push(FeedProblem::Gap {
            channel: id(),
            from: text(covered_to.max(from)),
            to: text(to),
        });
    }
    problems
}

fn unix_secs(at: Timestamp) -> i64 {
    at.0.div_euclid(SECOND)
}

fn rfc3339(at: Timestamp) -> String {
    chrono::DateTime::from_timestamp(unix_secs(at), 0)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A programme's id in both JSON feeds: the channel's id and its start in Unix seconds.
fn programme_id(channel: &EpgChannel, programme: &EpgProgramme) -> String {
    format!("{}-{}", channel.id, unix_secs(programme.start))
}

fn non_blank(text: Option<&str>) -> Option<&str> {
    text.filter(|text| !text.trim().is_empty())
}

#[derive(Serialize)]
struct WurlChannel<'a> {
    id: &'a str,
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    icon: Option<&'a str>,
    programs: Vec<WurlProgram<'a>>,
}

#[derive(Serialize)]
struct WurlProgram<'a> {
    id: String,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode_title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    season: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    description: Option<&'a str>,
    start_time: String,
    end_time: String,
    duration: i64,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    genres: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<&'a Rating>,
    #[serde(skip_serializing_if = "Option::is_none")]
    image: Option<&'a str>,
    #[serde(rename = "type")]
    kind: EpgKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    part: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parts: Option<u32>,
}

fn wurl_channel(channel: &EpgChannel) -> WurlChannel<'_> {
    WurlChannel {
        id: &channel.id,
        name: channel.name(),
        icon: non_blank(channel.icon_url.as_deref()),
        programs: channel
            .programmes
            .iter()
            .map(|programme| {
                let info = &programme.info;
                WurlProgram {
                    id: programme_id(channel, programme),
                    title: channel.title_of(programme),
                    episode_title: non_blank(info.episode_title.as_deref()),
                    season: info.season,
                    episode: info.episode,
                    description: non_blank(info.description.as_deref()),
                    start_time: rfc3339(programme.start),
                    end_time: rfc3339(programme.stop),
                    duration: unix_secs(programme.stop) - unix_secs(programme.start),
                    genres: &info.genres,
                    rating: info.rating.as_ref(),
                    image: non_blank(info.artwork_url.as_deref()),
                    kind: programme.kind,
                    part: programme.part.map(|(part, _)| part),
                    parts: programme.part.map(|(_, parts)| parts),
                }
            })
            .collect(),
    }
}

/// The Wurl-style feed (shape in the module doc): `{"channel": …}` for one channel,
/// `{"channels": […]}` for several (or none), pretty-printed.
pub fn wurl_json(channels: &[EpgChannel]) -> String {
    let document = match channels {
        [one] => WurlDocument::Channel(wurl_channel(one)),
        many => WurlDocument::Channels(many.iter().map(wurl_channel).collect()),
    };
    pretty(&document)
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum WurlDocument<'a> {
    Channel(WurlChannel<'a>),
    Channels(Vec<WurlChannel<'a>>),
}

fn pretty(value: &impl Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).expect("the feed is plain data");
    text.push('\n');
    text
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RokuFeed<'a> {
    provider_name: &'a str,
    last_updated: String,
    linear_channels: Vec<RokuChannel<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RokuChannel<'a> {
    id: &'a str,
    title: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbnail: Option<&'a str>,
    schedule: Vec<RokuItem<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RokuItem<'a> {
    id: String,
    title: &'a str,
    start_time: String,
    duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    short_description: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode_title: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    season_number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    episode_number: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    genres: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    rating: Option<RokuRating<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    thumbnail: Option<&'a str>,
    is_live: bool,
    content_type: EpgKind,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RokuRating<'a> {
    rating: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    rating_source: Option<&'a str>,
}

/// The Roku-style feed (shape in the module doc) of these channels, updated at `now`,
/// pretty-printed.
pub fn roku_json(channels: &[EpgChannel], now: Timestamp) -> String {
    let feed = RokuFeed {
        provider_name: "onair",
        last_updated: rfc3339(now),
        linear_channels: channels
            .iter()
            .map(|channel| RokuChannel {
                id: &channel.id,
                title: channel.name(),
                thumbnail: non_blank(channel.icon_url.as_deref()),
                schedule: channel
                    .programmes
                    .iter()
                    .map(|programme| {
                        let info = &programme.info;
                        RokuItem {
                            id: programme_id(channel, programme),
                            title: channel.title_of(programme),
                            start_time: rfc3339(programme.start),
                            duration: unix_secs(programme.stop) - unix_secs(programme.start),
                            short_description: non_blank(info.description.as_deref()),
                            episode_title: non_blank(info.episode_title.as_deref()),
                            season_number: info.season,
                            episode_number: info.episode,
                            genres: info.genres.iter().map(|g| g.to_lowercase()).collect(),
                            rating: info.rating.as_ref().map(|rating| RokuRating {
                                rating: &rating.value,
                                rating_source: non_blank(rating.system.as_deref()),
                            }),
                            thumbnail: non_blank(info.artwork_url.as_deref()),
                            is_live: programme.kind == EpgKind::Live,
                            content_type: programme.kind,
                        }
                    })
                    .collect(),
            })
            .collect(),
    };
    pretty(&feed)
}

/// A channel as a partner feed lists it: what it is called and the plan it airs.
#[derive(Debug, Clone, Copy)]
pub struct FeedChannel<'a> {
    /// XMLTV id, e.g. `news.onair.example`.
    pub id: &'a str,
    pub display_name: &'a str,
    pub icon_url: Option<&'a str>,
    /// The plan playout airs (the registry's).
    pub plan: &'a Plan,
    /// Its zone: whose "today" the window starts at.
    pub zone: Tz,
}

/// `channel` over `feed`'s window at `now` ([`local_days`]), its programmes contiguous.
pub fn feed_channel(channel: FeedChannel<'_>, feed: PartnerFeed, now: Timestamp) -> EpgChannel {
    let (from, to) = local_days(channel.zone, now, feed.days());
    EpgChannel {
        id: channel.id.to_owned(),
        display_name: channel.display_name.to_owned(),
        icon_url: channel.icon_url.map(str::to_owned),
        programmes: contiguous_programmes(channel.plan, from, to, &EpgOptions::default()),
    }
}

/// The document `feed` serves for `channels` (each made by [`feed_channel`]), with the
/// channel-id problems XMLTV consumers would trip on.
pub fn partner_document(
    feed: PartnerFeed,
    channels: &[EpgChannel],
    now: Timestamp,
) -> (String, Vec<EpgProblem>) {
    match feed {
        PartnerFeed::Xmltv => xmltv(channels),
        PartnerFeed::WurlJson => (wurl_json(channels), check_channels(channels)),
        PartnerFeed::RokuJson => (roku_json(channels, now), check_channels(channels)),
    }
}

#[cfg(test)]
mod tests;
