//! Ad operations for one channel: `/ads/{slug}`: its ad tag and policy (a versioned form, every
//! problem named by its field, a stale edit refused with a reload), the versions with restore,
//! and the last 24 hours' report: fill rate, ads aired, slate seconds, VAST errors by code,
//! beacons sent and failed, in all and per break.
//!
//! The settings go through the control plane's checks (`Control::put_ad_config`), the same as
//! the API's `PUT /api/channels/{slug}/ads` and `onair ads set`.

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onair_control::Refusal;
use onair_control::ads::report::{AdReport, BreakReport};
use onair_control::ads::{AdConfig, AdConfigVersion, FrequencyCap, Insertion, TagKind};
use onair_control::refusal::Problem;
use onair_domain::{AssetId, Ticks};
use serde::Deserialize;

use super::{Nav, PagesState, encode_query, render};
use crate::access::Actor;

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/ads/{slug}", get(page).post(save))
        .route("/ads/{slug}/restore", post(restore))
        .with_state(state)
}

/// How many breaks the page lists, newest first.
const BREAKS_LISTED: usize = 20;

#[derive(Template)]
#[template(path = "ads.html")]
struct AdsPage {
    nav: Nav,
    slug: String,
    name: String,
    /// The version the form edits (0: none yet).
    version: i64,
    form: SettingsForm,
    versions: Vec<AdConfigVersion>,
    report: Option<AdReport>,
    breaks: Vec<BreakReport>,
    report_note: Option<String>,
    notice: Option<String>,
    /// Every problem of a refused edit, by field.
    problems: Vec<Problem>,
    error: Option<String>,
}

impl AdsPage {
    fn percent(&self, rate: &f64) -> String {
        format!("{:.0} %", rate * 100.0)
    }

    fn errors(&self, report: &BreakReport) -> String {
        if report.errors_by_code.is_empty() {
            return "none".to_owned();
        }
        report
            .errors_by_code
            .iter()
            .map(|(code, count)| format!("{code} × {count}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn problem_of(&self, field: &str) -> String {
        self.problems
            .iter()
            .filter(|problem| problem.field.as_deref() == Some(field))
            .map(|problem| problem.message.clone())
            .collect::<Vec<_>>()
            .join("; ")
    }
}

/// The settings as the form holds them: text, so a refused edit comes back as typed.
#[derive(Debug, Clone, Default, Deserialize)]
struct SettingsForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    enabled: Option<String>,
    #[serde(default)]
    tag: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    insertion: String,
    #[serde(default)]
    lead_seconds: String,
    #[serde(default)]
    freeze_seconds: String,
    #[serde(default)]
    timeout_ms: String,
    #[serde(default)]
    max_wrappers: String,
    #[serde(default)]
    max_response_kib: String,
    #[serde(default)]
    max_ads_per_break: String,
    #[serde(default)]
    cap_max: String,
    #[serde(default)]
    cap_per_seconds: String,
    #[serde(default)]
    slate: String,
    #[serde(default)]
    allow_private: Option<String>,
    #[serde(default)]
    session_idle_seconds: String,
    #[serde(default)]
    client_side_beacons: Option<String>,
}

impl SettingsForm {
    fn of(config: &AdConfig, version: i64) -> SettingsForm {
        let cap = config.frequency_cap.as_ref();
        SettingsForm {
            version: version.to_string(),
            enabled: config.enabled.then(|| "on".to_owned()),
            tag: config.tag.clone(),
            kind: match config.kind {
                TagKind::Vast => "vast",
                TagKind::Vmap => "vmap",
            }
            .to_owned(),
            insertion: match config.insertion {
                Insertion::Stitched => "stitched",
                Insertion::Interstitials => "interstitials",
            }
            .to_owned(),
            lead_seconds: config.lead_seconds.to_string(),
            freeze_seconds: config.freeze_seconds.to_string(),
            timeout_ms: config.timeout_ms.to_string(),
            max_wrappers: config.max_wrappers.to_string(),
            max_response_kib: config.max_response_kib.to_string(),
            max_ads_per_break: config.max_ads_per_break.to_string(),
            cap_max: cap.map(|cap| cap.max.to_string()).unwrap_or_default(),
            cap_per_seconds: cap
                .map(|cap| cap.per_seconds.to_string())
                .unwrap_or_default(),
            slate: config.slate.map(|id| id.0.to_string()).unwrap_or_default(),
            allow_private: config.allow_private.then(|| "on".to_owned()),
            session_idle_seconds: config.session_idle_seconds.to_string(),
            client_side_beacons: config.client_side_beacons.then(|| "on".to_owned()),
        }
    }

