//! Partners: the platforms that pull channels at their own URLs, each with its settings (one
//! JSON object the control plane checks, written check-and-set on `version`) and its signing
//! keys (the newest without expiry; the ones before it valid until their overlap ends).

use onair_domain::Timestamp;
use sqlx::any::AnyRow;
use sqlx::error::ErrorKind;

use crate::Store;
use crate::error::{StoreError, violated_constraint};
use crate::rows::{int, optional_int, text};

/// A stored partner with its keys, oldest key first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartnerRow {
    pub id: i64,
    pub name: String,
    pub display_name: String,
    /// The settings as the control plane wrote them: a JSON object.
    pub settings: String,
    /// 1 when created, one more on every update.
    pub version: i64,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub keys: Vec<PartnerKeyRow>,
}

/// One of a partner's signing keys.
#[derive(Clone, PartialEq, Eq)]
pub struct PartnerKeyRow {
    /// 1, 2, … in the order the keys were made.
    pub key_id: i64,
    pub secret: String,
    pub created_at: Timestamp,
    /// `None` for the newest key; else the end of its overlap with the one after it.
    pub expires_at: Option<Timestamp>,
}

impl std::fmt::Debug for PartnerKeyRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PartnerKeyRow")
            .field("key_id", &self.key_id)
            .field("secret", &"***")
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

impl PartnerKeyRow {
    /// Whether a signature made with this key is accepted at `now`.
    pub fn valid_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_none_or(|end| now < end)
    }
}

/// What a create or an update writes besides the name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartnerWrite<'a> {
    pub display_name: &'a str,
    pub settings: &'a str,
    pub author: &'a str,
    pub at: Timestamp,
}

const PARTNER_COLUMNS: &str =
    "id, name, display_name, settings, version, created_at, updated_at, updated_by";

