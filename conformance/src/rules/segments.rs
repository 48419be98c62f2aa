//! Playlist structure: syntax, target duration, segments that never change once listed,
//! discontinuity numbering, constant durations, window size, version, packaging, alignment
//! across variants and the variants' attributes.

use std::collections::HashMap;

use onair_domain::{TICKS_PER_SECOND, Ticks};

use super::{Issue, Limits, Verdict, no_playlists};
use crate::hls::seconds;
use crate::observed::Observed;
use crate::report::WhereSeen;

pub(crate) fn playlist_syntax(observed: &Observed<'_>, _: &Limits) -> Verdict {
    if observed.snapshots.is_empty() {
        return Err("no playlist was observed".to_owned());
    }
    let mut issues = Vec::new();
    let fix = "Write the playlist as RFC 8216 asks: #EXTM3U first, EXT-X-TARGETDURATION, EXTINF before every URI.";
    for (_, uri, playlist) in observed.multivariants() {
        for problem in &playlist.problems {
            issues.push(Issue::new(WhereSeen::playlist(uri), problem.clone(), fix));
        }
        if playlist.variants.is_empty() {
            issues.push(Issue::new(
                WhereSeen::playlist(uri),
                "the multivariant playlist lists no variant.",
                fix,
            ));
        }
        for variant in &playlist.variants {
            if variant.bandwidth.is_none() {
                issues.push(Issue::new(
                    WhereSeen::playlist(uri),
                    format!(
                        "the variant {} has no BANDWIDTH, which RFC 8216 requires.",
                        variant.uri
                    ),
                    "Give every EXT-X-STREAM-INF a BANDWIDTH (the peak bit rate).",
                ));
            }
        }
    }
    for (_, uri, playlist) in observed.media_playlists() {
        for problem in &playlist.problems {
            issues.push(Issue::new(WhereSeen::playlist(uri), problem.clone(), fix));
        }
        if playlist.target_duration.is_none() {
            issues.push(Issue::new(
                WhereSeen::playlist(uri),
                "no EXT-X-TARGETDURATION.",
                fix,
            ));
        }
        if playlist.segments.is_empty() {
            issues.push(Issue::new(
                WhereSeen::playlist(uri),
                "the playlist lists no segment.",
                fix,
            ));
        }
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn target_duration(observed: &Observed<'_>, _: &Limits) -> Verdict {
    let mut issues = Vec::new();
    let mut first_target: HashMap<&str, i64> = HashMap::new();
    let mut any = false;
    for (_, uri, playlist) in observed.media_playlists() {
        let Some(target) = playlist.target_duration else {
            continue;
        };
        any = true;
        let first = *first_target.entry(uri).or_insert(target);
        if first != target {
            issues.push(Issue::new(
                WhereSeen::sequence(uri, playlist.sequence_of(0)),
                format!("EXT-X-TARGETDURATION changed {first} → {target} s."),
                "Keep the target duration constant for the life of the stream: the longest segment the channel can air, rounded up.",
            ));
            first_target.insert(uri, target);
        }
        for (index, segment) in playlist.segments.iter().enumerate() {
            // RFC 8216 4.3.3.1: each EXTINF rounded to the nearest integer is ≤ the target.
            let rounded = (segment.duration.0 + TICKS_PER_SECOND / 2) / TICKS_PER_SECOND;
            if rounded > target {
                issues.push(Issue::new(
                    WhereSeen::sequence(uri, playlist.sequence_of(index)),
                    format!(
                        "a {} s segment is longer than EXT-X-TARGETDURATION {target} s.",
                        seconds(segment.duration)
                    ),
                    "Raise the target duration to the longest segment rounded, or cut shorter segments.",
                ));
            }
        }
    }
    if !any {
        return Err(no_playlists());
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn segments_stable(observed: &Observed<'_>, _: &Limits) -> Verdict {
    if observed.renditions.is_empty() {
        return Err(no_playlists());
    }
    let mut issues = Vec::new();
    let mut last_sequence: HashMap<&str, u64> = HashMap::new();
    for (_, uri, playlist) in observed.media_playlists() {
        let Some(sequence) = playlist.media_sequence else {
            continue;
        };
        if let Some(before) = last_sequence.insert(uri, sequence)
            && sequence < before
        {
            issues.push(Issue::new(
                WhereSeen::sequence(uri, sequence),
                format!("EXT-X-MEDIA-SEQUENCE went back from {before} to {sequence}."),
                "Number segments from the timeline, never from a counter that restarts.",
            ));
        }
    }
    for (_, uri, playlist) in observed.media_playlists() {
        let Some(rendition) = observed
            .renditions
            .iter()
            .find(|rendition| rendition.uri == uri)
        else {
            continue;
        };
        for (index, segment) in playlist.segments.iter().enumerate() {
            let sequence = playlist.sequence_of(index);
            let first = &rendition.segments[&sequence].segment;
            if first.uri != segment.uri || first.duration != segment.duration {
                issues.push(Issue::new(
                    WhereSeen::sequence(uri, sequence),
                    format!(
                        "the segment changed between playlists: {} ({} s) then {} ({} s).",
                        first.uri,
                        seconds(first.duration),
                        segment.uri,
                        seconds(segment.duration)
                    ),
                    "Once listed, a sequence number must always name the same segment.",
                ));
            }
        }
    }
    dedup(&mut issues);
    Ok(issues)
}

/// Each segment's discontinuity number must be the same in every playlist that lists it: the
/// playlist's EXT-X-DISCONTINUITY-SEQUENCE plus the EXT-X-DISCONTINUITY tags after its first
/// segment up to it (RFC 8216 6.2.2: the sequence is the first segment's number, so a tag that
/// leaves the window, or a first segment's tag dropped, moves into the count).
pub(crate) fn discontinuity_sequence(observed: &Observed<'_>, _: &Limits) -> Verdict {
    if observed.renditions.is_empty() {
        return Err(no_playlists());
    }
    let mut issues = Vec::new();
    let mut compared = 0;
    let mut numbers: HashMap<(&str, u64), u64> = HashMap::new();
    for (_, uri, playlist) in observed.media_playlists() {
        let mut number = playlist.discontinuity_sequence.unwrap_or(0);
        for (index, segment) in playlist.segments.iter().enumerate() {
            if index > 0 && segment.discontinuity {
                number += 1;
            }
            let sequence = playlist.sequence_of(index);
            match numbers.get(&(uri, sequence)) {
                None => {
                    numbers.insert((uri, sequence), number);
                }
                Some(before) => {
                    compared += 1;
                    if *before != number {
                        issues.push(Issue::new(
                            WhereSeen::sequence(uri, sequence),
                            format!(
                                "EXT-X-DISCONTINUITY-SEQUENCE {} puts this segment in discontinuity {number}; an earlier playlist put it in {before}.",
                                playlist.discontinuity_sequence.unwrap_or(0)
                            ),
                            "Count in EXT-X-DISCONTINUITY-SEQUENCE every EXT-X-DISCONTINUITY that left the window, and the first segment's own when it is dropped (players stall on a wrong count).",
                        ));
                        break;
                    }
                }
            }
        }
    }
    if compared == 0 {
        return Err("no segment was listed by two playlists of one rendition".to_owned());
    }
    Ok(issues)
}

/// The duration most segments have, to 10 ms.
fn most_common(durations: impl Iterator<Item = Ticks>) -> Option<Ticks> {
    let mut counts: HashMap<i64, usize> = HashMap::new();
    for duration in durations {
        *counts.entry((duration.0 + 450) / 900).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|(centis, count)| (*count, -*centis))
        .map(|(centis, _)| Ticks(centis * 900))
}

pub(crate) fn duration_constant(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    if observed
        .renditions
        .iter()
        .all(|rendition| rendition.segments.is_empty())
    {
        return Err(no_playlists());
    }
    let mut issues = Vec::new();
    for rendition in &observed.renditions {
        let Some(expected) = limits.segment_duration.or_else(|| {
            most_common(
                rendition
                    .segments
                    .values()
                    .map(|seen| seen.segment.duration),
            )
        }) else {
            continue;
        };
        let wrong: Vec<(u64, Ticks)> = rendition
            .segments
            .iter()
            .map(|(sequence, seen)| (*sequence, seen.segment.duration))
            .filter(|(_, duration)| (duration.0 - expected.0).abs() > limits.duration_tolerance.0)
            .collect();
        let whose = if limits.segment_duration.is_some() {
            "the profile's"
        } else {
            "most segments'"
        };
        // One finding per wrong duration, at its first segment: a whole ladder cut at the
        // wrong length is one fault, not thousands.
        let mut first_of: Vec<(Ticks, u64, usize)> = Vec::new();
        for (sequence, duration) in &wrong {
            let rounded = Ticks((duration.0 + 450) / 900 * 900);
            match first_of.iter_mut().find(|(known, _, _)| *known == rounded) {
                Some((_, _, count)) => *count += 1,
                None => first_of.push((rounded, *sequence, 1)),
            }
        }
        for (duration, sequence, count) in first_of {
            let like_it = if count > 1 {
                format!(" ({count} of {} s)", seconds(duration))
            } else {
                String::new()
            };
            issues.push(Issue::new(
                WhereSeen::sequence(&rendition.uri, sequence),
                format!(
                    "a {} s segment where every segment should be {} s ({whose}); {} of {} segments differ{like_it}.",
                    seconds(duration),
                    seconds(expected),
                    wrong.len(),
                    rendition.segments.len()
                ),
                format!(
                    "Cut every segment to {} s: a ladder with that segment duration, programmes and breaks in whole segments.",
                    seconds(expected)
                ),
            ));
        }
    }
    Ok(issues)
}

pub(crate) fn window_size(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let Some(minimum) = limits.min_window_segments else {
        return Err("the profile sets no window size".to_owned());
    };
    let mut issues = Vec::new();
    let mut any = false;
    for (_, uri, playlist) in observed.media_playlists() {
        any = true;
        if !playlist.ended && playlist.segments.len() < minimum {
            issues.push(Issue::new(
                WhereSeen::sequence(uri, playlist.sequence_of(0)),
                format!(
                    "the window lists {} segments, fewer than {minimum}.",
                    playlist.segments.len()
                ),
                format!("List at least {minimum} segments in every live media playlist."),
            ));
        }
    }
    if !any {
        return Err(no_playlists());
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn hls_version(observed: &Observed<'_>, limits: &Limits) -> Verdict {
    let mut issues = Vec::new();
    let mut any = false;
    for (_, uri, playlist) in observed.media_playlists() {
        any = true;
        let version = playlist.version.unwrap_or(1);
        if version < limits.min_version {
            issues.push(Issue::new(
                WhereSeen::playlist(uri),
                format!("EXT-X-VERSION {version}, below {}.", limits.min_version),
                format!("Write EXT-X-VERSION:{} or higher.", limits.min_version),
            ));
        }
    }
    if !any {
        return Err(no_playlists());
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn mpeg_ts(observed: &Observed<'_>, _: &Limits) -> Verdict {
    let mut issues = Vec::new();
    let mut any = false;
    for (_, uri, playlist) in observed.media_playlists() {
        for (index, segment) in playlist.segments.iter().enumerate() {
            any = true;
            let path = segment.uri.split(['?', '#']).next().unwrap_or("");
            if segment.map.is_some() || !path.ends_with(".ts") {
                issues.push(Issue::new(
                    WhereSeen::sequence(uri, playlist.sequence_of(index)),
                    format!("segment {} is not MPEG-TS.", segment.uri),
                    "Give the partner the HLS-TS output (MPEG-TS segments, no EXT-X-MAP).",
                ));
                break;
            }
        }
    }
    if !any {
        return Err("no segment was listed".to_owned());
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn media_sequence_aligned(observed: &Observed<'_>, _: &Limits) -> Verdict {
    let mut issues = Vec::new();
    let mut compared = false;
    for snapshot in &observed.snapshots {
        let Some((first_uri, first)) = snapshot.media.first() else {
            continue;
        };
        for (uri, playlist) in &snapshot.media[1..] {
            compared = true;
            let same_window = playlist.media_sequence == first.media_sequence
                && playlist.discontinuity_sequence == first.discontinuity_sequence
                && playlist.segments.len() == first.segments.len();
            if !same_window {
                issues.push(Issue::new(
                    WhereSeen::sequence(uri, playlist.sequence_of(0)),
                    format!(
                        "at {}, {uri} lists seq {}+{} (discontinuity {}) but {first_uri} lists seq {}+{} (discontinuity {}).",
                        snapshot.taken_at,
                        playlist.sequence_of(0),
                        playlist.segments.len(),
                        playlist.discontinuity_sequence.unwrap_or(0),
                        first.sequence_of(0),
                        first.segments.len(),
                        first.discontinuity_sequence.unwrap_or(0),
                    ),
                    "Cut every variant at the same boundaries and number them from the same timeline.",
                ));
                continue;
            }
            for (index, (segment, other)) in
                playlist.segments.iter().zip(&first.segments).enumerate()
            {
                if (segment.duration.0 - other.duration.0).abs() > Ticks::from_millis(50).0 {
                    issues.push(Issue::new(
                        WhereSeen::sequence(uri, playlist.sequence_of(index)),
                        format!(
                            "{} s here, {} s in {first_uri}: the variants are not cut alike.",
                            seconds(segment.duration),
                            seconds(other.duration)
                        ),
                        "Cut every variant at the same boundaries.",
                    ));
                }
            }
        }
    }
    if !compared {
        return Err("fewer than two media playlists at any instant".to_owned());
    }
    dedup(&mut issues);
    Ok(issues)
}

pub(crate) fn variant_attributes(observed: &Observed<'_>, _: &Limits) -> Verdict {
    let mut issues = Vec::new();
    let mut any = false;
    for (_, uri, playlist) in observed.multivariants() {
        for variant in &playlist.variants {
            any = true;
            let mut missing = Vec::new();
            if variant.average_bandwidth.is_none() {
                missing.push("AVERAGE-BANDWIDTH");
            }
            if variant.codecs.is_none() {
                missing.push("CODECS");
            }
            if variant.resolution.is_none() {
                missing.push("RESOLUTION");
            }
            if variant.frame_rate.is_none() {
                missing.push("FRAME-RATE");
            }
            if !missing.is_empty() {
                issues.push(Issue::new(
                    WhereSeen::playlist(uri),
                    format!("the variant {} has no {}.", variant.uri, missing.join(", ")),
                    "Give every EXT-X-STREAM-INF its BANDWIDTH, AVERAGE-BANDWIDTH, CODECS, RESOLUTION and FRAME-RATE.",
                ));
            }
        }
    }
    if !any {
        return Err("no multivariant playlist was observed".to_owned());
    }
    dedup(&mut issues);
    Ok(issues)
}

/// The same message at the same place once (every snapshot repeats a playlist's faults).
pub(crate) fn dedup(issues: &mut Vec<Issue>) {
    let mut seen = std::collections::HashSet::new();
    issues.retain(|issue| {
        seen.insert((
            issue.where_seen.playlist.clone(),
            issue.where_seen.sequence,
            issue.message.clone(),
        ))
    });
}
