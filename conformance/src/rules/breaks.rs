//! Ad breaks as their cue tags mark them: every CUE-OUT closed, ElapsedTime within Duration,
//! Duration never changing, the break's length and segments, CUE-OUT present where a partner
//! reads it, SCTE-35 inside a break's first TS segment, and ad minutes per clock hour.

use std::collections::BTreeMap;

use onair_domain::{TICKS_PER_SECOND, Ticks, Timestamp};

use super::segments::dedup;
use super::{Issue, Limits, Verdict};
use crate::hls::{CueTag, seconds};
use crate::observed::{Break, BreakEnd, Observed};
use crate::report::WhereSeen;

fn no_cue_out(observed: &Observed<'_>) -> Option<String> {
    if observed.has_cue_out_tags() {
        None
    } else if observed.has_dateranges() {
        Some(
            "the playlists mark breaks with EXT-X-DATERANGE only: no EXT-X-CUE-OUT to check"
                .to_owned(),
        )
    } else {
        Some("no break was marked in the observed playlists".to_owned())
    }
}

fn declared_text(one: &Break) -> String {
    one.declared.map_or_else(
        || "no duration".to_owned(),
        |declared| format!("{} s", seconds(declared)),
    )
}

pub(crate) fn cue_out_closed(observed: &Observed<'_>, _: &Limits) -> Verdict {
    if let Some(reason) = no_cue_out(observed) {
        return Err(reason);
    }
    let mut issues = Vec::new();
    let mut judged = 0;
    for (rendition, one) in observed.breaks() {
        let at = WhereSeen::sequence(&rendition.uri, one.out_sequence);
        match one.end {
            BreakEnd::CueIn(_) => judged += 1,
            BreakEnd::Unseen => {}
            BreakEnd::NeverClosed(sequence) => {
                judged += 1;
                issues.push(Issue::new(
                    at,
                    format!(
                        "CUE-OUT ({}) never closed: {} s aired and seq {sequence} follows without EXT-X-CUE-IN.",
                        declared_text(one),
                        seconds(one.aired())
                    ),
                    "Write EXT-X-CUE-IN before the first segment after the break's declared duration.",
                ));
            }
            BreakEnd::AnotherCueOut(sequence) => {
                judged += 1;
                issues.push(Issue::new(
                    at,
                    format!(
                        "CUE-OUT ({}) never closed: another CUE-OUT at seq {sequence} comes before any EXT-X-CUE-IN.",
                        declared_text(one)
                    ),
                    "Close every break with EXT-X-CUE-IN before the next CUE-OUT.",
                ));
            }
        }
    }
    if judged == 0 {
        return Err("no break was seen to its end: observe longer, or at a break".to_owned());
    }
    Ok(issues)
}

