//! The EPG, from the same [`Plan`] playout follows so it never lies: a list of programmes with
//! start and stop instants, written as XMLTV (per channel or for all channels) and as a JSON
//! feed.
//!
//! # From runs to programmes
//!
//! [`programmes`] walks the timeline's runs (every pass of a repeating one that touches the
//! window) and groups them by the item they belong to ([`Plan::item_index_of_run`]):
//!
//! - An item's runs are **one programme**, its ad breaks included, wherever they fall (before,
//!   inside, after): a film split by three breaks is one entry from its first run to its last.
//! - **Filler and slate** that fill gaps are folded into the programme before them when
//!   shorter than [`EpgOptions::fold_gaps_under`] (10 minutes by default): the EPG shows the
//!   slot, as viewers expect. Longer stretches are entries of their own, titled
//!   [`EpgOptions::gap_title`] ("We'll be right back"), kind [`EpgKind::Gap`].
//! - Entries shorter than [`EpgOptions::min_programme`] (3 minutes) merge with their
//!   neighbours, without lying about what airs (see below); entries longer than
//!   [`EpgOptions::max_programme`] (6 hours) are split into equal parts, numbered. These are
//!   Wurl's bounds, so the JSON feed meets them: programmes of 3 minutes to 6 hours, with no gaps
//!   or overlaps while the plan runs.
//! - A live event is a programme of kind [`EpgKind::Live`], with its source key.
//! - Entries keep their real start and stop even when they reach outside the window asked for;
//!   only entries that touch the window are listed.
//!
//! # Short programmes: merged, never mislabelled
//!
//! An entry carries a programme's title only if every programme in it has that title, so no
//! entry is longer than the run of same-titled programmes it stands for (with the filler or
//! slate folded into it). A short entry merges first with its neighbours of the same title; short
//! entries still left, one after another, become a **medley** ([`EpgKind::Medley`]), cut at the
//! first programme boundary at or after each [`EpgOptions::medley_slot`] (on the hour). A medley
//! is titled with the innermost block all its programmes belong to
//! ([`crate::grid::GridItem::blocks`]), else with the channel's name ([`EpgChannel::title_of`]);
//! its description lists them ("Morning Show, Nature Break, City News and 3 more"), and it
//! borrows no episode, artwork or other metadata from one of them (genres and a rating only when
//! all share them). Short entries too short together take what they lack from the end of the
//! entry before (or the start of the entry after), which keeps at least the minimum, else all of
//! it. A plan shorter than the minimum is listed as it airs.
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
//!     "type": "programme" | "live" | "filler" | "medley", "live_source": "…", "part": 1, "parts": 2
//!   }]
//! }]}
//! ```
//!
//! Instants are RFC 3339 UTC to the second, `duration` is in seconds; optional fields are left
//! out when empty.

use std::collections::HashSet;
use std::io;

use onair_domain::{ScheduleItemId, Ticks, Timestamp};
use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesText, Event};
use serde::Serialize;

use crate::grid::{ProgrammeInfo, Rating};
use crate::plan::Plan;

mod feeds;
pub mod partner_feeds;

pub use feeds::{check_channels, json_feed, xmltv};

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
    /// A medley is cut at the first programme boundary at or after each multiple of this since
    /// the Unix epoch, so that it reads as slots and stays the same whatever window is asked for.
    pub medley_slot: Ticks,
}

