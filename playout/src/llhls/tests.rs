//! LL-HLS playlists of renditions fed as the live ladder feeds them, at fixed instants: snapshots
//! checked by the test-side validator, the blocking-reload rules as a table, and properties over
//! random feeds.

use insta::assert_snapshot;
use onair_domain::{Ladder, Ticks, Timestamp};
use proptest::prelude::*;

use super::validator::{Checked, validate};
use super::*;

/// A boundary of the 2 s grid: 2026-09-21T14:13:20Z.
const T0: Timestamp = Timestamp::from_unix_secs(1_790_000_000);
const SEGMENT: Ticks = Ticks::from_secs(2);
const PART: Ticks = Ticks::from_millis(500);

/// The grid boundary `n` segments after T0.
fn at(n: i64) -> Timestamp {
    T0 + Ticks(n * SEGMENT.0)
}

fn part(index: u32) -> LlPart {
    LlPart {
        index,
        duration: PART,
        independent: index == 0,
    }
}

fn rendition(name: &str) -> LlRendition {
    LlRendition::new(name, LlConfig::default(), 100)
}

/// Parts `from..to` of segment `n`.
fn push_parts(rendition: &mut LlRendition, n: i64, init: u32, parts: std::ops::Range<u32>) {
    for index in parts {
        rendition.push_part(at(n), init, part(index)).unwrap();
    }
}

/// Segment `n` in full: its four parts, then its completion.
fn whole_segment(rendition: &mut LlRendition, n: i64, init: u32) {
    push_parts(rendition, n, init, 0..4);
    rendition
        .complete_segment(at(n), at(n), SEGMENT, init)
        .unwrap();
}

/// Segments `0..n` in full.
fn segments(rendition: &mut LlRendition, n: i64) {
    for segment in 0..n {
        whole_segment(rendition, segment, 0);
    }
}

/// The playlist of `rendition` reporting `others`, checked by the validator.
fn checked(rendition: &LlRendition, others: &[&LlRendition]) -> (String, Checked) {
    let reports: Vec<RenditionReport> = others
        .iter()
        .filter_map(|other| other.sibling_report())
        .collect();
    let text = render_media_playlist(rendition, &reports);
    match validate(&text) {
        Ok(checked) => (text, checked),
        Err(problems) => panic!("{text}\nbreaks the LL-HLS rules: {problems:#?}"),
    }
}

/// Each report says what the reported rendition's own playlist ends with.
fn assert_reports_agree(reporting: &Checked, others: &[&LlRendition]) {
    let reported: Vec<&&LlRendition> = others
        .iter()
        .filter(|other| other.segments().len() > 0)
        .collect();
    assert_eq!(reporting.reports.len(), reported.len());
    for ((uri, last_msn, last_part), other) in reporting.reports.iter().zip(reported) {
        let (_, own) = checked(other, &[]);
        assert_eq!(uri, &format!("../{}/llhls.m3u8", other.name()));
        assert_eq!(Some((*last_msn, *last_part)), own.last, "{uri}");
    }
}

#[test]
fn a_rendition_mid_segment_lists_its_parts_then_the_hint_then_the_other_renditions() {
    let (mut high, mut low, mut audio) =
        (rendition("360p"), rendition("240p"), rendition("audio-96k"));
    for rendition in [&mut high, &mut low, &mut audio] {
        segments(rendition, 3);
    }
    push_parts(&mut high, 3, 0, 0..2);
    push_parts(&mut low, 3, 0, 0..2);
    // Audio leaves the ladder later: a part behind.
    push_parts(&mut audio, 3, 0, 0..1);

    let (text, checked) = checked(&high, &[&low, &audio]);
    assert_snapshot!("mid_segment", text);
    assert_eq!(checked.last, Some((103, Some(1))));
    assert_eq!(
        checked.preload_hint.as_deref(),
        Some("161100000540000.2.m4s")
    );
    assert_reports_agree(&checked, &[&low, &audio]);
}

