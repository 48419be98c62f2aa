//! The profiles: each partner's rules with their stable ids, severities and figures, from the
//! public specs (Pluto TV's v2.2 channel spec, Wurl's and Roku's requirements) and RFC 8216.

use std::fmt;

use onair_domain::Ticks;
use serde::Serialize;

use crate::observation::Observation;
use crate::observed::Observed;
use crate::report::{Finding, ObservedSummary, Report, Severity, Skipped, WhereSeen};
use crate::rules::{Check, LadderStep, Limits, breaks, epg, media, segments};

/// At most this many findings of one rule are listed; the rest are counted in one more.
pub const FINDINGS_PER_RULE: usize = 5;

/// The profiles a check can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ProfileName {
    /// RFC 8216 and what players need, with EBU R128 loudness as a warning.
    Hls,
    /// Pluto TV's channel spec v2.2.
    Pluto,
    /// Wurl's delivery requirements.
    Wurl,
    /// Roku: ad load at most 8 minutes per hour.
    Roku,
}

impl ProfileName {
    pub const ALL: [ProfileName; 4] = [
        ProfileName::Hls,
        ProfileName::Pluto,
        ProfileName::Wurl,
        ProfileName::Roku,
    ];

    pub fn parse(text: &str) -> Option<ProfileName> {
        ProfileName::ALL
            .into_iter()
            .find(|name| name.as_str().eq_ignore_ascii_case(text.trim()))
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ProfileName::Hls => "hls",
            ProfileName::Pluto => "pluto",
            ProfileName::Wurl => "wurl",
            ProfileName::Roku => "roku",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProfileName::Hls => "the HLS baseline (RFC 8216)",
            ProfileName::Pluto => "Pluto TV v2.2",
            ProfileName::Wurl => "Wurl",
            ProfileName::Roku => "Roku",
        }
    }

    /// How many days of EPG the profile wants (what a gatherer should ask for).
    pub fn epg_days(self) -> i64 {
        profile(self).limits.epg_horizon_days
    }
}

impl fmt::Display for ProfileName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A rule: its id, how bad breaking it is, and its check.
#[derive(Clone, Copy)]
pub struct Rule {
    pub id: &'static str,
    pub severity: Severity,
    check: Check,
}

const fn rule(id: &'static str, severity: Severity, check: Check) -> Rule {
    Rule {
        id,
        severity,
        check,
    }
}

/// A profile: its figures and its rules.
pub struct Profile {
    pub name: ProfileName,
    pub limits: Limits,
    pub rules: Vec<Rule>,
}

use Severity::{Error, Warning};

/// Pluto TV: 1080p at 5–10 Mbit/s, 720p at 3–10 Mbit/s.
const PLUTO_LADDER: &[LadderStep] = &[
    LadderStep {
        height: 1080,
        min_kbps: 5_000,
        max_kbps: Some(10_000),
    },
    LadderStep {
        height: 720,
        min_kbps: 3_000,
        max_kbps: Some(10_000),
    },
];

/// Wurl's minimum ladder.
const WURL_LADDER: &[LadderStep] = &[
    LadderStep {
        height: 720,
        min_kbps: 3_000,
        max_kbps: None,
    },
    LadderStep {
        height: 540,
        min_kbps: 2_000,
        max_kbps: None,
    },
    LadderStep {
        height: 360,
        min_kbps: 900,
        max_kbps: None,
    },
    LadderStep {
        height: 216,
        min_kbps: 512,
        max_kbps: None,
    },
];

/// The rules every profile holds a playlist's structure to, with the profile's prefix.
macro_rules! structure_rules {
    ($prefix:literal) => {
        [
            rule(
                concat!($prefix, ".playlist-syntax"),
                Error,
                segments::playlist_syntax,
            ),
            rule(
                concat!($prefix, ".target-duration"),
                Error,
                segments::target_duration,
            ),
            rule(
                concat!($prefix, ".segments-stable"),
                Error,
                segments::segments_stable,
            ),
            rule(
                concat!($prefix, ".discontinuity-sequence"),
                Error,
                segments::discontinuity_sequence,
            ),
        ]
    };
}

