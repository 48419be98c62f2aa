//! LL-HLS for a live source on its own: a rolling model of each rendition fed by the live
//! ladder's CMAF parts and segments, the media and multivariant playlists written from it, and
//! the blocking-reload rules, all pure (no IO, no clock reads: time is a parameter). No crate
//! writes LL-HLS (m3u8-rs has no typed LL-HLS tags and drops the tags after the last segment),
//! so this is our own writer, after RFC 8216bis (draft-pantos-hls-rfc8216bis) and Apple's
//! "Enabling Low-Latency HTTP Live Streaming".
//!
//! The live ladder (`media::live`) writes, per rendition, `init-{n}.mp4`, parts
//! `{start}.{i}.m4s` as they close and the whole segment `{start}.m4s`, named by the segment's
//! grid boundary in 90 kHz ticks. An adapter keeps one [`LlRendition`] per source and rendition,
//! feeds it [`LlRendition::push_part`] and [`LlRendition::complete_segment`] as the ladder
//! reports them, and answers requests with [`render_media_playlist`] (the other renditions'
//! [`LlRendition::rendition_report`]s beside it), [`render_multivariant`], [`reload`] and
//! [`cache_control`]. Serving a blocking request (`?_HLS_msn=M&_HLS_part=N`):
//!
//! 1. [`reload`] with the request's query: [`Reload::BadRequest`] is answered 400 at once,
//!    [`Reload::Now`] with the playlist as it is, and [`Reload::WaitFor`] waits.
//! 2. Waiting: after every change to the rendition (a `watch`/`Notify`), and when the time it
//!    was told runs out, ask [`poll_wait`] with how long the request has waited:
//!    [`Waited::Ready`] renders the playlist, [`Waited::Wait`] says for how long at most, and
//!    [`Waited::Unavailable`] is the spec's 503 after three target durations.
//! 3. Every answer gets [`cache_control`] of its [`LlResponse`].
//!
//! A request for the part the playlist hints ([`LlRendition::preload_hint`]) that does not exist
//! yet is held until the part is pushed (then served as a part), or answered 404 once the hint
//! has moved elsewhere without it (RFC 8216bis 6.2.6: a server may not publish a hinted part
//! "if the planned segmentation changes").
//!
//! [`LlOutputs`] is where the adapters meet: the ingest feeds each source's publish into it,
//! the routes read it and wait on its changes (state behind a lock and a `watch`, no IO).
//!
//! # The model
//!
//! - Media sequence numbers come from a counter that starts at the number the adapter gives
//!   ([`LlRendition::new`]) and goes up by one per segment. Every rendition of a source is fed
//!   the same segments (the ladder cuts every rendition at the same boundaries and names them
//!   alike), so renditions started together number alike, which rendition reports rely on.
//! - A segment is opened by its first part (or by its completion when no part was seen) and
//!   completed by [`LlRendition::complete_segment`], or by the first part of a later segment:
//!   the ladder writes a segment's CMAF file before the next segment's first part, but reports
//!   the segment only once its MPEG-TS side is written too.
//! - A segment starts a discontinuity when its init segment differs from the previous one's, or
//!   after a gap: when it is named more than a segment target (and `gap_tolerance`) after the
//!   previous one (boundaries with no media are skipped, never named). A segment after an
//!   anchor move starts before that, so it follows on.
//! - The window keeps the last `window_segments` complete segments (and the one in progress);
//!   EXT-X-MEDIA-SEQUENCE and EXT-X-DISCONTINUITY-SEQUENCE are those of the first listed one.
//! - Parts are kept only for segments that end at most three target durations before the
//!   playlist's end (RFC 8216bis 6.2.2: EXT-X-PART tags "SHOULD be removed from the Playlist
//!   after they are greater than three Target Durations from the end of the Playlist"); their
//!   files must stay downloadable for three target durations more, which is the adapter's to
//!   keep.
//! - EXT-X-PROGRAM-DATE-TIME is the segment's media start: its name until the segment
//!   completes, then the `media_start` the ladder reports. The two differ only for the first
//!   segment of a run (a publish's first, or after a gap), where media starts after the grid
//!   boundary: that segment's date moves once, when it completes. (The ladder does not report
//!   a part's start; with it, the first part would fix the date.)

