//! Where the live ladder cuts: segments on the grid `anchor + k * segment`, parts every `part`
//! from each segment's grid start, each at the frame nearest its boundary. Pure: frames in,
//! cuts out.

use onair_domain::{Ticks, Timestamp};

/// Nanoseconds of running time (Unix time here) to 90 kHz ticks, rounded to the nearest.
pub(crate) fn ns_to_ticks(ns: u64) -> i64 {
    ((ns as i128 * 9 + 50_000) / 100_000) as i64
}

/// 90 kHz ticks to nanoseconds, rounded to the nearest; negative instants become 0.
pub(crate) fn ticks_to_ns(ticks: i64) -> u64 {
    ((ticks.max(0) as i128 * 100_000 + 4) / 9) as u64
}

/// What starts at a frame the [`Cutter`] chose.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    /// A segment (and its first part) starts here: a keyframe. `start` names the segment: the
    /// grid boundary nearest to the frame (at or before its middle).
    Segment { start: Timestamp },
    /// Part `index` (1, 2, …) of the segment named `segment` starts here.
    Part { segment: Timestamp, index: u32 },
}

#[derive(Debug, Clone, Copy)]
struct Current {
    /// The grid boundary that names the segment.
    start: i64,
    /// The next segment boundary: a frame whose middle reaches it starts the next segment.
    next_boundary: i64,
    /// Parts are `part` apart from `start`; this is the next part boundary.
    next_part: i64,
    part_index: u32,
}

/// Decides, frame by frame, where segments and parts start.
///
/// A frame `[s, s + d)` starts the next segment when its middle `s + d/2` reaches the next grid
/// boundary: of the frames around a boundary, the one nearest to it (the frame rate need not
/// divide the segment). The segment is named by the latest boundary at or before that middle, so
/// after a gap in the input the boundaries with no frames are skipped, never named twice. Parts
/// work the same way on the part grid `segment start + i * part`, numbered 1, 2, … in order.
///
/// [`Cutter::set_anchor`] moves the grid: the next segment starts at the new grid's first
/// boundary past the current segment's first frame, so the current segment may end short.
#[derive(Debug, Clone)]
pub(crate) struct Cutter {
    anchor: i64,
    segment: i64,
    part: i64,
    current: Option<Current>,
}

impl Cutter {
    /// `segment` and `part` must be positive (the caller checks).
    pub fn new(anchor: Timestamp, segment: Ticks, part: Ticks) -> Cutter {
        Cutter {
            anchor: anchor.0,
            segment: segment.0.max(1),
            part: part.0.max(1),
            current: None,
        }
    }

    /// The latest grid boundary at or before `at`.
    fn boundary_at_or_before(&self, at: i64) -> i64 {
        self.anchor + (at - self.anchor).div_euclid(self.segment) * self.segment
    }

    /// Moves the grid to `anchor + k * segment` from the next boundary on.
    pub fn set_anchor(&mut self, anchor: Timestamp) {
        self.anchor = anchor.0;
        if let Some(current) = self.current.as_mut() {
            // The first boundary of the new grid past the segment's start.
            let after = current.start;
            let next =
                self.anchor + ((after - self.anchor).div_euclid(self.segment) + 1) * self.segment;
            current.next_boundary = next;
        }
    }

