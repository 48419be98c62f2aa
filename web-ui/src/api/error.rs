//! The one HTTP error of the API: a control-plane [`Refusal`] as a status code and
//! `{"error", "errors"?, "lock_horizon"?}`; internals go to the log, not to the client.

use axum::Json;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use onair_control::Refusal;
use onair_control::refusal::invalid_message;
use onair_store::StoreError;
use serde_json::json;

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
        Refusal::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = status_of(&self.0);
        let body = match self.0 {
            Refusal::BadRequest(message)
            | Refusal::NotFound(message)
            | Refusal::Forbidden(message)
            | Refusal::Conflict(message) => json!({"error": message}),
            Refusal::Locked { message, horizon } => {
                json!({"error": message, "lock_horizon": horizon.to_rfc3339_millis()})
            }
            Refusal::PreconditionRequired => json!({
                "error": "name the schedule version the edit was made on: send \"If-Match: \\\"<version>\\\"\" or a \"version\" field"
            }),
            Refusal::Invalid(problems) => json!({
                "error": invalid_message(&problems),
                "errors": problems,
            }),
            Refusal::Internal(detail) => {
                tracing::error!(%detail, "API request failed");
                json!({"error": "the server failed to handle the request; the details are in its log"})
            }
        };
        (status, Json(body)).into_response()
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
