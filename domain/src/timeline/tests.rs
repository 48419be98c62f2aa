use super::*;

fn track(durations_secs: &[i64]) -> Arc<SegmentTrack> {
    Arc::new(SegmentTrack::new(
        durations_secs
            .iter()
            .map(|s| Ticks::from_secs(*s))
            .collect(),
    ))
}

fn two_clips(repeat: bool) -> Timeline {
    let a = Run::whole(RunKind::Programme, AssetId(1), "A", track(&[2, 2, 2]));
    let b = Run::whole(RunKind::Programme, AssetId(2), "B", track(&[2, 2]));
    Timeline::new(Timestamp::from_unix_secs(1000), vec![a, b], repeat, 0, 0).unwrap()
}

#[test]
fn segment_at_finds_the_segment_airing_and_numbers_it_by_prefix_sums() {
    let timeline = two_clips(false);
    let at = timeline
        .segment_at(Timestamp::from_unix_secs(1007))
        .unwrap();
    assert_eq!(
        (
            at.media_sequence,
            at.discontinuity_sequence,
            at.segment_index
        ),
        (3, 1, 0)
    );
    assert_eq!(at.start, Timestamp::from_unix_secs(1006));
    assert!(at.starts_run);
    assert_eq!(timeline.segment_at(Timestamp::from_unix_secs(1010)), None);
    assert_eq!(timeline.segment_at(Timestamp::from_unix_secs(999)), None);
}

#[test]
fn a_repeating_timeline_keeps_counting_across_cycles() {
    let timeline = two_clips(true);
    let at = timeline
        .segment_at(Timestamp::from_unix_secs(1000 + 10 * 3 + 1))
        .unwrap();
    assert_eq!(at.media_sequence, 15);
    assert_eq!(at.discontinuity_sequence, 6);
    assert_eq!(at.start, Timestamp::from_unix_secs(1030));
    assert_eq!(timeline.segment_by_sequence(15), Some(at));
}

#[test]
fn live_window_lists_only_segments_that_have_ended() {
    let timeline = two_clips(true);
    let window = timeline.live_window(Timestamp::from_unix_secs(1007), 3);
    let sequences: Vec<u64> = window.iter().map(|s| s.media_sequence).collect();
    assert_eq!(sequences, vec![0, 1, 2]);
    let at_boundary = timeline.live_window(Timestamp::from_unix_secs(1006), 2);
    assert_eq!(
        at_boundary.last().unwrap().end(),
        Timestamp::from_unix_secs(1006)
    );
}

#[test]
fn live_window_is_empty_before_the_first_segment_ends() {
    assert!(
        two_clips(false)
            .live_window(Timestamp::from_unix_secs(1001), 5)
            .is_empty()
    );
}

#[test]
fn a_finished_timeline_keeps_showing_its_last_window() {
    let timeline = two_clips(false);
    let window = timeline.live_window(Timestamp::from_unix_secs(5000), 2);
    assert_eq!(
        window.iter().map(|s| s.media_sequence).collect::<Vec<_>>(),
        vec![3, 4]
    );
}

#[test]
fn in_points_shift_starts_but_not_numbering() {
    let partial = Run {
        first_segment: 1,
        n_segments: 2,
        ..Run::whole(RunKind::Filler, AssetId(3), "C", track(&[1, 3, 4]))
    };
    let timeline = Timeline::new(Timestamp(0), vec![partial], false, 100, 7).unwrap();
    let second = timeline.segment_by_sequence(101).unwrap();
    assert_eq!(second.start, Timestamp::from_unix_secs(3));
    assert_eq!(
        (second.segment_index, second.discontinuity_sequence),
        (2, 7)
    );
    assert_eq!(
        timeline
            .segment_at(Timestamp::from_unix_secs(5))
            .unwrap()
            .media_sequence,
        101
    );
}

fn slate() -> Run {
    Run::whole(RunKind::Slate, AssetId(9), "slate", track(&[3, 1]))
}

