//! The add form of the grid page, which needs no JavaScript: `POST /grid/{slug}/items` adds
//! one item at a local time, optionally of a length, through the schedule's checks; a refusal
//! shows the page again with every problem and the form as typed.

use axum::extract::{Extension, Form, Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use onair_control::Refusal;
use onair_control::schedule::{ItemDraft, entry_of, item_draft};
use onair_domain::Ticks;
use serde::Deserialize;

use super::{PagesState, Shown, build, encode_query, local_instant, render};
use crate::access::Actor;

/// What the add-item form holds (sent back as typed after a refusal).
#[derive(Debug, Clone, Default, Deserialize)]
pub(super) struct AddForm {
    #[serde(default)]
    pub(super) asset_id: String,
    #[serde(default)]
    pub(super) date: String,
    #[serde(default)]
    pub(super) time: String,
    #[serde(default)]
    pub(super) hard_start: Option<String>,
    #[serde(default)]
    pub(super) title: String,
    /// `m:ss`, `h:mm:ss` or seconds; empty: the whole asset.
    #[serde(default)]
    pub(super) length: String,
    #[serde(default)]
    pub(super) version: String,
    #[serde(default)]
    pub(super) view: String,
}

/// The add form's length, in milliseconds: `m:ss`, `h:mm:ss` or whole seconds (`90`); `None`
/// when empty (the whole asset).
pub(super) fn parse_length(text: &str) -> Result<Option<i64>, String> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    let unreadable = || {
        format!(
            "{trimmed:?} is not a length: give it as minutes:seconds (25:00) or seconds (90), or leave it empty for the whole asset"
        )
    };
    let parts: Vec<&str> = trimmed.split(':').collect();
    let numbers: Option<Vec<i64>> = parts
        .iter()
        .map(|part| {
            let digits = !part.is_empty()
                && part.len() <= 9
                && part.bytes().all(|byte| byte.is_ascii_digit());
            digits.then(|| part.parse().ok()).flatten()
        })
        .collect();
    // Every part after the first is two digits under 60.
    let well_formed = |numbers: &[i64]| {
        numbers.len() <= 3
            && parts[1..].iter().all(|part| part.len() == 2)
            && numbers[1..].iter().all(|&number| number < 60)
    };
    let Some(numbers) = numbers.filter(|numbers| well_formed(numbers)) else {
        return Err(unreadable());
    };
    let seconds = numbers.iter().fold(0, |total, number| total * 60 + number);
    if seconds == 0 {
        return Err(format!(
            "{trimmed:?} airs nothing: give a length above zero, or leave it empty for the whole asset"
        ));
    }
    Ok(Some(seconds * 1000))
}

/// `POST /grid/{slug}/items`: adds one item at a local time, through the schedule's checks.
pub(super) async fn add_item(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(slug): Path<String>,
    Form(form): Form<AddForm>,
) -> Response {
    let shown = match Shown::parse(&state, &slug, Some(&form.view), Some(&form.date)).await {
        Ok(shown) => shown,
        Err(refusal) => return crate::pages::refused(refusal),
    };
    let (status, errors) = match add(&state, &actor, &shown, &form).await {
        Ok(()) => {
            let target = format!(
                "/grid/{}?view={}&date={}&added=1",
                encode_query(&slug),
                shown.view.as_str(),
                shown.date
            );
            return Redirect::to(&target).into_response();
        }
        Err(refusal) => refusal_lines(refusal),
    };
    match build(&state, &actor, &shown, form, errors, None).await {
        Ok(page) => render(status, &page),
        Err(refusal) => crate::pages::refused(refusal),
    }
}

async fn add(
    state: &PagesState,
    actor: &Actor,
    shown: &Shown,
    form: &AddForm,
) -> Result<(), Refusal> {
    let mut problems = Vec::new();
    let asset_id: Option<i64> = form.asset_id.trim().parse().ok();
    if asset_id.is_none() {
        problems.push("choose an asset".to_owned());
    }
    let version: Option<i64> = form.version.trim().parse().ok();
    if version.is_none() {
        problems.push("the form names no schedule version: reload the page".to_owned());
    }
    let start = local_instant(shown.zone, shown.date, &form.time)
        .map_err(|problem| problems.push(format!("start: {problem}")))
        .ok();
    let length_ms = parse_length(&form.length)
        .map_err(|problem| problems.push(format!("length: {problem}")))
        .ok();
    let (Some(asset_id), Some(version), Some(start), Some(length_ms), true) =
        (asset_id, version, start, length_ms, problems.is_empty())
    else {
        return Err(Refusal::Invalid(
            problems
                .into_iter()
                .map(onair_control::Problem::whole)
                .collect(),
        ));
    };
    let control = state.control();
    let title = match form.title.trim() {
        "" => control.asset(asset_id).await?.asset.title,
        typed => typed.to_owned(),
    };
    // The window is the one instant: the items already starting then are sent back as they are.
    let to = start + Ticks::from_millis(1);
    let mut items: Vec<ItemDraft> = control
        .schedule(&shown.slug, start, to)
        .await?
        .items
        .into_iter()
        .map(|entry| item_draft(&entry_of(entry)))
        .collect();
    items.push(ItemDraft {
        asset_id,
        start: start.to_rfc3339_millis(),
        hard_start: form.hard_start.is_some(),
        title,
        length_ms,
        ad_breaks: Vec::new(),
        info: None,
    });
    control
        .replace_schedule(
            &shown.slug,
            Some(version),
            &start.to_rfc3339_millis(),
            &to.to_rfc3339_millis(),
            &items,
            &actor.principal.username,
        )
        .await?;
    Ok(())
}

/// A refusal as the status the page answers with and its lines.
pub(super) fn refusal_lines(refusal: Refusal) -> (StatusCode, Vec<String>) {
    let status = crate::api::error::status_of(&refusal);
    let lines = match refusal {
        Refusal::Invalid(problems) => problems
            .into_iter()
            .map(|problem| problem.message)
            .collect(),
        Refusal::Conflict(message) => vec![format!(
            "{message}: the schedule changed since this page was loaded; the form is kept, submit it again"
        )],
        Refusal::Internal(detail) => {
            tracing::error!(%detail, "the grid page could not add an item");
            vec!["the server failed; the details are in its log".to_owned()]
        }
        other => vec![other.to_string()],
    };
    (status, lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_add_forms_length_reads_minutes_and_seconds_hours_or_seconds_and_empty_is_the_whole_asset()
     {
        let cases = [
            ("", None),
            ("   ", None),
            ("25:00", Some(1_500_000)),
            ("1:31", Some(91_000)),
            (" 0:05 ", Some(5_000)),
            ("90", Some(90_000)),
            ("1:02:03", Some(3_723_000)),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_length(text), Ok(expected), "{text:?}");
        }
    }

    #[test]
    fn an_unreadable_or_zero_length_is_refused_naming_what_was_typed() {
        for text in [
            "abc",
            "1:5",
            "1:60",
            "2:00:60",
            "-90",
            "1.5",
            "1:",
            ":30",
            "1:2:3:4",
            "1e3",
            "0",
            "0:00",
            "9999999999",
        ] {
            let problem = parse_length(text).unwrap_err();
            assert!(problem.contains(&format!("{text:?}")), "{text}: {problem}");
        }
        assert!(parse_length("0:00").unwrap_err().contains("airs nothing"));
    }
}
