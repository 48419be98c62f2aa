//! Conformance checks as pages: `/conformance` lists the channels the user may see (and, for an
//! admin, the partners), each with a form (profile, hours) that posts to
//! `/conformance/channels/{slug}` or `/conformance/partners/{name}`; the answer is the report:
//! passed or failed, the findings (rule, severity, where seen, message, fix), every rule
//! checked, the rules skipped with their reasons, what was observed and the notes; a partner's
//! has a section per channel and names the channels not on air.
//!
//! The checks are the control plane's (`Control::check_channel`, `Control::check_partner`), the
//! same as the API's `POST /api/channels/{slug}/check` and `onair channel|partner check`: they
//! render, probe and judge on blocking threads. A refusal is shown on the page with its status:
//! a channel not on air (409) with the reason, a bad profile or hours (422) at the field, too
//! many checks (429: running on the server, or started by the user in the last minute) naming
//! the limit and when to try again (also in `Retry-After`).
//! Plain forms: the pages work without JavaScript.

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use onair_conformance::{Finding, ProfileName, Report, Severity};
use onair_control::accounts::Role;
use onair_control::conformance::{
    ChannelCheck, CheckOptions, DEFAULT_HOURS, parse_profile, profile_for_partner,
};
use onair_control::{Problem, Refusal};
use serde::Deserialize;

use super::{Nav, PagesState, render};
use crate::access::Actor;

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/conformance", get(page))
        .route("/conformance/channels/{slug}", post(check_channel))
        .route("/conformance/partners/{name}", post(check_partner))
        .with_state(state)
}

/// A check's form as a page shows it: where it posts, what it holds, the problems by field.
struct CheckForm {
    action: String,
    /// Unique on the page, for the controls' ids (`channel-demo`).
    key: String,
    /// What is checked, for screen readers (`Demo channel`).
    label: String,
    profile: String,
    hours: String,
    /// A partner's own profile, the form's default (an empty `profile`).
    own_profile: Option<&'static str>,
    profile_problem: String,
    hours_problem: String,
}

impl CheckForm {
    fn new(kind: &str, subject: &str, label: &str, own_profile: Option<ProfileName>) -> CheckForm {
        CheckForm {
            action: format!("/conformance/{kind}s/{subject}"),
            key: format!("{kind}-{subject}"),
            label: label.to_owned(),
            profile: String::new(),
            hours: DEFAULT_HOURS.to_string(),
            own_profile: own_profile.map(ProfileName::as_str),
            profile_problem: String::new(),
            hours_problem: String::new(),
        }
    }

    /// The form holding what was posted, with `problems` at their fields.
    fn holding(mut self, posted: &Posted, problems: &[Problem]) -> CheckForm {
        self.profile = posted.profile.trim().to_owned();
        self.hours = posted.hours.clone();
        let of = |field: &str| {
            problems
                .iter()
                .filter(|problem| problem.field.as_deref() == Some(field))
                .map(|problem| problem.message.clone())
                .collect::<Vec<_>>()
                .join("; ")
        };
        self.profile_problem = of("profile");
        self.hours_problem = of("hours");
        self
    }

    /// Whether `name` is the profile selected.
    fn selects(&self, name: &str) -> bool {
        self.profile == name
    }
}

/// The profiles, as the forms offer them: name and title.
fn profiles() -> Vec<(&'static str, &'static str)> {
    ProfileName::ALL
        .iter()
        .map(|name| (name.as_str(), name.title()))
        .collect()
}

struct ChannelRow {
    slug: String,
    name: String,
    state: &'static str,
    form: CheckForm,
}

struct PartnerRow {
    name: String,
    display_name: String,
    channels: Vec<String>,
    form: CheckForm,
}

#[derive(Template)]
#[template(path = "conformance.html")]
struct ConformancePage {
    nav: Nav,
    channels: Vec<ChannelRow>,
    /// Empty unless the user is an admin on every channel.
    partners: Vec<PartnerRow>,
    profiles: Vec<(&'static str, &'static str)>,
}

async fn page(State(state): State<PagesState>, Extension(actor): Extension<Actor>) -> Response {
    let control = state.control();
    let channels = match control.channels().await {
        Ok(channels) => channels,
        Err(refusal) => return super::refused(refusal),
    };
    let channels = channels
        .into_iter()
        .filter(|info| actor.principal.has(Some(info.channel.id), Role::Viewer))
        .map(|info| {
            let channel = info.channel;
            let slug = channel.slug.to_string();
            ChannelRow {
                form: CheckForm::new("channel", &slug, &channel.name, None),
                state: if channel.retired {
                    "retired"
                } else if channel.on_air {
                    "on air"
                } else {
                    "off air"
                },
                name: channel.name,
                slug,
            }
        })
        .collect();
    let mut partners = Vec::new();
    if actor.principal.has(None, Role::Admin) {
        let listed = match control.partners().await {
            Ok(listed) => listed,
            Err(refusal) => return super::refused(refusal),
        };
        for partner in listed {
            let own = match own_profile(&state, &partner.name).await {
                Ok(own) => own,
                Err(refusal) => return super::refused(refusal),
            };
            partners.push(PartnerRow {
                form: CheckForm::new("partner", &partner.name, &partner.display_name, Some(own)),
                name: partner.name,
                display_name: partner.display_name,
                channels: partner.channels,
            });
        }
    }
    render(
        StatusCode::OK,
        &ConformancePage {
            nav: Nav::of(&actor, "conformance"),
            channels,
            partners,
            profiles: profiles(),
        },
    )
}