#[test]
fn a_tail_loops_after_the_end_and_numbers_on() {
    let timeline = two_clips(false).with_tail(slate()).unwrap();
    assert!(timeline.is_endless());
    // The runs end at 1010 with sequences 0..=4 and discontinuities 0..=1.
    let first = timeline
        .segment_at(Timestamp::from_unix_secs(1010))
        .unwrap();
    assert_eq!((first.media_sequence, first.discontinuity_sequence), (5, 2));
    assert!(first.starts_run);
    assert_eq!(first.run_index, 2);
    assert_eq!(timeline.run(first.run_index).title, "slate");
    let later = timeline
        .segment_at(Timestamp::from_unix_secs(1010 + 4 * 1000 + 3))
        .unwrap();
    assert_eq!(
        (
            later.media_sequence,
            later.discontinuity_sequence,
            later.segment_index
        ),
        (5 + 2 * 1000 + 1, 2 + 1000, 1)
    );
    assert_eq!(later.start, Timestamp::from_unix_secs(5013));
    assert_eq!(
        timeline.segment_by_sequence(later.media_sequence),
        Some(later)
    );
    assert_eq!(timeline.run_start(&later), Timestamp::from_unix_secs(5010));
}

#[test]
fn a_window_over_the_end_slides_into_the_tail() {
    let timeline = two_clips(false).with_tail(slate()).unwrap();
    let window = timeline.live_window(Timestamp::from_unix_secs(1014), 3);
    assert_eq!(
        window.iter().map(|s| s.media_sequence).collect::<Vec<_>>(),
        vec![4, 5, 6]
    );
    assert_eq!(window[2].end(), Timestamp::from_unix_secs(1014));
    let now = Timestamp::from_unix_secs(1_000_000);
    let far = timeline.live_window(now, 3);
    assert!(far.windows(2).all(|w| w[0].end() == w[1].start));
    let airing = timeline.segment_at(now).unwrap();
    assert_eq!(far.last().unwrap().end(), airing.start);
    assert_eq!(
        far.last().unwrap().media_sequence + 1,
        airing.media_sequence
    );
}

#[test]
fn a_tail_is_longest_segment_counts_and_an_empty_tail_is_refused() {
    let long_tail = Run::whole(RunKind::Slate, AssetId(9), "slate", track(&[7]));
    assert_eq!(
        two_clips(false)
            .with_tail(long_tail)
            .unwrap()
            .longest_segment(),
        Ticks::from_secs(7)
    );
    let empty = Run {
        n_segments: 0,
        ..slate()
    };
    assert!(matches!(
        two_clips(false).with_tail(empty),
        Err(TimelineError::EmptyTail { .. })
    ));
}

#[test]
fn consecutive_runs_of_one_slot_are_one_break_numbered_per_occurrence() {
    let slot = |number| {
        Some(BreakSlot {
            number,
            duration: Ticks::from_secs(6),
        })
    };
    let ad = |title: &str, number| Run {
        ad_break: slot(number),
        ..Run::whole(RunKind::AdBreak, AssetId(5), title, track(&[2, 1]))
    };
    let programme = Run::whole(RunKind::Programme, AssetId(1), "P", track(&[2, 2]));
    let runs = vec![
        programme.clone(),
        ad("a", 1),
        ad("b", 1),
        ad("c", 2),
        programme,
    ];
    let timeline = Timeline::new(Timestamp(0), runs, true, 10, 100).unwrap();
    let period = timeline.period().0 / 90_000;
    assert_eq!(period, 4 + 3 + 3 + 3 + 4);
    // Second pass, inside run "b": 17 + 4 + 3 + 2 s.
    let at = timeline
        .segment_at(Timestamp::from_unix_secs(period + 9))
        .unwrap();
    let airing = timeline.break_of(&at).unwrap();
    assert_eq!(airing.slot.number, 1);
    assert_eq!(airing.first_discontinuity_sequence, 100 + 5 + 1);
    assert_eq!(airing.first_media_sequence, 10 + 10 + 2);
    assert_eq!((airing.n_segments, airing.n_runs), (4, 2));
    assert_eq!(airing.start, Timestamp::from_unix_secs(period + 4));
    assert_eq!(airing.duration, Ticks::from_secs(6));
    assert_eq!(airing.splice_event_id(), 106);
    let c = timeline
        .segment_at(Timestamp::from_unix_secs(period + 10))
        .unwrap();
    assert_eq!(timeline.break_of(&c).unwrap().slot.number, 2);
    assert_eq!(timeline.break_ending_before(&c), Some(airing));
    let after = timeline
        .segment_at(Timestamp::from_unix_secs(period + 13))
        .unwrap();
    assert_eq!(timeline.break_of(&after), None);
    assert_eq!(timeline.break_ending_before(&after).unwrap().slot.number, 2);
    let b_start = timeline
        .segment_at(Timestamp::from_unix_secs(period + 7))
        .unwrap();
    assert_eq!(
        timeline.break_ending_before(&b_start),
        None,
        "same occurrence"
    );
}

