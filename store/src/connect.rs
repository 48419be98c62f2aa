//! Opening a [`Store`] on SQLite or PostgreSQL, and migrating its schema.

use std::fmt;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode};
use sqlx::{Any, AnyConnection, AnyPool, ConnectOptions, Connection, Transaction};

use crate::error::{StoreError, connect_reason, one_line, redact_url};
use crate::segment_shelf::SegmentShelf;

/// How long opening a database may take before [`Store::connect`] gives up.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a query waits for a free pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(30);
/// How long SQLite waits for another writer before failing with "database is locked".
const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);
const SQLITE_MAX_CONNECTIONS: u32 = 8;
const POSTGRES_MAX_CONNECTIONS: u32 = 10;

/// The schema, embedded at compile time: one forward-only folder per backend.
pub(crate) static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/sqlite");
pub(crate) static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("../migrations/postgres");

/// Which database a [`Store`] speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    /// The backend a database URL names: `sqlite:…` or `postgres://…` (`postgresql://…`).
    pub fn of_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// `clause` (e.g. ` FOR UPDATE`) on PostgreSQL, nothing on SQLite: a row lock taken inside a
    /// [`Store::begin_write`] transaction, which on SQLite holds the whole database's write lock
    /// already.
    pub(crate) fn row_lock(self, clause: &'static str) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => clause,
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Backend::Sqlite => "SQLite",
            Backend::Postgres => "PostgreSQL",
        })
    }
}

/// The database, behind intent-named async methods. Cloning is cheap: clones share one pool.
#[derive(Clone)]
pub struct Store {
    pub(crate) pool: AnyPool,
    backend: Backend,
    /// The URL it was opened with, password redacted: for messages.
    redacted_url: Arc<str>,
    /// The segment lists already read, shared by the clones.
    pub(crate) segment_shelf: Arc<SegmentShelf>,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("backend", &self.backend)
            .field("url", &self.redacted_url)
            .finish()
    }
}

impl Store {
    /// Opens the database at `url`:
    ///
    /// - `sqlite://PATH` (or `sqlite:PATH`) creates the file if missing and uses write-ahead
    ///   logging, foreign keys and a busy timeout;
    /// - `sqlite::memory:` is a private in-memory database, gone when the store is dropped;
    /// - `postgres://USER:PASSWORD@HOST:PORT/DB` (or `postgresql://…`).
    ///
    /// Gives up after about five seconds. The error names the URL with its password redacted.
    /// Does not migrate: call [`Store::migrate`].
    pub async fn connect(url: &str) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let redacted_url = redact_url(url);
        let connect_error = |reason: String| StoreError::Connect {
            url: redacted_url.clone(),
            reason,
        };
        let backend = Backend::of_url(url).ok_or_else(|| {
            connect_error(
                "unsupported database URL: use sqlite://PATH, sqlite::memory: or postgres://…"
                    .to_owned(),
            )
        })?;
        let pool = match backend {
            Backend::Sqlite => open_sqlite(url).await,
            Backend::Postgres => open_postgres(url).await,
        }
        .map_err(connect_error)?;
        Ok(Store {
            pool,
            backend,
            redacted_url: redacted_url.into(),
            segment_shelf: Arc::default(),
        })
    }

    /// Brings the schema up to date. Applying already applied migrations is a no-op.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        let migrator = match self.backend {
            Backend::Sqlite => &SQLITE_MIGRATIONS,
            Backend::Postgres => &POSTGRES_MIGRATIONS,
        };
        migrator
            .run(&self.pool)
            .await
            .map_err(|error| StoreError::Migrate {
                url: self.redacted_url.to_string(),
                reason: one_line(&error.to_string()),
            })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The URL the store was opened with, password redacted.
    pub fn redacted_url(&self) -> &str {
        &self.redacted_url
    }

    /// Closes every pooled connection; later queries fail.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a transaction that will write. On SQLite it takes the write lock at once
    /// (`BEGIN IMMEDIATE`), so two writers queue on the busy timeout instead of one failing
    /// when it upgrades from reading to writing.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Any>, StoreError> {
        let transaction = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(transaction)
    }
}

