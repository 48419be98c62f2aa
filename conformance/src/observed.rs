//! The observation parsed and laid out by media sequence number: each media playlist's
//! segments as every snapshot listed them, their start instants, and the breaks their cue tags
//! open and close. The rules read this, never the text.

use std::collections::BTreeMap;

use onair_domain::{Ticks, Timestamp};

use crate::hls::{self, CueTag, MediaPlaylist, Multivariant, Segment};
use crate::observation::Observation;

/// The observation, parsed.
pub struct Observed<'a> {
    pub observation: &'a Observation,
    pub snapshots: Vec<ParsedSnapshot>,
    /// Each media playlist's segments over every snapshot, in the order the playlists were
    /// first seen.
    pub renditions: Vec<Rendition>,
}

pub struct ParsedSnapshot {
    pub taken_at: Timestamp,
    pub multivariant: Option<(String, Multivariant)>,
    pub media: Vec<(String, MediaPlaylist)>,
}

/// One media playlist over time.
pub struct Rendition {
    pub uri: String,
    /// Every segment listed, by sequence number: as first listed, with each later listing that
    /// differs.
    pub segments: BTreeMap<u64, SeenSegment>,
    /// Cue tags seen after the last segment of a snapshot, by the sequence number they precede.
    pub pending: BTreeMap<u64, Vec<CueTag>>,
    /// Breaks opened by `EXT-X-CUE-OUT`, in order.
    pub breaks: Vec<Break>,
}

pub struct SeenSegment {
    pub segment: Segment,
    /// Every listing of it: the snapshot and its cue tags there.
    pub listings: Vec<(usize, Vec<CueTag>)>,
    /// When it starts: from the latest EXT-X-PROGRAM-DATE-TIME at or before it.
    pub start: Option<Timestamp>,
}

/// A break, from its `EXT-X-CUE-OUT` to the segment its `EXT-X-CUE-IN` precedes.
#[derive(Debug, Clone, PartialEq)]
pub struct Break {
    /// The sequence number of its first segment (the one the CUE-OUT precedes).
    pub out_sequence: u64,
    /// The duration the CUE-OUT declares.
    pub declared: Option<Ticks>,
    /// Its segments' sequence numbers and durations, as listed.
    pub segments: Vec<(u64, Ticks)>,
    pub start: Option<Timestamp>,
    pub end: BreakEnd,
}

impl Break {
    pub fn aired(&self) -> Ticks {
        self.segments.iter().map(|(_, duration)| *duration).sum()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakEnd {
    /// A CUE-IN precedes this segment.
    CueIn(u64),
    /// Another CUE-OUT came first, at this segment.
    AnotherCueOut(u64),
    /// The segments after it ran past its declared duration without a CUE-IN: through this one.
    NeverClosed(u64),
    /// The observation ended (or skipped segments) before its end could be seen.
    Unseen,
}

impl Observed<'_> {
    pub fn new(observation: &Observation) -> Observed<'_> {
        let snapshots: Vec<ParsedSnapshot> = observation
            .snapshots
            .iter()
            .map(|snapshot| ParsedSnapshot {
                taken_at: snapshot.taken_at,
                multivariant: snapshot
                    .multivariant
                    .as_ref()
                    .map(|text| (text.uri.clone(), hls::parse_multivariant(&text.text))),
                media: snapshot
                    .media
                    .iter()
                    .map(|text| (text.uri.clone(), hls::parse_media(&text.text)))
                    .collect(),
            })
            .collect();
        let mut renditions: Vec<Rendition> = Vec::new();
        for (index, snapshot) in snapshots.iter().enumerate() {
            for (uri, playlist) in &snapshot.media {
                let position = match renditions.iter().position(|known| &known.uri == uri) {
                    Some(position) => position,
                    None => {
                        renditions.push(Rendition {
                            uri: uri.clone(),
                            segments: BTreeMap::new(),
                            pending: BTreeMap::new(),
                            breaks: Vec::new(),
                        });
                        renditions.len() - 1
                    }
                };
                renditions[position].add(index, playlist, snapshot.taken_at);
            }
        }
        for rendition in &mut renditions {
            rendition.time_segments();
            rendition.breaks = rendition.find_breaks();
        }
        Observed {
            observation,
            snapshots,
            renditions,
        }
    }

