//! The soak: seven simulated days of a realistic channel, polled at every segment boundary and
//! at a random instant between each two, in HLS-TS, HLS-fMP4 (a rung's video and an audio
//! track) and DASH. Pure and fast: the clock
//! is an argument, so a week takes seconds.
//!
//! The channel: six programmes of 13 to 58 minutes with segments of 2, 4, 5, 6 and 6.006 s (and
//! a short last segment), cut into parts of about 15 minutes with an ad break of one to three
//! ads (10 to 30 s, segments of 2 s or 1.92 s) after each part, some programmes joined at an
//! in point; the grid ends after five and a half days and the slate tail loops to the end of
//! the week.
//!
//! Rules checked, each violation counted (the test wants zero):
//! - a segment listed by two successive polls is listed identically (number, discontinuity
//!   sequence, date, duration, URI, map, cue tags; in DASH Period, time, duration and URL);
//! - media and discontinuity sequences never go back, DASH `publishTime` neither;
//! - PROGRAM-DATE-TIME agrees with the durations (the parser checks it on every playlist);
//! - every CUE-OUT is closed by a CUE-IN, CUE-OUT-CONT comes only inside a break, its
//!   ElapsedTime is the time since the CUE-OUT and at most Duration, and Duration is the
//!   CUE-OUT's;
//! - the HLS-fMP4 audio playlist lists what the video one lists (numbers, dates, durations,
//!   discontinuities, a map on every run, cue tags), with the audio track's files;
//! - DASH Periods keep their id, start, offsets, templates and events while listed, come in
//!   order, list the same segments for video and audio, and every Period of a break carries
//!   the break's event (one event id per break);
//! - no dead air: the segments seen, in order, cover every instant from the origin to the end
//!   of day 7 exactly once (each starts where the previous ended), in every format;
//! - between two boundaries the manifests are byte for byte the ones at the earlier boundary.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use onair_domain::timeline::SegmentTrack;
use onair_domain::{AssetId, BreakSlot, Ladder, Run, RunKind, Ticks, Timeline, Timestamp};

use crate::fixtures::{self, ORIGIN};
use crate::testing::{
    Mpd, MpdPeriod, attributes, decode_base64_cue, mpd_segments, parse_hls, parse_mpd,
};
use crate::{
    ChannelPlayout, MediaPlaylistOptions, MpdOptions, render_media_playlist_with, render_mpd,
};

const DAY: i64 = 86_400;

/// xorshift64*: deterministic, so a failure replays.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Segments of `segment` ticks adding up to `total` ticks, the last one shorter if need be.
fn durations(segment: i64, total: i64) -> Vec<Ticks> {
    let mut out = vec![Ticks(segment); (total / segment) as usize];
    if total % segment != 0 {
        out.push(Ticks(total % segment));
    }
    out
}