/// The profile a partner is checked against unless the form names one.
async fn own_profile(state: &PagesState, name: &str) -> Result<ProfileName, Refusal> {
    let access = state
        .control()
        .partner_access(name)
        .await?
        .ok_or_else(|| Refusal::NotFound(format!("there is no partner {name}")))?;
    Ok(profile_for_partner(name, &access.settings))
}

/// What a check's form posts (its `csrf` field is the guard's).
#[derive(Debug, Default, Deserialize)]
struct Posted {
    #[serde(default)]
    profile: String,
    #[serde(default)]
    hours: String,
}

impl Posted {
    /// The options, or every field that does not read (the hours' range is the control
    /// plane's to check).
    fn options(&self) -> Result<CheckOptions, Refusal> {
        let mut problems = Vec::new();
        let profile = match self.profile.trim() {
            "" => None,
            text => match parse_profile(text) {
                Ok(profile) => Some(profile),
                Err(Refusal::Invalid(mut refused)) => {
                    problems.append(&mut refused);
                    None
                }
                Err(other) => return Err(other),
            },
        };
        let hours = match self.hours.trim() {
            "" => DEFAULT_HOURS,
            text => text.parse().unwrap_or_else(|_| {
                problems.push(Problem::of_field(
                    "hours",
                    format!("{text:?} is not a whole number of hours"),
                ));
                DEFAULT_HOURS
            }),
        };
        if problems.is_empty() {
            Ok(CheckOptions { profile, hours })
        } else {
            Err(Refusal::Invalid(problems))
        }
    }
}

/// The verdict at the top of a report page.
struct Verdict {
    passed: bool,
    summary: String,
}

#[derive(Template)]
#[template(path = "conformance_report.html")]
struct ReportPage {
    nav: Nav,
    /// The channel's name or the partner's display name.
    title: String,
    /// The form, to run the check again (with the problems of a refused one).
    form: CheckForm,
    profiles: Vec<(&'static str, &'static str)>,
    verdict: Option<Verdict>,
    /// Why the check was not run (a channel not on air), or why its fields were refused.
    refusal: Option<String>,
    /// One report per channel checked.
    channels: Vec<ChannelCheck>,
    /// A partner's channels that are not on air.
    not_on_air: Vec<String>,
}

impl ReportPage {
    fn new(actor: &Actor, title: String, form: CheckForm) -> ReportPage {
        ReportPage {
            nav: Nav::of(actor, "conformance"),
            title,
            form,
            profiles: profiles(),
            verdict: None,
            refusal: None,
            channels: Vec::new(),
            not_on_air: Vec::new(),
        }
    }