mod outputs;
mod reload;
mod render;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod validator;

use std::collections::VecDeque;

use onair_domain::{TICKS_PER_SECOND, Ticks, Timestamp};

pub use outputs::{LlOutputs, LlPublish, LlSource};
pub use reload::{
    Directives, LlResponse, Reload, Waited, block_timeout, cache_control, is_satisfied,
    parse_directives, poll_wait, reload,
};
pub use render::{render_media_playlist, render_multivariant};

/// The media playlist of a rendition, beside its files: `{rendition}/llhls.m3u8` relative to the
/// multivariant playlist.
pub const MEDIA_PLAYLIST_NAME: &str = "llhls.m3u8";

/// How a source's LL-HLS output is cut and listed. The same for every rendition of a source, and
/// never changed while it plays (EXT-X-TARGETDURATION and PART-TARGET must not change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlConfig {
    /// Segments are this long (2 s) but where the grid's anchor moved (shorter). The target
    /// duration is it rounded up.
    pub segment_target: Ticks,
    /// PART-TARGET: parts are this long (0.5 s) but a segment's last, which may be shorter.
    pub part_target: Ticks,
    /// Complete segments listed (6): at least three target durations of them (RFC 8216bis
    /// 6.2.2), and more than the three target durations parts are listed for.
    pub window_segments: usize,
    /// How much later than a segment target after the previous segment a segment may be named
    /// and still follow it without a discontinuity.
    pub gap_tolerance: Ticks,
}

impl Default for LlConfig {
    /// 2 s segments with 0.5 s parts, as the live ladder cuts them, six segments listed.
    fn default() -> Self {
        LlConfig {
            segment_target: Ticks::from_secs(2),
            part_target: Ticks::from_millis(500),
            window_segments: 6,
            gap_tolerance: Ticks::from_millis(100),
        }
    }
}

impl LlConfig {
    /// The configured EXT-X-TARGETDURATION: the segment target rounded up to whole seconds.
    pub fn target_duration_secs(&self) -> i64 {
        self.segment_target.ceil_secs().max(1)
    }

    /// The most parts a segment can have: the segment target over the part target, rounded up.
    pub fn parts_per_segment(&self) -> u32 {
        let part = self.part_target.0.max(1);
        ((self.segment_target.0 + part - 1) / part).max(1) as u32
    }

    /// PART-HOLD-BACK: three part targets (RFC 8216bis 4.4.3.8: at least twice, and SHOULD be
    /// at least three times, the Part Target Duration).
    pub fn part_hold_back(&self) -> Ticks {
        Ticks(self.part_target.0 * 3)
    }
}

/// One part of a segment: `{start}.{index}.m4s`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LlPart {
    /// Its place in its segment, from 0.
    pub index: u32,
    pub duration: Ticks,
    /// Starts with a keyframe (every video segment's first part, every audio part).
    pub independent: bool,
}

/// One segment of a rendition, complete or in progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlSegment {
    pub msn: u64,
    /// The grid boundary that names its files.
    pub name: Timestamp,
    /// Where its media starts: EXT-X-PROGRAM-DATE-TIME. Its name until it completes.
    pub start: Timestamp,
    /// A complete segment's duration; the sum of its parts while in progress.
    pub duration: Ticks,
    /// Its listed parts, in order (none once it is three target durations old).
    pub parts: Vec<LlPart>,
    /// Its whole-segment file exists: it is listed with EXTINF.
    pub complete: bool,
    /// The `n` of the `init-{n}.mp4` it plays with.
    pub init: u32,
    pub discontinuity_sequence: u64,
}

impl LlSegment {
    /// `{name}.m4s`, relative to the media playlist.
    pub fn uri(&self) -> String {
        segment_uri(self.name)
    }

