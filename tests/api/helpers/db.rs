//! Throwaway databases: SQLite in a temporary directory, PostgreSQL as a new
//! database on the server AWARDS_TEST_POSTGRES_URL names.
//!
//! The PostgreSQL half never passes without running. A test that needs
//! PostgreSQL gets it from [`TestDb::postgres`], which fails the test when
//! AWARDS_TEST_POSTGRES_URL is unset: in CI (`CI` set) because the half must
//! run there, elsewhere because libtest cannot mark a test skipped at run
//! time, and a pass would claim what was never checked. Every such test has
//! `postgres` in its name (checked here), so `cargo test -- --skip postgres`
//! leaves them all out and libtest counts them as "filtered out".

use std::sync::atomic::{AtomicU64, Ordering};

use diesel::{Connection, RunQueryDsl};

pub const POSTGRES_URL: &str = "AWARDS_TEST_POSTGRES_URL";

/// A database that exists for one test and is dropped after it.
pub enum TestDb {
    /// Kept for its Drop, which removes the directory.
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres {
        server: String,
        name: String,
    },
}

impl TestDb {
    pub fn sqlite() -> (TestDb, String) {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        (TestDb::Sqlite(dir), url)
    }

    /// A new database on the PostgreSQL server; fails the test when there is
    /// none (see the module's documentation).
    pub fn postgres() -> (TestDb, String) {
        let server = postgres_server();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "awards_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres"))
            .unwrap_or_else(|e| panic!("{POSTGRES_URL} is set but the server is unreachable: {e}"));
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let url = format!("{server}/{name}");
        (TestDb::Postgres { server, name }, url)
    }
}

/// The PostgreSQL server's URL (without a database), or the test fails.
fn postgres_server() -> String {
    // A test that can use PostgreSQL must be one that `--skip postgres` leaves
    // out. libtest names each test's thread after the test.
    if let Some(test) = std::thread::current().name().filter(|name| name.contains("::")) {
        assert!(
            test.contains("postgres"),
            "{test} uses PostgreSQL, so its name must contain `postgres` \
             (for `cargo test -- --skip postgres`)"
        );
    }
    match std::env::var(POSTGRES_URL) {
        Ok(url) if !url.trim().is_empty() => url.trim().trim_end_matches('/').to_owned(),
        _ if std::env::var_os("CI").is_some_and(|ci| !ci.is_empty()) => panic!(
            "CI is set and {POSTGRES_URL} is not: this PostgreSQL test cannot run, and in CI every \
             PostgreSQL test must. Set {POSTGRES_URL}=postgres://USER@HOST:PORT (.ci/run does)."
        ),
        _ => panic!(
            "{POSTGRES_URL} is not set: this PostgreSQL test cannot run, and it does not pass \
             without running. Set {POSTGRES_URL}=postgres://USER@HOST:PORT, or leave every \
             PostgreSQL test out with `cargo test -- --skip postgres` (libtest then counts them \
             as \"filtered out\")."
        ),
    }
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.subsec_nanos()).unwrap_or(0)
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let TestDb::Postgres { server, name } = self {
            if let Ok(mut admin) = diesel::PgConnection::establish(&format!("{server}/postgres")) {
                let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                    .execute(&mut admin);
            }
        }
    }
}