impl Default for EpgOptions {
    fn default() -> EpgOptions {
        EpgOptions {
            gap_title: "We'll be right back".into(),
            fold_gaps_under: Ticks::from_secs(10 * 60),
            min_programme: Ticks::from_secs(3 * 60),
            max_programme: Ticks::from_secs(6 * 3600),
            medley_slot: Ticks::from_secs(3600),
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
    /// Programmes of different titles, each too short to list, merged into one entry: titled
    /// with their block or the channel (see the module doc).
    Medley,
}

/// One EPG entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpgProgramme {
    pub start: Timestamp,
    pub stop: Timestamp,
    pub kind: EpgKind,
    /// For a medley: the title of the block all its programmes belong to, or empty for the
    /// channel's name ([`EpgChannel::title_of`]), and a description that lists them.
    pub info: ProgrammeInfo,
    /// The live source, for a live event.
    pub live_source: Option<String>,
    /// The stored item it came from; `None` when merged from several.
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

impl EpgChannel {
    /// The channel's name as guides show it: its display name, else its id.
    pub fn name(&self) -> &str {
        if self.display_name.trim().is_empty() {
            &self.id
        } else {
            &self.display_name
        }
    }

    /// The title guides show for `programme`: its own, or the channel's name for a medley that
    /// no block covers.
    pub fn title_of<'a>(&'a self, programme: &'a EpgProgramme) -> &'a str {
        if programme.info.title.trim().is_empty() {
            self.name()
        } else {
            &programme.info.title
        }
    }
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
        // A pass more than the margin on both sides, so that short entries touching the window
        // merge the same whatever the window (see `merge_short_runs` and `medleys`).
        let min = options.min_programme.max(Ticks::ZERO);
        let margin = options.medley_slot.max(Ticks::ZERO) + min + min;
        (
            (pass_of(from - margin) - 1).max(0),
            (pass_of(to + margin) + 1).max(0),
        )
    } else {
        (0, 0)
    };
    let mut spans: Vec<Span> = Vec::new();
    for pass in first_pass..=last_pass {
        let mut at = origin + Ticks(period.0 * pass);
        for (run_index, run) in timeline.runs().iter().enumerate() {
            let stop = at + run.duration();
            let source = plan.item_index_of_run(run_index).map(|item| (item, pass));
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

    let mut entries: Vec<Draft<'_>> = Vec::new();
    for span in spans {
        match span.source {
            Some((item_index, pass)) => {
                let item = &plan.items[item_index];
                let title = if item.info.title.trim().is_empty() {
                    "Untitled"
                } else {
                    item.info.title.as_str()
                };
                entries.push(Draft {
                    start: span.start,
                    stop: span.stop,
                    kind: if item.live.is_some() {
                        EpgKind::Live
                    } else {
                        EpgKind::Programme
                    },
                    info: ProgrammeInfo {
                        title: title.to_owned(),
                        ..item.info.clone()
                    },
                    live_source: item.live.as_ref().map(|live| live.source_key.clone()),
                    item_id: plan.item_id(item_index, pass),
                    titles: vec![title],
                    blocks: item.blocks.as_deref().unwrap_or_default(),
                });
            }
            None => match entries.last_mut() {
                Some(last)
                    if span.stop - span.start < options.fold_gaps_under
                        && last.stop == span.start =>
                {
                    last.stop = span.stop;
                }
                _ => entries.push(Draft {
                    start: span.start,
                    stop: span.stop,
                    kind: EpgKind::Gap,
                    info: ProgrammeInfo::titled(options.gap_title.clone()),
                    live_source: None,
                    item_id: None,
                    titles: vec![options.gap_title.as_str()],
                    blocks: &[],
                }),
            },
        }
    }

    let entries = merge_same_titles(entries, options.min_programme);
    let merged: Vec<EpgProgramme> = merge_short_runs(entries, options)
        .into_iter()
        .map(Draft::finish)
        .collect();

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

/// An entry while short ones merge: what it is made of.
#[derive(Debug, Clone)]
struct Draft<'a> {
    start: Timestamp,
    stop: Timestamp,
    /// The kind all its programmes share, else [`EpgKind::Programme`].
    kind: EpgKind,
    /// What all its programmes share.
    info: ProgrammeInfo,
    live_source: Option<String>,
    item_id: Option<ScheduleItemId>,
    /// The titles of its programmes, in airing order, neighbours never repeated.
    titles: Vec<&'a str>,
    /// The blocks all its programmes belong to, outermost first.
    blocks: &'a [String],
}

impl<'a> Draft<'a> {
    fn duration(&self) -> Ticks {
        self.stop - self.start
    }

    fn single_title(&self) -> Option<&'a str> {
        match self.titles.as_slice() {
            [title] => Some(title),
            _ => None,
        }
    }

    /// Takes in `next`, which starts where this one stops.
    fn absorb(&mut self, next: Draft<'a>) {
        self.stop = next.stop;
        if self.kind != next.kind {
            self.kind = EpgKind::Programme;
        }
        self.info = shared_info(&self.info, &next.info);
        if self.live_source != next.live_source {
            self.live_source = None;
        }
        if self.item_id != next.item_id {
            self.item_id = None;
        }
        for title in next.titles {
            if self.titles.last() != Some(&title) {
                self.titles.push(title);
            }
        }
        let shared = self
            .blocks
            .iter()
            .zip(next.blocks)
            .take_while(|(a, b)| a == b)
            .count();
        self.blocks = &self.blocks[..shared];
    }

    /// Splits off its end from the last whole second at least `wanted` before its stop, if at
    /// least `keep` is left.
    fn split_off_end(&mut self, wanted: Ticks, keep: Ticks) -> Option<Draft<'a>> {
        let second = Ticks::from_secs(1).0;
        let cut = (self.stop - wanted).0;
        let cut = Timestamp(cut - cut.rem_euclid(second));
        if cut - self.start < keep || cut >= self.stop {
            return None;
        }
        let end = Draft {
            start: cut,
            ..self.clone()
        };
        self.stop = cut;
        Some(end)
    }

    /// Splits off its start up to the first whole second at least `wanted` after its start, if
    /// at least `keep` is left.
    fn split_off_start(&mut self, wanted: Ticks, keep: Ticks) -> Option<Draft<'a>> {
        let second = Ticks::from_secs(1).0;
        let cut = (self.start + wanted).0;
        let cut = Timestamp(cut + (second - cut.rem_euclid(second)) % second);
        if self.stop - cut < keep || cut <= self.start {
            return None;
        }
        let beginning = Draft {
            stop: cut,
            ..self.clone()
        };
        self.start = cut;
        Some(beginning)
    }