#[test]
fn at_a_segment_boundary_the_hint_is_the_next_segments_first_part() {
    let mut video = rendition("360p");
    segments(&mut video, 3);

    let (text, checked) = checked(&video, &[]);
    assert_snapshot!("segment_boundary", text);
    assert_eq!(checked.last, Some((102, Some(3))));
    assert_eq!(
        checked.preload_hint.as_deref(),
        Some("161100000540000.0.m4s")
    );

    // The same once a segment has all the parts it can hold but is not reported yet.
    push_parts(&mut video, 3, 0, 0..4);
    assert_eq!(video.preload_hint(), Some((at(4), 0)));
}

#[test]
fn a_new_init_starts_a_discontinuity_with_its_map_and_date_again() {
    let mut video = rendition("360p");
    segments(&mut video, 2);
    whole_segment(&mut video, 2, 1);
    push_parts(&mut video, 3, 1, 0..1);

    let (text, checked) = checked(&video, &[]);
    assert_snapshot!("new_init", text);
    assert_eq!(checked.media_sequence, 100);
    let numbers: Vec<u64> = video.segments().map(|s| s.discontinuity_sequence).collect();
    assert_eq!(numbers, [0, 0, 1, 1]);
}

#[test]
fn a_gap_starts_a_discontinuity_and_a_segment_cut_short_by_an_anchor_move_does_not() {
    let mut video = rendition("360p");
    segments(&mut video, 2);
    // The anchor moved 1 s: segment 2 ends after two parts, the next is named 1 s after it.
    push_parts(&mut video, 2, 0, 0..2);
    video
        .complete_segment(at(2), at(2), Ticks::from_secs(1), 0)
        .unwrap();
    let moved = at(2) + Ticks::from_secs(1);
    assert_eq!(video.preload_hint(), Some((moved, 0)));
    for index in 0..4 {
        video.push_part(moved, 0, part(index)).unwrap();
    }
    video.complete_segment(moved, moved, SEGMENT, 0).unwrap();
    // Then the source stalls for 7 s: the boundaries without media are skipped. Media resumes
    // 0.7 s after the boundary that names the next segment: a 0.3 s part to the part grid,
    // then two whole ones, and the segment reports where its media started.
    let resumed = moved + SEGMENT + Ticks::from_secs(7);
    let first = LlPart {
        index: 0,
        duration: Ticks::from_millis(300),
        independent: true,
    };
    video.push_part(resumed, 0, first).unwrap();
    for index in 1..3 {
        video.push_part(resumed, 0, part(index)).unwrap();
    }
    let resumed_media = resumed + Ticks::from_millis(700);
    video
        .complete_segment(resumed, resumed_media, Ticks::from_millis(1300), 0)
        .unwrap();
    assert_eq!(video.preload_hint(), Some((resumed + SEGMENT, 0)));

    let (text, _) = checked(&video, &[]);
    assert_snapshot!("gap", text);
    let numbers: Vec<u64> = video.segments().map(|s| s.discontinuity_sequence).collect();
    assert_eq!(numbers, [0, 0, 0, 0, 1]);
}

#[test]
fn the_window_slides_with_its_numbers_and_drops_parts_older_than_three_target_durations() {
    let mut video = rendition("360p");
    for segment in 0..10 {
        whole_segment(&mut video, segment, u32::from(segment >= 3));
    }
    push_parts(&mut video, 10, 1, 0..1);

    let (text, checked) = checked(&video, &[]);
    assert_snapshot!("window_slid", text);
    // Segments 104 to 109 complete, 110 in progress; the discontinuity at 103 slid out.
    assert_eq!(checked.media_sequence, 104);
    assert_eq!(checked.complete_segments, 6);
    assert_eq!(video.discontinuity_sequence(), 1);
    let with_parts: Vec<u64> = video
        .segments()
        .filter(|segment| !segment.parts.is_empty())
        .map(|segment| segment.msn)
        .collect();
    assert_eq!(with_parts, [107, 108, 109, 110]);
}