    /// `{name}.{index}.m4s`, relative to the media playlist.
    pub fn part_uri(&self, part: &LlPart) -> String {
        part_uri(self.name, part.index)
    }

    fn end(&self) -> Timestamp {
        self.start + self.duration
    }
}

/// The whole-segment file of the segment named `name`.
pub fn segment_uri(name: Timestamp) -> String {
    format!("{}.m4s", name.0)
}

/// Part `index` of the segment named `name`.
pub fn part_uri(name: Timestamp, index: u32) -> String {
    format!("{}.{index}.m4s", name.0)
}

/// The init segment `n`.
pub fn init_uri(n: u32) -> String {
    format!("init-{n}.mp4")
}

/// What another rendition of the source has, for `EXT-X-RENDITION-REPORT`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenditionReport {
    /// Its media playlist, relative to the one reporting it: `../{name}/llhls.m3u8`.
    pub uri: String,
    /// The media sequence number of its last part's segment (or of its last segment).
    pub last_msn: u64,
    /// The index of its last part in that segment, when it has parts.
    pub last_part: Option<u32>,
}

/// Why an update was not applied: the model is unchanged and the adapter logs it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LlRefusal {
    #[error("segment {name} is older than the last one listed ({last})")]
    OutOfOrder { name: i64, last: i64 },
    #[error("part {index} of segment {name} came where part {expected} was expected")]
    PartOutOfOrder {
        name: i64,
        index: u32,
        expected: usize,
    },
    #[error("segment {name} is complete: part {index} comes too late")]
    AfterCompletion { name: i64, index: u32 },
    #[error("the rendition has ended")]
    Ended,
}

/// The rolling LL-HLS model of one rendition of a live source: see the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LlRendition {
    name: String,
    config: LlConfig,
    /// Complete segments, oldest first, then at most one in progress.
    segments: VecDeque<LlSegment>,
    /// The number the next new segment gets.
    next_msn: u64,
    /// The discontinuity sequence of the next new segment when it follows on.
    next_discontinuity_sequence: u64,
    /// EXT-X-TARGETDURATION: the configured one, raised (never lowered) by a segment whose
    /// duration rounds above it.
    target_duration_secs: i64,
    ended: bool,
}

impl LlRendition {
    /// An empty rendition whose first segment gets media sequence number `first_msn`. Give every
    /// rendition of a source the same one, and a number higher than any a previous publish of
    /// the source used where players may still hold its playlists (e.g. the first segment's
    /// start in segment targets since the epoch).
    pub fn new(name: impl Into<String>, config: LlConfig, first_msn: u64) -> LlRendition {
        LlRendition {
            name: name.into(),
            target_duration_secs: config.target_duration_secs(),
            config,
            segments: VecDeque::new(),
            next_msn: first_msn,
            next_discontinuity_sequence: 0,
            ended: false,
        }
    }

