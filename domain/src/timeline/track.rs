//! A run's segment durations ([`SegmentTrack`]), apart from the timeline that lays runs end to
//! end: how one asset's segments are held is its own concern.

use crate::time::Ticks;

/// The segment durations of one asset with their running starts, shared by every run of it.
///
/// A normalised asset's segments all last the ladder's segment duration but its last, so such a
/// track is held as three numbers whatever its length (a 30-minute programme would otherwise
/// take 14 KB of durations and starts in every plan that airs it); any other is held as its
/// durations with their prefix sums.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SegmentTrack {
    durations: Durations,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Durations {
    /// `count` segments (at least one): every one `each` long but the last, `last` long.
    Uniform {
        each: Ticks,
        count: u32,
        last: Ticks,
    },
    /// Anything else; `starts[i]` is the sum of `durations[..i]`, one more entry than durations.
    Listed {
        durations: Vec<Ticks>,
        starts: Vec<Ticks>,
    },
}

impl SegmentTrack {
    pub fn new(durations: Vec<Ticks>) -> SegmentTrack {
        if let Some((&last, regular)) = durations.split_last()
            && let Some(&each) = regular.first().or(Some(&last))
            && regular.iter().all(|duration| *duration == each)
        {
            return SegmentTrack {
                durations: Durations::Uniform {
                    each,
                    count: durations.len() as u32,
                    last,
                },
            };
        }
        let mut starts = Vec::with_capacity(durations.len() + 1);
        let mut at = Ticks::ZERO;
        starts.push(at);
        for duration in &durations {
            at += *duration;
            starts.push(at);
        }
        SegmentTrack {
            durations: Durations::Listed { durations, starts },
        }
    }

    pub fn len(&self) -> u32 {
        match &self.durations {
            Durations::Uniform { count, .. } => *count,
            Durations::Listed { durations, .. } => durations.len() as u32,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn duration(&self, index: u32) -> Ticks {
        match &self.durations {
            Durations::Uniform { each, count, last } => {
                assert!(index < *count, "segment {index} of a track of {count}");
                if index + 1 == *count { *last } else { *each }
            }
            Durations::Listed { durations, .. } => durations[index as usize],
        }
    }

    /// Offset of segment `index` from the start of the asset (`len()`: its end).
    pub fn start(&self, index: u32) -> Ticks {
        match &self.durations {
            Durations::Uniform { each, count, last } => {
                assert!(index <= *count, "segment {index} of a track of {count}");
                if index == *count {
                    Ticks(each.0 * i64::from(count - 1)) + *last
                } else {
                    Ticks(each.0 * i64::from(index))
                }
            }
            Durations::Listed { starts, .. } => starts[index as usize],
        }
    }

    /// The segment that contains `offset` from the start of the asset.
    pub fn index_at(&self, offset: Ticks) -> u32 {
        match &self.durations {
            Durations::Uniform { each, count, .. } => {
                if offset.0 <= 0 || each.0 <= 0 {
                    return 0;
                }
                (offset.0 / each.0).min(i64::from(count - 1)) as u32
            }
            Durations::Listed { durations, starts } => {
                let after = starts[..durations.len()].partition_point(|start| *start <= offset);
                after.saturating_sub(1) as u32
            }
        }
    }

    /// The durations, in order.
    pub fn durations(&self) -> impl ExactSizeIterator<Item = Ticks> + '_ {
        (0..self.len()).map(|index| self.duration(index))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A track held as its durations whatever they are, to compare the compact one with.
    fn listed(durations: &[Ticks]) -> SegmentTrack {
        let mut starts = vec![Ticks::ZERO];
        for duration in durations {
            starts.push(*starts.last().unwrap() + *duration);
        }
        SegmentTrack {
            durations: Durations::Listed {
                durations: durations.to_vec(),
                starts,
            },
        }
    }

    #[test]
    fn a_track_of_equal_segments_but_the_last_answers_as_its_listed_durations_would() {
        for durations_secs in [&[2, 2, 2, 1][..], &[2], &[2, 2, 3], &[4, 4, 4, 4]] {
            let durations: Vec<Ticks> = durations_secs
                .iter()
                .map(|s| Ticks::from_secs(*s))
                .collect();
            let compact = SegmentTrack::new(durations.clone());
            assert!(
                matches!(compact.durations, Durations::Uniform { .. }),
                "{durations_secs:?} is held as three numbers"
            );
            let listed = listed(&durations);
            assert_eq!(compact.len(), listed.len());
            assert_eq!(compact.durations().collect::<Vec<_>>(), durations);
            for index in 0..=compact.len() {
                assert_eq!(compact.start(index), listed.start(index), "start {index}");
            }
            for offset_ms in (-1_000..12_000).step_by(250) {
                let offset = Ticks::from_millis(offset_ms);
                assert_eq!(
                    compact.index_at(offset),
                    listed.index_at(offset),
                    "{durations_secs:?} at {offset_ms} ms"
                );
            }
        }
        let uneven = SegmentTrack::new(vec![
            Ticks::from_secs(2),
            Ticks::from_secs(3),
            Ticks::from_secs(2),
        ]);
        assert!(matches!(uneven.durations, Durations::Listed { .. }));
        assert_eq!(uneven.index_at(Ticks::from_millis(4_900)), 1);
        assert!(SegmentTrack::new(Vec::new()).is_empty());
    }
}
