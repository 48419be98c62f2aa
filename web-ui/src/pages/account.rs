//! One's own account: `/account` (roles, password, two-factor sign-in) and `/api/me`.
//!
//! Turning two-factor sign-in on shows the secret once (a QR code for the authenticator app,
//! and the base32 text to type) with the recovery codes; it is on once the first code the app
//! shows is confirmed. Turning it off asks for the password. Changing the password ends every
//! session (the control plane's rule), then logs this browser in again with the new one.

use askama::Template;
use axum::extract::{Extension, Form, State};
use axum::http::Extensions;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use onair_control::Refusal;
use onair_control::accounts::{Login, RoleView, TotpEnrolment, UserView};
use serde::{Deserialize, Serialize};

use super::{Nav, PagesState, cookie, render, secure};
use crate::access::{self, Actor, SESSION_COOKIE};

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/account", get(page))
        .route("/account/password", post(change_password))
        .route("/account/totp", post(start_totp))
        .route("/account/totp/confirm", post(confirm_totp))
        .route("/account/totp/disable", post(disable_totp))
        .route("/api/me", get(me))
        .with_state(state)
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    nav: Nav,
    user: UserView,
    /// Set while two-factor sign-in is being turned on.
    enrolment: Option<Enrolment>,
    notice: Option<String>,
    error: Option<String>,
}

struct Enrolment {
    secret: String,
    uri: String,
    qr_svg: String,
    recovery_codes: Vec<String>,
}

impl Enrolment {
    fn of(enrolment: TotpEnrolment) -> Enrolment {
        let qr_svg = qrcode::QrCode::new(enrolment.otpauth_uri.as_bytes())
            .map(|code| {
                code.render::<qrcode::render::svg::Color>()
                    .min_dimensions(200, 200)
                    .build()
            })
            .unwrap_or_default();
        Enrolment {
            secret: enrolment.secret,
            uri: enrolment.otpauth_uri,
            qr_svg,
            recovery_codes: enrolment.recovery_codes,
        }
    }
}

async fn show(
    state: &PagesState,
    actor: &Actor,
    status: StatusCode,
    enrolment: Option<Enrolment>,
    notice: Option<String>,
    error: Option<String>,
) -> Response {
    match state.accounts().user(&actor.principal.username).await {
        Ok(user) => render(
            status,
            &AccountPage {
                nav: Nav::of(actor, "account"),
                user,
                enrolment,
                notice,
                error,
            },
        ),
        Err(refusal) => super::refused(refusal),
    }
}

/// The account page after a change: with `notice` when it was made, with the refusal (and its
/// status) when not.
async fn after(state: &PagesState, actor: &Actor, result: Result<String, Refusal>) -> Response {
    match result {
        Ok(notice) => show(state, actor, StatusCode::OK, None, Some(notice), None).await,
        Err(refusal) => {
            let status = crate::api::error::status_of(&refusal);
            show(state, actor, status, None, None, Some(refusal.to_string())).await
        }
    }
}

async fn page(State(state): State<PagesState>, Extension(actor): Extension<Actor>) -> Response {
    show(&state, &actor, StatusCode::OK, None, None, None).await
}

#[derive(Deserialize)]
struct PasswordForm {
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
}

async fn change_password(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<PasswordForm>,
) -> Response {
    let username = actor.principal.username.clone();
    if form.new_password != form.repeat_password {
        let error = "the new password and its repetition differ".to_owned();
        return show(
            &state,
            &actor,
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            None,
            Some(error),
        )
        .await;
    }
    if let Err(refusal) = state
        .accounts()
        .change_password(&username, &form.current_password, &form.new_password)
        .await
    {
        let status = crate::api::error::status_of(&refusal);
        return show(
            &state,
            &actor,
            status,
            None,
            None,
            Some(refusal.to_string()),
        )
        .await;
    }
    // Every session ended with the change: this browser logs in again with the new password.
    let secure = secure(&state, &headers);
    match state
        .accounts()
        .login(
            &username,
            &form.new_password,
            access::peer(&state.access, &headers, &extensions),
        )
        .await
    {
        Ok(Login::Session {
            token, expires_at, ..
        }) => {
            let now = onair_domain::Clock::now(&onair_domain::SystemClock);
            let max_age = (expires_at - now).as_secs_f64() as i64;
            let mut response = Redirect::to("/account").into_response();
            *response.status_mut() = StatusCode::SEE_OTHER;
            response.headers_mut().append(
                header::SET_COOKIE,
                cookie(SESSION_COOKIE, &token, "/", max_age, secure),
            );
            response
        }
        _ => {
            let mut response = Redirect::to("/login?next=/account").into_response();
            *response.status_mut() = StatusCode::SEE_OTHER;
            response
        }
    }
}

async fn start_totp(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
) -> Response {
    match state
        .accounts()
        .enable_totp(&actor.principal.username)
        .await
    {
        Ok(enrolment) => {
            let enrolment = Some(Enrolment::of(enrolment));
            show(&state, &actor, StatusCode::OK, enrolment, None, None).await
        }
        Err(refusal) => after(&state, &actor, Err(refusal)).await,
    }
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
}

async fn confirm_totp(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Form(form): Form<CodeForm>,
) -> Response {
    let result = state
        .accounts()
        .confirm_totp(&actor.principal.username, form.code.trim())
        .await
        .map(|()| "Two-factor sign-in is on: logins now ask for a code.".to_owned());
    after(&state, &actor, result).await
}

#[derive(Deserialize)]
struct PasswordOnly {
    #[serde(default)]
    password: String,
}

async fn disable_totp(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
    Form(form): Form<PasswordOnly>,
) -> Response {
    let username = &actor.principal.username;
    let result = match state
        .accounts()
        .check_password(username, &form.password)
        .await
    {
        Ok(()) => state.accounts().disable_totp(username).await,
        Err(refusal) => Err(refusal),
    };
    let result = result.map(|()| "Two-factor sign-in is off.".to_owned());
    after(&state, &actor, result).await
}

/// Who is calling: the user, their roles, and how they proved it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
struct Me {
    username: String,
    roles: Vec<RoleView>,
    /// `off`, `pending` or `on`; absent for the bootstrap token.
    #[serde(skip_serializing_if = "Option::is_none")]
    two_factor: Option<&'static str>,
    /// `session`, `api_token` or `bootstrap_token`.
    credential: &'static str,
}

/// `GET /api/me`: who the credentials stand for, with their roles.
#[utoipa::path(get, path = "/api/me", tag = "account",
    responses(
        (status = 200, description = "The caller", body = Me),
        (status = 404, description = "The user is gone", body = crate::api::error::ErrorBody),
    ))]
pub(crate) async fn me(
    State(state): State<PagesState>,
    Extension(actor): Extension<Actor>,
) -> Response {
    if actor.credential == access::Credential::BootstrapToken {
        return Json(Me {
            username: actor.principal.username,
            roles: vec![RoleView {
                role: onair_control::accounts::Role::Admin,
                channel: None,
            }],
            two_factor: None,
            credential: "bootstrap_token",
        })
        .into_response();
    }
    match state.accounts().user(&actor.principal.username).await {
        Ok(user) => Json(Me {
            username: user.username,
            roles: user.roles,
            two_factor: Some(user.two_factor),
            credential: match actor.credential {
                access::Credential::Session => "session",
                _ => "api_token",
            },
        })
        .into_response(),
        Err(refusal) => crate::api::error::ApiError(refusal).into_response(),
    }
}