/// The rules every profile holds CUE-OUT/CONT/IN to, with the profile's prefix.
macro_rules! cue_rules {
    ($prefix:literal) => {
        [
            rule(
                concat!($prefix, ".cue-out-closed"),
                Error,
                breaks::cue_out_closed,
            ),
            rule(
                concat!($prefix, ".cue-elapsed-within-duration"),
                Error,
                breaks::elapsed_within_duration,
            ),
            rule(
                concat!($prefix, ".break-duration-fixed"),
                Error,
                breaks::duration_fixed,
            ),
        ]
    };
}

/// The profile `name`.
pub fn profile(name: ProfileName) -> Profile {
    match name {
        ProfileName::Hls => Profile {
            name,
            limits: Limits::default(),
            rules: [
                &structure_rules!("hls")[..],
                &[
                    rule(
                        "hls.media-sequence-aligned",
                        Error,
                        segments::media_sequence_aligned,
                    ),
                    rule(
                        "hls.variant-attributes",
                        Warning,
                        segments::variant_attributes,
                    ),
                    rule(
                        "hls.segment-duration-constant",
                        Warning,
                        segments::duration_constant,
                    ),
                    rule("hls.codecs-match-media", Error, media::codecs_match_media),
                    rule(
                        "hls.segment-duration-measured",
                        Warning,
                        media::duration_measured,
                    ),
                    rule("hls.loudness", Warning, media::loudness),
                    rule("hls.epg-continuous", Error, epg::continuous),
                    rule("hls.epg-horizon", Warning, epg::horizon),
                ],
                &cue_rules!("hls")[..],
            ]
            .concat(),
        },
        ProfileName::Pluto => Profile {
            name,
            limits: Limits {
                segment_duration: Some(Ticks::from_secs(5)),
                min_window_segments: Some(10),
                min_h264_level: Some(31),
                frame_rates: &[30.0, 29.97],
                audio_bitrate: Some(96_000),
                ladder: PLUTO_LADDER,
                ..Limits::default()
            },
            rules: [
                &structure_rules!("pluto")[..],
                &[
                    rule("pluto.hls-version", Error, segments::hls_version),
                    rule("pluto.mpeg-ts", Error, segments::mpeg_ts),
                    rule(
                        "pluto.segment-duration-constant",
                        Error,
                        segments::duration_constant,
                    ),
                    rule("pluto.window-size", Error, segments::window_size),
                    rule("pluto.video-codec", Error, media::video_codec),
                    rule("pluto.frame-rate", Error, media::frame_rate),
                    rule("pluto.aspect-ratio", Error, media::aspect_ratio),
                    rule("pluto.audio", Error, media::audio),
                    rule("pluto.ladder", Error, media::ladder),
                    rule("pluto.cue-out-in-playlist", Error, breaks::cue_out_present),
                    rule(
                        "pluto.scte35-in-segments",
                        Error,
                        breaks::scte35_in_segments,
                    ),
                    rule("pluto.break-length", Error, breaks::break_length),
                    rule("pluto.break-segments", Error, breaks::break_segments),
                    rule("pluto.loudness", Error, media::loudness),
                    rule("pluto.epg-continuous", Error, epg::continuous),
                ],
                &cue_rules!("pluto")[..],
            ]
            .concat(),
        },
        ProfileName::Wurl => Profile {
            name,
            limits: Limits {
                ladder: WURL_LADDER,
                ladder_all_required: true,
                epg_horizon_days: 8,
                ..Limits::default()
            },
            rules: [
                &structure_rules!("wurl")[..],
                &[
                    rule(
                        "wurl.segment-duration-constant",
                        Error,
                        segments::duration_constant,
                    ),
                    rule(
                        "wurl.media-sequence-aligned",
                        Error,
                        segments::media_sequence_aligned,
                    ),
                    rule("wurl.ladder-minimum", Error, media::ladder),
                    rule("wurl.epg-horizon", Error, epg::horizon),
                    rule("wurl.epg-programme-length", Error, epg::programme_length),
                    rule("wurl.epg-continuous", Error, epg::continuous),
                ],
                &cue_rules!("wurl")[..],
            ]
            .concat(),
        },
        ProfileName::Roku => Profile {
            name,
            limits: Limits::default(),
            rules: [
                &structure_rules!("roku")[..],
                &[
                    rule(
                        "roku.ad-minutes-per-hour",
                        Error,
                        breaks::ad_minutes_per_hour,
                    ),
                    rule("roku.epg-continuous", Error, epg::continuous),
                ],
                &cue_rules!("roku")[..],
            ]
            .concat(),
        },
    }
}

