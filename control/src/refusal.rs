//! Why the control plane refused a call: typed, so each adapter says it its own way (the HTTP
//! API as a status code and `{"error", "errors"}`, the CLI as one `onair: error:` line).

use std::fmt;
use std::time::Duration;

use onair_domain::Timestamp;
use onair_store::StoreError;
use serde::Serialize;

/// One problem of a refused edit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// The item's position in the edit's items.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// The line of an imported CSV file (the header is line 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// The field a problem is about, for edits of a record (a channel, a ladder).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    pub fn at(index: usize, message: impl Into<String>) -> Problem {
        Problem {
            index: Some(index),
            line: None,
            field: None,
            message: message.into(),
        }
    }

    /// A problem with one field of the item at `index`.
    pub fn at_field(index: usize, field: &str, message: impl Into<String>) -> Problem {
        Problem {
            field: Some(field.to_owned()),
            ..Problem::at(index, message)
        }
    }

    pub fn on_line(line: usize, message: impl Into<String>) -> Problem {
        Problem {
            index: None,
            line: Some(line),
            field: None,
            message: message.into(),
        }
    }

    pub fn of_field(field: &str, message: impl Into<String>) -> Problem {
        Problem {
            index: None,
            line: None,
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    pub fn whole(message: impl Into<String>) -> Problem {
        Problem {
            index: None,
            line: None,
            field: None,
            message: message.into(),
        }
    }
}

/// A refused call. Nothing was changed by a call that returns one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// The request itself is malformed (an instant, a window, a file).
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    /// The caller is known but lacks the role it takes: the message names the role (and the
    /// channel), e.g. "this needs the scheduler role on channel news".
    #[error("{0}")]
    Forbidden(String),
    /// The state moved on (a stale version) or forbids it (a taken slug, an asset in use).
    #[error("{0}")]
    Conflict(String),
    /// The edit touches what airs before the lock horizon.
    #[error("{message}")]
    Locked { message: String, horizon: Timestamp },
    /// An edit that names no version to check against.
    #[error("name the schedule version the edit was made on")]
    PreconditionRequired,
    /// The edit has problems, every one listed.
    #[error("{}", invalid_text(.0))]
    Invalid(Vec<Problem>),
    /// Too many calls of a costly kind (conformance checks): the message names the limit hit;
    /// the same call may be made again after `retry_after`.
    #[error("{message}")]
    TooMany {
        message: String,
        retry_after: Duration,
    },
    /// Something failed that the caller cannot fix; the detail is for the log.
    #[error("{0}")]
    Internal(String),
}

fn invalid_text(problems: &[Problem]) -> String {
    let mut text = invalid_message(problems);
    for (position, problem) in problems.iter().enumerate() {
        text.push_str(if position == 0 { ": " } else { "; " });
        match (problem.line, problem.index, &problem.field) {
            (Some(line), _, _) => text.push_str(&format!("line {line}: ")),
            (None, Some(index), _) => text.push_str(&format!("item {index}: ")),
            (None, None, Some(field)) => text.push_str(&format!("{field}: ")),
            (None, None, None) => {}
        }
        text.push_str(&problem.message);
    }
    text
}

/// The headline of an [`Refusal::Invalid`].
pub fn invalid_message(problems: &[Problem]) -> String {
    format!(
        "the request was refused with {} problem(s); nothing was changed",
        problems.len()
    )
}

impl Refusal {
    /// One problem about a whole request.
    pub fn invalid(message: impl Into<String>) -> Refusal {
        Refusal::Invalid(vec![Problem::whole(message)])
    }

    /// One problem about a field of a record.
    pub fn invalid_field(field: &str, message: impl Into<String>) -> Refusal {
        Refusal::Invalid(vec![Problem::of_field(field, message)])
    }
}

impl From<StoreError> for Refusal {
    fn from(error: StoreError) -> Refusal {
        match error {
            StoreError::NotFound(_) => Refusal::NotFound(error.to_string()),
            StoreError::Conflict(message) => Refusal::Conflict(message),
            StoreError::Invalid(message) => Refusal::Invalid(vec![Problem::whole(message)]),
            other => Refusal::Internal(other.to_string()),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}