fn week_channel() -> ChannelPlayout {
    let ladder = Ladder::demo();
    let mut assets = HashMap::new();
    let mut add = |id: i64, durations: Vec<Ticks>| {
        let id = AssetId(id);
        let asset = fixtures::asset(id, &durations, &ladder, |_| (0, 0));
        assets.insert(id, asset);
        (id, Arc::new(SegmentTrack::new(durations)))
    };
    let secs = |s: f64| (s * 90_000.0).round() as i64;
    let programmes = [
        add(1, durations(540_000, secs(22.0 * 60.0 + 3.5))),
        add(2, durations(360_000, secs(30.0 * 60.0))),
        add(3, durations(180_000, secs(13.0 * 60.0 + 0.72))),
        add(4, durations(540_540, secs(44.0 * 60.0 + 1.001))),
        add(5, durations(540_000, secs(58.0 * 60.0 + 1.2))),
        add(6, durations(450_000, secs(25.0 * 60.0))),
    ];
    let ads = [
        add(11, durations(180_000, secs(15.0))),
        add(12, durations(180_000, secs(30.0))),
        add(13, durations(172_800, secs(20.0))),
        add(14, durations(180_000, secs(10.0))),
    ];
    let slate = add(20, durations(180_000, secs(4.0)));

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut runs = Vec::new();
    let mut total = Ticks::ZERO;
    let mut break_number = 0;
    let grid_end = Ticks::from_secs(DAY * 11 / 2);
    while total < grid_end {
        let (id, track) = &programmes[rng.below(programmes.len() as u64) as usize];
        let mut segment = if rng.below(4) == 0 { 3 } else { 0 };
        while segment < track.len() {
            let per_part = (Ticks::from_secs(15 * 60).0 / track.duration(0).0) as u32;
            let n_segments = per_part.min(track.len() - segment);
            let part = Run {
                first_segment: segment,
                n_segments,
                ..Run::whole(RunKind::Programme, *id, "programme", Arc::clone(track))
            };
            total += part.duration();
            runs.push(part);
            segment += n_segments;
            break_number += 1;
            let n_ads = 1 + rng.below(3) as usize;
            let chosen: Vec<&(AssetId, Arc<SegmentTrack>)> = (0..n_ads)
                .map(|_| &ads[rng.below(ads.len() as u64) as usize])
                .collect();
            let duration = chosen
                .iter()
                .map(|(_, track)| track.start(track.len()))
                .sum();
            for (ad, track) in chosen {
                let run = Run {
                    ad_break: Some(BreakSlot {
                        number: break_number,
                        duration,
                    }),
                    ..Run::whole(RunKind::AdBreak, *ad, "ad", Arc::clone(track))
                };
                total += run.duration();
                runs.push(run);
            }
        }
    }
    let timeline = Timeline::new(ORIGIN, runs, false, 0, 0)
        .unwrap()
        .with_tail(Run::whole(RunKind::Slate, slate.0, "slate", slate.1))
        .unwrap();
    ChannelPlayout::new(fixtures::channel("week", 10), ladder, timeline, assets).unwrap()
}

/// The audio track the soak polls beside the 360p video (the demo ladder's 360p plays it).
const AUDIO: &str = "audio-96k";

/// The audio playlist lists what the video playlist lists, segment for segment, but the files:
/// the same numbers, dates, durations, discontinuities and cue tags, and a map on the same runs.
fn check_audio_follows_video(video: &str, audio: &str, violations: &mut Violations) {
    let (video, audio) = (parse_hls(video), parse_hls(audio));
    let timing = |playlist: &crate::testing::HlsPlaylist| {
        (
            playlist.media_sequence,
            playlist.discontinuity_sequence,
            playlist.leading_dateranges.clone(),
            playlist
                .segments
                .iter()
                .map(|segment| {
                    (
                        segment.media_sequence,
                        segment.discontinuity_sequence,
                        segment.discontinuity,
                        segment.start_millis,
                        segment.duration_millis,
                        segment.cues.clone(),
                        segment.map.is_some(),
                    )
                })
                .collect::<Vec<_>>(),
        )
    };
    violations.check(timing(&video) == timing(&audio), || {
        format!(
            "hls-fmp4-audio: the audio playlist differs from the video's at {}",
            video.media_sequence
        )
    });
    violations.check(
        audio
            .segments
            .iter()
            .all(|segment| segment.uri.contains("/audio-96k/cmaf-audio/")),
        || "hls-fmp4-audio: a segment is not the audio track's".into(),
    );
}

#[derive(Default)]
struct Violations(Vec<String>);

impl Violations {
    fn check(&mut self, ok: bool, what: impl FnOnce() -> String) {
        if !ok {
            self.0.push(what());
        }
    }
}

/// What one HLS flavour has seen so far.
#[derive(Default)]
struct HlsState {
    previous: Option<crate::testing::HlsPlaylist>,
    /// The last segment seen: (media sequence, end in ms).
    last: Option<(u64, i64)>,
    covered_from: Option<i64>,
    /// The open break: (start ms, Duration ms).
    open_break: Option<(i64, i64)>,
    breaks_closed: u64,
}