    /// The entry: a medley when its programmes have different titles.
    fn finish(self) -> EpgProgramme {
        if self.single_title().is_some() {
            return EpgProgramme {
                start: self.start,
                stop: self.stop,
                kind: self.kind,
                info: self.info,
                live_source: self.live_source,
                item_id: self.item_id,
                part: None,
            };
        }
        let mut seen = HashSet::new();
        let titles: Vec<&str> = self
            .titles
            .iter()
            .copied()
            .filter(|title| seen.insert(*title))
            .collect();
        EpgProgramme {
            start: self.start,
            stop: self.stop,
            kind: EpgKind::Medley,
            info: ProgrammeInfo {
                title: self.blocks.last().cloned().unwrap_or_default(),
                description: Some(list_titles(&titles)),
                genres: self.info.genres,
                rating: self.info.rating,
                ..ProgrammeInfo::default()
            },
            live_source: None,
            item_id: None,
            part: None,
        }
    }
}

/// What two programmes' metadata share: each field where they agree, the genres both have.
fn shared_info(a: &ProgrammeInfo, b: &ProgrammeInfo) -> ProgrammeInfo {
    fn same<T: Clone + PartialEq>(a: &Option<T>, b: &Option<T>) -> Option<T> {
        if a == b { a.clone() } else { None }
    }
    ProgrammeInfo {
        title: if a.title == b.title {
            a.title.clone()
        } else {
            String::new()
        },
        episode_title: same(&a.episode_title, &b.episode_title),
        season: same(&a.season, &b.season),
        episode: same(&a.episode, &b.episode),
        description: same(&a.description, &b.description),
        genres: a
            .genres
            .iter()
            .filter(|genre| b.genres.contains(genre))
            .cloned()
            .collect(),
        rating: same(&a.rating, &b.rating),
        artwork_url: same(&a.artwork_url, &b.artwork_url),
    }
}

