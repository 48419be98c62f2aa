//! The Periods of an MPD and how each names its files and places them on its timeline.
//!
//! A run occurrence is a Period `p{n}` (`n` its discontinuity sequence, as in HLS), addressed
//! one of two ways:
//!
//! - **`$Number%05d$`**: an asset's files, named by their index in it (`{index:05}.m4s`), whose
//!   fragments' `tfdt` is their media time in the asset (zero at its first segment). `S@t` is
//!   that media time and `startNumber` the first listed file's number. A take's slate, looped
//!   over the take's slots, plays the slate's files again from the first after its last: each
//!   **pass** over them is a Period of its own (its `tfdt`s go back to zero, which one Period's
//!   timeline cannot say). The first pass keeps `p{n}`; a later pass is `p{n}-{k}`, `k` the
//!   position of its first segment in the run, so its id is stable while the run grows and
//!   unique in the MPD. HLS lists the run as it is (one run, one discontinuity).
//! - **`$Time$`**: a live run's files, named by their start in 90 kHz ticks since the Unix
//!   epoch (`live/{source}/{publish}/{rendition}/{start}.m4s`). The live ladder runs on Unix
//!   time, so each fragment's `tfdt` is its start as Unix time in its track's timescale (within
//!   a frame of the grid's boundary: the first frame is the one nearest to it): `S@t` is the
//!   segment's start, the file's name, and `presentationTimeOffset` the run's first segment's
//!   start, so `S@t - presentationTimeOffset` is where it airs in the Period, exactly as HLS
//!   places it.

use onair_domain::{Asset, Packaging, Ticks, Timestamp};

use super::{REPRESENTATION_ID, SegmentTemplate, url};
use crate::ChannelPlayout;
use crate::window::Aired;

/// One Period: its id, where its timeline starts, its templates, and its listed segments with
/// their `S@t`.
pub(super) struct Period<'w, 'a> {
    /// `p{n}`, or `p{n}-{k}` for a later pass over a looped asset.
    pub id: String,
    /// When its first segment (listed or not) airs.
    pub start: Timestamp,
    /// Its first listed segment, or the one to be listed next when it lists none.
    pub first: Aired<'a>,
    pub segments: &'w [Aired<'a>],
    pub video: SegmentTemplate,
    pub audio: SegmentTemplate,
    pub presentation_time_offset: Ticks,
    /// `$Number$` Periods: the number of the first listed file (of the one to be listed next
    /// when none is).
    pub start_number: Option<u32>,
    /// `S@t` of each of `segments`.
    pub times: Vec<Ticks>,
}

/// The rendition names of both AdaptationSets.
struct Names<'p> {
    rungs: Vec<&'p str>,
    tracks: Vec<&'p str>,
}

impl<'p> Names<'p> {
    fn of(playout: &'p ChannelPlayout) -> Names<'p> {
        Names {
            rungs: playout
                .ladder()
                .rungs
                .iter()
                .map(|rung| rung.name.as_str())
                .collect(),
            tracks: playout
                .audio_tracks()
                .iter()
                .map(|track| track.name.as_str())
                .collect(),
        }
    }

    /// Every (name, packaging) of the video tracks, then the audio tracks.
    fn each(&self) -> impl Iterator<Item = (&'p str, Packaging)> + '_ {
        self.rungs
            .iter()
            .map(|name| (*name, Packaging::Cmaf))
            .chain(self.tracks.iter().map(|name| (*name, Packaging::CmafAudio)))
    }
}

/// How a Period's files are addressed.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Addressing {
    /// `$Time$`: files named by their start, which is also their `tfdt`; the init and media
    /// paths before `$Time$.m4s`, with `$RepresentationID$` for the rendition's name.
    Time { init: String, stem: String },
    /// `$Number%05d$`: the file at position `p` of the run's asset is the asset's segment
    /// `p - key`: `key` is zero but in a later pass over a looped asset.
    Number { key: u32 },
}

/// The Periods of the listed segments `window`, in order. `None` when a template cannot name a
/// listed file.
pub(super) fn periods<'w, 'a>(
    playout: &ChannelPlayout,
    window: &'w [Aired<'a>],
) -> Option<Vec<Period<'w, 'a>>> {
    let names = Names::of(playout);
    let mut periods = Vec::new();
    let mut rest = window;
    while let Some(first) = rest.first() {
        let (mut period, addressing) = layout(playout, &names, *first)?;
        let mut times = Vec::new();
        for aired in rest {
            if aired.at.discontinuity_sequence != first.at.discontinuity_sequence {
                break;
            }
            let time = match &addressing {
                Addressing::Time { init, stem } => {
                    let (its_init, its_stem) = timed_paths(aired.asset, &names, aired)?;
                    if its_init != *init || its_stem != *stem {
                        return None;
                    }
                    Ticks(aired.at.start.0)
                }
                Addressing::Number { key } => {
                    let number = file_number(aired.asset, &names, aired.at.segment_index)?;
                    if aired.at.segment_index.checked_sub(number) != Some(*key) {
                        // The looped asset starts its next pass: a Period of its own.
                        break;
                    }
                    aired.run.track.start(number)
                }
            };
            times.push(time);
        }
        let (listed, later) = rest.split_at(times.len());
        period.segments = listed;
        period.times = times;
        periods.push(period);
        rest = later;
    }
    Some(periods)
}

