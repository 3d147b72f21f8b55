use std::sync::Arc;
use std::time::Duration;

use actix_web::web;

use crate::auth::{Hasher, Tokens};
use crate::config::Settings;
use crate::db::{Backend, DbConn, Pool};
use crate::http::errors::{AppError, AppResult};
use crate::store::users::{self, User};
use crate::store::{votes, StoreResult};

/// Everything a handler may need, shared by all workers.
pub struct AppState {
    pub db: Db,
    pub hasher: Hasher,
    pub tokens: Tokens,
    pub accounts: Accounts,
    pub votes: super::votes::VoteGate,
    pub fields: Fields,
    pub settings: Settings,
}

/// The one door to the database from async code: diesel is blocking, so every
/// call runs on the blocking pool with a pooled connection, never on a worker.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    pub backend: Backend,
}

impl Db {
    pub fn new(pool: Pool, backend: Backend) -> Self {
        Db { pool, backend }
    }

    pub async fn run<T, E, F>(&self, f: F) -> AppResult<T>
    where
        F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
        E: Into<AppError> + Send + 'static,
        T: Send + 'static,
    {
        let pool = self.pool.clone();
        web::block(move || {
            let mut conn = pool.get()?;
            f(&mut conn).map_err(Into::into)
        })
        .await?
    }

    pub fn pool(&self) -> &Pool {
        &self.pool
    }
}

/// Account state for authentication, cached per node for a short time so that
/// an authenticated request costs no database round trip. Changes made through
/// this node take effect at once; other nodes see them within the TTL.
pub struct Accounts {
    cache: moka::sync::Cache<i64, Arc<User>>,
}

impl Accounts {
    pub fn new(ttl: Duration) -> Self {
        Accounts { cache: moka::sync::Cache::builder().max_capacity(500_000).time_to_live(ttl).build() }
    }

    pub async fn get(&self, db: &Db, id: i64) -> AppResult<Option<Arc<User>>> {
        if let Some(user) = self.cache.get(&id) {
            return Ok(Some(user));
        }
        let user = db.run(move |conn| users::find(conn, id)).await?;
        Ok(user.map(|user| {
            let user = Arc::new(user);
            self.cache.insert(id, user.clone());
            user
        }))
    }

    pub fn put(&self, user: User) {
        self.cache.insert(user.id, Arc::new(user));
    }

    pub fn forget(&self, id: i64) {
        self.cache.invalidate(&id);
    }

    pub fn forget_all(&self) {
        self.cache.invalidate_all();
    }
}

/// Each voting round's candidates, shared by every ballot this node serves
/// for a few seconds: 300,000 voters read the same list, and only their own
/// votes differ. An entry ruled out meanwhile leaves the ballots within the
/// TTL; a vote for it is refused all the same (the writer reads its status).
pub struct Fields {
    cache: moka::sync::Cache<i64, Arc<Vec<votes::Listed>>>,
}

impl Fields {
    pub const TTL: Duration = Duration::from_secs(5);

    pub fn new() -> Self {
        Fields { cache: moka::sync::Cache::builder().max_capacity(1_000).time_to_live(Self::TTL).build() }
    }

    /// The round's candidates, from the cache or read afresh.
    pub fn get(&self, conn: &mut DbConn, round_id: i64) -> StoreResult<Arc<Vec<votes::Listed>>> {
        if let Some(field) = self.cache.get(&round_id) {
            return Ok(field);
        }
        let field = Arc::new(votes::candidates(conn, round_id)?);
        self.cache.insert(round_id, field.clone());
        Ok(field)
    }

    /// After a nomination left the running: this node reads the fields afresh.
    pub fn forget_all(&self) {
        self.cache.invalidate_all();
    }
}

impl Default for Fields {
    fn default() -> Self {
        Self::new()
    }
}
