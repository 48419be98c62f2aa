//! What can go wrong in the store, worded so that a person knows what to do next.

use sqlx::error::ErrorKind;

/// An error from the store. Every variant's message is one line.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database could not be opened or reached. `url` has its password redacted.
    #[error("cannot connect to {url}: {reason}")]
    Connect { url: String, reason: String },
    /// The schema could not be brought up to date.
    #[error("cannot migrate the database at {url}: {reason}")]
    Migrate { url: String, reason: String },
    /// The thing named, e.g. `channel 3`, does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The request clashes with what is stored, e.g. a slug already taken or a job leased to
    /// another worker.
    #[error("{0}")]
    Conflict(String),
    /// The request or a stored row breaks a rule, e.g. a rendition without segments.
    #[error("{0}")]
    Invalid(String),
    /// Anything else the database said.
    #[error("database error: {}", one_line(&.0.to_string()))]
    Database(#[from] sqlx::Error),
}

/// `url` with any password replaced by `***`, both in the user info
/// (`postgres://user:secret@host/db`) and in a `password=` query parameter.
pub fn redact_url(url: &str) -> String {
    let (before_query, query) = match url.split_once('?') {
        Some((before, query)) => (before, Some(query)),
        None => (url, None),
    };
    let mut redacted = match before_query.split_once("://") {
        Some((scheme, rest)) => {
            let authority_end = rest.find('/').unwrap_or(rest.len());
            let (authority, path) = rest.split_at(authority_end);
            match authority.rsplit_once('@') {
                Some((user_info, host)) => {
                    let user = user_info
                        .split_once(':')
                        .map_or(user_info, |(user, _password)| user);
                    let hidden = if user_info.contains(':') { ":***" } else { "" };
                    format!("{scheme}://{user}{hidden}@{host}{path}")
                }
                None => before_query.to_owned(),
            }
        }
        None => before_query.to_owned(),
    };
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_owned(),
            })
            .collect();
        redacted.push('?');
        redacted.push_str(&pairs.join("&"));
    }
    redacted
}

/// `text` on one line: line breaks and the whitespace around them become one space.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Why a connection attempt failed, in a few words.
pub(crate) fn connect_reason(error: &sqlx::Error) -> String {
    let reason = match error {
        sqlx::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connection refused".to_owned()
        }
        sqlx::Error::Io(io) => io.to_string(),
        sqlx::Error::Database(database) => database.message().to_owned(),
        sqlx::Error::Configuration(config) => format!("invalid database URL: {config}"),
        sqlx::Error::Tls(tls) => format!("TLS failed: {tls}"),
        sqlx::Error::PoolTimedOut => "timed out".to_owned(),
        other => other.to_string(),
    };
    one_line(&reason)
}

/// `items` as a list in words: `a`, `a and b`, `a, b and c`.
pub(crate) fn in_words(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [only] => only.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

/// `items` after their noun: `channel a`, `channels a and b`.
pub(crate) fn named(one: &str, many: &str, items: &[String]) -> String {
    let noun = if items.len() == 1 { one } else { many };
    format!("{noun} {}", in_words(items))
}

/// `count` things: `1 schedule item`, `3 schedule items`.
pub(crate) fn counted(count: i64, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// The kind of constraint a database error violated, if it is one.
pub(crate) fn violated_constraint(error: &sqlx::Error) -> Option<ErrorKind> {
    match error {
        sqlx::Error::Database(database) => match database.kind() {
            ErrorKind::Other => None,
            kind => Some(kind),
        },
        _ => None,
    }
}

/// Turns a unique-constraint violation into [`StoreError::Conflict`] with `message`; any other
/// error stays a database error.
pub(crate) fn conflict_if_duplicate(
    error: sqlx::Error,
    message: impl FnOnce() -> String,
) -> StoreError {
    match violated_constraint(&error) {
        Some(ErrorKind::UniqueViolation) => StoreError::Conflict(message()),
        _ => StoreError::Database(error),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_password_and_keeps_the_rest() {
        assert_eq!(
            redact_url("postgres://onair:s3cret@db:5432/onair"),
            "postgres://onair:***@db:5432/onair"
        );
        assert_eq!(
            redact_url("postgres://onair@db/onair"),
            "postgres://onair@db/onair"
        );
        assert_eq!(
            redact_url("postgres://db/onair?user=x&password=y"),
            "postgres://db/onair?user=x&password=***"
        );
        assert_eq!(
            redact_url("sqlite:///var/lib/onair.db"),
            "sqlite:///var/lib/onair.db"
        );
        assert_eq!(redact_url("sqlite::memory:"), "sqlite::memory:");
    }

    #[test]
    fn a_password_with_an_at_sign_is_still_hidden() {
        assert_eq!(
            redact_url("postgres://u:p@ss@host/db"),
            "postgres://u:***@host/db"
        );
    }

    #[test]
    fn lists_read_as_words() {
        let words = |items: &[&str]| {
            in_words(
                &items
                    .iter()
                    .map(|item| item.to_string())
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(words(&[]), "");
        assert_eq!(words(&["a"]), "a");
        assert_eq!(words(&["a", "b"]), "a and b");
        assert_eq!(words(&["a", "b", "c"]), "a, b and c");
        assert_eq!(named("job", "jobs", &["7".to_owned()]), "job 7");
        assert_eq!(
            named("job", "jobs", &["7".to_owned(), "9".to_owned()]),
            "jobs 7 and 9"
        );
        assert_eq!(counted(1, "item", "items"), "1 item");
        assert_eq!(counted(0, "item", "items"), "0 items");
    }

    #[test]
    fn one_line_folds_line_breaks() {
        assert_eq!(one_line("a\n  b\r\nc"), "a b c");
    }
}