    /// Every media playlist of every snapshot, with the snapshot's index.
    pub fn media_playlists(&self) -> impl Iterator<Item = (usize, &str, &MediaPlaylist)> {
        self.snapshots
            .iter()
            .enumerate()
            .flat_map(|(index, snapshot)| {
                snapshot
                    .media
                    .iter()
                    .map(move |(uri, playlist)| (index, uri.as_str(), playlist))
            })
    }

    /// The multivariant playlists observed, with the snapshot's index.
    pub fn multivariants(&self) -> impl Iterator<Item = (usize, &str, &Multivariant)> {
        self.snapshots
            .iter()
            .enumerate()
            .filter_map(|(index, snapshot)| {
                snapshot
                    .multivariant
                    .as_ref()
                    .map(|(uri, playlist)| (index, uri.as_str(), playlist))
            })
    }

    /// Every break of every rendition.
    pub fn breaks(&self) -> impl Iterator<Item = (&Rendition, &Break)> {
        self.renditions
            .iter()
            .flat_map(|rendition| rendition.breaks.iter().map(move |one| (rendition, one)))
    }

    /// Whether any playlist carries a CUE-OUT, CONT or IN tag.
    pub fn has_cue_out_tags(&self) -> bool {
        self.renditions.iter().any(|rendition| {
            rendition.segments.values().any(|seen| {
                seen.listings.iter().any(|(_, cues)| {
                    cues.iter().any(|cue| {
                        matches!(cue, CueTag::Out { .. } | CueTag::Cont { .. } | CueTag::In)
                    })
                })
            }) || rendition
                .pending
                .values()
                .any(|cues| cues.iter().any(|cue| matches!(cue, CueTag::In)))
        })
    }

    /// Whether any playlist carries an SCTE-35 DATERANGE.
    pub fn has_dateranges(&self) -> bool {
        self.renditions.iter().any(|rendition| {
            rendition.segments.values().any(|seen| {
                seen.listings.iter().any(|(_, cues)| {
                    cues.iter()
                        .any(|cue| matches!(cue, CueTag::DateRange { .. }))
                })
            })
        })
    }
}

/// Cue tags of the OUT/CONT/IN dialect only (DATERANGEs move to a window's top as their
/// segment slides out, so they are not a segment's own).
fn cue_out_tags(cues: &[CueTag]) -> Vec<CueTag> {
    cues.iter()
        .filter(|cue| matches!(cue, CueTag::Out { .. } | CueTag::Cont { .. } | CueTag::In))
        .cloned()
        .collect()
}

impl Rendition {
    fn add(&mut self, snapshot: usize, playlist: &MediaPlaylist, taken_at: Timestamp) {
        let last_sequence = playlist
            .segments
            .len()
            .checked_sub(1)
            .map(|last| playlist.sequence_of(last));
        for (index, segment) in playlist.segments.iter().enumerate() {
            let sequence = playlist.sequence_of(index);
            let seen = self
                .segments
                .entry(sequence)
                .or_insert_with(|| SeenSegment {
                    segment: segment.clone(),
                    listings: Vec::new(),
                    start: None,
                });
            // The first listing that carries a date gives the segment its date.
            if seen.segment.program_date_time.is_none() {
                seen.segment.program_date_time = segment.program_date_time;
            }
            seen.listings.push((snapshot, segment.cues.clone()));
        }
        if let Some(last) = last_sequence {
            if !playlist.trailing.is_empty() {
                self.pending.insert(last + 1, playlist.trailing.clone());
            }
            // A playlist without dates: its live edge is the instant it was taken.
            if playlist
                .segments
                .iter()
                .all(|segment| segment.program_date_time.is_none())
            {
                let mut at = taken_at;
                for (index, segment) in playlist.segments.iter().enumerate().rev() {
                    at = at - segment.duration;
                    let seen = self
                        .segments
                        .get_mut(&playlist.sequence_of(index))
                        .expect("added above");
                    seen.start.get_or_insert(at);
                }
            }
        }
    }

