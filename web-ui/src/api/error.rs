//! The one HTTP error of the API: a control-plane [`Refusal`] as a status code and
//! `{"error", "errors"?, "lock_horizon"?}`; internals go to the log, not to the client. A 429
//! (too many conformance checks) says when to try again in `Retry-After`.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use onair_control::Refusal;
use onair_control::refusal::{Problem, invalid_message};
use onair_store::StoreError;
use serde::Serialize;

/// A refusal on its way to the client.
#[derive(Debug)]
pub struct ApiError(pub Refusal);

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError(Refusal::BadRequest(message.into()))
    }
}

/// The status code a refusal answers with.
pub fn status_of(refusal: &Refusal) -> StatusCode {
    match refusal {
        Refusal::BadRequest(_) => StatusCode::BAD_REQUEST,
        Refusal::NotFound(_) => StatusCode::NOT_FOUND,
        Refusal::Forbidden(_) => StatusCode::FORBIDDEN,
        Refusal::Conflict(_) | Refusal::Locked { .. } => StatusCode::CONFLICT,
        Refusal::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
        Refusal::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
        Refusal::TooMany { .. } => StatusCode::TOO_MANY_REQUESTS,
        Refusal::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// `Retry-After` for a refusal that says when to try again: whole seconds, rounded up.
pub fn retry_after(refusal: &Refusal) -> Option<(header::HeaderName, HeaderValue)> {
    match refusal {
        Refusal::TooMany { retry_after, .. } => Some((
            header::RETRY_AFTER,
            HeaderValue::from(onair_control::conformance::whole_seconds(*retry_after)),
        )),
        _ => None,
    }
}

/// What every refusal answers (and the access guard's 401 and 403).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// What was wrong, in a sentence.
    pub error: String,
    /// 422: every problem, by item (`index`), CSV line (`line`) or field (`field`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<Problem>>,
    /// 409 for an edit inside the lock horizon: the horizon (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lock_horizon: Option<String>,
}

impl ErrorBody {
    fn of(error: String) -> ErrorBody {
        ErrorBody {
            error,
            errors: None,
            lock_horizon: None,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let retry_after = retry_after(&self.0);
        let body = match self.0 {
            Refusal::BadRequest(message)
            | Refusal::NotFound(message)
            | Refusal::Forbidden(message)
            | Refusal::Conflict(message)
            | Refusal::TooMany { message, .. } => ErrorBody::of(message),
            Refusal::Locked { message, horizon } => ErrorBody {
                lock_horizon: Some(horizon.to_rfc3339_millis()),
                ..ErrorBody::of(message)
            },
            Refusal::PreconditionRequired => ErrorBody::of(
                "name the schedule version the edit was made on: send \"If-Match: \\\"<version>\\\"\" or a \"version\" field".to_owned(),
            ),
            Refusal::Invalid(problems) => ErrorBody {
                error: invalid_message(&problems),
                errors: Some(problems),
                lock_horizon: None,
            },
            Refusal::Internal(detail) => {
                tracing::error!(%detail, "API request failed");
                ErrorBody::of(
                    "the server failed to handle the request; the details are in its log"
                        .to_owned(),
                )
            }
        };
        let mut response = (status, Json(body)).into_response();
        if let Some((name, value)) = retry_after {
            response.headers_mut().insert(name, value);
        }
        response
    }
}

impl From<Refusal> for ApiError {
    fn from(refusal: Refusal) -> ApiError {
        ApiError(refusal)
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> ApiError {
        ApiError(Refusal::from(error))
    }
}

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> ApiError {
        ApiError::bad_request(format!(
            "the body is not the JSON expected: {}",
            rejection.body_text()
        ))
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> ApiError {
        ApiError::bad_request(rejection.body_text())
    }
}

/// A path parameter, or a 400 naming it: `field` and what it should be.
pub fn path_value<T>(
    value: Result<axum::extract::Path<T>, axum::extract::rejection::PathRejection>,
    field: &str,
    expected: &str,
) -> Result<T, ApiError> {
    value
        .map(|axum::extract::Path(value)| value)
        .map_err(|_| ApiError::bad_request(format!("{field}: {expected}")))
}