#[test]
fn an_ended_rendition_lists_no_hint_and_ends_its_list() {
    let mut video = rendition("360p");
    segments(&mut video, 2);
    push_parts(&mut video, 2, 0, 0..2);
    video.end();

    let (text, checked) = checked(&video, &[]);
    assert!(text.ends_with("#EXT-X-ENDLIST\n"), "{text}");
    assert_eq!(checked.complete_segments, 2);
    assert_eq!(checked.preload_hint, None);
    assert_eq!(reload(&video, Some("_HLS_msn=1000")), Reload::Now);
    assert_eq!(video.push_part(at(3), 0, part(0)), Err(LlRefusal::Ended));
}

#[test]
fn updates_out_of_order_are_refused_and_change_nothing() {
    let mut video = rendition("360p");
    segments(&mut video, 2);
    push_parts(&mut video, 2, 0, 0..2);
    let before = video.clone();

    let refusals = [
        video.push_part(at(2), 0, part(3)),
        video.push_part(at(1) + Ticks::from_secs(1), 0, part(0)),
        video.push_part(at(3), 0, part(1)),
        video.push_part(at(0), 0, part(4)),
    ];
    assert_eq!(
        refusals.map(|refusal| refusal.unwrap_err().to_string()),
        [
            "part 3 of segment 161100000360000 came where part 2 was expected",
            "segment 161100000270000 is older than the last one listed (161100000360000)",
            "part 1 of segment 161100000540000 came where part 0 was expected",
            "segment 161100000000000 is complete: part 4 comes too late",
        ]
    );
    assert_eq!(video, before);
    // Completing a segment twice changes nothing.
    video.complete_segment(at(1), at(1), SEGMENT, 0).unwrap();
    assert_eq!(video, before);
}

/// 100 to 102 complete, 103 with parts 0 and 1.
fn rendition_at_103_part_1() -> LlRendition {
    let mut video = rendition("360p");
    segments(&mut video, 3);
    push_parts(&mut video, 3, 0, 0..2);
    video
}

#[test]
fn blocking_reload_answers_now_waits_or_refuses_by_the_rfc() {
    let video = rendition_at_103_part_1();
    let wait = |msn, part| Reload::WaitFor { msn, part };
    let bad = |reason: &str| Reload::BadRequest(reason.to_owned());
    let table: Vec<(Option<&str>, Reload)> = vec![
        (None, Reload::Now),
        (Some(""), Reload::Now),
        (Some("token=abc"), Reload::Now),
        (Some("_HLS_skip=YES"), Reload::Now),
        (Some("_HLS_skip=whatever"), Reload::Now),
        // What is there, or has left the window, is answered at once.
        (Some("_HLS_msn=101"), Reload::Now),
        (Some("_HLS_msn=50"), Reload::Now),
        (Some("_HLS_msn=103&_HLS_part=1"), Reload::Now),
        (Some("_HLS_msn=102&_HLS_part=3"), Reload::Now),
        // A part past a complete segment's last is the next one's first, which is there.
        (Some("_HLS_msn=102&_HLS_part=4"), Reload::Now),
        // A segment is there once complete.
        (Some("_HLS_msn=103"), wait(103, None)),
        (Some("_HLS_msn=104"), wait(104, None)),
        (Some("_HLS_msn=103&_HLS_part=2"), wait(103, Some(2))),
        (Some("_HLS_msn=103&_HLS_part=4"), wait(103, Some(4))),
        // Six parts ahead of the last (103.1) is the Advance Part Limit for 0.5 s parts.
        (Some("_HLS_msn=104&_HLS_part=3"), wait(104, Some(3))),
        (
            Some("_HLS_msn=104&_HLS_part=4"),
            bad("_HLS_msn=104&_HLS_part=4 is 7 parts after the last one, more than 6"),
        ),
        (
            Some("_HLS_msn=105"),
            bad("_HLS_msn=105 is more than two segments after the last one (102)"),
        ),
        (
            Some("_HLS_msn=103&_HLS_part=5"),
            bad("_HLS_part=5: a segment has 4 parts at most"),
        ),
        (Some("_HLS_part=1"), bad("_HLS_part needs _HLS_msn")),
        (
            Some("_HLS_msn=-1"),
            bad("_HLS_msn=\"-1\" is not a decimal integer"),
        ),
        (
            Some("_HLS_msn=+3"),
            bad("_HLS_msn=\"+3\" is not a decimal integer"),
        ),
        (
            Some("_HLS_msn=abc"),
            bad("_HLS_msn=\"abc\" is not a decimal integer"),
        ),
        (
            Some("_HLS_msn="),
            bad("_HLS_msn=\"\" is not a decimal integer"),
        ),
        (
            Some("_HLS_msn"),
            bad("_HLS_msn=\"\" is not a decimal integer"),
        ),
        (
            Some("_HLS_msn=1.5"),
            bad("_HLS_msn=\"1.5\" is not a decimal integer"),
        ),
        (
            Some("_HLS_msn=101&_HLS_msn=102"),
            bad("_HLS_msn is given twice"),
        ),
        (
            Some("_HLS_msn=99999999999999999999"),
            bad("_HLS_msn=99999999999999999999 is too large"),
        ),
        (
            Some("_HLS_msn=103&_HLS_part=4294967296"),
            bad("_HLS_part=4294967296 is too large"),
        ),
    ];
    let wrong: Vec<String> = table
        .iter()
        .filter_map(|(query, expected)| {
            let got = reload(&video, *query);
            (got != *expected).then(|| format!("{query:?}: {got:?}, expected {expected:?}"))
        })
        .collect();
    assert!(wrong.is_empty(), "{wrong:#?}");
}