    /// The rung's or audio track's name (`360p`, `audio-96k`).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn config(&self) -> &LlConfig {
        &self.config
    }

    /// The listed segments, oldest first; the last may be in progress.
    pub fn segments(&self) -> impl ExactSizeIterator<Item = &LlSegment> + DoubleEndedIterator {
        self.segments.iter()
    }

    /// EXT-X-TARGETDURATION, in seconds.
    pub fn target_duration_secs(&self) -> i64 {
        self.target_duration_secs
    }

    /// EXT-X-MEDIA-SEQUENCE: the first listed segment's, or the next one's when none is.
    pub fn media_sequence(&self) -> u64 {
        self.segments
            .front()
            .map_or(self.next_msn, |first| first.msn)
    }

    /// EXT-X-DISCONTINUITY-SEQUENCE: the first listed segment's.
    pub fn discontinuity_sequence(&self) -> u64 {
        self.segments
            .front()
            .map_or(self.next_discontinuity_sequence, |first| {
                first.discontinuity_sequence
            })
    }

    /// The media sequence number of the last complete segment.
    pub fn last_complete_msn(&self) -> Option<u64> {
        self.segments
            .iter()
            .rev()
            .find(|segment| segment.complete)
            .map(|segment| segment.msn)
    }

    /// Whether a player can start: at least one complete segment is listed.
    pub fn has_complete_segment(&self) -> bool {
        self.last_complete_msn().is_some()
    }

    /// Whether [`LlRendition::end`] was called: the playlist ends with EXT-X-ENDLIST.
    pub fn has_ended(&self) -> bool {
        self.ended
    }

    /// The last listed part, as (media sequence number, part index).
    pub fn last_part(&self) -> Option<(u64, u32)> {
        let last = self.segments.back()?;
        let part = last.parts.last()?;
        Some((last.msn, part.index))
    }

    /// What [`RenditionReport`] says of this rendition, reported at `uri`; `None` before it has
    /// anything.
    pub fn rendition_report(&self, uri: impl Into<String>) -> Option<RenditionReport> {
        let last = self.segments.back()?;
        Some(RenditionReport {
            uri: uri.into(),
            last_msn: last.msn,
            last_part: last.parts.last().map(|part| part.index),
        })
    }

    /// The report of this rendition as its siblings list it: `../{name}/llhls.m3u8`.
    pub fn sibling_report(&self) -> Option<RenditionReport> {
        self.rendition_report(format!("../{}/{MEDIA_PLAYLIST_NAME}", self.name))
    }

    /// EXT-X-PRELOAD-HINT: the part expected next, by name and index. The next part of the
    /// segment in progress while the part grid has room in it, else the first part of the next
    /// segment, named a segment target later (or where the last one ended when it ended short,
    /// as it does where the grid's anchor moved). `None` once ended or before anything.
    pub fn preload_hint(&self) -> Option<(Timestamp, u32)> {
        if self.ended {
            return None;
        }
        let last = self.segments.back()?;
        let next_index = last.parts.len() as u32;
        if !last.complete && next_index < self.config.parts_per_segment() {
            return Some((last.name, next_index));
        }
        let short =
            last.complete && last.duration + self.config.gap_tolerance < self.config.segment_target;
        let next = if short {
            last.end()
        } else {
            last.name + self.config.segment_target
        };
        Some((next, 0))
    }

    /// [`LlRendition::preload_hint`]'s URI.
    pub fn preload_hint_uri(&self) -> Option<String> {
        self.preload_hint()
            .map(|(name, index)| part_uri(name, index))
    }

    /// A part of the segment named `segment`, playing with `init-{init}.mp4`, was written. Parts
    /// of a segment come in order from 0; the first part of a later segment completes the one in
    /// progress.
    pub fn push_part(
        &mut self,
        segment: Timestamp,
        init: u32,
        part: LlPart,
    ) -> Result<(), LlRefusal> {
        if self.ended {
            return Err(LlRefusal::Ended);
        }
        if self
            .segments
            .iter()
            .any(|listed| listed.name == segment && listed.complete)
        {
            return Err(LlRefusal::AfterCompletion {
                name: segment.0,
                index: part.index,
            });
        }
        if let Some(last) = self.segments.back_mut()
            && last.name == segment
        {
            if part.index as usize != last.parts.len() {
                return Err(LlRefusal::PartOutOfOrder {
                    name: segment.0,
                    index: part.index,
                    expected: last.parts.len(),
                });
            }
            last.duration += part.duration;
            last.parts.push(part);
            self.prune();
            return Ok(());
        }
        if part.index != 0 {
            return Err(LlRefusal::PartOutOfOrder {
                name: segment.0,
                index: part.index,
                expected: 0,
            });
        }
        self.open_segment(segment, init)?;
        let last = self.segments.back_mut().expect("just opened");
        last.duration = part.duration;
        last.parts.push(part);
        self.prune();
        Ok(())
    }

    /// The segment named `name` is complete: its whole file is written, its media starts at
    /// `media_start` and lasts `duration`, with `init-{init}.mp4`. A segment no part was seen of
    /// is listed without parts; completing the same segment again changes nothing.
    pub fn complete_segment(
        &mut self,
        name: Timestamp,
        media_start: Timestamp,
        duration: Ticks,
        init: u32,
    ) -> Result<(), LlRefusal> {
        if self.ended {
            return Err(LlRefusal::Ended);
        }
        let Some(position) = self.segments.iter().position(|s| s.name == name) else {
            self.open_segment(name, init)?;
            let last = self.segments.back_mut().expect("just opened");
            (last.start, last.duration) = (media_start, duration);
            self.close_last();
            self.prune();
            return Ok(());
        };
        let is_last = position + 1 == self.segments.len();
        let previous_sequence = position
            .checked_sub(1)
            .map(|previous| self.segments[previous].discontinuity_sequence);
        let segment = &mut self.segments[position];
        // Completed by a later part already, its duration was its parts': the same.
        (segment.start, segment.duration) = (media_start, duration);
        if !segment.complete && is_last {
            if segment.init != init {
                // A new init no part said: the best that can be done now.
                segment.init = init;
                if previous_sequence == Some(segment.discontinuity_sequence) {
                    segment.discontinuity_sequence += 1;
                    self.next_discontinuity_sequence = segment.discontinuity_sequence;
                }
            }
            self.close_last();
        }
        self.prune();
        Ok(())
    }

    /// The source stopped: the in-progress segment is dropped unless complete, the playlist gets
    /// EXT-X-ENDLIST, and blocking requests are answered at once (RFC 8216bis 6.2.5.2: "A Server
    /// MUST ignore `_HLS_msn` and `_HLS_part` if the Playlist contains an EXT-X-ENDLIST tag").
    pub fn end(&mut self) {
        if self.segments.back().is_some_and(|last| !last.complete) {
            self.segments.pop_back();
        }
        self.ended = true;
    }

    /// Opens a new last segment named `name`, completing the one in progress.
    fn open_segment(&mut self, name: Timestamp, init: u32) -> Result<(), LlRefusal> {
        if let Some(last) = self.segments.back() {
            if name <= last.name {
                return Err(LlRefusal::OutOfOrder {
                    name: name.0,
                    last: last.name.0,
                });
            }
            if !last.complete {
                self.close_last();
            }
        }
        let previous = self.segments.back();
        let follows_on = previous.is_none_or(|previous| {
            previous.init == init
                && name <= previous.name + self.config.segment_target + self.config.gap_tolerance
        });
        let discontinuity_sequence = match previous {
            Some(previous) if !follows_on => previous.discontinuity_sequence + 1,
            Some(previous) => previous.discontinuity_sequence,
            None => self.next_discontinuity_sequence,
        };
        self.segments.push_back(LlSegment {
            msn: self.next_msn,
            name,
            start: name,
            duration: Ticks::ZERO,
            parts: Vec::new(),
            complete: false,
            init,
            discontinuity_sequence,
        });
        self.next_msn += 1;
        self.next_discontinuity_sequence = discontinuity_sequence;
        Ok(())
    }

    /// Marks the last segment complete and slides the window.
    fn close_last(&mut self) {
        let Some(last) = self.segments.back_mut() else {
            return;
        };
        last.complete = true;
        let rounded = (last.duration.0 + TICKS_PER_SECOND / 2) / TICKS_PER_SECOND;
        self.target_duration_secs = self.target_duration_secs.max(rounded);
        let complete = self.segments.iter().filter(|s| s.complete).count();
        let excess = complete.saturating_sub(self.config.window_segments.max(1));
        self.segments.drain(..excess);
    }

    /// Drops the parts of complete segments that end more than three target durations before
    /// the playlist's end.
    fn prune(&mut self) {
        let Some(end) = self.segments.back().map(LlSegment::end) else {
            return;
        };
        let horizon = Ticks(3 * self.target_duration_secs * TICKS_PER_SECOND);
        for segment in &mut self.segments {
            if segment.complete && segment.end() + horizon < end {
                segment.parts.clear();
            }
        }
    }
}
