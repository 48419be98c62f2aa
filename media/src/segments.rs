//! Segment bookkeeping with no GStreamer in it: boundaries to exact durations, the checks that
//! every rendition cuts at the same instants, and bandwidth measured from segment sizes.

use onair_domain::{TICKS_PER_SECOND, Ticks};

/// Where one rendition cut its segments, in nanoseconds of running time: the start of every
/// segment, then the end of the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cuts {
    pub label: String,
    pub boundaries: Vec<u64>,
}

impl Cuts {
    /// Segment durations in ticks. Each boundary is rounded to the nearest tick once, relative to
    /// the first, so the durations add up exactly to the rounded total.
    pub fn durations(&self) -> Vec<Ticks> {
        let Some(&origin) = self.boundaries.first() else {
            return Vec::new();
        };
        let ticks: Vec<Ticks> = self
            .boundaries
            .iter()
            .map(|at| Ticks::from_nanos((at - origin) as i64))
            .collect();
        ticks.windows(2).map(|pair| pair[1] - pair[0]).collect()
    }

    pub fn total(&self) -> Ticks {
        self.durations().into_iter().sum()
    }

    /// Problems with the cuts on their own: too few boundaries, or not strictly increasing.
    pub fn check(&self) -> Result<(), String> {
        if self.boundaries.len() < 2 {
            return Err(format!("{} produced no segment", self.label));
        }
        if let Some(pair) = self.boundaries.windows(2).find(|pair| pair[1] <= pair[0]) {
            return Err(format!(
                "{} has a segment that does not move forward: {} s then {} s",
                self.label,
                secs(pair[0]),
                secs(pair[1])
            ));
        }
        Ok(())
    }
}

/// Fails unless every rendition has the same boundaries as the first, naming the first difference.
pub(crate) fn check_identical(all: &[Cuts]) -> Result<(), String> {
    let Some(reference) = all.first() else {
        return Ok(());
    };
    for other in &all[1..] {
        if other.boundaries.len() != reference.boundaries.len() {
            return Err(format!(
                "{} has {} segments but {} has {}",
                reference.label,
                reference.boundaries.len().saturating_sub(1),
                other.label,
                other.boundaries.len().saturating_sub(1)
            ));
        }
        if let Some(index) = (0..reference.boundaries.len())
            .find(|i| reference.boundaries[*i] != other.boundaries[*i])
        {
            let what = if index + 1 == reference.boundaries.len() {
                "ends".to_owned()
            } else {
                format!("starts segment {index}")
            };
            return Err(format!(
                "{} {what} at {} s but {} at {} s",
                reference.label,
                secs(reference.boundaries[index]),
                other.label,
                secs(other.boundaries[index])
            ));
        }
    }
    Ok(())
}

/// Fails unless every segment, the last one too, lasts exactly `segment`: what a rendition
/// padded to whole segments must be. A ladder's segment is whole frames in whole ticks (a frame
/// at 30000/1001 fps is 3003 ticks), so boundaries on the frame grid round to it exactly.
pub(crate) fn check_whole_segments(cuts: &Cuts, segment: Ticks) -> Result<(), String> {
    match cuts
        .durations()
        .iter()
        .enumerate()
        .find(|(_, duration)| **duration != segment)
    {
        None => Ok(()),
        Some((index, duration)) => Err(format!(
            "{} segment {index} lasts {} s, not the {} s of a whole segment",
            cuts.label,
            duration.as_secs_f64(),
            segment.as_secs_f64()
        )),
    }
}

/// Peak (the largest segment's) and average bandwidth, in bits per second, rounded up.
pub(crate) fn bandwidth(segments: &[(u64, Ticks)]) -> (u32, u32) {
    let rate = |bytes: u64, duration: Ticks| -> u32 {
        if duration.0 <= 0 {
            return 0;
        }
        let bits = bytes as u128 * 8 * TICKS_PER_SECOND as u128;
        bits.div_ceil(duration.0 as u128).min(u32::MAX as u128) as u32
    };
    let peak = segments
        .iter()
        .map(|(bytes, duration)| rate(*bytes, *duration))
        .max()
        .unwrap_or(0);
    let total_bytes = segments.iter().map(|(bytes, _)| bytes).sum();
    let total_duration = segments.iter().map(|(_, duration)| *duration).sum();
    (peak, rate(total_bytes, total_duration))
}

