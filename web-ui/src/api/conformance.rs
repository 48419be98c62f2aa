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
//! rule, where it was seen and the fix. A check is costly: past the server's checks at once or
//! the caller's checks a minute ([`onair_control::conformance::ConformanceLimits`]) it answers
//! 429 naming the limit, with `Retry-After` in seconds.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Extension, Path, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use onair_control::conformance::{
    CheckOptions, ConformanceLimiter, DEFAULT_HOURS, MediaInspector, parse_profile,
};
use onair_control::{Control, Refusal};
use onair_domain::Clock;
use onair_store::Store;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::error::{ApiError, ErrorBody};
use crate::access::Actor;

/// What the check routes need.
#[derive(Clone)]
pub struct ConformanceApiState {
    pub store: Store,
    pub clock: Arc<dyn Clock>,
    /// Probes segments and measures loudness (the binary's, on the media folder); without
    /// one, reports say they measured no media.
    pub inspector: Option<Arc<dyn MediaInspector>>,
    /// The checks running and started lately: the server's one, shared with the pages'.
    pub limiter: ConformanceLimiter,
}

impl ConformanceApiState {
    fn control(&self) -> Control {
        Control {
            conformance_limiter: self.limiter.clone(),
            ..Control::new(self.store.clone(), Arc::clone(&self.clock))
        }
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
        (status = 429, description = "Too many checks: running on the server, or started by the caller in the last minute; the error names the limit", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the check may be asked again"))),
    ))]
pub(crate) async fn check_channel(
    State(state): State<ConformanceApiState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
    query: Result<Query<CheckRequest>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(request) = query?;
    let check = state
        .control()
        .check_channel(
            &slug,
            request.options()?,
            state.inspector.clone(),
            &actor.principal.username,
        )
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
        (status = 429, description = "Too many checks: running on the server, or started by the caller in the last minute; the error names the limit", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds until the check may be asked again"))),
    ))]
pub(crate) async fn check_partner(
    State(state): State<ConformanceApiState>,
    Extension(actor): Extension<Actor>,
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
        .check_partner(
            &name,
            request.options()?,
            state.inspector.clone(),
            &actor.principal.username,
        )
        .await?;
    Ok(Json(check).into_response())
}

#[cfg(test)]
mod tests {
    use onair_conformance::profile::ProfileName;
    use onair_conformance::report::{
        Finding, ObservedSummary, Report, Severity, Skipped, WhereSeen,
    };
    use std::sync::Arc;
    use std::time::Duration;

    use axum::Router;
    use axum::body::Body;
    use axum::http::{Request, StatusCode, header};
    use onair_control::Control;
    use onair_control::accounts::{Principal, Role};
    use onair_control::conformance::{
        ChannelCheck, ConformanceLimiter, ConformanceLimits, PartnerCheck,
    };
    use onair_control::partners::PartnerInput;
    use onair_domain::{ChannelSlug, FixedClock, Ladder, OutputFormat, Timestamp};
    use onair_store::{NewChannel, Store, UserId};
    use tower::ServiceExt;

    use super::{ConformanceApiState, router};
    use crate::access::{Actor, Credential};
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

    /// The check routes over a store in memory with channel `demo` on air and partner
    /// `fastplus` carrying it, for `alice` (a viewer of it; the access guard is not in front),
    /// with `limiter`.
    async fn app(limiter: ConformanceLimiter) -> Router {
        let store = Store::connect("sqlite::memory:").await.unwrap();
        store.migrate().await.unwrap();
        let ladder = store.insert_ladder(&Ladder::demo()).await.unwrap();
        let channel = store
            .insert_channel(&NewChannel {
                slug: ChannelSlug::parse("demo").unwrap(),
                name: "Demo".into(),
                time_zone: chrono_tz::UTC,
                ladder_id: ladder,
                outputs: vec![OutputFormat::HlsTs],
                window_segments: 5,
                grid_repeat: None,
                on_air: true,
            })
            .await
            .unwrap();
        let clock = Arc::new(FixedClock(Timestamp::from_unix_secs(1_796_385_600)));
        Control::new(store.clone(), clock.clone())
            .create_partner(
                &PartnerInput {
                    name: Some("fastplus".into()),
                    channels: vec!["demo".into()],
                    ..PartnerInput::default()
                },
                "test",
            )
            .await
            .unwrap();
        let alice = Actor {
            principal: Principal {
                user_id: UserId(7),
                username: "alice".to_owned(),
                grants: vec![(Some(channel.id), Role::Viewer)],
                channel_slugs: vec![(channel.id, "demo".to_owned())],
            },
            credential: Credential::ApiToken,
            csrf: None,
        };
        router(ConformanceApiState {
            store,
            clock,
            inspector: None,
            limiter,
        })
        .layer(axum::Extension(alice))
    }

    /// What `app` answers a POST to `uri`: the status, `Retry-After` and the JSON body.
    async fn post(app: Router, uri: &str) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = app
            .oneshot(Request::post(uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        let status = response.status();
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .map(|value| value.to_str().unwrap().to_owned());
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        (status, retry_after, serde_json::from_slice(&bytes).unwrap())
    }

    #[tokio::test]
    async fn a_check_past_the_callers_limit_answers_429_naming_it_with_retry_after_in_seconds() {
        let limiter = ConformanceLimiter::new(ConformanceLimits {
            per_minute: 1,
            ..ConformanceLimits::default()
        });
        let _first = limiter.admit("alice").await.unwrap();
        let (status, retry_after, body) =
            post(app(limiter).await, "/api/channels/demo/check?hours=1").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        let retry_after: u64 = retry_after.expect("Retry-After").parse().unwrap();
        assert!((1..=60).contains(&retry_after), "{retry_after}");
        assert_eq!(
            body["error"],
            format!(
                "alice has started 1 conformance check(s) in the last minute, the most one user may; try again in {retry_after} s"
            )
        );
    }

    #[tokio::test]
    async fn a_partner_check_while_the_server_runs_its_most_answers_429_naming_that_limit() {
        let limiter = ConformanceLimiter::new(ConformanceLimits {
            concurrent: 1,
            wait: Duration::from_millis(10),
            per_minute: 6,
        });
        let _running = limiter.admit("bob").await.unwrap();
        let (status, retry_after, body) =
            post(app(limiter).await, "/api/partners/fastplus/check").await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(retry_after.as_deref(), Some("5"));
        assert_eq!(
            body["error"],
            "1 conformance check(s) are running on this server, the most at once, and none finished within 0.01 s; try again in 5 s"
        );
    }
}
