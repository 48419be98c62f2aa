//! Logging in and out: `/login` (username and password), `/login/code` (the second factor,
//! for users with it on) and `/logout`.
//!
//! A login sets the session cookie (HttpOnly, SameSite=Lax, Secure over TLS) with a new
//! session id, and ends the session the browser had before, so an id planted before the login
//! is worth nothing after it. The password step of a user with two-factor sign-in on sets only
//! a pending cookie, scoped to `/login`, that the code exchanges for the session. Wrong
//! credentials answer 401, too many failures 429 with `Retry-After`; the login form itself is
//! refused from another site (`Sec-Fetch-Site`/`Origin`), which stops login CSRF.

use askama::Template;
use axum::Router;
use axum::extract::{Form, Query, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use onair_control::accounts::{Login, LoginRefusal};
use onair_domain::Clock;
use onair_domain::SystemClock;
use serde::Deserialize;

use super::{PagesState, clear_session_cookie, cookie, local_target, render, secure};
use crate::access::{self, SESSION_COOKIE, csrf};

/// The cookie that holds a login waiting for its second factor.
pub const PENDING_COOKIE: &str = "onair_login";

pub fn router(state: PagesState) -> Router {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/login/code", get(code_page).post(code))
        .route("/logout", post(logout))
        .with_state(state)
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    username: String,
    next: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "login_code.html")]
struct CodePage {
    next: String,
    error: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Next {
    next: Option<String>,
}

#[derive(Deserialize)]
struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    next: Option<String>,
}

#[derive(Deserialize)]
struct CodeForm {
    #[serde(default)]
    code: String,
    next: Option<String>,
}

async fn login_page(
    State(state): State<PagesState>,
    headers: HeaderMap,
    Query(query): Query<Next>,
) -> Response {
    let next = local_target(query.next.as_deref());
    if let Ok(Some(_)) = access::identify(&state.access, &headers).await {
        return Redirect::to(&next).into_response();
    }
    render(
        StatusCode::OK,
        &LoginPage {
            username: String::new(),
            next,
            error: None,
        },
    )
}

async fn login(
    State(state): State<PagesState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<LoginForm>,
) -> Response {
    let next = local_target(form.next.as_deref());
    let page = |status: StatusCode, error: String| {
        render(
            status,
            &LoginPage {
                username: form.username.clone(),
                next: next.clone(),
                error: Some(error),
            },
        )
    };
    if let Err(why) = csrf::check_origin(&headers) {
        return page(StatusCode::FORBIDDEN, why.to_owned());
    }
    let peer = access::peer(&state.access, &headers, &extensions);
    match state
        .accounts()
        .login(&form.username, &form.password, peer)
        .await
    {
        Ok(login) => logged_in(&state, &headers, login, &next).await,
        Err(refusal) => refused(refusal, page),
    }
}

async fn code_page(headers: HeaderMap, Query(query): Query<Next>) -> Response {
    let next = local_target(query.next.as_deref());
    if access::cookie(&headers, PENDING_COOKIE).is_none() {
        return Redirect::to(&format!("/login?next={}", super::encode_query(&next)))
            .into_response();
    }
    render(StatusCode::OK, &CodePage { next, error: None })
}

async fn code(
    State(state): State<PagesState>,
    headers: HeaderMap,
    extensions: Extensions,
    Form(form): Form<CodeForm>,
) -> Response {
    let next = local_target(form.next.as_deref());
    let page = |status: StatusCode, error: String| {
        render(
            status,
            &CodePage {
                next: next.clone(),
                error: Some(error),
            },
        )
    };
    if let Err(why) = csrf::check_origin(&headers) {
        return page(StatusCode::FORBIDDEN, why.to_owned());
    }
    let Some(pending) = access::cookie(&headers, PENDING_COOKIE) else {
        return page(
            StatusCode::UNAUTHORIZED,
            LoginRefusal::LoginExpired.to_string(),
        );
    };
    let peer = access::peer(&state.access, &headers, &extensions);
    match state
        .accounts()
        .second_factor(&pending, form.code.trim(), peer)
        .await
    {
        Ok(login) => logged_in(&state, &headers, login, &next).await,
        Err(refusal) => refused(refusal, page),
    }
}

/// Sets the cookies a login gave and sends the browser on.
async fn logged_in(state: &PagesState, headers: &HeaderMap, login: Login, next: &str) -> Response {
    let secure = secure(state, headers);
    let now = SystemClock.now();
    // The session the browser had before (another user's, or one planted) ends here.
    if let Some(old) = access::cookie(headers, SESSION_COOKIE)
        && let Err(refusal) = state.accounts().logout(&old).await
    {
        tracing::warn!(%refusal, "the session before the login could not be ended");
    }
    let mut response = match login {
        Login::Session {
            token, expires_at, ..
        } => {
            let mut response = Redirect::to(next).into_response();
            let max_age = (expires_at - now).as_secs_f64() as i64;
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                cookie(SESSION_COOKIE, &token, "/", max_age, secure),
            );
            headers.append(
                header::SET_COOKIE,
                cookie(PENDING_COOKIE, "", "/login", 0, secure),
            );
            response
        }
        Login::SecondFactor {
            pending,
            expires_at,
        } => {
            let mut response =
                Redirect::to(&format!("/login/code?next={}", super::encode_query(next)))
                    .into_response();
            let max_age = (expires_at - now).as_secs_f64() as i64;
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                cookie(PENDING_COOKIE, &pending, "/login", max_age, secure),
            );
            headers.append(header::SET_COOKIE, clear_session_cookie(secure));
            response
        }
    };
    // A 303, so the browser follows with a GET.
    *response.status_mut() = StatusCode::SEE_OTHER;
    response
}

fn refused(refusal: LoginRefusal, page: impl Fn(StatusCode, String) -> Response) -> Response {
    match refusal {
        LoginRefusal::TooManyFailures { retry_after_secs } => {
            let mut response = page(StatusCode::TOO_MANY_REQUESTS, refusal.to_string());
            if let Ok(value) = HeaderValue::from_str(&retry_after_secs.max(1).to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            response
        }
        LoginRefusal::Internal(detail) => {
            tracing::error!(%detail, "a login failed");
            page(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the server failed to log you in; the details are in its log".to_owned(),
            )
        }
        other => page(StatusCode::UNAUTHORIZED, other.to_string()),
    }
}

async fn logout(State(state): State<PagesState>, headers: HeaderMap) -> Response {
    if let Some(token) = access::cookie(&headers, SESSION_COOKIE)
        && let Err(refusal) = state.accounts().logout(&token).await
    {
        tracing::error!(%refusal, "a logout failed");
    }
    let mut response = Redirect::to("/login").into_response();
    *response.status_mut() = StatusCode::SEE_OTHER;
    response.headers_mut().append(
        header::SET_COOKIE,
        clear_session_cookie(secure(&state, &headers)),
    );
    response
}