/// The Period `next` (the segment listed next) will be in, announced with no segment.
pub(super) fn announced<'w, 'a>(
    playout: &ChannelPlayout,
    next: Aired<'a>,
) -> Option<Period<'w, 'a>> {
    layout(playout, &Names::of(playout), next).map(|(period, _)| period)
}

/// The Period `first` is in, with no segment yet: its id, start, templates and offset, and for
/// `$Number$` the number of `first`'s file as the start number.
fn layout<'w, 'a>(
    playout: &ChannelPlayout,
    names: &Names<'_>,
    first: Aired<'a>,
) -> Option<(Period<'w, 'a>, Addressing)> {
    let sequence = first.at.discontinuity_sequence;
    let (mut period, addressing) = if let Some((init, stem)) =
        timed_paths(first.asset, names, &first)
    {
        let template = SegmentTemplate {
            initialization: url(&init),
            media: format!("{}$Time$.m4s", url(&stem)),
        };
        let period = Period {
            id: format!("p{sequence}"),
            start: first.run_start,
            first,
            segments: &[],
            video: template.clone(),
            audio: template,
            presentation_time_offset: Ticks(first.run_start.0),
            start_number: None,
            times: Vec::new(),
        };
        (period, Addressing::Time { init, stem })
    } else {
        // The channel's assets were checked whole by ChannelPlayout::new; a fill's are checked
        // here.
        let checked = playout.assets().contains_key(&first.asset.id);
        let template = |names: &[&str], packaging| {
            if checked {
                SegmentTemplate::derive(first.asset, names, packaging)
            } else {
                SegmentTemplate::of(first.asset, names, packaging)
            }
        };
        let video = template(&names.rungs, Packaging::Cmaf)?;
        let audio = template(&names.tracks, Packaging::CmafAudio)?;
        let run = first.run;
        let position = first.at.segment_index;
        let number = file_number(first.asset, names, position)?;
        let key = position.checked_sub(number)?;
        // Where the pass starts: at the run's first segment, or for a later pass over a looped
        // asset, at the asset's first file again.
        let pass_start = key.max(run.first_segment);
        if pass_start != run.first_segment
            && file_number(first.asset, names, pass_start)? != pass_start - key
        {
            return None;
        }
        let id = if pass_start == run.first_segment {
            format!("p{sequence}")
        } else {
            format!("p{sequence}-{}", pass_start - run.first_segment)
        };
        // When the pass's first file airs, or the aired run starts when that is later (a live
        // item's fallback or a take's return inside a planned run); the media time there.
        let pass_at = first.at.start - (run.track.start(position) - run.track.start(pass_start));
        let start = pass_at.max(first.run_start);
        let period = Period {
            id,
            start,
            first,
            segments: &[],
            video,
            audio,
            presentation_time_offset: run.track.start(number) - (first.at.start - start),
            start_number: Some(number),
            times: Vec::new(),
        };
        (period, Addressing::Number { key })
    };
    if let Some(prefix) = first.tracking {
        period.video = period.video.fetched_through(prefix);
        period.audio = period.audio.fetched_through(prefix);
    }
    Some((period, addressing))
}

/// The number of the file at `position` of `asset` in every rendition of `names`, when each is
/// the asset's own segment of that number, named `{number:05}.m4s`: `None` otherwise.
fn file_number(asset: &Asset, names: &Names<'_>, position: u32) -> Option<u32> {
    let mut found = None;
    for (name, packaging) in names.each() {
        let segments = &asset.rendition(name, packaging)?.segments;
        let path = &segments.get(position as usize)?.path;
        let number = number_of(path)?;
        if segments.get(number as usize)?.path != *path || found.is_some_and(|n| n != number) {
            return None;
        }
        found = Some(number);
    }
    found
}

/// `1234` from `…/01234.m4s`.
fn number_of(path: &str) -> Option<u32> {
    let digits = path.rsplit('/').next()?.strip_suffix(".m4s")?;
    let number: u32 = digits.parse().ok()?;
    (format!("{number:05}") == digits).then_some(number)
}

/// The init and media paths of `aired`'s files with `$RepresentationID$` for the rendition's
/// name, the same for every rendition of `names`, when every file is named
/// `{folder}/{name}/{start}.m4s` with the segment's start in ticks: the paths before `$Time$.m4s`.
fn timed_paths(asset: &Asset, names: &Names<'_>, aired: &Aired<'_>) -> Option<(String, String)> {
    let file = format!("{}.m4s", aired.at.start.0);
    let placeholder = format!("/{REPRESENTATION_ID}/");
    let mut found: Option<(String, String)> = None;
    for (name, packaging) in names.each() {
        let rendition = asset.rendition(name, packaging)?;
        let path = &rendition
            .segments
            .get(aired.at.segment_index as usize)?
            .path;
        let folder = format!("/{name}/");
        let stem = format!("/{}", path.trim_start_matches('/'))
            .strip_suffix(&file)?
            .replacen(&folder, &placeholder, 1);
        let init = format!(
            "/{}",
            rendition.init_path.as_deref()?.trim_start_matches('/')
        )
        .replacen(&folder, &placeholder, 1);
        if !stem.contains(REPRESENTATION_ID) || !init.contains(REPRESENTATION_ID) {
            return None;
        }
        match &found {
            None => found = Some((init, stem)),
            Some((known_init, known_stem)) if *known_init == init && *known_stem == stem => {}
            Some(_) => return None,
        }
    }
    found
}
