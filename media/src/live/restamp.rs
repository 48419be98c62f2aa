//! Stamping a live source's decoded media with Unix time: its first timestamp is mapped to the
//! instant it arrived, and its own pacing is kept after that; when its timestamps jump or reset,
//! the mapping is anchored again. Pure: the caller passes the clock's reading.

/// How far ahead of the clock a mapped buffer may be before the source counts as having jumped
/// forward: a burst on connection (an RTMP server's cached GOP) stays within it.
pub(crate) const AHEAD_LIMIT: u64 = 3_000_000_000;
/// How far behind the clock a mapped buffer may fall before the mapping moves forward to the
/// clock: a source that stalled and resumed with continuous timestamps, or a ladder that does not
/// keep up (which the stats then show). Leaves the grid within this much of wall-clock time.
pub(crate) const LATE_LIMIT: u64 = 5_000_000_000;
/// How far a stream may go back in time (overlapping what it already sent) before it counts as
/// a reset: small overlaps are the demuxer's rounding, and audiorate trims them.
pub(crate) const BACKWARDS_LIMIT: u64 = 500_000_000;

/// The source's streams, each with its own continuity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Video = 0,
    Audio = 1,
}

/// Why the mapping was anchored again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reanchor {
    /// The source's timestamps went back (a reset, a new encoder session, a wrap).
    Backwards,
    /// They jumped forward past the clock.
    Ahead,
    /// The mapped time fell behind the clock by more than [`LATE_LIMIT`].
    Late,
}

/// The mapping from a source's running time to Unix time: `unix = source + offset`, one offset
/// for every stream so audio and video stay in sync.
///
/// - The first buffer of any stream maps to the instant it arrives (`now`).
/// - Every later buffer keeps the source's pacing: its offset is unchanged.
/// - A buffer that would map before its stream's end by more than [`BACKWARDS_LIMIT`], ahead of
///   `now` by more than [`AHEAD_LIMIT`], or behind `now` by more than [`LATE_LIMIT`] anchors the
///   mapping again, at `now` or at its stream's end if that is later: the output's time never
///   goes back, and a jump in the source becomes at most a short gap (which videorate fills
///   by repeating the last frame, audiorate with silence).
#[derive(Debug, Default, Clone)]
pub(crate) struct Restamp {
    offset: Option<i128>,
    ends: [Option<u64>; 2],
    pub reanchors: u64,
}

impl Restamp {
    /// The Unix time (ns) of a buffer at `source` (the source's running time, ns) lasting
    /// `duration`, arriving at `now`; and why the mapping moved, if it did.
    pub fn map(
        &mut self,
        stream: Stream,
        source: u64,
        duration: u64,
        now: u64,
    ) -> (u64, Option<Reanchor>) {
        let end = self.ends[stream as usize];
        let mut why = None;
        let mapped = match self.offset {
            None => {
                self.offset = Some(now as i128 - source as i128);
                now
            }
            Some(offset) => {
                let mapped = (source as i128 + offset).max(0) as u64;
                why = if end.is_some_and(|end| mapped + BACKWARDS_LIMIT < end) {
                    Some(Reanchor::Backwards)
                } else if mapped > now + AHEAD_LIMIT {
                    Some(Reanchor::Ahead)
                } else if mapped + LATE_LIMIT < now {
                    Some(Reanchor::Late)
                } else {
                    None
                };
                match why {
                    None => mapped,
                    Some(_) => {
                        let at = now.max(end.unwrap_or(0));
                        self.offset = Some(at as i128 - source as i128);
                        self.reanchors += 1;
                        at
                    }
                }
            }
        };
        let new_end = mapped + duration;
        self.ends[stream as usize] = Some(end.map_or(new_end, |end| end.max(new_end)));
        (mapped, why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;
    const NOW: u64 = 1_750_000_000 * S;
    const FRAME: u64 = 40_000_000;

    #[test]
    fn the_first_buffer_maps_to_its_arrival_and_the_source_pacing_is_kept() {
        let mut restamp = Restamp::default();
        assert_eq!(restamp.map(Stream::Video, 10 * S, FRAME, NOW), (NOW, None));
        // Audio 20 ms before the video in the source stays 20 ms before it.
        assert_eq!(
            restamp.map(
                Stream::Audio,
                10 * S - 20_000_000,
                21_333_333,
                NOW + 5_000_000
            ),
            (NOW - 20_000_000, None)
        );
        // Jitter in arrival does not move frames: a frame arriving late keeps its time.
        assert_eq!(
            restamp.map(Stream::Video, 10 * S + FRAME, FRAME, NOW + 300_000_000),
            (NOW + FRAME, None)
        );
        assert_eq!(restamp.reanchors, 0);
    }

    #[test]
    fn a_source_whose_timestamps_reset_continues_where_it_was() {
        let mut restamp = Restamp::default();
        restamp.map(Stream::Video, 3600 * S, FRAME, NOW);
        restamp.map(Stream::Video, 3600 * S + FRAME, FRAME, NOW + FRAME);
        // The encoder restarts at 0, 10 ms after the last frame arrived.
        let (at, why) = restamp.map(Stream::Video, 0, FRAME, NOW + FRAME + 10_000_000);
        assert_eq!(why, Some(Reanchor::Backwards));
        assert_eq!(at, NOW + 2 * FRAME, "not before the end of what was sent");
        // The audio, reset too, follows the new mapping without another anchor.
        assert_eq!(
            restamp.map(Stream::Audio, 0, 21_333_333, NOW + 3 * FRAME),
            (NOW + 2 * FRAME, None)
        );
        assert_eq!(restamp.reanchors, 1);
    }

    #[test]
    fn a_jump_ahead_or_falling_far_behind_anchors_again_at_the_clock() {
        let mut restamp = Restamp::default();
        restamp.map(Stream::Video, 0, FRAME, NOW);
        let (at, why) = restamp.map(Stream::Video, 3600 * S, FRAME, NOW + FRAME);
        assert_eq!((at, why), (NOW + FRAME, Some(Reanchor::Ahead)));
        // The source stalls for 10 s and resumes with continuous timestamps.
        let (at, why) = restamp.map(Stream::Video, 3600 * S + FRAME, FRAME, NOW + 10 * S);
        assert_eq!((at, why), (NOW + 10 * S, Some(Reanchor::Late)));
        // A small overlap is no reset.
        let (_, why) = restamp.map(Stream::Video, 3600 * S + FRAME / 2, FRAME, NOW + 10 * S);
        assert_eq!(why, None);
    }
}