impl Store {
    /// Stores a new partner (version 1) with its first key. A name taken is a
    /// [`StoreError::Conflict`].
    pub async fn create_partner(
        &self,
        name: &str,
        write: &PartnerWrite<'_>,
        key_secret: &str,
    ) -> Result<PartnerRow, StoreError> {
        if name.is_empty() || key_secret.is_empty() {
            return Err(StoreError::Invalid(
                "a partner needs a name and a signing key".to_owned(),
            ));
        }
        let mut transaction = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO partners \
             (name, display_name, settings, version, created_at, updated_at, updated_by) \
             VALUES ($1, $2, $3, 1, $4, $4, $5) RETURNING id",
        )
        .bind(name)
        .bind(write.display_name)
        .bind(write.settings)
        .bind(write.at.0)
        .bind(write.author)
        .fetch_one(&mut *transaction)
        .await
        .map_err(|error| match violated_constraint(&error) {
            Some(ErrorKind::UniqueViolation) => {
                StoreError::Conflict(format!("a partner named {name} exists already"))
            }
            _ => StoreError::Database(error),
        })?;
        sqlx::query(
            "INSERT INTO partner_keys (partner_id, key_id, secret, created_at, expires_at) \
             VALUES ($1, 1, $2, $3, NULL)",
        )
        .bind(id)
        .bind(key_secret)
        .bind(write.at.0)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        self.partner_or_not_found(name).await
    }

    /// Every partner, by name.
    pub async fn partners(&self) -> Result<Vec<PartnerRow>, StoreError> {
        let sql = format!("SELECT {PARTNER_COLUMNS} FROM partners ORDER BY name");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        let keys = sqlx::query(
            "SELECT partner_id, key_id, secret, created_at, expires_at FROM partner_keys \
             ORDER BY partner_id, key_id",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut partners = rows
            .iter()
            .map(partner_from_row)
            .collect::<Result<Vec<_>, _>>()?;
        for row in &keys {
            let partner_id = int(row, "partner_id")?;
            if let Some(partner) = partners.iter_mut().find(|p| p.id == partner_id) {
                partner.keys.push(key_from_row(row)?);
            }
        }
        Ok(partners)
    }

    pub async fn partner_by_name(&self, name: &str) -> Result<Option<PartnerRow>, StoreError> {
        let sql = format!("SELECT {PARTNER_COLUMNS} FROM partners WHERE name = $1");
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(name)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let mut partner = partner_from_row(&row)?;
        let keys = sqlx::query(
            "SELECT key_id, secret, created_at, expires_at FROM partner_keys \
             WHERE partner_id = $1 ORDER BY key_id",
        )
        .bind(partner.id)
        .fetch_all(&self.pool)
        .await?;
        partner.keys = keys.iter().map(key_from_row).collect::<Result<_, _>>()?;
        Ok(Some(partner))
    }

    async fn partner_or_not_found(&self, name: &str) -> Result<PartnerRow, StoreError> {
        self.partner_by_name(name)
            .await?
            .ok_or_else(|| StoreError::NotFound(format!("partner {name}")))
    }

    /// Replaces the partner's display name and settings, one version up, if its version is
    /// still `expected_version` (`None`: whatever it is). Otherwise a [`StoreError::Conflict`]
    /// names the current version and nothing changes.
    pub async fn update_partner(
        &self,
        name: &str,
        expected_version: Option<i64>,
        write: &PartnerWrite<'_>,
    ) -> Result<PartnerRow, StoreError> {
        let mut transaction = self.begin_write().await?;
        let current: Option<i64> =
            sqlx::query_scalar("SELECT version FROM partners WHERE name = $1")
                .bind(name)
                .fetch_optional(&mut *transaction)
                .await?;
        let Some(current) = current else {
            return Err(StoreError::NotFound(format!("partner {name}")));
        };
        if let Some(expected) = expected_version
            && expected != current
        {
            return Err(StoreError::Conflict(format!(
                "partner {name} is at version {current}, not {expected}: reload it and edit again"
            )));
        }
        sqlx::query(
            "UPDATE partners SET display_name = $1, settings = $2, version = version + 1, \
             updated_at = $3, updated_by = $4 WHERE name = $5",
        )
        .bind(write.display_name)
        .bind(write.settings)
        .bind(write.at.0)
        .bind(write.author)
        .bind(name)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        self.partner_or_not_found(name).await
    }

    /// Deletes the partner and its keys; `false` when there was none.
    pub async fn delete_partner(&self, name: &str) -> Result<bool, StoreError> {
        let deleted = sqlx::query("DELETE FROM partners WHERE name = $1")
            .bind(name)
            .execute(&self.pool)
            .await?;
        Ok(deleted.rows_affected() > 0)
    }

    /// Adds a new key, the partner's newest from `at`; the key that was newest stays valid
    /// until `overlap_end`, and keys already expired at `at` are dropped.
    pub async fn rotate_partner_key(
        &self,
        name: &str,
        key_secret: &str,
        at: Timestamp,
        overlap_end: Timestamp,
    ) -> Result<PartnerRow, StoreError> {
        if key_secret.is_empty() {
            return Err(StoreError::Invalid(
                "a signing key cannot be empty".to_owned(),
            ));
        }
        let mut transaction = self.begin_write().await?;
        let id: Option<i64> = sqlx::query_scalar("SELECT id FROM partners WHERE name = $1")
            .bind(name)
            .fetch_optional(&mut *transaction)
            .await?;
        let Some(id) = id else {
            return Err(StoreError::NotFound(format!("partner {name}")));
        };
        sqlx::query("DELETE FROM partner_keys WHERE partner_id = $1 AND expires_at <= $2")
            .bind(id)
            .bind(at.0)
            .execute(&mut *transaction)
            .await?;
        sqlx::query(
            "UPDATE partner_keys SET expires_at = $1 WHERE partner_id = $2 AND expires_at IS NULL",
        )
        .bind(overlap_end.0)
        .bind(id)
        .execute(&mut *transaction)
        .await?;
        sqlx::query(
            "INSERT INTO partner_keys (partner_id, key_id, secret, created_at, expires_at) \
             SELECT $1, COALESCE(MAX(key_id), 0) + 1, $2, $3, NULL FROM partner_keys \
             WHERE partner_id = $1",
        )
        .bind(id)
        .bind(key_secret)
        .bind(at.0)
        .execute(&mut *transaction)
        .await?;
        transaction.commit().await?;
        self.partner_or_not_found(name).await
    }
}

fn partner_from_row(row: &AnyRow) -> Result<PartnerRow, StoreError> {
    Ok(PartnerRow {
        id: int(row, "id")?,
        name: text(row, "name")?,
        display_name: text(row, "display_name")?,
        settings: text(row, "settings")?,
        version: int(row, "version")?,
        created_at: Timestamp(int(row, "created_at")?),
        updated_at: Timestamp(int(row, "updated_at")?),
        updated_by: text(row, "updated_by")?,
        keys: Vec::new(),
    })
}

fn key_from_row(row: &AnyRow) -> Result<PartnerKeyRow, StoreError> {
    Ok(PartnerKeyRow {
        key_id: int(row, "key_id")?,
        secret: text(row, "secret")?,
        created_at: Timestamp(int(row, "created_at")?),
        expires_at: optional_int(row, "expires_at")?.map(Timestamp),
    })
}