/// A rotation of a programme and a two-run break, `copies` times, numbering breaks per pass.
fn rotations(copies: u32) -> Timeline {
    let programme = Run::whole(RunKind::Programme, AssetId(1), "P", track(&[2, 2, 1]));
    let ad = |title: &str, number| Run {
        ad_break: Some(BreakSlot {
            number,
            duration: Ticks::from_secs(6),
        }),
        ..Run::whole(RunKind::AdBreak, AssetId(5), title, track(&[2, 1]))
    };
    let runs = (1..=copies)
        .flat_map(|number| [programme.clone(), ad("a", number), ad("b", number)])
        .collect();
    Timeline::new(Timestamp(0), runs, true, 7, 3).unwrap()
}

#[test]
fn a_repeating_timeline_of_copies_airs_the_same_as_its_first_copy() {
    let long = rotations(40);
    assert!(long.repeats_every(3));
    assert!(!long.repeats_every(2), "a copy must hold whole breaks");
    let short = long.with_first_runs(3).unwrap();
    assert_eq!(short.runs().len(), 3);
    for seconds in 0..3 * long.period().0 / 90_000 {
        let at = Timestamp::from_unix_secs(seconds);
        let (a, b) = (long.segment_at(at).unwrap(), short.segment_at(at).unwrap());
        assert_eq!(
            (
                a.media_sequence,
                a.discontinuity_sequence,
                a.start,
                a.duration
            ),
            (
                b.media_sequence,
                b.discontinuity_sequence,
                b.start,
                b.duration
            ),
            "at {seconds} s"
        );
        let (break_a, break_b) = (long.break_of(&a), short.break_of(&b));
        assert_eq!(
            break_a.map(|airing| (airing.splice_event_id(), airing.start, airing.n_runs)),
            break_b.map(|airing| (airing.splice_event_id(), airing.start, airing.n_runs)),
            "at {seconds} s"
        );
        assert_eq!(
            long.break_ending_before(&a).map(|airing| airing.start),
            short.break_ending_before(&b).map(|airing| airing.start)
        );
    }
}

#[test]
fn runs_that_differ_or_a_timeline_that_ends_do_not_fold() {
    let mut runs = rotations(4).runs().to_vec();
    runs[6].first_segment = 1;
    runs[6].n_segments = 2;
    let changed = Timeline::new(Timestamp(0), runs, true, 0, 0).unwrap();
    assert!(!changed.repeats_every(3));
    assert!(!changed.repeats_every(6) && !changed.repeats_every(12));
    let ends = Timeline::new(Timestamp(0), rotations(4).runs().to_vec(), false, 0, 0).unwrap();
    assert!(!ends.repeats_every(3), "only a repeating timeline folds");
    assert!(
        !rotations(4).repeats_every(5),
        "the copies must divide the runs"
    );
}

/// Every segment of `runs`, `cycles` times, numbered by walking them one by one: what a
/// timeline must answer however it holds its runs.
fn walked(runs: &[Run], origin: Timestamp, cycles: u64) -> Vec<SegmentAt> {
    let mut out = Vec::new();
    let (mut sequence, mut discontinuity, mut at) = (0, 0, origin);
    for _ in 0..cycles {
        for (run_index, run) in runs.iter().enumerate() {
            for k in 0..run.n_segments {
                let segment_index = run.first_segment + k;
                let duration = run.track.duration(segment_index);
                out.push(SegmentAt {
                    media_sequence: sequence,
                    discontinuity_sequence: discontinuity,
                    start: at,
                    duration,
                    run_index,
                    segment_index,
                    starts_run: k == 0,
                });
                sequence += 1;
                at = at + duration;
            }
            discontinuity += 1;
        }
    }
    out
}