#[test]
fn before_any_segment_a_request_waits_for_the_first_ones_and_refuses_beyond() {
    let mut video = rendition("360p");
    assert_eq!(
        reload(&video, Some("_HLS_msn=100&_HLS_part=0")),
        Reload::WaitFor {
            msn: 100,
            part: Some(0)
        }
    );
    assert_eq!(
        reload(&video, Some("_HLS_msn=101")),
        Reload::WaitFor {
            msn: 101,
            part: None
        }
    );
    assert!(matches!(
        reload(&video, Some("_HLS_msn=102")),
        Reload::BadRequest(_)
    ));
    push_parts(&mut video, 0, 0, 0..1);
    assert!(is_satisfied(&video, 100, Some(0)));
    assert!(!is_satisfied(&video, 100, None));
}

#[test]
fn a_held_request_is_ready_when_its_part_arrives_and_unavailable_after_three_target_durations() {
    let mut video = rendition_at_103_part_1();
    let poll =
        |video: &LlRendition, millis| poll_wait(video, 103, Some(2), Ticks::from_millis(millis));
    assert_eq!(block_timeout(&video), Ticks::from_secs(6));
    assert_eq!(
        poll(&video, 0),
        Waited::Wait {
            at_most: Ticks::from_secs(6)
        }
    );
    assert_eq!(
        poll(&video, 5_900),
        Waited::Wait {
            at_most: Ticks::from_millis(100)
        }
    );
    assert_eq!(poll(&video, 6_000), Waited::Unavailable);
    push_parts(&mut video, 3, 0, 2..3);
    assert_eq!(poll(&video, 6_000), Waited::Ready);
    // A part past the segment's last waits for the next segment's first.
    push_parts(&mut video, 3, 0, 3..4);
    video.complete_segment(at(3), at(3), SEGMENT, 0).unwrap();
    assert!(!is_satisfied(&video, 103, Some(4)));
    push_parts(&mut video, 4, 0, 0..1);
    assert!(is_satisfied(&video, 103, Some(4)));
}

