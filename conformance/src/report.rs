//! What a check answers: findings (rule, severity, where, what, the fix), the rules that had
//! nothing to look at with the reason, and what was observed.

use std::fmt;

use serde::Serialize;

/// How bad a finding is: an error fails the check (a partner rejects the channel for it), a
/// warning is worth fixing but passes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

/// Where a finding was seen: a playlist and a sequence number or segment, a programme, a
/// loudness measure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WhereSeen {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub playlist: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub segment: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub programme: Option<String>,
    /// Anything else: a loudness measure, the EPG, the whole observation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub other: Option<String>,
    /// When the segment at `sequence` starts (RFC 3339, UTC), where the playlists date it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
}

impl WhereSeen {
    pub fn playlist(uri: &str) -> WhereSeen {
        WhereSeen {
            playlist: Some(uri.to_owned()),
            ..WhereSeen::default()
        }
    }

    pub fn sequence(uri: &str, sequence: u64) -> WhereSeen {
        WhereSeen {
            playlist: Some(uri.to_owned()),
            sequence: Some(sequence),
            ..WhereSeen::default()
        }
    }

    pub fn segment(uri: &str, segment: &str) -> WhereSeen {
        WhereSeen {
            playlist: Some(uri.to_owned()),
            segment: Some(segment.to_owned()),
            ..WhereSeen::default()
        }
    }

    pub fn programme(what: String) -> WhereSeen {
        WhereSeen {
            programme: Some(what),
            ..WhereSeen::default()
        }
    }

    pub fn other(what: impl Into<String>) -> WhereSeen {
        WhereSeen {
            other: Some(what.into()),
            ..WhereSeen::default()
        }
    }
}

impl fmt::Display for WhereSeen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<String> = Vec::new();
        if let Some(playlist) = &self.playlist {
            parts.push(playlist.clone());
        }
        if let Some(sequence) = self.sequence {
            parts.push(format!("seq {sequence}"));
        }
        if let Some(segment) = &self.segment {
            parts.push(segment.clone());
        }
        if let Some(programme) = &self.programme {
            parts.push(format!("programme {programme}"));
        }
        if let Some(other) = &self.other {
            parts.push(other.clone());
        }
        f.write_str(&parts.join(" "))
    }
}

/// One rule broken once.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The rule's stable id, e.g. `pluto.segment-duration-constant`.
    pub rule: &'static str,
    pub severity: Severity,
    pub where_seen: WhereSeen,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for Finding {
    /// `✗ pluto.break-duration-fixed  360p/ts.m3u8 seq 1234: Duration changed 30 → 32 s. Fix: …`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = match self.severity {
            Severity::Error => '✗',
            Severity::Warning => '!',
        };
        write!(
            f,
            "{mark} {}  {}: {} Fix: {}",
            self.rule, self.where_seen, self.message, self.fix
        )
    }
}

/// A rule that had nothing to look at: it neither passed nor failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub rule: &'static str,
    pub reason: String,
}

/// How much was observed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ObservedSummary {
    pub snapshots: usize,
    pub playlists: usize,
    /// Distinct segments listed, over every media playlist.
    pub segments: usize,
    pub breaks: usize,
    pub segments_probed: usize,
    pub loudness_measures: usize,
    pub epg_programmes: usize,
    /// The instants of the first and the last snapshot.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

/// A profile's verdict on an observation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Report {
    /// `pluto`, `wurl`, `roku`, `hls`.
    pub profile: &'static str,
    /// `Pluto TV v2.2`, …
    pub profile_title: &'static str,
    pub subject: String,
    /// No finding of severity error.
    pub passed: bool,
    pub findings: Vec<Finding>,
    pub skipped: Vec<Skipped>,
    /// The rules that looked at something (passed or not).
    pub checked: Vec<&'static str>,
    pub observed: ObservedSummary,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.findings
            .iter()
            .filter(|finding| finding.severity == Severity::Error)
            .count()
    }

    /// The report for people: a headline, a line per finding, a line per skipped rule.
    pub fn human(&self) -> String {
        let mut out = format!(
            "{} against {}: {} ({} rule(s) checked, {} error(s), {} warning(s), {} skipped)\n",
            self.subject,
            self.profile_title,
            if self.passed { "passed" } else { "FAILED" },
            self.checked.len(),
            self.errors(),
            self.findings.len() - self.errors(),
            self.skipped.len(),
        );
        let observed = &self.observed;
        out.push_str(&format!(
            "observed: {} snapshot(s), {} playlist(s), {} segment(s), {} break(s), {} segment(s) probed, {} loudness measure(s), {} EPG programme(s)\n",
            observed.snapshots,
            observed.playlists,
            observed.segments,
            observed.breaks,
            observed.segments_probed,
            observed.loudness_measures,
            observed.epg_programmes,
        ));
        for finding in &self.findings {
            out.push_str(&format!("{finding}\n"));
        }
        for skipped in &self.skipped {
            out.push_str(&format!(
                "- {}  skipped: {}\n",
                skipped.rule, skipped.reason
            ));
        }
        out
    }
}