/// A programme, a break of 23 whole passes of a 4 s slate and a 2 s part of one, another
/// programme, five passes of slate in a gap, a break of one ad, and the last programme.
fn looped_slate_runs() -> Vec<Run> {
    let slate_track = track(&[2, 2]);
    let slate = |kind, number: Option<u32>, n_segments| Run {
        n_segments,
        ad_break: number.map(|number| BreakSlot {
            number,
            duration: Ticks::from_secs(if number == 0 { 94 } else { 6 }),
        }),
        ..Run::whole(kind, AssetId(9), "slate", slate_track.clone())
    };
    let mut runs = vec![Run::whole(
        RunKind::Programme,
        AssetId(1),
        "A",
        track(&[2, 2, 2]),
    )];
    runs.extend((0..23).map(|_| slate(RunKind::AdBreak, Some(0), 2)));
    runs.push(slate(RunKind::AdBreak, Some(0), 1));
    runs.push(Run::whole(
        RunKind::Programme,
        AssetId(2),
        "B",
        track(&[2, 3]),
    ));
    runs.extend((0..5).map(|_| slate(RunKind::Slate, None, 2)));
    runs.push(Run {
        ad_break: Some(BreakSlot {
            number: 1,
            duration: Ticks::from_secs(6),
        }),
        ..Run::whole(RunKind::AdBreak, AssetId(5), "ad", track(&[2, 2, 2]))
    });
    runs.push(Run::whole(RunKind::Programme, AssetId(3), "C", track(&[2])));
    runs
}

#[test]
fn equal_runs_in_a_row_are_held_once_and_air_as_one_run_each() {
    let runs = looped_slate_runs();
    let origin = Timestamp::from_unix_secs(1000);
    let timeline = Timeline::new(origin, runs.clone(), true, 0, 0).unwrap();
    assert_eq!(timeline.runs().len(), runs.len());
    assert_eq!(timeline.runs().to_vec(), runs);
    assert_eq!(
        timeline
            .run_stretches()
            .map(|(run, passes)| (run.title.as_str(), passes))
            .collect::<Vec<_>>(),
        [
            ("A", 1),
            ("slate", 23),
            ("slate", 1),
            ("B", 1),
            ("slate", 5),
            ("ad", 1),
            ("C", 1)
        ]
    );
    let expected = walked(&runs, origin, 2);
    let mut offset = Ticks::ZERO;
    for (index, run) in runs.iter().enumerate() {
        assert_eq!(timeline.run_offset(index), offset, "run {index}");
        assert_eq!(timeline.run_index_at(offset), index, "run at {offset:?}");
        offset += run.duration();
        assert_eq!(timeline.run_index_at(offset - Ticks(1)), index);
    }
    assert_eq!(timeline.run_offset(runs.len()), timeline.period());
    assert_eq!(timeline.run_index_at(timeline.period()), runs.len());
    for segment in &expected {
        assert_eq!(
            timeline
                .segment_by_sequence(segment.media_sequence)
                .as_ref(),
            Some(segment)
        );
        assert_eq!(timeline.segment_at(segment.start).as_ref(), Some(segment));
        assert_eq!(
            timeline.segment_at(segment.end() - Ticks(1)).as_ref(),
            Some(segment)
        );
        assert_eq!(timeline.run(segment.run_index), &runs[segment.run_index]);
    }
}

#[test]
fn a_break_of_looped_slate_is_one_occurrence_spanning_every_pass() {
    let runs = looped_slate_runs();
    let origin = Timestamp::from_unix_secs(1000);
    let timeline = Timeline::new(origin, runs.clone(), true, 0, 0).unwrap();
    let segments = walked(&runs, origin, 2);
    for segment in &segments {
        let expected = runs[segment.run_index].ad_break.map(|slot| {
            let same = |run: &Run| run.ad_break.is_some_and(|s| s.number == slot.number);
            let mut first = segment.run_index;
            while first > 0 && same(&runs[first - 1]) {
                first -= 1;
            }
            let mut last = segment.run_index;
            while last + 1 < runs.len() && same(&runs[last + 1]) {
                last += 1;
            }
            // The same pass of the timeline: the discontinuities before its first run.
            let pass = |at: &SegmentAt| at.discontinuity_sequence - at.run_index as u64;
            let of_break: Vec<&SegmentAt> = segments
                .iter()
                .filter(|other| {
                    (first..=last).contains(&other.run_index) && pass(other) == pass(segment)
                })
                .collect();
            BreakAiring {
                slot,
                first_discontinuity_sequence: of_break[0].discontinuity_sequence,
                first_media_sequence: of_break[0].media_sequence,
                n_segments: of_break.len() as u64,
                n_runs: (last + 1 - first) as u32,
                start: of_break[0].start,
                duration: of_break.iter().map(|s| s.duration).sum(),
            }
        });
        assert_eq!(timeline.break_of(segment), expected, "{segment:?}");
    }
    let first_break = timeline.break_of(&segments[3]).unwrap();
    assert_eq!((first_break.n_runs, first_break.n_segments), (24, 47));
    assert_eq!(first_break.duration, Ticks::from_secs(94));
}
