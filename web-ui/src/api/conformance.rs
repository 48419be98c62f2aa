//! Conformance checks through the API, through the control plane
//! ([`onair_control::conformance`]): the channel's (or the partner's) playlists rendered in
//! process over the hours asked, a few segments probed and their loudness measured by the
//! server's media inspector, judged against a profile.
//!
//! | route | what |
//! |---|---|
//! | `POST /api/channels/{slug}/check?profile=&hours=` | the channel as its own URLs serve it, against `profile` (`hls` by default, `pluto`, `wurl`, `roku`) over `hours` (2 by default, 1 to 48): `{channel, profile, passed, findings, skipped, checked, observed, notes}`; 409 when it is not on air; 422 naming `profile` or `hours` |
//! | `POST /api/partners/{name}/check` | body optional: `{"profile"?, "hours"?}`; the partner's view of every channel it carries, against the profile named or the partner's own: `{partner, profile, passed, channels: [<channel's report>], not_on_air}`; 404 for no such partner, 409 when none of its channels is on air |
//!
//! A report answers 200 whether it passed or not: `passed` says, and each finding names its
//! rule, where it was seen and the fix.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use onair_control::conformance::{CheckOptions, DEFAULT_HOURS, MediaInspector, parse_profile};
use onair_control::{Control, Refusal};
use onair_domain::Clock;
use onair_store::Store;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};

/// What the check routes need.
#[derive(Clone)]
pub struct ConformanceApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Probes segments and measures loudness (the binary's, on the media folder); without
    /// one, reports say they measured no media.
    pub inspector: Option<Arc<dyn MediaInspector>>,
}

impl ConformanceApiState {
    fn control(&self) -> Control {
        Control::new(self.store.clone(), Arc::clone(&self.clock))
    }
}

/// The check routes, ready to merge into the server's router.
pub fn router(state: ConformanceApiState) -> Router {
    Router::new()
        .route("/api/channels/{slug}/check", post(check_channel))
        .route("/api/partners/{name}/check", post(check_partner))
        .with_state(state)
}

/// What to check against, and for how long.
#[derive(Debug, Default, Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckRequest {
    /// `hls`, `pluto`, `wurl` or `roku`.
    profile: Option<String>,
    /// Hours of playlists observed from now: 1 to 48, default 2.
    hours: Option<u32>,
}

impl CheckRequest {
    fn options(&self) -> Result<CheckOptions, Refusal> {
        Ok(CheckOptions {
            profile: self.profile.as_deref().map(parse_profile).transpose()?,
            hours: self.hours.unwrap_or(DEFAULT_HOURS),
        })
    }
}

// The schemas of `onair_control::conformance::{ChannelCheck, PartnerCheck}`'s JSON: the
// conformance crate has no schemas; a test holds the two to the same fields.

/// One channel's check: the profile's report, and what gathering it could not do.
#[derive(ToSchema)]
#[schema(as = ChannelCheck)]
#[allow(dead_code)]
struct ChannelCheckSchema {
    channel: String,
    profile: ProfileSchema,
    /// `Pluto TV v2.2`, …
    profile_title: String,
    /// What was observed: the playlist URL checked.
    subject: String,
    /// No finding of severity `error`.
    passed: bool,
    /// At most a few of each rule; the rest counted in one more.
    findings: Vec<FindingSchema>,
    /// The rules that could not look, and why.
    skipped: Vec<SkippedSchema>,
    /// The rules that looked at something (passed or not).
    checked: Vec<String>,
    observed: ObservedSchema,
    /// Segments that could not be probed, audio that could not be measured, and why.
    notes: Vec<String>,
}

/// A partner's check: every channel it carries that is on air.
#[derive(ToSchema)]
#[schema(as = PartnerCheck)]
#[allow(dead_code)]
struct PartnerCheckSchema {
    partner: String,
    profile: ProfileSchema,
    /// Every carried channel was on air and passed.
    passed: bool,
    channels: Vec<ChannelCheckSchema>,
    /// Carried channels not on air, not checked.
    not_on_air: Vec<String>,
}

/// A conformance profile.
#[derive(ToSchema)]
#[schema(as = ConformanceProfile, rename_all = "lowercase")]
#[allow(dead_code)]
enum ProfileSchema {
    Hls,
    Pluto,
    Wurl,
    Roku,
}

/// What a rule found wrong, where, and how to fix it.
#[derive(ToSchema)]
#[schema(as = Finding)]
#[allow(dead_code)]
struct FindingSchema {
    rule: String,
    severity: SeveritySchema,
    where_seen: WhereSeenSchema,
    message: String,
    fix: String,
}

/// An `error` fails the check; a `warning` does not.
#[derive(ToSchema)]
#[schema(as = Severity, rename_all = "lowercase")]
#[allow(dead_code)]
enum SeveritySchema {
    Warning,
    Error,
}

/// Where a finding was seen: what applies of a playlist, a media sequence, a segment, a
/// programme or something else, and when.
#[derive(ToSchema)]
#[schema(as = WhereSeen)]
#[allow(dead_code)]
struct WhereSeenSchema {
    playlist: Option<String>,
    sequence: Option<u64>,
    segment: Option<String>,
    programme: Option<String>,
    other: Option<String>,
    /// RFC 3339: when the segment seen at `sequence` starts.
    at: Option<String>,
}