/// Opens a SQLite database: a file (created if missing, switched to WAL) or private memory.
async fn open_sqlite(url: &str) -> Result<AnyPool, String> {
    let options = SqliteConnectOptions::from_str(url).map_err(|error| connect_reason(&error))?;
    if sqlite_url_is_in_memory(url) {
        // Every connection to `sqlite::memory:` is its own database: keep exactly one, forever.
        return AnyPoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect(url)
            .await
            .map_err(|error| connect_reason(&error));
    }
    // Create the file and switch it to write-ahead logging with one connection first: the
    // journal mode is stored in the file, so the pooled connections below inherit it. sqlx
    // turns foreign keys on and sets a busy timeout on every SQLite connection by default.
    let path = std::path::absolute(options.get_filename()).map_err(|error| error.to_string())?;
    let options = options
        .filename(&path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .foreign_keys(true)
        .busy_timeout(SQLITE_BUSY_TIMEOUT);
    let first = tokio::time::timeout(CONNECT_TIMEOUT, options.connect())
        .await
        .map_err(|_| format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))?
        .map_err(|error| connect_reason(&error))?;
    first
        .close()
        .await
        .map_err(|error| connect_reason(&error))?;
    let pool_options = AnyConnectOptions::from_url(&options.to_url_lossy())
        .map_err(|error| connect_reason(&error))?;
    Ok(AnyPoolOptions::new()
        .max_connections(SQLITE_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(pool_options))
}

/// `sqlite::memory:`, `sqlite://:memory:` and `sqlite://?mode=memory` name a memory database.
fn sqlite_url_is_in_memory(url: &str) -> bool {
    let rest = url
        .trim_start_matches("sqlite://")
        .trim_start_matches("sqlite:");
    let (database, params) = rest.split_once('?').unwrap_or((rest, ""));
    database == ":memory:" || params.split('&').any(|pair| pair == "mode=memory")
}

/// Opens a PostgreSQL pool after one direct connection attempt, so that a refused connection
/// or a bad password fails fast with the server's own words instead of a pool timeout.
async fn open_postgres(url: &str) -> Result<AnyPool, String> {
    let options = AnyConnectOptions::from_str(url).map_err(|error| connect_reason(&error))?;
    let first = tokio::time::timeout(CONNECT_TIMEOUT, AnyConnection::connect_with(&options))
        .await
        .map_err(|_| format!("no answer within {} s", CONNECT_TIMEOUT.as_secs()))?
        .map_err(|error| connect_reason(&error))?;
    first
        .close()
        .await
        .map_err(|error| connect_reason(&error))?;
    Ok(AnyPoolOptions::new()
        .max_connections(POSTGRES_MAX_CONNECTIONS)
        .acquire_timeout(ACQUIRE_TIMEOUT)
        .connect_lazy_with(options))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A SQLite store in a temporary directory, migrated with the migrations named before
    /// `first_left_out` (e.g. `"0005"`) only: for testing what a later migration does to data
    /// stored before it.
    pub(crate) async fn sqlite_migrated_before(first_left_out: &str) -> (Store, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("onair.db").display());
        let store = Store::connect(&url).await.unwrap();
        let before = dir
            .path()
            .join(format!("migrations-before-{first_left_out}"));
        std::fs::create_dir(&before).unwrap();
        let all = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/sqlite");
        for entry in std::fs::read_dir(&all).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if name.as_str() < first_left_out {
                std::fs::copy(&path, before.join(&name)).unwrap();
            }
        }
        sqlx::migrate::Migrator::new(before.as_path())
            .await
            .unwrap()
            .run(&store.pool)
            .await
            .unwrap();
        (store, dir)
    }

    #[test]
    fn memory_urls_are_recognised() {
        assert!(sqlite_url_is_in_memory("sqlite::memory:"));
        assert!(sqlite_url_is_in_memory("sqlite://:memory:"));
        assert!(sqlite_url_is_in_memory("sqlite://?mode=memory"));
        assert!(!sqlite_url_is_in_memory("sqlite:///var/lib/onair/onair.db"));
    }

    #[test]
    fn backends_are_told_apart_by_scheme() {
        assert_eq!(Backend::of_url("sqlite://x.db"), Some(Backend::Sqlite));
        assert_eq!(
            Backend::of_url("postgresql://h/db"),
            Some(Backend::Postgres)
        );
        assert_eq!(Backend::of_url("mysql://h/db"), None);
    }
}