    /// The cut at the frame starting at `start` and lasting `duration` (both in ticks), if any.
    pub fn frame(&mut self, start: i64, duration: i64) -> Option<Cut> {
        let middle = start + duration.max(0) / 2;
        match self.current {
            Some(ref mut current) if middle < current.next_boundary => {
                if middle < current.next_part {
                    return None;
                }
                current.part_index += 1;
                let passed = (middle - current.start).div_euclid(self.part);
                current.next_part = current.start + (passed + 1) * self.part;
                Some(Cut::Part {
                    segment: Timestamp(current.start),
                    index: current.part_index,
                })
            }
            _ => {
                // Past `next_boundary`, which is on the grid, so never before it: names only
                // grow, even right after set_anchor.
                let start = self.boundary_at_or_before(middle);
                let passed = (middle - start).div_euclid(self.part);
                self.current = Some(Current {
                    start,
                    next_boundary: start + self.segment,
                    next_part: start + (passed + 1) * self.part,
                    part_index: 0,
                });
                Some(Cut::Segment {
                    start: Timestamp(start),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME_25: i64 = 3600;

    /// Cuts of `frames` frames of `duration` from `first`, as (frame index, cut).
    fn cuts(cutter: &mut Cutter, first: i64, duration: i64, frames: i64) -> Vec<(i64, Cut)> {
        (0..frames)
            .filter_map(|i| {
                cutter
                    .frame(first + i * duration, duration)
                    .map(|cut| (i, cut))
            })
            .collect()
    }

    fn segment(ticks: i64) -> Cut {
        Cut::Segment {
            start: Timestamp(ticks),
        }
    }

    fn part(segment: i64, index: u32) -> Cut {
        Cut::Part {
            segment: Timestamp(segment),
            index,
        }
    }

    #[test]
    fn unix_nanoseconds_convert_to_ticks_without_overflow() {
        let now_ns = 1_750_000_000_123_456_789u64;
        let ticks = ns_to_ticks(now_ns);
        assert_eq!(ticks, 157_500_000_011_111);
        assert!(ticks_to_ns(ticks).abs_diff(now_ns) < 11_112);
    }

    #[test]
    fn the_first_frame_starts_a_segment_named_by_the_boundary_before_it() {
        let mut cutter = Cutter::new(Timestamp(0), Ticks::from_secs(2), Ticks::from_millis(500));
        let first = 1_000 * 180_000 + 70_000;
        let got = cuts(&mut cutter, first, FRAME_25, 4);
        assert_eq!(got, vec![(0, segment(1_000 * 180_000))]);
    }

    #[test]
    fn segments_fall_on_the_grid_and_parts_every_half_second() {
        let mut cutter = Cutter::new(Timestamp(0), Ticks::from_secs(2), Ticks::from_millis(500));
        // 25 fps from exactly a boundary: 50 frames a segment, parts every 12.5 frames.
        let got = cuts(&mut cutter, 180_000, FRAME_25, 101);
        assert_eq!(
            got,
            vec![
                (0, segment(180_000)),
                (12, part(180_000, 1)),
                (25, part(180_000, 2)),
                (37, part(180_000, 3)),
                (50, segment(360_000)),
                (62, part(360_000, 1)),
                (75, part(360_000, 2)),
                (87, part(360_000, 3)),
                (100, segment(540_000)),
            ]
        );
    }

    #[test]
    fn a_frame_rate_that_does_not_divide_the_segment_cuts_at_the_nearest_frame() {
        // 29.97 fps: 3003 ticks a frame; 2 s is 59.94 frames.
        let mut cutter = Cutter::new(Timestamp(0), Ticks::from_secs(2), Ticks::from_secs(2));
        let got = cuts(&mut cutter, 0, 3003, 200);
        let starts: Vec<i64> = got.iter().map(|(i, _)| *i).collect();
        assert_eq!(starts, vec![0, 60, 120, 180]);
        for (i, cut) in got {
            let Cut::Segment { start } = cut else {
                panic!("no parts at 2 s parts")
            };
            assert!((i * 3003 - start.0).abs() <= 3003 / 2, "{i}: {start:?}");
        }
    }

    #[test]
    fn moving_the_anchor_cuts_at_the_new_grids_next_boundary() {
        let mut cutter = Cutter::new(Timestamp(0), Ticks::from_secs(2), Ticks::from_secs(2));
        let mut got = cuts(&mut cutter, 0, FRAME_25, 60);
        // Mid-segment (frame 60 = 2.4 s), the grid moves by 0.8 s: boundaries at 2.8, 4.8, …
        cutter.set_anchor(Timestamp(72_000));
        got.extend(
            cuts(&mut cutter, 60 * FRAME_25, FRAME_25, 90)
                .into_iter()
                .map(|(i, cut)| (i + 60, cut)),
        );
        assert_eq!(
            got,
            vec![
                (0, segment(0)),
                (50, segment(180_000)),
                (70, segment(252_000)),
                (120, segment(432_000)),
            ]
        );
    }

    #[test]
    fn boundaries_inside_a_gap_are_skipped_not_named() {
        let mut cutter = Cutter::new(Timestamp(0), Ticks::from_secs(2), Ticks::from_secs(2));
        assert_eq!(cutter.frame(0, FRAME_25), Some(segment(0)));
        // 7 s later: the segments at 2, 4 and 6 s have no frames.
        assert_eq!(cutter.frame(7 * 90_000, FRAME_25), Some(segment(540_000)));
        assert_eq!(cutter.frame(7 * 90_000 + FRAME_25, FRAME_25), None);
        assert_eq!(cutter.frame(8 * 90_000, FRAME_25), Some(segment(720_000)));
    }
}