impl Profile {
    /// Runs every rule on `observation`.
    pub fn check(&self, observation: &Observation) -> Report {
        let observed = Observed::new(observation);
        let mut findings = Vec::new();
        let mut skipped = Vec::new();
        let mut checked = Vec::new();
        for rule in &self.rules {
            match (rule.check)(&observed, &self.limits) {
                Err(reason) => skipped.push(Skipped {
                    rule: rule.id,
                    reason,
                }),
                Ok(issues) => {
                    checked.push(rule.id);
                    let more = issues.len().saturating_sub(FINDINGS_PER_RULE);
                    let mut listed: Vec<Finding> = issues
                        .into_iter()
                        .take(FINDINGS_PER_RULE)
                        .map(|issue| Finding {
                            rule: rule.id,
                            severity: rule.severity,
                            where_seen: dated(&observed, issue.where_seen),
                            message: issue.message,
                            fix: issue.fix,
                        })
                        .collect();
                    if more > 0 {
                        let last = listed
                            .last()
                            .cloned()
                            .expect("more than the cap were found");
                        listed.push(Finding {
                            message: format!(
                                "and {more} more finding(s) of this rule, not listed."
                            ),
                            where_seen: crate::report::WhereSeen::other("elsewhere"),
                            ..last
                        });
                    }
                    findings.extend(listed);
                }
            }
        }
        let passed = !findings.iter().any(|finding| finding.severity == Error);
        Report {
            profile: self.name.as_str(),
            profile_title: self.name.title(),
            subject: observation.subject.clone(),
            passed,
            findings,
            skipped,
            checked,
            observed: summary(&observed),
        }
    }
}

/// `where_seen` with when its segment starts, where the playlists date it.
fn dated(observed: &Observed<'_>, mut where_seen: WhereSeen) -> WhereSeen {
    if let (Some(playlist), Some(sequence)) = (&where_seen.playlist, where_seen.sequence) {
        where_seen.at = observed
            .renditions
            .iter()
            .find(|rendition| &rendition.uri == playlist)
            .and_then(|rendition| rendition.segments.get(&sequence))
            .and_then(|seen| seen.start)
            .map(|start| start.to_rfc3339_millis());
    }
    where_seen
}

fn summary(observed: &Observed<'_>) -> ObservedSummary {
    let observation = observed.observation;
    ObservedSummary {
        snapshots: observation.snapshots.len(),
        playlists: observation
            .snapshots
            .iter()
            .map(|snapshot| snapshot.media.len() + usize::from(snapshot.multivariant.is_some()))
            .sum(),
        segments: observed
            .renditions
            .iter()
            .map(|rendition| rendition.segments.len())
            .sum(),
        breaks: observed
            .renditions
            .first()
            .map_or(0, |rendition| rendition.breaks.len()),
        segments_probed: observation.probes.len(),
        loudness_measures: observation.loudness.len(),
        epg_programmes: observation
            .epg
            .as_ref()
            .map_or(0, |epg| epg.programmes.len()),
        from: observation
            .snapshots
            .first()
            .map(|snapshot| snapshot.taken_at.to_rfc3339_millis()),
        to: observation
            .snapshots
            .last()
            .map(|snapshot| snapshot.taken_at.to_rfc3339_millis()),
    }
}

/// Runs the profile `name` on `observation`.
pub fn check(name: ProfileName, observation: &Observation) -> Report {
    profile(name).check(observation)
}
