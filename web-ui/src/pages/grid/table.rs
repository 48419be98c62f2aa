//! The grid page's table of a day's items, the view that needs no JavaScript: each item's
//! local start and end, length, title and episode, hard start and breaks.

use chrono_tz::Tz;
use onair_control::grid::InfoDoc;
use onair_control::schedule::placed::PlacedItem;
use onair_domain::{Ticks, Timestamp};

use super::DaySpan;

/// An item of a day's table.
pub(super) struct Row {
    pub(super) id: i64,
    pub(super) title: String,
    /// Its episode ("S2 E4 · Where the river meets the sea"), when its metadata names one.
    pub(super) episode: Option<String>,
    pub(super) start: String,
    pub(super) end: String,
    /// How much of its asset airs ("25:00"), or "whole asset".
    pub(super) length: String,
    pub(super) hard_start: bool,
    pub(super) breaks: String,
    /// Started the day before.
    pub(super) continued: bool,
}

pub(super) fn row(zone: Tz, day: &DaySpan, placed: &PlacedItem, info: Option<&InfoDoc>) -> Row {
    let breaks: Vec<String> = placed
        .breaks
        .iter()
        .map(|ad_break| {
            format!(
                "{} at {}",
                minutes_seconds(ad_break.duration),
                minutes_seconds(ad_break.offset)
            )
        })
        .collect();
    let date_of = |at: Timestamp| at.to_datetime().with_timezone(&zone).date_naive();
    let end = local_text(zone, placed.end);
    Row {
        id: placed.item.id.0,
        title: placed.item.title.clone(),
        episode: info.and_then(episode_line),
        start: local_text(zone, placed.item.start),
        end: if date_of(placed.end) == day.date || placed.end == placed.item.start {
            end
        } else {
            format!("{end} ({})", date_of(placed.end))
        },
        length: placed
            .item
            .length
            .map_or_else(|| "whole asset".to_owned(), length_text),
        hard_start: placed.item.hard_start,
        breaks: breaks.join(", "),
        continued: placed.item.start < day.midnight,
    }
}

/// The episode an item's metadata names, as a line under its title: "S2 E4 · Where the river
/// meets the sea", "E4", "Pilot"; `None` when it names none.
pub(super) fn episode_line(info: &InfoDoc) -> Option<String> {
    let number = match (info.season, info.episode) {
        (Some(season), Some(episode)) => Some(format!("S{season} E{episode}")),
        (Some(season), None) => Some(format!("S{season}")),
        (None, Some(episode)) => Some(format!("E{episode}")),
        (None, None) => None,
    };
    let episode_title = info
        .episode_title
        .as_deref()
        .map(str::trim)
        .filter(|text| !text.is_empty());
    match (number, episode_title) {
        (Some(number), Some(title)) => Some(format!("{number} · {title}")),
        (Some(number), None) => Some(number),
        (None, Some(title)) => Some(title.to_owned()),
        (None, None) => None,
    }
}

/// An item's length as minutes:seconds (hours:minutes:seconds from an hour), with its
/// milliseconds when it has some.
pub(super) fn length_text(length: Ticks) -> String {
    let millis = length.as_millis() % 1000;
    let text = minutes_seconds(length);
    if millis == 0 {
        text
    } else {
        format!("{text}.{millis:03}")
    }
}

/// The local wall-clock time of `at`, with its offset (which tells the two 02:30 of a
/// 25-hour day apart).
pub(super) fn local_text(zone: Tz, at: Timestamp) -> String {
    at.to_datetime()
        .with_timezone(&zone)
        .format("%H:%M:%S %:z")
        .to_string()
}

pub(super) fn minutes_seconds(duration: Ticks) -> String {
    let secs = duration.as_millis() / 1000;
    if secs >= 3600 {
        format!("{}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60)
    } else {
        format!("{}:{:02}", secs / 60, secs % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_length_shows_as_minutes_and_seconds_with_its_milliseconds_when_it_has_some() {
        assert_eq!(length_text(Ticks::from_millis(1_500_000)), "25:00");
        assert_eq!(length_text(Ticks::from_millis(91_500)), "1:31.500");
        assert_eq!(length_text(Ticks::from_millis(3_723_000)), "1:02:03");
    }

    #[test]
    fn the_episode_line_names_season_episode_and_episode_title_that_are_there() {
        let info = |season, episode, episode_title: Option<&str>| InfoDoc {
            season,
            episode,
            episode_title: episode_title.map(str::to_owned),
            description: Some("not on the line".into()),
            ..InfoDoc::titled("Rivers")
        };
        let cases = [
            (
                info(Some(2), Some(4), Some("Where the river meets the sea")),
                Some("S2 E4 · Where the river meets the sea"),
            ),
            (info(Some(2), None, None), Some("S2")),
            (info(None, Some(4), Some("Pilot")), Some("E4 · Pilot")),
            (info(None, None, Some("Pilot")), Some("Pilot")),
            (info(None, None, Some("  ")), None),
            (info(None, None, None), None),
        ];
        for (info, expected) in cases {
            assert_eq!(episode_line(&info).as_deref(), expected, "{info:?}");
        }
    }
}