    /// The settings, or every field that does not read.
    fn config(&self) -> Result<AdConfig, Vec<Problem>> {
        let mut problems = Vec::new();
        fn number<T: std::str::FromStr>(
            problems: &mut Vec<Problem>,
            field: &str,
            text: &str,
        ) -> Option<T> {
            match text.trim().parse() {
                Ok(value) => Some(value),
                Err(_) => {
                    problems.push(Problem::of_field(
                        field,
                        format!("{text:?} is not a whole number in range"),
                    ));
                    None
                }
            }
        }
        let defaults = AdConfig::default();
        let mut config = AdConfig {
            enabled: self.enabled.is_some(),
            tag: self.tag.trim().to_owned(),
            allow_private: self.allow_private.is_some(),
            client_side_beacons: self.client_side_beacons.is_some(),
            ..defaults
        };
        config.kind = match self.kind.as_str() {
            "vmap" => TagKind::Vmap,
            _ => TagKind::Vast,
        };
        config.insertion = match self.insertion.as_str() {
            "interstitials" => Insertion::Interstitials,
            _ => Insertion::Stitched,
        };
        let p = &mut problems;
        config.lead_seconds = number(p, "lead_seconds", &self.lead_seconds).unwrap_or_default();
        config.freeze_seconds =
            number(p, "freeze_seconds", &self.freeze_seconds).unwrap_or_default();
        config.timeout_ms = number(p, "timeout_ms", &self.timeout_ms).unwrap_or_default();
        config.max_wrappers = number(p, "max_wrappers", &self.max_wrappers).unwrap_or_default();
        config.max_response_kib =
            number(p, "max_response_kib", &self.max_response_kib).unwrap_or_default();
        config.max_ads_per_break =
            number(p, "max_ads_per_break", &self.max_ads_per_break).unwrap_or_default();
        config.session_idle_seconds =
            number(p, "session_idle_seconds", &self.session_idle_seconds).unwrap_or_default();
        config.frequency_cap = match (self.cap_max.trim(), self.cap_per_seconds.trim()) {
            ("", "") => None,
            (max, per) => Some(FrequencyCap {
                max: number(p, "cap_max", max).unwrap_or_default(),
                per_seconds: number(p, "cap_per_seconds", per).unwrap_or_default(),
            }),
        };
        config.slate = match self.slate.trim() {
            "" => None,
            id => number(p, "slate", id).map(AssetId),
        };
        if problems.is_empty() {
            Ok(config)
        } else {
            Err(problems)
        }
    }
}

#[derive(Debug, Default, Deserialize)]
struct Notice {
    done: Option<String>,
}

struct Shown {
    status: StatusCode,
    form: Option<SettingsForm>,
    notice: Option<String>,
    problems: Vec<Problem>,
    error: Option<String>,
}

async fn show(state: &PagesState, actor: &Actor, slug: &str, shown: Shown) -> Response {
    let control = state.control();
    let info = match control.channel(slug).await {
        Ok(info) => info,
        Err(refusal) => return super::refused(refusal),
    };
    let current = match control.ad_config(slug).await {
        Ok(current) => current,
        Err(refusal) => return super::refused(refusal),
    };
    let versions = control.ad_config_versions(slug).await.unwrap_or_default();
    let version = current.as_ref().map_or(0, |current| current.version);
    let form = shown.form.unwrap_or_else(|| match &current {
        Some(current) => SettingsForm::of(&current.config, current.version),
        None => SettingsForm::of(&AdConfig::default(), 0),
    });
    let now = state.clock.now();
    let (report, report_note) = match control
        .ad_report(slug, now - Ticks::from_secs(24 * 3_600), now)
        .await
    {
        Ok(report) => (Some(report), None),
        Err(refusal) => (None, Some(refusal.to_string())),
    };
    let breaks = report
        .as_ref()
        .map(|report| {
            report
                .breaks
                .iter()
                .rev()
                .take(BREAKS_LISTED)
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    render(
        shown.status,
        &AdsPage {
            nav: Nav::of(actor, "ads"),
            slug: slug.to_owned(),
            name: info.channel.name.clone(),
            version,
            form,
            versions,
            report,
            breaks,
            report_note,
            notice: shown.notice,
            problems: shown.problems,
            error: shown.error,
        },
    )
}

async fn page(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
    Query(notice): Query<Notice>,
) -> Response {
    let shown = Shown {
        status: StatusCode::OK,
        form: None,
        notice: notice.done,
        problems: Vec::new(),
        error: None,
    };
    show(&state, &actor, &slug, shown).await
}

fn saved(slug: &str, notice: &str) -> Response {
    let mut response =
        Redirect::to(&format!("/ads/{slug}?done={}", encode_query(notice))).into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

/// The page again with a refusal: every problem by field, or the message.
async fn refused(
    state: &PagesState,
    actor: &Actor,
    slug: &str,
    form: Option<SettingsForm>,
    refusal: Refusal,
) -> Response {
    let status = crate::api::error::status_of(&refusal);
    let (problems, error) = match refusal {
        Refusal::Invalid(problems) => (
            problems,
            Some("the settings have problems: see each field".to_owned()),
        ),
        Refusal::Conflict(message) => (
            Vec::new(),
            Some(format!(
                "{message}: someone saved the settings meanwhile; reload to see theirs"
            )),
        ),
        other => (Vec::new(), Some(other.to_string())),
    };
    let shown = Shown {
        status,
        form,
        notice: None,
        problems,
        error,
    };
    show(state, actor, slug, shown).await
}

async fn save(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
    Form(form): Form<SettingsForm>,
) -> Response {
    let config = match form.config() {
        Ok(config) => config,
        Err(problems) => {
            return refused(
                &state,
                &actor,
                &slug,
                Some(form),
                Refusal::Invalid(problems),
            )
            .await;
        }
    };
    let expected = form.version.trim().parse::<i64>().ok().filter(|v| *v > 0);
    match state
        .control()
        .put_ad_config(&slug, expected, &config, &actor.principal.username)
        .await
    {
        Ok(stored) => saved(&slug, &format!("saved as version {}", stored.version)),
        Err(refusal) => refused(&state, &actor, &slug, Some(form), refusal).await,
    }
}

#[derive(Debug, Deserialize)]
struct RestoreForm {
    #[serde(default)]
    version: String,
    #[serde(default)]
    restore: String,
}

async fn restore(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
    Form(form): Form<RestoreForm>,
) -> Response {
    let Ok(restore) = form.restore.trim().parse::<i64>() else {
        let refusal = Refusal::BadRequest("name the version to restore".to_owned());
        return refused(&state, &actor, &slug, None, refusal).await;
    };
    let expected = form.version.trim().parse::<i64>().ok().filter(|v| *v > 0);
    match state
        .control()
        .restore_ad_config(&slug, expected, restore, &actor.principal.username)
        .await
    {
        Ok(stored) => saved(
            &slug,
            &format!("version {restore} restored as version {}", stored.version),
        ),
        Err(refusal) => refused(&state, &actor, &slug, None, refusal).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_reads_back_the_settings_it_shows() {
        let config = AdConfig {
            tag: "https://ads.example/vast?c=[CACHEBUSTING]".into(),
            frequency_cap: Some(FrequencyCap {
                max: 3,
                per_seconds: 3600,
            }),
            slate: Some(AssetId(7)),
            insertion: Insertion::Interstitials,
            ..AdConfig::default()
        };
        assert_eq!(SettingsForm::of(&config, 4).config().unwrap(), config);
    }

    #[test]
    fn every_field_that_does_not_read_is_named() {
        let form = SettingsForm {
            lead_seconds: "soon".into(),
            timeout_ms: "-1".into(),
            cap_max: "3".into(),
            ..SettingsForm::of(&AdConfig::default(), 0)
        };
        let problems = form.config().unwrap_err();
        let fields: Vec<_> = problems
            .iter()
            .map(|problem| problem.field.clone().unwrap())
            .collect();
        assert_eq!(fields, ["lead_seconds", "timeout_ms", "cap_per_seconds"]);
    }
}
