//! Reading columns out of rows, whichever backend they came from, and checking their ranges.

use sqlx::Row;
use sqlx::any::AnyRow;

use crate::error::StoreError;

/// A 64-bit integer column (any integer width the backend used).
pub(crate) fn int(row: &AnyRow, column: &str) -> Result<i64, StoreError> {
    Ok(row.try_get::<i64, _>(column)?)
}

/// A nullable integer column.
pub(crate) fn optional_int(row: &AnyRow, column: &str) -> Result<Option<i64>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(column)?)
}

/// An integer column that must fit a `u32`.
pub(crate) fn uint(row: &AnyRow, column: &str) -> Result<u32, StoreError> {
    let value = int(row, column)?;
    u32::try_from(value).map_err(|_| {
        StoreError::Invalid(format!(
            "column {column} holds {value}, outside 0..=4294967295"
        ))
    })
}

pub(crate) fn text(row: &AnyRow, column: &str) -> Result<String, StoreError> {
    Ok(row.try_get::<String, _>(column)?)
}

pub(crate) fn optional_text(row: &AnyRow, column: &str) -> Result<Option<String>, StoreError> {
    Ok(row.try_get::<Option<String>, _>(column)?)
}

/// A boolean column: PostgreSQL's BOOLEAN, or SQLite's INTEGER 0 or 1.
pub(crate) fn flag(row: &AnyRow, column: &str) -> Result<bool, StoreError> {
    match row.try_get::<bool, _>(column) {
        Ok(value) => Ok(value),
        Err(_) => Ok(int(row, column)? != 0),
    }
}

/// `value` as a database integer, for unsigned domain values.
pub(crate) fn to_db(value: impl Into<u64>, what: &str) -> Result<i64, StoreError> {
    let value = value.into();
    i64::try_from(value)
        .map_err(|_| StoreError::Invalid(format!("{what} {value} is too large to store")))
}

/// `$first, $first+1, …` for `count` placeholders, e.g. for `IN (…)` lists.
pub(crate) fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_numbered_from_the_first() {
        assert_eq!(placeholders(2, 3), "$2, $3, $4");
        assert_eq!(placeholders(1, 0), "");
    }
}