impl HlsState {
    fn poll(&mut self, name: &str, text: &str, violations: &mut Violations) {
        let playlist = parse_hls(text);
        if let Some(previous) = &self.previous {
            violations.check(playlist.media_sequence >= previous.media_sequence, || {
                format!("{name}: media sequence went back")
            });
            violations.check(
                playlist.discontinuity_sequence >= previous.discontinuity_sequence,
                || format!("{name}: discontinuity sequence went back"),
            );
            for segment in &previous.segments {
                if let Some(again) = playlist
                    .segments
                    .iter()
                    .find(|s| s.media_sequence == segment.media_sequence)
                {
                    let same = (
                        again.discontinuity_sequence,
                        again.start_millis,
                        again.duration_millis,
                        &again.uri,
                        &again.map,
                        &again.cues,
                    ) == (
                        segment.discontinuity_sequence,
                        segment.start_millis,
                        segment.duration_millis,
                        &segment.uri,
                        &segment.map,
                        &segment.cues,
                    );
                    violations.check(same, || {
                        format!("{name}: segment {} changed", segment.media_sequence)
                    });
                }
            }
        }
        for segment in &playlist.segments {
            if self
                .last
                .is_some_and(|(sequence, _)| segment.media_sequence <= sequence)
            {
                continue;
            }
            match self.last {
                None => {
                    self.covered_from = Some(segment.start_millis);
                }
                Some((sequence, end)) => {
                    violations.check(segment.media_sequence == sequence + 1, || {
                        format!(
                            "{name}: skipped from {sequence} to {}",
                            segment.media_sequence
                        )
                    });
                    violations.check(segment.start_millis == end, || {
                        format!(
                            "{name}: segment {} starts at {} but the one before ends at {end}",
                            segment.media_sequence, segment.start_millis
                        )
                    });
                }
            }
            self.last = Some((segment.media_sequence, segment.end_millis()));
            self.cues(name, segment, violations);
        }
        self.previous = Some(playlist);
    }

    fn cues(
        &mut self,
        name: &str,
        segment: &crate::testing::HlsSegment,
        violations: &mut Violations,
    ) {
        let mut saw_cont = false;
        for line in &segment.cues {
            if line == "#EXT-X-CUE-IN" {
                violations.check(self.open_break.is_some(), || {
                    format!(
                        "{name}: CUE-IN without CUE-OUT at {}",
                        segment.media_sequence
                    )
                });
                if let Some((start, duration)) = self.open_break.take() {
                    violations.check(segment.start_millis == start + duration, || {
                        format!("{name}: CUE-IN is not Duration after CUE-OUT")
                    });
                    self.breaks_closed += 1;
                }
            } else if let Some(duration) = line.strip_prefix("#EXT-X-CUE-OUT:") {
                violations.check(self.open_break.is_none(), || {
                    format!(
                        "{name}: CUE-OUT inside a break at {}",
                        segment.media_sequence
                    )
                });
                let (secs, millis) = duration.split_once('.').unwrap();
                let duration = secs.parse::<i64>().unwrap() * 1000 + millis.parse::<i64>().unwrap();
                self.open_break = Some((segment.start_millis, duration));
            } else if let Some(list) = line.strip_prefix("#EXT-X-CUE-OUT-CONT:") {
                saw_cont = true;
                let attributes = attributes(list);
                let millis = |key: &str| {
                    let (secs, millis) = attributes[key].split_once('.').unwrap();
                    secs.parse::<i64>().unwrap() * 1000 + millis.parse::<i64>().unwrap()
                };
                let (elapsed, duration) = (millis("ElapsedTime"), millis("Duration"));
                match self.open_break {
                    None => violations.check(false, || {
                        format!(
                            "{name}: CUE-OUT-CONT outside a break at {}",
                            segment.media_sequence
                        )
                    }),
                    Some((start, open_duration)) => {
                        violations.check(duration == open_duration, || {
                            format!("{name}: Duration changed after CUE-OUT")
                        });
                        violations.check(elapsed == segment.start_millis - start, || {
                            format!("{name}: ElapsedTime is not the time since CUE-OUT")
                        });
                        violations.check(elapsed <= duration, || {
                            format!("{name}: ElapsedTime past Duration")
                        });
                    }
                }
            } else if let Some(base64) = line.strip_prefix("#EXT-OATCLS-SCTE35:") {
                let cue = decode_base64_cue(base64);
                violations.check(cue.out_of_network, || format!("{name}: OATCLS not out"));
            }
        }
        let opened_here = segment
            .cues
            .iter()
            .any(|l| l.starts_with("#EXT-X-CUE-OUT:"));
        if self.open_break.is_some() && !opened_here {
            violations.check(saw_cont, || {
                format!(
                    "{name}: segment {} inside a break without CUE-OUT-CONT",
                    segment.media_sequence
                )
            });
        }
    }
}

