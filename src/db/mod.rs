//! Database access: one connection type for both backends, the pool, migrations
//! and the transaction helper every write goes through.

pub mod prepared;
pub mod schema;

use std::time::Duration;

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{self, ManageConnection};
use diesel::sqlite::SqliteConnection;
use diesel::{Connection, ConnectionError, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::domain::time::Timestamp;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// A connection to either backend. Queries written against it run on both.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type Pool = r2d2::Pool<Manager>;
pub type PooledConn = r2d2::PooledConnection<Manager>;

/// Which backend a database URL names. Chosen from the scheme, never by trial:
/// SQLite accepts almost any string as a path and would hide PostgreSQL errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

#[derive(Clone)]
pub struct DatabaseUrl {
    pub backend: Backend,
    /// What the backend's driver is given: the URL for PostgreSQL, the path for SQLite.
    target: String,
}

impl DatabaseUrl {
    pub fn parse(url: &str) -> Result<Self, String> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Ok(Self { backend: Backend::Postgres, target: url.to_owned() })
        } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
            if path.is_empty() {
                return Err("the SQLite URL names no file (sqlite://PATH)".into());
            }
            Ok(Self { backend: Backend::Sqlite, target: path.to_owned() })
        } else {
            Err(format!(
                "unsupported database URL {:?}: use sqlite://PATH or postgres://USER@HOST/DB",
                redact(url)
            ))
        }
    }

    /// Opens one connection, reporting the backend's own reason on failure.
    pub fn connect(&self) -> Result<DbConn, ConnectionError> {
        match self.backend {
            Backend::Postgres => PgConnection::establish(&self.target).map(DbConn::Pg),
            Backend::Sqlite => {
                let mut conn = SqliteConnection::establish(&self.target)?;
                // busy_timeout must come first: the other pragmas may already wait on a lock.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000;
                     PRAGMA journal_mode = WAL;
                     PRAGMA synchronous = NORMAL;
                     PRAGMA foreign_keys = ON;",
                )
                .map_err(|e| ConnectionError::BadConnection(format!("configuring SQLite: {e}")))?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }

    /// The URL with any password blanked, for logs and error messages.
    pub fn redacted(&self) -> String {
        match self.backend {
            Backend::Postgres => redact(&self.target),
            Backend::Sqlite => format!("sqlite://{}", self.target),
        }
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.redacted())
    }
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

/// r2d2 manager that opens the variant named by the URL and configures it.
#[derive(Debug, Clone)]
pub struct Manager {
    url: DatabaseUrl,
}

#[derive(Debug, thiserror::Error)]
pub enum ManagerError {
    #[error(transparent)]
    Connection(#[from] ConnectionError),
    #[error(transparent)]
    Query(#[from] diesel::result::Error),
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = ManagerError;

    fn connect(&self) -> Result<DbConn, ManagerError> {
        Ok(self.url.connect()?)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), ManagerError> {
        diesel::sql_query("SELECT 1").execute(conn)?;
        Ok(())
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        is_broken(conn)
    }
}

/// A connection left inside a transaction (a panic mid-write) or whose
/// transaction manager failed is unusable.
pub fn is_broken(conn: &mut DbConn) -> bool {
    !matches!(DbConn::transaction_manager_status_mut(conn).transaction_depth(), Ok(None))
}

/// Builds the pool, failing with the backend's real reason when the database is unreachable.
pub fn pool(url: &DatabaseUrl, size: u32) -> anyhow::Result<Pool> {
    // Connect once up front: r2d2 only reports "timed out" otherwise.
    url.connect().map_err(|e| anyhow::anyhow!("cannot connect to {}: {e}", url.redacted()))?;
    let pool = r2d2::Pool::builder()
        .max_size(size)
        .connection_timeout(Duration::from_secs(10))
        // A PostgreSQL connection may die with its server, so it is checked
        // before use; an SQLite connection cannot, and its check is skipped.
        .test_on_check_out(url.backend == Backend::Postgres)
        .build(Manager { url: url.clone() })?;
    Ok(pool)
}

/// Applies pending migrations; returns the names of those applied.
/// Writes a consistent copy of a live SQLite database to a new file with
/// `VACUUM INTO`: one read transaction, so the service keeps running and the
/// copy includes what sits in the `-wal` file. PostgreSQL has `pg_dump`.
pub fn backup(conn: &mut DbConn, path: &std::path::Path) -> anyhow::Result<()> {
    let DbConn::Sqlite(lite) = conn else {
        anyhow::bail!(
            "backup copies SQLite databases; for PostgreSQL use pg_dump, e.g. \
             pg_dump -Fc -d awards > {} (see docs/operator.md, Backups)",
            path.display()
        );
    };
    if path.exists() {
        anyhow::bail!("{} exists already; backup writes a new file and overwrites nothing", path.display());
    }
    let target = path.to_str().ok_or_else(|| anyhow::anyhow!("the path {} is not UTF-8", path.display()))?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<diesel::sql_types::Text, _>(target)
        .execute(lite)
        .map_err(|e| anyhow::anyhow!("writing {}: {e}", path.display()))?;
    Ok(())
}

pub fn migrate(conn: &mut DbConn) -> anyhow::Result<Vec<String>> {
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(POSTGRES_MIGRATIONS),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS),
    }
    .map_err(|e| anyhow::anyhow!("migration failed: {e}"))?;
    Ok(applied.iter().map(|m| m.to_string()).collect())
}