#[test]
fn each_response_gets_the_cache_control_a_cdn_needs() {
    let config = LlConfig::default();
    let table = [
        (LlResponse::MediaPlaylist, "no-cache"),
        (LlResponse::BlockingMediaPlaylist, "public, max-age=6"),
        (LlResponse::Media, "public, max-age=86400, immutable"),
        (LlResponse::Multivariant, "public, max-age=2"),
        (LlResponse::Init, "no-cache"),
        (LlResponse::Refused, "no-store"),
    ];
    for (response, expected) in table {
        assert_eq!(cache_control(response, &config), expected, "{response:?}");
    }
}

#[test]
fn the_multivariant_playlist_lists_every_rung_with_its_audio_group() {
    assert_snapshot!("multivariant", render_multivariant(&Ladder::fast_default()));
}

#[test]
fn the_playlist_parses_with_m3u8_rs_as_its_complete_segments() {
    let video = rendition_at_103_part_1();
    let text = render_media_playlist(&video, &[]);
    let parsed = m3u8_rs::parse_media_playlist_res(text.as_bytes()).unwrap();
    assert_eq!(parsed.media_sequence, 100);
    assert_eq!(parsed.target_duration, 2);
    let uris: Vec<&str> = parsed.segments.iter().map(|s| s.uri.as_str()).collect();
    // m3u8-rs drops what follows the last segment: the parts in progress and the hint.
    assert_eq!(
        uris[..3],
        [
            "161100000000000.m4s",
            "161100000180000.m4s",
            "161100000360000.m4s"
        ]
    );
}

/// One step of a random feed: what the ladder may report next.
#[derive(Debug, Clone)]
enum Step {
    /// The next part, this many milliseconds long (the last of a segment may be short).
    Part(u16),
    /// The segment in progress completes.
    Complete,
    /// A new init: the next segment plays with it.
    NewInit,
    /// The source stalls for this many segments.
    Gap(u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        6 => (300u16..=500).prop_map(Step::Part),
        2 => Just(Step::Complete),
        1 => Just(Step::NewInit),
        1 => (1u8..4).prop_map(Step::Gap),
    ]
}

proptest! {
    #[test]
    fn every_playlist_of_a_random_feed_keeps_the_rules_and_never_goes_back(
        steps in prop::collection::vec(step(), 1..120)
    ) {
        let (mut video, mut audio) = (rendition("360p"), rendition("audio-96k"));
        let (mut name, mut init, mut index) = (T0, 0u32, 0u32);
        let mut previous: Option<Checked> = None;
        for step in steps {
            match step {
                Step::Part(millis) => {
                    if index == LlConfig::default().parts_per_segment() {
                        continue;
                    }
                    let part = LlPart { index, duration: Ticks::from_millis(i64::from(millis)), independent: index == 0 };
                    for rendition in [&mut video, &mut audio] {
                        rendition.push_part(name, init, part).unwrap();
                    }
                    index += 1;
                }
                Step::Complete => {
                    let Some(last) = video.segments().next_back().filter(|s| !s.complete).cloned() else { continue };
                    for rendition in [&mut video, &mut audio] {
                        rendition.complete_segment(last.name, last.start, last.duration, last.init).unwrap();
                    }
                    (name, index) = (name + SEGMENT, 0);
                }
                Step::NewInit => {
                    if index == 0 {
                        init += 1;
                    }
                }
                Step::Gap(segments) => {
                    if index == 0 {
                        name = name + Ticks(SEGMENT.0 * i64::from(segments));
                    }
                }
            }
            let (_, checked) = checked(&video, &[&audio]);
            assert_reports_agree(&checked, &[&audio]);
            if let Some(previous) = &previous {
                prop_assert!(checked.media_sequence >= previous.media_sequence);
                prop_assert!(checked.last >= previous.last, "{:?} after {:?}", checked.last, previous.last);
            }
            let hint = video.preload_hint_uri();
            prop_assert_eq!(&checked.preload_hint, &hint);
            previous = Some(checked);
        }
    }
}