#[derive(Default)]
struct DashState {
    periods: HashMap<String, MpdPeriod>,
    publish_time: String,
    previous: Vec<crate::testing::MpdSegment>,
    /// The end of the last segment seen, in microseconds, and its start.
    last: Option<(i64, i64)>,
    covered_from: Option<i64>,
    /// The distinct event ids seen: one per break.
    event_ids: std::collections::HashSet<String>,
    /// Periods that carried an event: every Period of every break.
    periods_with_events: u64,
}

impl DashState {
    fn poll(&mut self, text: &str, violations: &mut Violations) {
        let mpd: Mpd = parse_mpd(text);
        let publish_time = mpd.attributes["publishTime"].clone();
        violations.check(publish_time >= self.publish_time, || {
            "dash: publishTime went back".into()
        });
        self.publish_time = publish_time;
        let mut last_start = None;
        for period in &mpd.periods {
            violations.check(
                last_start.is_none_or(|last| period.start_micros > last),
                || format!("dash: Period {} out of order", period.id),
            );
            last_start = Some(period.start_micros);
            match self.periods.get(&period.id) {
                Some(known) => {
                    violations.check(known.stable() == period.stable(), || {
                        format!("dash: Period {} changed", period.id)
                    });
                }
                None => {
                    if !period.events.is_empty() {
                        self.periods_with_events += 1;
                    }
                    for (id, _, _, _) in &period.events {
                        self.event_ids.insert(id.clone());
                    }
                    let video = period.adaptation_set("video");
                    let audio = period.adaptation_set("audio");
                    violations.check(
                        (video.presentation_time_offset, &video.segments)
                            == (audio.presentation_time_offset, &audio.segments),
                        || format!("dash: Period {} lists other audio segments", period.id),
                    );
                    for (_, _, _, body) in &period.events {
                        violations.check(decode_base64_cue(body).out_of_network, || {
                            "dash: event is not a splice out".into()
                        });
                    }
                    self.periods.insert(period.id.clone(), period.clone());
                }
            }
        }
        let segments = mpd_segments(&mpd, "360p");
        for segment in &self.previous {
            if let Some(again) = segments
                .iter()
                .find(|s| s.start_micros == segment.start_micros)
            {
                violations.check(again == segment, || {
                    format!("dash: segment at {} changed", segment.start_micros)
                });
            }
        }
        for segment in &segments {
            if self
                .last
                .is_some_and(|(_, start)| segment.start_micros <= start)
            {
                continue;
            }
            let end = segment.start_micros + segment.duration_ticks * 100 / 9;
            match self.last {
                None => self.covered_from = Some(segment.start_micros),
                Some((last_end, _)) => {
                    violations.check((segment.start_micros - last_end).abs() <= 1, || {
                        format!(
                            "dash: segment at {} but the one before ends at {last_end}",
                            segment.start_micros
                        )
                    });
                }
            }
            // Carry the exact end forward: the next start is exact, our sum is not.
            self.last = Some((end, segment.start_micros));
        }
        self.previous = segments;
        // Forget Periods that left the window, so a map of a week stays small.
        self.periods
            .retain(|id, _| mpd.periods.iter().any(|period| period.id == *id));
    }
}

