//! What readiness checks and metrics read about the database itself: does it answer, which
//! embedded migrations it lacks, how full the pool is.

use sqlx::Row;

use crate::Store;
use crate::connect::{Backend, POSTGRES_MIGRATIONS, SQLITE_MIGRATIONS};
use crate::error::StoreError;

/// A migration embedded in this binary that the database has not applied (or whose last
/// application failed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingMigration {
    pub version: i64,
    pub description: String,
}

/// The connection pool at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PoolStatus {
    /// Open connections, in use or idle.
    pub size: u32,
    pub idle: usize,
    /// The most it opens.
    pub max: u32,
}

impl Store {
    /// Runs a trivial query: the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The embedded migrations not applied, oldest first; every one when the database was
    /// never migrated.
    pub async fn pending_migrations(&self) -> Result<Vec<PendingMigration>, StoreError> {
        let migrator = match self.backend() {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        let applied: Vec<i64> = match sqlx::query(
            "SELECT version FROM _sqlx_migrations WHERE success = TRUE ORDER BY version",
        )
        .fetch_all(&self.pool)
        .await
        {
            Ok(rows) => rows
                .iter()
                .map(|row| row.try_get::<i64, _>("version"))
                .collect::<Result<_, _>>()?,
            // No migration table: nothing was ever applied (the database answers: ping it
            // first to tell the two apart).
            Err(sqlx::Error::Database(_)) => Vec::new(),
            Err(error) => return Err(error.into()),
        };
        Ok(migrator
            .iter()
            .filter(|migration| !migration.migration_type.is_down_migration())
            .filter(|migration| applied.binary_search(&migration.version).is_err())
            .map(|migration| PendingMigration {
                version: migration.version,
                description: migration.description.to_string(),
            })
            .collect())
    }

    /// How many pooled connections are open and idle.
    pub fn pool_status(&self) -> PoolStatus {
        PoolStatus {
            size: self.pool.size(),
            idle: self.pool.num_idle(),
            max: self.pool.options().get_max_connections(),
        }
    }
}