/// "A", "A and B", "A, B, C and D", "A, B, C and 5 more".
fn list_titles(titles: &[&str]) -> String {
    match titles {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [first @ .., last] if titles.len() <= 4 => format!("{} and {last}", first.join(", ")),
        _ => format!("{} and {} more", titles[..3].join(", "), titles.len() - 3),
    }
}

/// A short entry merges with the neighbours of the same title.
fn merge_same_titles(drafts: Vec<Draft<'_>>, min_programme: Ticks) -> Vec<Draft<'_>> {
    let mut merged: Vec<Draft<'_>> = Vec::with_capacity(drafts.len());
    for draft in drafts {
        match merged.last_mut() {
            Some(last)
                if last.stop == draft.start
                    && (last.duration() < min_programme || draft.duration() < min_programme)
                    && last.single_title().is_some()
                    && last.single_title() == draft.single_title() =>
            {
                last.absorb(draft);
            }
            _ => merged.push(draft),
        }
    }
    merged
}

/// Short entries one after another become medleys; too short together, they take the time they
/// lack from the entry before or after (see the module doc).
fn merge_short_runs<'a>(drafts: Vec<Draft<'a>>, options: &EpgOptions) -> Vec<Draft<'a>> {
    let min = options.min_programme;
    let mut merged: Vec<Draft<'a>> = Vec::with_capacity(drafts.len());
    let mut drafts = drafts.into_iter().peekable();
    while let Some(draft) = drafts.next() {
        if draft.duration() >= min {
            merged.push(draft);
            continue;
        }
        let mut run = vec![draft];
        while let Some(next) = drafts.next_if(|next| {
            next.duration() < min && run.last().is_some_and(|last| last.stop == next.start)
        }) {
            run.push(next);
        }
        let (run_start, run_stop) = (run[0].start, run[run.len() - 1].stop);
        let lacking = min - (run_stop - run_start);
        if lacking <= Ticks::ZERO {
            merged.extend(medleys(run, options));
            continue;
        }
        if let Some(before) = merged.last_mut().filter(|last| last.stop == run_start) {
            // A medley cannot lose its end: which programmes it holds there is not known.
            let end = match before.single_title() {
                Some(_) => before.split_off_end(lacking, min),
                None => None,
            };
            match end {
                Some(end) => run.insert(0, end),
                None => run.insert(0, merged.pop().expect("the entry before")),
            }
        } else if let Some(after) = drafts.peek_mut().filter(|next| next.start == run_stop) {
            let beginning = after.split_off_start(lacking, min);
            let beginning = beginning.unwrap_or_else(|| drafts.next().expect("the entry after"));
            run.push(beginning);
        } else {
            // A plan shorter than the minimum: listed as it airs.
            merged.extend(run);
            continue;
        }
        merged.extend(medleys(run, options));
    }
    merged
}

/// Contiguous entries, together at least `min_programme` long, as medleys cut at the first
/// entry boundary at or after each `medley_slot` (none shorter than `min_programme`).
fn medleys<'a>(run: Vec<Draft<'a>>, options: &EpgOptions) -> Vec<Draft<'a>> {
    let slot = options.medley_slot.0;
    let mut done: Vec<Draft<'a>> = Vec::new();
    let mut current: Option<Draft<'a>> = None;
    for draft in run {
        let Some(mut medley) = current.take() else {
            current = Some(draft);
            continue;
        };
        let next_slot = if slot > 0 {
            Timestamp((medley.start.0.div_euclid(slot) + 1) * slot)
        } else {
            Timestamp(i64::MAX)
        };
        if draft.start >= next_slot && medley.duration() >= options.min_programme {
            done.push(medley);
            current = Some(draft);
        } else {
            medley.absorb(draft);
            current = Some(medley);
        }
    }
    if let Some(last) = current {
        match done.last_mut() {
            Some(before) if last.duration() < options.min_programme => before.absorb(last),
            _ => done.push(last),
        }
    }
    done
}

#[cfg(test)]
#[allow(clippy::type_complexity, reason = "table tests spell out their rows")]
mod tests;
