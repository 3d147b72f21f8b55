//! Settings, from flags or the environment. Every variable:
//!
//! | variable                   | default              | meaning |
//! |----------------------------|----------------------|---------|
//! | AWARDS_DATABASE_URL        | sqlite://awards.db   | `sqlite://PATH` or `postgres://USER:PASS@HOST:PORT/DB` |
//! | AWARDS_BIND                | 127.0.0.1:8080       | address to listen on |
//! | AWARDS_JWT_SECRET          | (required)           | HS256 key, at least 32 bytes; `--dev` makes a random one |
//! | AWARDS_JWT_PREVIOUS_SECRET | (none)               | the key before a rotation: its tokens stay valid until they expire |
//! | AWARDS_TOKEN_TTL           | 3600                 | access-token lifetime in seconds |
//! | AWARDS_POOL_SIZE           | 16                   | database connections |
//! | AWARDS_WORKERS             | cores                | HTTP worker threads |
//! | AWARDS_ARGON2_MEMORY_KIB   | 19456                | argon2id memory cost (OWASP: 19 MiB) |
//! | AWARDS_ARGON2_ITERATIONS   | 2                    | argon2id time cost |
//! | AWARDS_ARGON2_PARALLELISM  | 1                    | argon2id lanes |
//! | AWARDS_HASH_WORKERS        | cores                | password hashes computed at once |
//! | AWARDS_HASH_QUEUE          | 256                  | hashes that may wait; more get 503 |
//! | AWARDS_AUTH_CACHE_TTL      | 30                   | seconds a node trusts its cached account state |
//! | AWARDS_JSON_LIMIT          | 65536                | largest JSON body, bytes |
//! | AWARDS_CSV_LIMIT           | 33554432             | largest CSV upload, bytes |
//! | AWARDS_LOG                 | info                 | tracing filter (e.g. `awards=debug,info`) |
//! | AWARDS_LOG_FORMAT          | text                 | `text` or `json` |
//! | AWARDS_TIMEZONE            | Asia/Shanghai        | the zone the console shows times in |
//! | AWARDS_CONSOLE_SECURE_COOKIE | false              | mark console cookies `Secure` (behind HTTPS) |
//! | AWARDS_CONSOLE_IDLE_MINUTES | 30                  | a console session ends after this long idle |
//! | AWARDS_CONSOLE_SESSION_HOURS | 12                 | and this long after sign-in, whatever happens |

use std::fmt;

use clap::builder::TypedValueParser;
use clap::Args;
use secrecy::{ExposeSecret, SecretString};

use crate::db::DatabaseUrl;

#[derive(Debug, Clone, Args)]
pub struct DatabaseSettings {
    /// Database URL: sqlite://PATH or postgres://USER:PASS@HOST:PORT/DB.
    #[arg(long, env = "AWARDS_DATABASE_URL", default_value = "sqlite://awards.db", value_parser = DatabaseUrl::parse)]
    pub database_url: DatabaseUrl,

    /// Database connections in the pool.
    #[arg(long, env = "AWARDS_POOL_SIZE", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=512))]
    pub pool_size: u32,
}

#[derive(Debug, Clone, Args)]
pub struct HashSettings {
    /// argon2id memory cost in KiB.
    #[arg(long, env = "AWARDS_ARGON2_MEMORY_KIB", default_value_t = 19 * 1024)]
    pub argon2_memory_kib: u32,

    /// argon2id iterations.
    #[arg(long, env = "AWARDS_ARGON2_ITERATIONS", default_value_t = 2)]
    pub argon2_iterations: u32,

    /// argon2id parallelism.
    #[arg(long, env = "AWARDS_ARGON2_PARALLELISM", default_value_t = 1)]
    pub argon2_parallelism: u32,

    /// Password hashes computed at once (default: the number of cores).
    #[arg(long, env = "AWARDS_HASH_WORKERS", value_parser = clap::value_parser!(u16).range(1..=1024).map(usize::from))]
    pub hash_workers: Option<usize>,

    /// Hash requests that may wait for a worker; beyond that the answer is 503.
    #[arg(long, env = "AWARDS_HASH_QUEUE", default_value_t = 256)]
    pub hash_queue: usize,
}

#[derive(Clone, Args)]
pub struct VoteSettings {
    /// Votes one account may cast or withdraw per minute (then 429).
    #[arg(long, env = "AWARDS_VOTE_RATE_ACCOUNT", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..))]
    pub vote_rate_account: u32,

    /// Votes one client address may send per second (then 429). Whole branches
    /// may share an address behind NAT: keep it generous.
    #[arg(long, env = "AWARDS_VOTE_RATE_IP", default_value_t = 5000, value_parser = clap::value_parser!(u32).range(1..))]
    pub vote_rate_ip: u32,

    /// Take the client address from the last X-Forwarded-For entry, the one your proxy added (only behind such a proxy).
    #[arg(long, env = "AWARDS_TRUST_PROXY")]
    pub trust_proxy: bool,

    /// Votes waiting for the node's vote writer before the answer is 503.
    #[arg(long, env = "AWARDS_VOTE_QUEUE", default_value_t = 20_000)]
    pub vote_queue: usize,

    /// Most votes the vote writer commits in one transaction.
    #[arg(long, env = "AWARDS_VOTE_BATCH", default_value_t = 512, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub vote_batch: u64,

