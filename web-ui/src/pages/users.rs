//! Users and roles, for admins: `/users`. Add a user, grant and revoke roles per channel or on
//! every channel, reset a password, turn a lost second factor off, disable and enable, and see
//! each user's API tokens. Every change is a plain HTML form (works without JavaScript) that
//! answers with a redirect to the page and a notice, or the page again with the refusal.
//!
//! The control plane's rules hold here as on the command line: the last admin on every channel
//! keeps the role and cannot be disabled; passwords meet the rules; usernames are checked.

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onair_control::Refusal;
use onair_control::accounts::{ApiTokenView, Role, UserView};
use serde::Deserialize;

use super::{Nav, PagesState, encode_query, render};
use crate::access::Actor;

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/users", get(page).post(add))
        .route("/users/{name}/roles", post(grant))
        .route("/users/{name}/roles/revoke", post(revoke))
        .route("/users/{name}/password", post(reset_password))
        .route("/users/{name}/totp/disable", post(disable_totp))
        .route("/users/{name}/disable", post(disable))
        .route("/users/{name}/enable", post(enable))
        .with_state(state)
}

/// A user as the page lists it.
struct Row {
    user: UserView,
    tokens: Vec<ApiTokenView>,
}

#[derive(Template)]
#[template(path = "users.html")]
struct UsersPage {
    nav: Nav,
    rows: Vec<Row>,
    /// Every channel's slug, for the role forms.
    channels: Vec<String>,
    roles: Vec<&'static str>,
    notice: Option<String>,
    error: Option<String>,
    /// What the add form held when it was refused.
    draft: AddForm,
}

#[derive(Debug, Default, Deserialize)]
struct Notice {
    done: Option<String>,
}

async fn show(
    state: &PagesState,
    actor: &Actor,
    status: StatusCode,
    notice: Option<String>,
    error: Option<String>,
    draft: AddForm,
) -> Response {
    let accounts = state.accounts();
    let users = match accounts.users().await {
        Ok(users) => users,
        Err(refusal) => return super::refused(refusal),
    };
    let mut rows = Vec::with_capacity(users.len());
    for user in users {
        let tokens = match accounts.api_tokens(&user.username).await {
            Ok(tokens) => tokens,
            Err(refusal) => return super::refused(refusal),
        };
        rows.push(Row { user, tokens });
    }
    let channels = match state.control().channels().await {
        Ok(channels) => channels
            .into_iter()
            .filter(|info| !info.channel.retired)
            .map(|info| info.channel.slug.to_string())
            .collect(),
        Err(refusal) => return super::refused(refusal),
    };
    render(
        status,
        &UsersPage {
            nav: Nav::of(actor, "users"),
            rows,
            channels,
            roles: Role::ALL.iter().map(|role| role.as_str()).collect(),
            notice,
            error,
            draft: AddForm {
                password: String::new(),
                ..draft
            },
        },
    )
}

/// After a change: back to the page with `notice`, or the page with the refusal.
async fn after(state: &PagesState, actor: &Actor, result: Result<String, Refusal>) -> Response {
    match result {
        Ok(notice) => {
            let mut response =
                Redirect::to(&format!("/users?done={}", encode_query(&notice))).into_response();
            *response.status_mut() = StatusCode::SEE_OTHER;
            response
        }
        Err(refusal) => {
            let status = crate::api::error::status_of(&refusal);
            let error = refusal.to_string();
            show(state, actor, status, None, Some(error), AddForm::default()).await
        }
    }
}

async fn page(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Query(notice): Query<Notice>,
) -> Response {
    show(
        &state,
        &actor,
        StatusCode::OK,
        notice.done,
        None,
        AddForm::default(),
    )
    .await
}

#[derive(Debug, Default, Clone, Deserialize)]
struct AddForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    channel: String,
}

/// The role and channel of a form: an empty role is none; an empty channel is every channel.
fn role_of(role: &str, channel: &str) -> Result<Option<(Role, Option<String>)>, Refusal> {
    if role.trim().is_empty() {
        return Ok(None);
    }
    let role: Role = role.parse()?;
    let channel = Some(channel.trim()).filter(|slug| !slug.is_empty());
    Ok(Some((role, channel.map(str::to_owned))))
}

async fn add(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Form(form): Form<AddForm>,
) -> Response {
    let result = async {
        let grant = role_of(&form.role, &form.channel)?;
        let roles: Vec<(Role, Option<&str>)> = grant
            .iter()
            .map(|(role, channel)| (*role, channel.as_deref()))
            .collect();
        let user = state
            .accounts()
            .add_user(&form.username, &form.password, &roles)
            .await?;
        Ok(format!("user {} added", user.username))
    }
    .await;
    match result {
        Err(refusal) => {
            let status = crate::api::error::status_of(&refusal);
            let error = refusal.to_string();
            show(&state, &actor, status, None, Some(error), form).await
        }
        ok => after(&state, &actor, ok).await,
    }
}

#[derive(Debug, Deserialize)]
struct RoleForm {
    #[serde(default)]
    role: String,
    #[serde(default)]
    channel: String,
}

fn on_words(channel: &Option<String>) -> String {
    match channel {
        Some(slug) => format!("on channel {slug}"),
        None => "on every channel".to_owned(),
    }
}

async fn grant(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let result = async {
        let Some((role, channel)) = role_of(&form.role, &form.channel)? else {
            return Err(Refusal::invalid_field("role", "choose a role to grant"));
        };
        state
            .accounts()
            .grant_role(&name, role, channel.as_deref())
            .await?;
        Ok(format!("{name} is {role} {}", on_words(&channel)))
    }
    .await;
    after(&state, &actor, result).await
}

async fn revoke(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Form(form): Form<RoleForm>,
) -> Response {
    let result = async {
        let Some((role, channel)) = role_of(&form.role, &form.channel)? else {
            return Err(Refusal::invalid_field("role", "choose a role to revoke"));
        };
        state
            .accounts()
            .revoke_role(&name, role, channel.as_deref())
            .await?;
        Ok(format!("{name} is no longer {role} {}", on_words(&channel)))
    }
    .await;
    after(&state, &actor, result).await
}

#[derive(Debug, Deserialize)]
struct PasswordForm {
    #[serde(default)]
    password: String,
}

async fn reset_password(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
    Form(form): Form<PasswordForm>,
) -> Response {
    let result = state
        .accounts()
        .set_password(&name, &form.password)
        .await
        .map(|()| format!("{name} has a new password; every session of {name} ended"));
    after(&state, &actor, result).await
}

async fn disable_totp(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Response {
    let result = state
        .accounts()
        .disable_totp(&name)
        .await
        .map(|()| format!("two-factor sign-in is off for {name}"));
    after(&state, &actor, result).await
}

async fn disable(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Response {
    let result = state
        .accounts()
        .disable_user(&name)
        .await
        .map(|()| format!("{name} is disabled: logged out everywhere, tokens stopped"));
    after(&state, &actor, result).await
}

async fn enable(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Path(name): Path<String>,
) -> Response {
    let result = state
        .accounts()
        .enable_user(&name)
        .await
        .map(|()| format!("{name} is enabled"));
    after(&state, &actor, result).await
}
