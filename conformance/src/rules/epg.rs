//! The EPG: its horizon, programme lengths, and no gaps or overlaps.

use onair_domain::{TICKS_PER_SECOND, Ticks};

use super::{Issue, Limits, Verdict};
use crate::hls::seconds;
use crate::observation::{EpgEntry, EpgObservation};
use crate::observed::Observed;
use crate::report::WhereSeen;

fn epg<'a>(observed: &'a Observed<'_>) -> Result<&'a EpgObservation, String> {
    observed
        .observation
        .epg
        .as_ref()
        .ok_or_else(|| "no EPG was observed".to_owned())
}

fn named(entry: &EpgEntry) -> WhereSeen {
    WhereSeen::programme(format!("{:?} at {}", entry.title, entry.start))
}

fn length_text(length: Ticks) -> String {
    let minutes = length.0 / (60 * TICKS_PER_SECOND);
    if minutes >= 60 {
        format!("{} h {} min", minutes / 60, minutes % 60)
    } else if minutes > 0 {
        format!("{minutes} min")
    } else {
        format!("{} s", seconds(length))
    }
}

pub(crate) fn horizon(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let epg = epg(observed)?;
    let wanted = Ticks::from_secs(limits.epg_horizon_days * 86_400);
    let until = epg.from + wanted;
    let reaches = epg.programmes.iter().map(|entry| entry.end).max();
    let starts = epg.programmes.iter().map(|entry| entry.start).min();
    let mut issues = Vec::new();
    match (starts, reaches) {
        (Some(starts), Some(reaches)) => {
            if starts > epg.from {
                issues.push(Issue::new(
                    WhereSeen::other(format!("the {} EPG", epg.format)),
                    format!("the guide starts at {starts}, after {} (now).", epg.from),
                    "List the programme airing now and every one after it.",
                ));
            }
            if reaches < until {
                issues.push(Issue::new(
                    WhereSeen::other(format!("the {} EPG", epg.format)),
                    format!(
                        "the guide ends at {reaches}, {} short of {} days ahead.",
                        length_text(until - reaches),
                        limits.epg_horizon_days
                    ),
                    format!(
                        "Schedule (or let the grid plan) at least {} days ahead.",
                        limits.epg_horizon_days
                    ),
                ));
            }
        }
        _ => issues.push(Issue::new(
            WhereSeen::other(format!("the {} EPG", epg.format)),
            "the guide lists no programme.",
            "Schedule the channel so its guide has programmes.",
        )),
    }
    Ok(issues)
}

pub(crate) fn programme_length(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let epg = epg(observed)?;
    if epg.programmes.is_empty() {
        return Err("the EPG lists no programme".to_owned());
    }
    let (shortest, longest) = limits.programme_length;
    let mut issues = Vec::new();
    for entry in &epg.programmes {
        let length = entry.end - entry.start;
        if length < shortest || length > longest {
            issues.push(Issue::new(
                named(entry),
                format!(
                    "lasts {}: programmes must last {} to {}.",
                    length_text(length),
                    length_text(shortest),
                    length_text(longest)
                ),
                "Merge short programmes into their neighbours and split long ones into parts (the EPG's min_programme/max_programme).",
            ));
        }
    }
    Ok(issues)
}

pub(crate) fn continuous(observed: &Observed<'_>, _: &Limits) -> Verdict {
    let epg = epg(observed)?;
    if epg.programmes.len() < 2 {
        return Err("the EPG lists fewer than two programmes".to_owned());
    }
    let mut sorted: Vec<&EpgEntry> = epg.programmes.iter().collect();
    sorted.sort_by_key(|entry| (entry.start, entry.end));
    let mut issues = Vec::new();
    for pair in sorted.windows(2) {
        let (before, after) = (pair[0], pair[1]);
        if after.start > before.end {
            issues.push(Issue::new(
                named(after),
                format!(
                    "a gap of {} after {:?}, which ends at {}.",
                    length_text(after.start - before.end),
                    before.title,
                    before.end
                ),
                "Fill the gap in the schedule (or let the guide fold filler into the programme before it).",
            ));
        } else if after.start < before.end {
            issues.push(Issue::new(
                named(after),
                format!(
                    "overlaps {:?} by {}, which ends at {}.",
                    before.title,
                    length_text(before.end - after.start),
                    before.end
                ),
                "Make each programme end where the next one starts.",
            ));
        }
        if after.end <= after.start {
            issues.push(Issue::new(
                named(after),
                "ends before it starts.",
                "Give every programme a stop after its start.",
            ));
        }
    }
    Ok(issues)
}