pub(crate) fn elapsed_within_duration(observed: &Observed<'_>, _: &Limits) -> Verdict {
    if let Some(reason) = no_cue_out(observed) {
        return Err(reason);
    }
    let mut issues = Vec::new();
    let mut any = false;
    for rendition in &observed.renditions {
        for (sequence, seen) in &rendition.segments {
            for (_, cues) in &seen.listings {
                for cue in cues {
                    let CueTag::Cont { elapsed, duration } = cue else {
                        continue;
                    };
                    any = true;
                    match (elapsed, duration) {
                        (Some(elapsed), Some(duration)) if elapsed > duration => issues.push(Issue::new(
                            WhereSeen::sequence(&rendition.uri, *sequence),
                            format!(
                                "ElapsedTime {} s is past Duration {} s.",
                                seconds(*elapsed),
                                seconds(*duration)
                            ),
                            "Close the break with EXT-X-CUE-IN once its duration has aired; never list a CONT past it.",
                        )),
                        (Some(_), Some(_)) => {}
                        _ => issues.push(Issue::new(
                            WhereSeen::sequence(&rendition.uri, *sequence),
                            "EXT-X-CUE-OUT-CONT without ElapsedTime or Duration.",
                            "Write EXT-X-CUE-OUT-CONT:ElapsedTime=e,Duration=d on every segment of the break after the first.",
                        )),
                    }
                }
            }
        }
    }
    if !any {
        return Err("no EXT-X-CUE-OUT-CONT in the observed playlists".to_owned());
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn duration_fixed(observed: &Observed<'_>, _: &Limits) -> Verdict {
    if let Some(reason) = no_cue_out(observed) {
        return Err(reason);
    }
    let mut issues = Vec::new();
    let fix = "Keep the Duration of EXT-X-CUE-OUT and every EXT-X-CUE-OUT-CONT of a break the one declared at CUE-OUT, in every playlist that lists it.";
    for rendition in &observed.renditions {
        // The break's duration as first declared, and where.
        let mut current: Option<Ticks> = None;
        for (sequence, seen) in &rendition.segments {
            let first = rendition.cues_before(*sequence);
            if first.iter().any(|cue| matches!(cue, CueTag::In)) {
                current = None;
            }
            if let Some(Some(declared)) = first.iter().find_map(|cue| match cue {
                CueTag::Out { duration } => Some(*duration),
                _ => None,
            }) {
                current = Some(declared);
            }
            for (_, cues) in &seen.listings {
                for cue in cues {
                    let said = match cue {
                        CueTag::Out {
                            duration: Some(duration),
                        }
                        | CueTag::Cont {
                            duration: Some(duration),
                            ..
                        } => *duration,
                        _ => continue,
                    };
                    match current {
                        None => current = Some(said),
                        Some(declared) if declared != said => issues.push(Issue::new(
                            WhereSeen::sequence(&rendition.uri, *sequence),
                            format!(
                                "Duration changed {} → {} s.",
                                seconds(declared),
                                seconds(said)
                            ),
                            fix,
                        )),
                        Some(_) => {}
                    }
                }
            }
        }
    }
    dedup(&mut issues);
    Ok(issues)
}

/// Breaks seen from CUE-OUT to CUE-IN, or why there are none to judge.
fn whole_breaks<'a>(observed: &'a Observed<'_>) -> Result<Vec<(&'a str, &'a Break)>, String> {
    if let Some(reason) = no_cue_out(observed) {
        return Err(reason);
    }
    let whole: Vec<_> = observed
        .breaks()
        .filter(|(_, one)| matches!(one.end, BreakEnd::CueIn(_)))
        .map(|(rendition, one)| (rendition.uri.as_str(), one))
        .collect();
    if whole.is_empty() {
        return Err("no break was seen from CUE-OUT to CUE-IN".to_owned());
    }
    Ok(whole)
}

pub(crate) fn break_length(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let whole = whole_breaks(observed)?;
    let (shortest, longest) = limits.break_seconds;
    let mut issues = Vec::new();
    for (uri, one) in whole {
        let length = one.declared.unwrap_or_else(|| one.aired());
        if length < Ticks::from_secs(shortest) || length > Ticks::from_secs(longest) {
            issues.push(Issue::new(
                WhereSeen::sequence(uri, one.out_sequence),
                format!("a {} s break: breaks must last {shortest} to {longest} s.", seconds(length)),
                format!("Schedule breaks of {shortest} to {longest} s (split longer ones, merge shorter ones)."),
            ));
        }
    }
    Ok(issues)
}

pub(crate) fn break_segments(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let whole = whole_breaks(observed)?;
    let minimum = limits.min_break_segments;
    let mut issues = Vec::new();
    for (uri, one) in whole {
        if one.segments.len() < minimum {
            issues.push(Issue::new(
                WhereSeen::sequence(uri, one.out_sequence),
                format!(
                    "{} segment(s) between CUE-OUT and CUE-IN, fewer than {minimum}.",
                    one.segments.len()
                ),
                format!("Make breaks at least {minimum} segments long."),
            ));
        }
    }
    Ok(issues)
}

pub(crate) fn cue_out_present(observed: &Observed<'_>, _: &Limits) -> Verdict {
    if observed.has_cue_out_tags() {
        return Ok(Vec::new());
    }
    if !observed.has_dateranges() {
        return Err("no break was marked in the observed playlists".to_owned());
    }
    Ok(vec![Issue::new(
        WhereSeen::other("every media playlist"),
        "breaks are marked with EXT-X-DATERANGE only, and the partner reads EXT-X-CUE-OUT/CUE-IN.",
        "Give the partner the cue-out (or both) dialect: onair partner edit NAME --cue-dialect cue-out.",
    )])
}

/// Each break's first segment, where it was probed as MPEG-TS, carries the splice in the
/// stream: a PMT stream of type 0x86 and a `splice_info_section` on it (Pluto TV wants SCTE-35
/// both in the playlist and in the TS).
pub(crate) fn scte35_in_segments(observed: &Observed<'_>, _: &Limits) -> Verdict {
    if let Some(reason) = no_cue_out(observed) {
        return Err(reason);
    }
    let mut issues = Vec::new();
    let mut judged = 0;
    for (rendition, one) in observed.breaks() {
        let Some(first) = rendition.segments.get(&one.out_sequence) else {
            continue;
        };
        let uri = &first.segment.uri;
        let probed = observed.observation.probes.iter().filter(|probe| {
            probe.playlist == rendition.uri && &probe.segment == uri && probe.scte35.is_some()
        });
        for probe in probed {
            judged += 1;
            let carried = probe.scte35.as_ref().expect("filtered above");
            let missing = if carried.pids.is_empty() {
                "its PMT declares no SCTE-35 stream (stream_type 0x86)".to_owned()
            } else if carried.commands.is_empty() {
                format!(
                    "its PMT declares SCTE-35 on PID {:#06x} but no splice_info_section is there",
                    carried.pids[0]
                )
            } else {
                continue;
            };
            let mut at = WhereSeen::sequence(&rendition.uri, one.out_sequence);
            at.segment = Some(uri.clone());
            issues.push(Issue::new(
                at,
                format!("the break's first segment carries no SCTE-35 in the stream: {missing}."),
                "Carry the break's splice_info_section in its first TS segment: a PMT stream of type 0x86 (registration CUEI) and the section on its PID before the first video frame.",
            ));
        }
    }
    if judged == 0 {
        return Err("no MPEG-TS segment that opens a break was probed".to_owned());
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn ad_minutes_per_hour(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    if let Some(reason) = no_cue_out(observed) {
        return Err(reason);
    }
    // The variants are aligned: the first one's breaks are the channel's.
    let Some(rendition) = observed.renditions.first() else {
        return Err(super::no_playlists());
    };
    let hour = Ticks::from_secs(3600);
    let timed = |sequence: &u64| rendition.segments.get(sequence).and_then(|seen| seen.start);
    let (Some(first), Some(last)) = (
        rendition.segments.keys().next().and_then(timed),
        rendition
            .segments
            .values()
            .next_back()
            .and_then(|seen| Some(seen.start? + seen.segment.duration)),
    ) else {
        return Err(
            "the playlists carry no EXT-X-PROGRAM-DATE-TIME to place breaks in clock hours"
                .to_owned(),
        );
    };
    let mut per_hour: BTreeMap<i64, Ticks> = BTreeMap::new();
    for one in &rendition.breaks {
        let Some(start) = one.start else { continue };
        let length = match one.end {
            BreakEnd::CueIn(_) | BreakEnd::NeverClosed(_) | BreakEnd::AnotherCueOut(_) => {
                one.aired()
            }
            BreakEnd::Unseen => one.declared.unwrap_or_else(|| one.aired()),
        };
        let mut at = start;
        let end = start + length;
        while at < end {
            let index = at.0.div_euclid(hour.0);
            let hour_end = Timestamp((index + 1) * hour.0);
            let piece = if end < hour_end {
                end - at
            } else {
                hour_end - at
            };
            *per_hour.entry(index).or_default() += piece;
            at = at + piece;
        }
    }
    let cap = Ticks::from_secs(limits.ad_minutes_per_hour * 60);
    let mut issues = Vec::new();
    let mut whole_hours = 0;
    let first_hour = first.0.div_euclid(hour.0);
    let last_hour = (last.0 - 1).div_euclid(hour.0);
    for index in first_hour..=last_hour {
        let begins = Timestamp(index * hour.0);
        let whole = first <= begins && begins + hour <= last;
        whole_hours += usize::from(whole);
        let breaks = per_hour.get(&index).copied().unwrap_or_default();
        if breaks > cap {
            issues.push(Issue::new(
                WhereSeen::other(format!("the hour from {begins}{}", if whole { "" } else { " (partly observed)" })),
                format!(
                    "{} min of breaks in the hour, more than {} min.",
                    (breaks.0 as f64 / (60 * TICKS_PER_SECOND) as f64 * 10.0).round() / 10.0,
                    limits.ad_minutes_per_hour
                ),
                format!(
                    "Schedule at most {} minutes of breaks in any clock hour (fewer or shorter breaks).",
                    limits.ad_minutes_per_hour
                ),
            ));
        }
    }
    if whole_hours == 0 && issues.is_empty() {
        return Err(format!(
            "only {} min observed, not a whole clock hour",
            (last - first).0 / (60 * TICKS_PER_SECOND)
        ));
    }
    Ok(issues)
}