pub(crate) fn secs(nanos: u64) -> String {
    format!("{:.6}", nanos as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: u64 = 1_000_000_000;

    fn cuts(label: &str, boundaries: &[u64]) -> Cuts {
        Cuts {
            label: label.into(),
            boundaries: boundaries.to_vec(),
        }
    }

    #[test]
    fn durations_are_differences_of_rounded_boundaries_so_they_add_up_exactly() {
        // 30000/1001 fps frames land on fractional nanoseconds; the sum must still be the total.
        let boundaries = [
            1_000,
            1_000 + 2_002_002_002,
            1_000 + 4_004_004_004,
            1_000 + 5_005_005_005,
        ];
        let track = cuts("360p", &boundaries);
        assert_eq!(
            track.durations(),
            vec![Ticks(180_180), Ticks(180_180), Ticks(90_090)]
        );
        assert_eq!(track.total(), Ticks::from_nanos(5_005_005_005));
    }

    #[test]
    fn identical_boundaries_pass_and_the_first_difference_is_named() {
        let a = cuts("360p ts", &[0, 2 * S, 4 * S, 6 * S]);
        assert!(check_identical(&[a.clone(), cuts("240p ts", &[0, 2 * S, 4 * S, 6 * S])]).is_ok());
        let late = check_identical(&[
            a.clone(),
            cuts("240p ts", &[0, 2 * S, 4 * S + 40_000_000, 6 * S]),
        ])
        .unwrap_err();
        assert!(late.contains("starts segment 2"), "{late}");
        let short = check_identical(&[a, cuts("240p ts", &[0, 2 * S, 4 * S])]).unwrap_err();
        assert!(
            short.contains("3 segments") && short.contains("has 2"),
            "{short}"
        );
    }

    #[test]
    fn cuts_that_do_not_move_forward_are_refused() {
        assert!(cuts("x", &[0, 2 * S, 2 * S]).check().is_err());
        assert!(cuts("x", &[0]).check().is_err());
        assert!(cuts("x", &[0, 2 * S]).check().is_ok());
    }

    #[test]
    fn padded_cuts_must_be_whole_segments_exactly() {
        let whole = cuts("360p ts", &[0, 2 * S, 4 * S, 6 * S]);
        assert!(check_whole_segments(&whole, Ticks::from_secs(2)).is_ok());
        let short = check_whole_segments(
            &cuts("360p ts", &[0, 2 * S, 4 * S, 5 * S]),
            Ticks::from_secs(2),
        )
        .unwrap_err();
        assert!(short.contains("segment 2 lasts 1"), "{short}");
        // 60 frames at 30000/1001 fps, as videorate stamps them (floored to the nanosecond).
        let frame_at = |n: u64| n * 1_001_000_000_000 / 30_000;
        let ntsc = cuts("360p ts", &[0, frame_at(60), frame_at(120), frame_at(180)]);
        assert!(check_whole_segments(&ntsc, Ticks(180_180)).is_ok());
        let one_frame_short = cuts("360p ts", &[0, frame_at(60), frame_at(120), frame_at(179)]);
        assert!(check_whole_segments(&one_frame_short, Ticks(180_180)).is_err());
    }

    #[test]
    fn bandwidth_is_bits_per_second_with_the_peak_over_segments() {
        let segments = [
            (250_000, Ticks::from_secs(2)),
            (500_000, Ticks::from_secs(2)),
            (100_000, Ticks::from_secs(1)),
        ];
        let (peak, average) = bandwidth(&segments);
        assert_eq!(peak, 2_000_000);
        assert_eq!(average, 850_000 * 8 / 5);
        assert_eq!(bandwidth(&[]), (0, 0));
    }
}
