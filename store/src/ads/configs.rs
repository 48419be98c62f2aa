//! A channel's ad settings: one JSON document per version, written check-and-set on the version,
//! every version kept.

use onair_domain::{ChannelId, Timestamp};
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use super::check_json;
use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{int, text};

/// One version of a channel's ad settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredAdConfig {
    pub channel_id: ChannelId,
    /// 1 for the first, one more for every write after it.
    pub version: i64,
    /// The settings as JSON, exactly as written.
    pub document: String,
    /// Who wrote it, e.g. a user name from a header, or `api`.
    pub author: String,
    pub created_at: Timestamp,
}

/// The columns [`config_from_row`] reads, as a literal for `concat!`.
macro_rules! config_columns {
    () => {
        "channel_id, version, document, author, created_at"
    };
}

impl Store {
    /// Writes a new version of the channel's ad settings and returns its number, provided the
    /// latest version is still `expected_version` (`None`: there is none yet). Otherwise a
    /// [`StoreError::Conflict`] names the current version and nothing changes: of two writers
    /// of the same version, on either backend, exactly one wins (the primary key refuses the
    /// second). A document that is not JSON, or an expected version below 1, is
    /// [`StoreError::Invalid`]; an unknown channel [`StoreError::NotFound`].
    pub async fn put_ad_config(
        &self,
        channel: ChannelId,
        expected_version: Option<i64>,
        document: &str,
        author: &str,
        at: Timestamp,
    ) -> Result<i64, StoreError> {
        let expected = match expected_version {
            None => 0,
            Some(expected) if (1..i64::MAX).contains(&expected) => expected,
            Some(expected) => {
                return Err(StoreError::Invalid(format!(
                    "ad config versions count from 1: there is no version {expected} to replace"
                )));
            }
        };
        check_json(document, || {
            format!("the ad config document of channel {}", channel.0)
        })?;
        let version = expected + 1;
        // One statement: SQLite runs it alone; on PostgreSQL two writers that both saw
        // `expected` insert the same key, and the second fails on the primary key.
        let inserted = sqlx::query(
            "INSERT INTO ad_configs (channel_id, version, document, author, created_at) \
             SELECT $1, $2, $3, $4, $5 \
             WHERE COALESCE((SELECT MAX(version) FROM ad_configs WHERE channel_id = $1), 0) = $6",
        )
        .bind(channel.0)
        .bind(version)
        .bind(document)
        .bind(author)
        .bind(at.0)
        .bind(expected)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(done) if done.rows_affected() == 1 => Ok(version),
            Ok(_) => Err(self.ad_config_conflict(channel, expected_version).await),
            Err(error) => Err(match violated_constraint(&error) {
                Some(ErrorKind::UniqueViolation) => {
                    self.ad_config_conflict(channel, expected_version).await
                }
                Some(ErrorKind::ForeignKeyViolation) => {
                    StoreError::NotFound(format!("channel {}", channel.0))
                }
                _ => StoreError::Database(error),
            }),
        }
    }

    /// The latest version of the channel's ad settings, `None` before the first.
    pub async fn ad_config(
        &self,
        channel: ChannelId,
    ) -> Result<Option<StoredAdConfig>, StoreError> {
        let sql = concat!(
            "SELECT ",
            config_columns!(),
            " FROM ad_configs WHERE channel_id = $1 ORDER BY version DESC LIMIT 1"
        );
        let row = sqlx::query(sql)
            .bind(channel.0)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(config_from_row).transpose()
    }

    /// One version of the channel's ad settings, if it was written.
    pub async fn ad_config_version(
        &self,
        channel: ChannelId,
        version: i64,
    ) -> Result<Option<StoredAdConfig>, StoreError> {
        let sql = concat!(
            "SELECT ",
            config_columns!(),
            " FROM ad_configs WHERE channel_id = $1 AND version = $2"
        );
        let row = sqlx::query(sql)
            .bind(channel.0)
            .bind(version)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(config_from_row).transpose()
    }

    /// Every version of the channel's ad settings, newest first.
    pub async fn ad_config_versions(
        &self,
        channel: ChannelId,
    ) -> Result<Vec<StoredAdConfig>, StoreError> {
        let sql = concat!(
            "SELECT ",
            config_columns!(),
            " FROM ad_configs WHERE channel_id = $1 ORDER BY version DESC"
        );
        let rows = sqlx::query(sql)
            .bind(channel.0)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(config_from_row).collect()
    }

    /// The latest version of every channel's ad settings, by channel; channels without any are
    /// left out.
    pub async fn ad_configs_current(&self) -> Result<Vec<StoredAdConfig>, StoreError> {
        let sql = concat!(
            "SELECT ",
            config_columns!(),
            " FROM ad_configs c WHERE version = \
             (SELECT MAX(latest.version) FROM ad_configs latest \
              WHERE latest.channel_id = c.channel_id) \
             ORDER BY channel_id"
        );
        let rows = sqlx::query(sql).fetch_all(&self.pool).await?;
        rows.iter().map(config_from_row).collect()
    }

    /// Why a write expecting `expected` did not land: a conflict naming the current version, or
    /// a missing channel.
    async fn ad_config_conflict(&self, channel: ChannelId, expected: Option<i64>) -> StoreError {
        let current: Option<i64> =
            match sqlx::query_scalar("SELECT MAX(version) FROM ad_configs WHERE channel_id = $1")
                .bind(channel.0)
                .fetch_one(&self.pool)
                .await
            {
                Ok(current) => current,
                Err(error) => return StoreError::Database(error),
            };
        let channel_name = channel.0;
        match (current, expected) {
            (Some(current), None) => StoreError::Conflict(format!(
                "channel {channel_name} has an ad config already, at version {current}: reload it and apply the edit again"
            )),
            (Some(current), Some(expected)) => StoreError::Conflict(format!(
                "the ad config of channel {channel_name} changed: it is at version {current}, not {expected}; reload it and apply the edit again"
            )),
            (None, expected) => {
                match sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM channels WHERE id = $1")
                    .bind(channel.0)
                    .fetch_one(&self.pool)
                    .await
                {
                    Ok(0) => StoreError::NotFound(format!("channel {channel_name}")),
                    Ok(_) => StoreError::Conflict(format!(
                        "channel {channel_name} has no ad config yet, not version {}: write its first version expecting none",
                        expected.unwrap_or(0)
                    )),
                    Err(error) => StoreError::Database(error),
                }
            }
        }
    }
}

fn config_from_row(row: &AnyRow) -> Result<StoredAdConfig, StoreError> {
    Ok(StoredAdConfig {
        channel_id: ChannelId(int(row, "channel_id")?),
        version: int(row, "version")?,
        document: text(row, "document")?,
        author: text(row, "author")?,
        created_at: Timestamp(int(row, "created_at")?),
    })
}
