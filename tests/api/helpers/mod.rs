//! The test harness: the real app on a random port over a fresh database,
//! SQLite always and PostgreSQL from AWARDS_TEST_POSTGRES_URL.
//!
//! - [`db`]: throwaway databases, and the rule for the PostgreSQL half: a
//!   test that needs PostgreSQL and has none fails, it never passes.
//! - [`app`]: [`TestApp`], the service in-process, and [`Client`], the one
//!   HTTP client every test calls it (or any other node) with.
//! - [`server`]: the one launcher of the `awards` binary, for its commands
//!   and for `awards serve` as a child process ([`Server`]).
//! - [`fixtures`]: what several test modules set up the same way.
//! - [`browser`]: a browser of the web console (cookies, sign-in, CSRF).

pub mod app;
pub mod browser;
pub mod db;
pub mod fixtures;
pub mod server;

pub use app::{another_node, settings, Client, Response, TestApp};
pub use db::TestDb;
pub use server::Server;

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const PASSWORD: &str = "correct horse battery";

/// Runs each named test function against SQLite and against PostgreSQL, as
/// the tests `name::sqlite` and `name::postgres`. Without
/// AWARDS_TEST_POSTGRES_URL the PostgreSQL one fails (see [`db`]); leave
/// them all out with `cargo test -- --skip postgres`.
#[macro_export]
macro_rules! on_both {
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::TestApp::sqlite().await).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::TestApp::postgres().await).await
            }
        }
    )* };
}

/// Runs each named function on a fresh database, `(TestDb, url)`, of each
/// backend, as the tests `name::sqlite` and `name::postgres` (see
/// [`on_both!`]); `async` before the names for async functions.
#[macro_export]
macro_rules! on_both_databases {
    (async $($name:ident),* $(,)?) => { $(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::TestDb::sqlite()).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::TestDb::postgres()).await
            }
        }
    )* };
    ($($name:ident),* $(,)?) => { $(
        mod $name {
            #[test]
            fn sqlite() {
                super::$name($crate::helpers::TestDb::sqlite())
            }
            #[test]
            fn postgres() {
                super::$name($crate::helpers::TestDb::postgres())
            }
        }
    )* };
}

/// An RFC 3339 timestamp this many minutes from now.
pub fn rfc3339(offset_minutes: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::minutes(offset_minutes)).to_rfc3339()
}