#[test]
fn seven_days_polled_at_every_boundary_have_no_violation_and_no_dead_air() {
    let started = Instant::now();
    let playout = week_channel();
    let timeline = playout.timeline();
    let end = ORIGIN + Ticks::from_secs(7 * DAY);
    let ts = MediaPlaylistOptions::ts();
    let fmp4 = MediaPlaylistOptions::fmp4();
    let mpd_options = MpdOptions::default();
    let render = |now: Timestamp| {
        (
            render_media_playlist_with(&playout, "360p", now, &ts).unwrap(),
            render_media_playlist_with(&playout, "360p", now, &fmp4).unwrap(),
            render_media_playlist_with(&playout, AUDIO, now, &fmp4).unwrap(),
            render_mpd(&playout, now, &mpd_options).unwrap(),
        )
    };

    let mut violations = Violations::default();
    let (mut hls_ts, mut hls_fmp4, mut hls_audio, mut dash) = (
        HlsState::default(),
        HlsState::default(),
        HlsState::default(),
        DashState::default(),
    );
    let mut rng = Rng(42);
    let mut polls = 0u64;
    let mut sequence = 0;
    let mut breaks = 0u64;
    let mut break_periods = 0u64;
    loop {
        let at = timeline
            .segment_by_sequence(sequence)
            .expect("the tail never ends");
        if at.start > end {
            break;
        }
        if let Some(airing) = timeline
            .break_of(&at)
            .filter(|b| b.first_media_sequence == sequence)
        {
            breaks += 1;
            break_periods += u64::from(airing.n_runs);
        }
        // At the boundary where this segment ends, then somewhere before the next one ends.
        let boundary = at.end();
        let (ts_text, fmp4_text, audio_text, mpd_text) = render(boundary);
        hls_ts.poll("hls-ts", &ts_text, &mut violations);
        hls_fmp4.poll("hls-fmp4", &fmp4_text, &mut violations);
        hls_audio.poll("hls-fmp4-audio", &audio_text, &mut violations);
        check_audio_follows_video(&fmp4_text, &audio_text, &mut violations);
        dash.poll(&mpd_text, &mut violations);
        let next = timeline.segment_by_sequence(sequence + 1).unwrap();
        let between = boundary + Ticks(1 + rng.below(next.duration.0 as u64 - 1) as i64);
        // One format per instant, in turn: the cache relies on all four being the same.
        let same = match sequence % 4 {
            0 => render_media_playlist_with(&playout, "360p", between, &ts).unwrap() == ts_text,
            1 => render_media_playlist_with(&playout, "360p", between, &fmp4).unwrap() == fmp4_text,
            2 => render_media_playlist_with(&playout, AUDIO, between, &fmp4).unwrap() == audio_text,
            _ => render_mpd(&playout, between, &mpd_options).unwrap() == mpd_text,
        };
        violations.check(same, || {
            format!("the manifests changed between boundaries at {between}")
        });
        polls += 2;
        sequence += 1;
    }

    // Coverage: from the origin, contiguous (checked on the way), past the end of day 7.
    let origin_millis = ORIGIN.unix_millis();
    for (name, state) in [
        ("hls-ts", &hls_ts),
        ("hls-fmp4", &hls_fmp4),
        ("hls-fmp4-audio", &hls_audio),
    ] {
        violations.check(state.covered_from == Some(origin_millis), || {
            format!("{name}: the first segment does not start at the origin")
        });
        violations.check(
            state
                .last
                .is_some_and(|(_, end_millis)| end_millis >= end.unix_millis()),
            || format!("{name}: coverage stops before the end of day 7"),
        );
    }
    violations.check(dash.covered_from == Some(origin_millis * 1000), || {
        "dash: the first segment does not start at the origin".into()
    });
    violations.check(
        dash.last
            .is_some_and(|(end_micros, _)| end_micros >= end.unix_millis() * 1000),
        || "dash: coverage stops before the end of day 7".into(),
    );
    // Every break is closed (the grid ends days before the week does), in both flavours.
    for (name, state) in [
        ("hls-ts", &hls_ts),
        ("hls-fmp4", &hls_fmp4),
        ("hls-fmp4-audio", &hls_audio),
    ] {
        violations.check(
            state.breaks_closed == breaks && state.open_break.is_none(),
            || format!("{name} closed {} of {breaks} breaks", state.breaks_closed),
        );
    }
    violations.check(breaks > 500, || format!("only {breaks} breaks in a week"));
    violations.check(dash.event_ids.len() as u64 == breaks, || {
        format!(
            "dash carried {} events for {breaks} breaks",
            dash.event_ids.len()
        )
    });
    violations.check(dash.periods_with_events == break_periods, || {
        format!(
            "dash carried events in {} Periods, the breaks have {break_periods}",
            dash.periods_with_events
        )
    });

    println!(
        "soak: 7 simulated days, {} runs then the slate tail, {breaks} ad breaks over {break_periods} Periods, {sequence} segments, {polls} polls (each boundary in 4 playlists, each instant between in 1) in {:.1?}, {} violations",
        timeline.runs().len(),
        started.elapsed(),
        violations.0.len(),
    );
    assert!(
        violations.0.is_empty(),
        "{} violations, the first: {:#?}",
        violations.0.len(),
        &violations.0[..violations.0.len().min(10)]
    );
}