    /// Starts from the dates: each date, then the durations after it.
    fn time_segments(&mut self) {
        let mut previous: Option<(u64, Timestamp, Ticks)> = None;
        for (sequence, seen) in &mut self.segments {
            let carried = match previous {
                Some((before, start, duration)) if before + 1 == *sequence => {
                    Some(start + duration)
                }
                _ => None,
            };
            let start = seen.segment.program_date_time.or(carried).or(seen.start);
            seen.start = start;
            previous = start.map(|start| (*sequence, start, seen.segment.duration));
        }
    }

    /// The cue tags that precede `sequence` (from its first listing, or after a window's last
    /// segment when it was never listed).
    pub fn cues_before(&self, sequence: u64) -> Vec<CueTag> {
        match self.segments.get(&sequence) {
            Some(seen) => cue_out_tags(&seen.listings[0].1),
            None => self
                .pending
                .get(&sequence)
                .map(|cues| cue_out_tags(cues))
                .unwrap_or_default(),
        }
    }

    fn find_breaks(&self) -> Vec<Break> {
        let mut breaks: Vec<Break> = Vec::new();
        let mut open: Option<Break> = None;
        let mut previous: Option<u64> = None;
        let last = self.segments.keys().next_back().copied();
        let sequences: Vec<u64> = self
            .segments
            .keys()
            .copied()
            .chain(
                last.map(|last| last + 1)
                    .filter(|next| self.pending.contains_key(next)),
            )
            .collect();
        for sequence in sequences {
            if previous.is_some_and(|previous| previous + 1 != sequence) {
                // Segments were skipped: whatever was open cannot be seen whole.
                if let Some(mut unseen) = open.take() {
                    unseen.end = BreakEnd::Unseen;
                    breaks.push(unseen);
                }
            }
            previous = Some(sequence);
            let cues = self.cues_before(sequence);
            let listed = self.segments.get(&sequence);
            if cues.iter().any(|cue| matches!(cue, CueTag::In))
                && let Some(mut closed) = open.take()
            {
                closed.end = BreakEnd::CueIn(sequence);
                breaks.push(closed);
            }
            if let Some(declared) = cues.iter().find_map(|cue| match cue {
                CueTag::Out { duration } => Some(*duration),
                _ => None,
            }) {
                if let Some(mut unclosed) = open.take() {
                    unclosed.end = BreakEnd::AnotherCueOut(sequence);
                    breaks.push(unclosed);
                }
                open = Some(Break {
                    out_sequence: sequence,
                    declared,
                    segments: Vec::new(),
                    start: listed.and_then(|seen| seen.start),
                    end: BreakEnd::Unseen,
                });
            }
            let Some(seen) = listed else { continue };
            if let Some(current) = &mut open {
                let aired = current.aired();
                // A segment that starts at or past the declared end, without a CUE-IN before it.
                if current.declared.is_some_and(|declared| aired >= declared)
                    && !current.segments.is_empty()
                    && !cues.iter().any(|cue| matches!(cue, CueTag::Cont { .. }))
                {
                    let mut unclosed = open.take().expect("open");
                    unclosed.end = BreakEnd::NeverClosed(sequence);
                    breaks.push(unclosed);
                    continue;
                }
                current.segments.push((sequence, seen.segment.duration));
            }
        }
        if let Some(unseen) = open {
            breaks.push(unseen);
        }
        breaks
    }
}