    fn severity(&self, finding: &Finding) -> &'static str {
        match finding.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }

    fn errors(&self, report: &Report) -> usize {
        report.errors()
    }

    fn warnings(&self, report: &Report) -> usize {
        report.findings.len() - report.errors()
    }

    /// How a checked rule came out: `failed` (an error), `warning`, or `passed`.
    fn outcome(&self, report: &Report, rule: &str) -> &'static str {
        let mut outcome = "passed";
        for finding in report
            .findings
            .iter()
            .filter(|finding| finding.rule == rule)
        {
            match finding.severity {
                Severity::Error => return "failed",
                Severity::Warning => outcome = "warning",
            }
        }
        outcome
    }

    /// The reports of a check that ran, with the form holding what was asked.
    fn reporting(
        mut self,
        posted: &Posted,
        verdict: Verdict,
        channels: Vec<ChannelCheck>,
        not_on_air: Vec<String>,
    ) -> Response {
        self.form = self.form.holding(posted, &[]);
        self.verdict = Some(verdict);
        self.channels = channels;
        self.not_on_air = not_on_air;
        render(StatusCode::OK, &self)
    }

    /// A refused check: its reason on the page with the refusal's status (and `Retry-After`
    /// for a 429), the fields' problems at the fields; a server failure as the other pages say
    /// one.
    fn refused(mut self, posted: &Posted, refusal: Refusal) -> Response {
        let status = crate::api::error::status_of(&refusal);
        if status.is_server_error() {
            return super::refused(refusal);
        }
        let retry_after = crate::api::error::retry_after(&refusal);
        let problems = match refusal {
            Refusal::Invalid(problems) => {
                self.refusal = Some("the check was not run: see the fields".to_owned());
                problems
            }
            other => {
                self.refusal = Some(other.to_string());
                Vec::new()
            }
        };
        self.form = self.form.holding(posted, &problems);
        let mut response = render(status, &self);
        if let Some((name, value)) = retry_after {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

/// One channel's verdict, as a line.
fn summary(report: &Report) -> String {
    let errors = report.errors();
    format!(
        "{} against {}: {} rule(s) checked, {} error(s), {} warning(s), {} skipped",
        report.subject,
        report.profile_title,
        report.checked.len(),
        errors,
        report.findings.len() - errors,
        report.skipped.len()
    )
}

async fn check_channel(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
    Form(posted): Form<Posted>,
) -> Response {
    let control = state.control();
    let name = match control.channel(&slug).await {
        Ok(info) => info.channel.name,
        Err(refusal) => return super::refused(refusal),
    };
    let form = CheckForm::new("channel", &slug, &name, None);
    let page = ReportPage::new(&actor, name, form);
    let inspector = state.inspector.clone();
    let checked = async {
        control
            .check_channel(
                &slug,
                posted.options()?,
                inspector,
                &actor.principal.username,
            )
            .await
    };
    match checked.await {
        Ok(check) => {
            let verdict = Verdict {
                passed: check.report.passed,
                summary: summary(&check.report),
            };
            page.reporting(&posted, verdict, vec![check], Vec::new())
        }
        Err(refusal) => page.refused(&posted, refusal),
    }
}

async fn check_partner(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Form(posted): Form<Posted>,
) -> Response {
    let control = state.control();
    let display_name = match control.partner(&name).await {
        Ok(partner) => partner.display_name,
        Err(refusal) => return super::refused(refusal),
    };
    let own = match own_profile(&state, &name).await {
        Ok(own) => own,
        Err(refusal) => return super::refused(refusal),
    };
    let form = CheckForm::new("partner", &name, &display_name, Some(own));
    let page = ReportPage::new(&actor, display_name, form);
    let inspector = state.inspector.clone();
    let checked = async {
        control
            .check_partner(
                &name,
                posted.options()?,
                inspector,
                &actor.principal.username,
            )
            .await
    };
    match checked.await {
        Ok(check) => {
            let failed = check
                .channels
                .iter()
                .filter(|channel| !channel.report.passed)
                .count();
            let verdict = Verdict {
                passed: check.passed,
                summary: format!(
                    "partner {} against {}: {} channel(s) checked, {} failed, {} not on air",
                    check.partner,
                    check.profile.title(),
                    check.channels.len(),
                    failed,
                    check.not_on_air.len()
                ),
            };
            page.reporting(&posted, verdict, check.channels, check.not_on_air)
        }
        Err(refusal) => page.refused(&posted, refusal),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn posted(profile: &str, hours: &str) -> Posted {
        Posted {
            profile: profile.to_owned(),
            hours: hours.to_owned(),
        }
    }

    #[test]
    fn an_empty_form_asks_for_the_default_profile_over_the_default_hours() {
        let options = posted("", "").options().unwrap();
        assert_eq!(options.profile, None);
        assert_eq!(options.hours, DEFAULT_HOURS);
        let options = posted(" pluto ", "5").options().unwrap();
        assert_eq!(options.profile, Some(ProfileName::Pluto));
        assert_eq!(options.hours, 5);
    }

    #[test]
    fn every_field_that_does_not_read_is_named() {
        let Err(Refusal::Invalid(problems)) = posted("netflix", "two").options() else {
            panic!("a bad profile and bad hours were taken");
        };
        let fields: Vec<_> = problems
            .iter()
            .map(|problem| problem.field.as_deref().unwrap())
            .collect();
        assert_eq!(fields, ["profile", "hours"]);
        let form = CheckForm::new("channel", "demo", "Demo", None)
            .holding(&posted("netflix", "two"), &problems);
        assert!(
            form.profile_problem
                .contains("\"netflix\" is not a profile")
        );
        assert!(form.hours_problem.contains("\"two\" is not a whole number"));
        assert_eq!(form.hours, "two", "the form keeps what was typed");
    }

    async fn html_of(response: Response) -> String {
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[tokio::test]
    async fn too_many_checks_answer_429_with_the_limit_on_the_report_page_and_retry_after() {
        let actor = Actor {
            principal: onair_control::accounts::Principal {
                user_id: onair_store::UserId(7),
                username: "alice".to_owned(),
                grants: vec![(None, Role::Viewer)],
                channel_slugs: Vec::new(),
            },
            credential: crate::access::Credential::Session,
            csrf: Some("token".to_owned()),
        };
        let message = "alice has started 6 conformance check(s) in the last minute, the most one user may; try again in 42 s";
        let too_many = Refusal::TooMany {
            message: message.to_owned(),
            retry_after: std::time::Duration::from_millis(41_200),
        };
        let form = CheckForm::new("channel", "demo", "Demo", None);
        let response = ReportPage::new(&actor, "Demo".to_owned(), form)
            .refused(&posted("pluto", "4"), too_many.clone());
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "42");
        let html = html_of(response).await;
        let refusal = html
            .split("data-testid=\"refusal\"")
            .nth(1)
            .expect("the page says why the check was not run");
        assert!(refusal.contains(message), "{html}");
        assert!(
            html.contains("value=\"4\""),
            "the form keeps the hours: {html}"
        );

        let response = super::super::refused(too_many);
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(response.headers()[axum::http::header::RETRY_AFTER], "42");
        assert!(html_of(response).await.contains(message));
    }
}
