//! Builds the running service from settings: pool, migrations, first admin, server.

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::{web, HttpServer};
use actix_web_prom::PrometheusMetricsBuilder;
use secrecy::SecretString;
use tracing_actix_web::TracingLogger;

use crate::auth::{new_password, Hasher, Tokens};
use crate::config::Settings;
use crate::db;
use crate::domain::account::AccountRefusal;
use crate::domain::refusal::{Refusal, Unique};
use crate::http::middleware::connections::Reaper;
use crate::http::{self, Accounts, AppState, Db, Fields};
use crate::store::{users, StoreError};

/// How long an idle kept-alive connection stays open.
const KEEP_ALIVE: Duration = Duration::from_secs(5);
/// How long a client has to send a request head (the first one by actix, the
/// later ones on a kept-alive connection by the reaper, counted from the end
/// of the previous response, keep-alive time included).
const HEAD_TIMEOUT: Duration = Duration::from_secs(10);

pub struct Application {
    port: u16,
    server: Server,
}

/// The admin created on an empty database, to be printed once.
pub struct FirstAdmin {
    pub employee_no: String,
    pub password: String,
}

impl Application {
    /// Connects, migrates and binds (port 0 picks a free port, as tests do).
    pub async fn build(settings: Settings) -> anyhow::Result<(Self, Option<FirstAdmin>)> {
        let url = settings.database.database_url.clone();
        let pool_size = settings.database.pool_size;
        let pool = web::block(move || -> anyhow::Result<db::Pool> {
            let pool = db::pool(&url, pool_size)?;
            let mut conn = pool.get()?;
            db::migrate(&mut conn)?;
            Ok(pool)
        })
        .await??;
        // Everything that can fail comes before the first admin is made, so
        // that its password is never created without being printed.
        let tokens =
            Tokens::new(&settings.jwt_key()?, settings.token_ttl).with_previous(settings.previous_jwt_key()?);
        let listener = TcpListener::bind(&settings.bind)
            .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", settings.bind))?;
        let hasher = Hasher::new(&settings.hashing)?;
        let metrics = PrometheusMetricsBuilder::new("awards")
            .endpoint("/metrics")
            .exclude_regex("^/docs")
            // Unknown paths share one label, so probing cannot grow the metrics.
            .mask_unmatched_patterns("UNKNOWN")
            .build()
            .map_err(|e| anyhow::anyhow!("metrics: {e}"))?;
        let first_admin = {
            let (pool, hasher) = (pool.clone(), hasher.clone());
            web::block(move || create_first_admin(&pool, &hasher)).await??
        };
        let port = listener.local_addr()?.port();
        let workers = settings.workers();
        let state = web::Data::new(AppState {
            db: Db::new(pool, settings.database.database_url.backend),
            hasher,
            tokens,
            accounts: Accounts::new(Duration::from_secs(settings.auth_cache_ttl)),
            fields: Fields::new(),
            votes: crate::http::votes::VoteGate::new(&settings.votes, &settings.database.database_url)?,
            settings,
        });
        let reaper = Reaper::start(KEEP_ALIVE + HEAD_TIMEOUT)?;
        let server = HttpServer::new(move || {
            let console = crate::console::routes(&state.settings, state.tokens.session_master());
            http::app(state.clone())
                .service(console)
                .wrap(metrics.clone())
                .wrap(actix_web::middleware::from_fn(crate::telemetry::request_id_header))
                .wrap(TracingLogger::<crate::telemetry::AccessLog>::new())
                .wrap(actix_web::middleware::from_fn(crate::http::middleware::connections::mark_running))
        })
        .on_connect(move |connection, data| reaper.register(connection, data))
        .workers(workers)
        .keep_alive(KEEP_ALIVE)
        .client_request_timeout(HEAD_TIMEOUT)
        .client_disconnect_timeout(Duration::from_secs(2))
        .shutdown_timeout(30)
        .listen(listener)?
        .run();
        Ok((Application { port, server }, first_admin))
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }

    pub fn server(self) -> Server {
        self.server
    }
}

/// On an empty database, creates the admin `admin` with a random password.
/// Two nodes starting at once cannot both create it: employee_no is unique.
fn create_first_admin(pool: &db::Pool, hasher: &Hasher) -> anyhow::Result<Option<FirstAdmin>> {
    let mut conn = pool.get()?;
    if users::count(&mut conn)? > 0 {
        return Ok(None);
    }
    let password = new_password();
    let hash = hasher.hash_now(&SecretString::from(password.clone()))?;
    match users::upsert_admin(&mut conn, "admin", "Administrator", &hash) {
        Ok(_) => Ok(Some(FirstAdmin { employee_no: "admin".into(), password })),
        // The other node won the race.
        Err(StoreError::Refused(
            Refusal::Duplicate(Unique::EmployeeNo) | Refusal::Account(AccountRefusal::EmployeeNoTaken(_)),
        )) => Ok(None),
        Err(e) => Err(anyhow::anyhow!("creating the first admin: {e}")),
    }
}