/// Reverts every migration (for the test that checks each down.sql).
pub fn revert_all(conn: &mut DbConn) -> anyhow::Result<()> {
    match conn {
        DbConn::Pg(c) => c.revert_all_migrations(POSTGRES_MIGRATIONS).map(drop),
        DbConn::Sqlite(c) => c.revert_all_migrations(SQLITE_MIGRATIONS).map(drop),
    }
    .map_err(|e| anyhow::anyhow!("reverting migrations failed: {e}"))
}

/// Runs `f` in a write transaction. On SQLite it is `BEGIN IMMEDIATE`, so the
/// write lock is taken up front and concurrent writers queue on busy_timeout
/// instead of failing with SQLITE_BUSY when they upgrade from a read.
pub fn write_tx<T, E>(conn: &mut DbConn, f: impl FnOnce(&mut DbConn) -> Result<T, E>) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    match conn {
        DbConn::Sqlite(c) => AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?,
        DbConn::Pg(c) => AnsiTransactionManager::begin_transaction(c)?,
    }
    match f(conn) {
        Ok(value) => {
            DbConn::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = DbConn::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
            }
            Err(e)
        }
    }
}

/// What a resource lock protects: the lock spaces of unrelated resources never meet.
#[derive(Debug, Clone, Copy)]
pub enum LockSpace {
    /// A campaign's status, window and quota: nomination writes hold it
    /// shared, campaign changes exclusively.
    Campaign = 1,
    /// The audit chain's head (one resource, id 0): appends take turns.
    AuditChain = 2,
    /// A round's votes: vote batches and withdrawals hold it shared, a close
    /// exclusively. The lock manager queues fairly, so a stream of votes
    /// cannot starve a close (shared row locks could jump its queue).
    RoundVotes = 3,
}

/// Takes a transaction-scoped lock on one resource on PostgreSQL, shared or
/// exclusive. SQLite needs none: `BEGIN IMMEDIATE` already serialises writers.
pub fn lock_resource(conn: &mut DbConn, space: LockSpace, id: i64, shared: bool) -> diesel::QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        let sql = if shared {
            "SELECT pg_advisory_xact_lock_shared(?, ?)"
        } else {
            "SELECT pg_advisory_xact_lock(?, ?)"
        };
        // The two-key form: (space, id). Prepared: a vote batch takes it.
        prepared::Prepared::new(
            sql,
            vec![prepared::Value::Integer(space as i32), prepared::Value::Integer(id as i32)],
        )
        .execute(c)?;
    }
    Ok(())
}

/// Multi-row inserts, which MultiConnection lacks, on the backend's own
/// connection (inside the caller's transaction), `$chunk` rows a statement:
/// keep rows × columns under SQLite's 32,766 bound parameters.
#[macro_export]
macro_rules! insert_batches {
    ($conn:expr, $table:expr, $rows:expr, $chunk:expr) => {{
        let result: diesel::QueryResult<()> = (|| {
            for chunk in $rows.chunks($chunk) {
                match &mut *$conn {
                    $crate::db::DbConn::Pg(pg) => diesel::insert_into($table).values(chunk).execute(pg)?,
                    $crate::db::DbConn::Sqlite(lite) => {
                        diesel::insert_into($table).values(chunk).execute(lite)?
                    }
                };
            }
            Ok(())
        })();
        result
    }};
}

/// The current time, truncated to microseconds so that it reads back unchanged
/// from both backends (PostgreSQL keeps microseconds).
pub fn now() -> Timestamp {
    Timestamp::now()
}

/// True when a diesel error is a unique-constraint violation.
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backend_follows_the_scheme() {
        assert_eq!(DatabaseUrl::parse("sqlite://a.db").unwrap().backend, Backend::Sqlite);
        assert_eq!(DatabaseUrl::parse("postgres://u@h/db").unwrap().backend, Backend::Postgres);
        assert!(DatabaseUrl::parse("mysql://x").is_err());
        assert!(DatabaseUrl::parse("sqlite://").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        let url = DatabaseUrl::parse("postgres://app:s3cret@db:5432/awards").unwrap();
        assert_eq!(url.redacted(), "postgres://app:***@db:5432/awards");
        assert!(!format!("{:?}", redact("postgres://a:b@c/d")).contains(":b@"));
    }
}