/// A rule that could not look, and why.
#[derive(ToSchema)]
#[schema(as = Skipped)]
#[allow(dead_code)]
struct SkippedSchema {
    rule: String,
    reason: String,
}

/// How much was observed.
#[derive(ToSchema)]
#[schema(as = ObservedSummary)]
#[allow(dead_code)]
struct ObservedSchema {
    snapshots: u64,
    playlists: u64,
    segments: u64,
    breaks: u64,
    segments_probed: u64,
    loudness_measures: u64,
    epg_programmes: u64,
    /// RFC 3339: the first snapshot.
    from: Option<String>,
    /// RFC 3339: the last snapshot.
    to: Option<String>,
}

#[utoipa::path(post, path = "/api/channels/{slug}/check", tag = "conformance",
    params(("slug" = String, Path, description = "The channel"), CheckRequest),
    responses(
        (status = 200, description = "The report: `{channel, profile, passed, findings, skipped, checked, observed, notes}`", body = ChannelCheckSchema),
        (status = 400, description = "A malformed query", body = ErrorBody),
        (status = 404, description = "No such channel", body = ErrorBody),
        (status = 409, description = "The channel is not on air", body = ErrorBody),
        (status = 422, description = "An unknown profile or hours out of range, by field", body = ErrorBody),
    ))]
pub(crate) async fn check_channel(
    State(state): State<ConformanceApiState>,
    Path(slug): Path<String>,
    query: Result<Query<CheckRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(request) = query?;
    let check = state
        .control()
        .check_channel(&slug, request.options()?, state.inspector.clone())
        .await?;
    Ok(Json(check).into_response())
}

#[utoipa::path(post, path = "/api/partners/{name}/check", tag = "conformance",
    params(("name" = String, Path, description = "The partner")),
    request_body(content = Option<CheckRequest>, description = "Optional: the profile (the partner's own by default) and hours"),
    responses(
        (status = 200, description = "`{partner, profile, passed, channels, not_on_air}`, a report per channel on air", body = PartnerCheckSchema),
        (status = 400, description = "The body is not the JSON described", body = ErrorBody),
        (status = 404, description = "No such partner", body = ErrorBody),
        (status = 409, description = "None of its channels is on air", body = ErrorBody),
        (status = 422, description = "An unknown profile or hours out of range, by field", body = ErrorBody),
    ))]
pub(crate) async fn check_partner(
    State(state): State<ConformanceApiState>,
    Path(name): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let request: CheckRequest = if body.iter().all(u8::is_ascii_whitespace) {
        CheckRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|error| {
            ApiError::bad_request(format!("the body is not the JSON expected: {error}"))
        })?
    };
    let check = state
        .control()
        .check_partner(&name, request.options()?, state.inspector.clone())
        .await?;
    Ok(Json(check).into_response())
}

#[cfg(test)]
mod tests {
    use onair_conformance::profile::ProfileName;
    use onair_conformance::report::{
        Finding, ObservedSummary, Report, Severity, Skipped, WhereSeen,
    };
    use onair_control::conformance::{ChannelCheck, PartnerCheck};

    use crate::api::openapi::assert_fields_match;

    /// A channel's check with every optional field set.
    fn channel_check() -> ChannelCheck {
        ChannelCheck {
            channel: "demo".to_owned(),
            report: Report {
                profile: "pluto",
                profile_title: "Pluto TV v2.2",
                subject: "http://127.0.0.1/channels/demo/master.m3u8".to_owned(),
                passed: false,
                findings: vec![Finding {
                    rule: "pluto.segment_duration",
                    severity: Severity::Error,
                    where_seen: WhereSeen {
                        playlist: Some("720p/ts.m3u8".to_owned()),
                        sequence: Some(7),
                        segment: Some("seg7.ts".to_owned()),
                        programme: Some("News".to_owned()),
                        other: Some("the EPG".to_owned()),
                        at: Some("2026-12-05T00:00:00.000Z".to_owned()),
                    },
                    message: "too long".to_owned(),
                    fix: "shorter segments".to_owned(),
                }],
                skipped: vec![Skipped {
                    rule: "loudness",
                    reason: "no audio measured".to_owned(),
                }],
                checked: vec!["pluto.segment_duration"],
                observed: ObservedSummary {
                    snapshots: 2,
                    from: Some("2026-12-05T00:00:00.000Z".to_owned()),
                    to: Some("2026-12-05T00:01:00.000Z".to_owned()),
                    ..ObservedSummary::default()
                },
            },
            notes: vec!["a segment could not be probed".to_owned()],
        }
    }

    #[test]
    fn the_documented_reports_have_exactly_the_fields_of_the_checks() {
        let channel = serde_json::to_value(channel_check()).unwrap();
        assert_fields_match(&channel, "ChannelCheck");
        let partner = PartnerCheck {
            partner: "pluto".to_owned(),
            profile: ProfileName::Pluto,
            passed: false,
            channels: vec![channel_check()],
            not_on_air: vec!["other".to_owned()],
        };
        assert_fields_match(&serde_json::to_value(partner).unwrap(), "PartnerCheck");
    }
}