    /// PostgreSQL: vote writers per node, each with its own connection (one
    /// batch's round trips overlap another's). SQLite always has one writer.
    #[arg(long, env = "AWARDS_VOTE_WRITERS", default_value_t = 2, value_parser = clap::value_parser!(u64).range(1..=16))]
    pub vote_writers: u64,
}

#[derive(Clone, Args)]
pub struct Settings {
    #[command(flatten)]
    pub database: DatabaseSettings,

    #[command(flatten)]
    pub hashing: HashSettings,

    #[command(flatten)]
    pub votes: VoteSettings,

    /// Address to listen on.
    #[arg(long, env = "AWARDS_BIND", default_value = "127.0.0.1:8080")]
    pub bind: String,

    /// HS256 signing key for access tokens (at least 32 bytes).
    #[arg(long, env = "AWARDS_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<SecretString>,

    /// The signing key before the last rotation: its tokens stay valid until they expire.
    #[arg(long, env = "AWARDS_JWT_PREVIOUS_SECRET", hide_env_values = true)]
    pub jwt_previous_secret: Option<SecretString>,

    /// Development mode: a random JWT secret when none is set.
    #[arg(long)]
    pub dev: bool,

    /// Access-token lifetime in seconds.
    #[arg(long, env = "AWARDS_TOKEN_TTL", default_value_t = 3600, value_parser = clap::value_parser!(u64).range(60..=7 * 24 * 3600))]
    pub token_ttl: u64,

    /// HTTP worker threads (default: the number of cores).
    #[arg(long, env = "AWARDS_WORKERS", value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: Option<u16>,

    /// Seconds a node trusts its cached account state (roles, status, token version).
    #[arg(long, env = "AWARDS_AUTH_CACHE_TTL", default_value_t = 30)]
    pub auth_cache_ttl: u64,

    /// Largest JSON body in bytes.
    #[arg(long, env = "AWARDS_JSON_LIMIT", default_value_t = 64 * 1024)]
    pub json_limit: usize,

    /// Largest CSV upload in bytes.
    #[arg(long, env = "AWARDS_CSV_LIMIT", default_value_t = 32 * 1024 * 1024)]
    pub csv_limit: usize,

    #[command(flatten)]
    pub console: ConsoleSettings,
}

#[derive(Debug, Clone, Args)]
pub struct ConsoleSettings {
    /// The time zone pages show times in (an IANA name).
    #[arg(long, env = "AWARDS_TIMEZONE", default_value = "Asia/Shanghai", value_parser = parse_zone)]
    pub timezone: chrono_tz::Tz,

    /// Mark the console's cookies `Secure` (set it when served over HTTPS).
    #[arg(long, env = "AWARDS_CONSOLE_SECURE_COOKIE")]
    pub console_secure_cookie: bool,

    /// Minutes without a request after which a console session ends.
    #[arg(long, env = "AWARDS_CONSOLE_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=24 * 60))]
    pub console_idle_minutes: u64,

    /// Hours after sign-in after which a console session ends, whatever happens.
    #[arg(long, env = "AWARDS_CONSOLE_SESSION_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=7 * 24))]
    pub console_session_hours: u64,
}

/// How long a console session lives: `idle` without a request, `absolute`
/// after sign-in.
#[derive(Debug, Clone, Copy)]
pub struct SessionLifetimes {
    pub idle: std::time::Duration,
    pub absolute: std::time::Duration,
}

fn parse_zone(name: &str) -> Result<chrono_tz::Tz, String> {
    name.parse().map_err(|_| format!("{name:?} is not an IANA time zone (e.g. Asia/Shanghai)"))
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.database.database_url.redacted())
            .field("bind", &self.bind)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "***"))
            .field("jwt_previous_secret", &self.jwt_previous_secret.as_ref().map(|_| "***"))
            .field("dev", &self.dev)
            .field("token_ttl", &self.token_ttl)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The signing key: the configured one, or in `--dev` a random one.
    pub fn jwt_key(&self) -> anyhow::Result<SecretString> {
        match &self.jwt_secret {
            Some(secret) if secret.expose_secret().len() >= 32 => Ok(secret.clone()),
            Some(_) => anyhow::bail!("AWARDS_JWT_SECRET must be at least 32 bytes long"),
            None if self.dev => {
                use rand::Rng;
                let bytes: [u8; 32] = rand::thread_rng().gen();
                Ok(SecretString::from(hex::encode(bytes)))
            }
            None => anyhow::bail!(
                "AWARDS_JWT_SECRET is not set: set it to a random string of 32+ bytes, or run with --dev"
            ),
        }
    }

    /// The key before the last rotation, if one is set.
    pub fn previous_jwt_key(&self) -> anyhow::Result<Option<&SecretString>> {
        match &self.jwt_previous_secret {
            Some(secret) if secret.expose_secret().len() < 32 => {
                anyhow::bail!("AWARDS_JWT_PREVIOUS_SECRET must be at least 32 bytes long")
            }
            previous => Ok(previous.as_ref()),
        }
    }

    pub fn console_lifetimes(&self) -> SessionLifetimes {
        use std::time::Duration;
        SessionLifetimes {
            idle: Duration::from_secs(self.console.console_idle_minutes * 60),
            absolute: Duration::from_secs(self.console.console_session_hours * 3600),
        }
    }

    pub fn workers(&self) -> usize {
        self.workers.map(usize::from).unwrap_or_else(cores)
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2)
}
