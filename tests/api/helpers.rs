//! The test harness: the real app on a random port over a fresh database,
//! SQLite always and PostgreSQL when AWARDS_TEST_POSTGRES_URL is set.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use awards::config::{DatabaseSettings, HashSettings, Settings};
use awards::db::DatabaseUrl;
use awards::startup::Application;
use diesel::{Connection, RunQueryDsl};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

pub const JWT_SECRET: &str = "test-secret-test-secret-test-secret-0123";
pub const PASSWORD: &str = "correct horse battery";

/// Runs each named test function against SQLite and against PostgreSQL.
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
                if let Some(app) = $crate::helpers::TestApp::postgres().await {
                    super::$name(app).await
                }
            }
        }
    )* };
}

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

    pub fn postgres() -> Option<(TestDb, String)> {
        let server = std::env::var("AWARDS_TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())?;
        let server = server.trim_end_matches('/').to_owned();
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let name = format!(
            "awards_test_{}_{}_{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
            rand_suffix()
        );
        let mut admin = diesel::PgConnection::establish(&format!("{server}/postgres"))
            .expect("AWARDS_TEST_POSTGRES_URL is set but the server is unreachable");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let url = format!("{server}/{name}");
        Some((TestDb::Postgres { server, name }, url))
    }
}

/// An RFC 3339 timestamp this many minutes from now.
pub fn rfc3339(offset_minutes: i64) -> String {
    (chrono::Utc::now() + chrono::TimeDelta::minutes(offset_minutes)).to_rfc3339()
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

pub fn settings(url: &str) -> Settings {
    Settings {
        database: DatabaseSettings { database_url: DatabaseUrl::parse(url).expect("url"), pool_size: 8 },
        hashing: HashSettings {
            // Cheap hashes keep the suite fast; one test runs the real cost.
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            hash_workers: Some(2),
            hash_queue: 64,
        },
        votes: awards::config::VoteSettings {
            vote_rate_account: 600,
            vote_rate_ip: 100_000,
            trust_proxy: false,
            vote_queue: 10_000,
            vote_batch: 512,
            // As in production: on PostgreSQL two writers race each other.
            vote_writers: 2,
        },
        bind: "127.0.0.1:0".into(),
        jwt_secret: Some(JWT_SECRET.into()),
        jwt_previous_secret: None,
        dev: false,
        token_ttl: 3600,
        workers: Some(2),
        auth_cache_ttl: 30,
        json_limit: 64 * 1024,
        csv_limit: 32 * 1024 * 1024,
    }
}

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub admin_password: String,
    pub database_url: String,
    /// Stops the server as SIGTERM would (`stop(true)`: graceful); none when
    /// the app is a child process (`attach`).
    pub server: Option<actix_web::dev::ServerHandle>,
    admin_token: Option<String>,
    _db: TestDb,
}

pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    /// The problem's `code`, for error answers.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }
}

/// A second node of the service on the same database (no first admin: the
/// database has one); its address.
pub async fn another_node(database_url: &str, tweak: impl FnOnce(&mut Settings)) -> String {
    let mut settings = settings(database_url);
    tweak(&mut settings);
    let (app, _) = awards::startup::Application::build(settings).await.expect("node starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let (db, url) = TestDb::sqlite();
        Self::start(db, url, |_| {}).await
    }

    pub async fn postgres() -> Option<TestApp> {
        match TestDb::postgres() {
            Some((db, url)) => Some(Self::start(db, url, |_| {}).await),
            None => {
                eprintln!("AWARDS_TEST_POSTGRES_URL is not set: PostgreSQL half skipped");
                None
            }
        }
    }

    pub async fn start(db: TestDb, url: String, tweak: impl FnOnce(&mut Settings)) -> TestApp {
        let mut settings = settings(&url);
        tweak(&mut settings);
        let (app, first_admin) = Application::build(settings).await.expect("app starts");
        let address = format!("http://127.0.0.1:{}", app.port());
        let server = app.server();
        let handle = server.handle();
        tokio::spawn(server);
        let password = first_admin.expect("an empty database gets a first admin").password;
        let mut app = Self::attach(db, url, address, password).await;
        app.server = Some(handle);
        app
    }

    /// The app of a server running elsewhere (`awards serve` as a child
    /// process, see [`Server`]) on this test database, signed in as its admin.
    /// Point `address` at the new port when the server restarts.
    pub async fn attach(db: TestDb, url: String, address: String, admin_password: String) -> TestApp {
        let mut app = TestApp {
            address,
            server: None,
            client: reqwest::Client::new(),
            admin_password,
            database_url: url,
            admin_token: None,
            _db: db,
        };
        let token = app.login("admin", &app.admin_password.clone()).await;
        app.admin_token = Some(token);
        app
    }

    pub fn admin(&self) -> &str {
        self.admin_token.as_deref().expect("admin token")
    }

    pub async fn request(
        &self,
        method: Method,
        path: impl AsRef<str>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let mut req = self.client.request(method, format!("{}{}", self.address, path.as_ref()));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    pub async fn read(res: reqwest::Response) -> Response {
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.expect("body");
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if status.is_client_error() || status.is_server_error() {
            let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            assert_eq!(kind, "application/problem+json", "errors are problem+json: {status} {body}");
            assert!(
                status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE,
                "never a 5xx: {status} {body}"
            );
        }
        Response { status, headers, body }
    }

    pub async fn get(&self, path: impl AsRef<str>, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: impl AsRef<str>, token: &str, body: Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: impl AsRef<str>, token: &str, body: Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: impl AsRef<str>, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.address))
            .header("content-type", content_type)
            .body(body);
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        Self::read(req.send().await.expect("request sent")).await
    }

    pub async fn import_csv(&self, token: &str, csv: impl Into<reqwest::Body>) -> Response {
        self.raw(Method::POST, "/api/v1/imports/employees", Some(token), "text/csv", csv).await
    }

    pub async fn try_login(&self, employee_no: &str, password: &str) -> Response {
        self.request(
            Method::POST,
            "/api/v1/auth/login",
            None,
            Some(json!({"employee_no": employee_no, "password": password})),
        )
        .await
    }

    pub async fn login(&self, employee_no: &str, password: &str) -> String {
        let res = self.try_login(employee_no, password).await;
        assert_eq!(res.status, StatusCode::OK, "login {employee_no}: {}", res.body);
        res.body["access_token"].as_str().expect("token").to_owned()
    }

    /// Creates a member company and a branch; returns (member_company_id, branch_id).
    pub async fn org(&self, company_code: &str, branch_code: &str) -> (i64, i64) {
        let company = match self.get("/api/v1/member-companies?per_page=500", self.admin()).await.body
            ["items"]
            .as_array()
            .and_then(|items| items.iter().find(|c| c["code"] == company_code).cloned())
        {
            Some(c) => c,
            None => {
                let res = self
                    .post(
                        "/api/v1/member-companies",
                        self.admin(),
                        json!({"code": company_code, "name": format!("{company_code} 公司")}),
                    )
                    .await;
                assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
                res.body
            }
        };
        let company_id = company["id"].as_i64().expect("id");
        let res = self
            .post("/api/v1/branches", self.admin(), json!({"code": branch_code, "name": format!("{branch_code} 分行"), "member_company_id": company_id}))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        (company_id, res.body["id"].as_i64().expect("id"))
    }

    /// Creates and activates an account; returns (user id, token).
    pub async fn user(&self, employee_no: &str, branch_id: Option<i64>, roles: &[&str]) -> (i64, String) {
        let res = self
            .post("/api/v1/users", self.admin(), json!({"employee_no": employee_no, "name": format!("用户{employee_no}"), "branch_id": branch_id, "roles": roles}))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let id = res.body["id"].as_i64().expect("id");
        let code = res.body["activation_code"].as_str().expect("code").to_owned();
        let res = self.activate(employee_no, &code, PASSWORD).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        (id, res.body["access_token"].as_str().expect("token").to_owned())
    }

    pub async fn activate(&self, employee_no: &str, code: &str, password: &str) -> Response {
        self.request(
            Method::POST,
            "/api/v1/auth/activate",
            None,
            Some(json!({"employee_no": employee_no, "activation_code": code, "new_password": password})),
        )
        .await
    }

    /// A direct connection to the test database, for checks behind the API's back.
    pub fn connect(&self) -> awards::db::DbConn {
        DatabaseUrl::parse(&self.database_url).expect("url").connect().expect("connect")
    }

    /// An account of this branch that has not been activated; its id.
    pub async fn account(&self, employee_no: &str, branch_id: i64) -> i64 {
        let res = self
            .post("/api/v1/users", self.admin(), json!({"employee_no": employee_no, "name": format!("员工{employee_no}"), "branch_id": branch_id}))
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        res.body["id"].as_i64().expect("id")
    }

    /// A campaign open for nominations now (the window is an hour either
    /// side), with this quota per branch and winners target; its id.
    pub async fn open_campaign(&self, quota: i64, winners: i64) -> i64 {
        let res = self
            .post(
                "/api/v1/campaigns",
                self.admin(),
                json!({"name": "2026 最美消保人", "nomination_opens_at": rfc3339(-60), "nomination_closes_at": rfc3339(60),
                       "nominations_per_branch": quota, "winners_target": winners}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let id = res.body["id"].as_i64().expect("id");
        let moved = self
            .patch(format!("/api/v1/campaigns/{id}"), self.admin(), json!({"status": "nominating"}))
            .await;
        assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
        id
    }

    /// Nominates (as admin) and submits; the nomination's id.
    pub async fn nominate(&self, campaign: i64, nominee: i64, title: &str) -> i64 {
        let res = self
            .post(
                format!("/api/v1/campaigns/{campaign}/nominations"),
                self.admin(),
                json!({"nominee_id": nominee, "title": title, "summary": "耐心解答客户疑问。", "story": "她帮助一位老人识破了诈骗。"}),
            )
            .await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        let id = res.body["id"].as_i64().expect("id");
        let submitted = self.post(format!("/api/v1/nominations/{id}/submit"), self.admin(), json!({})).await;
        assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
        id
    }
}

/// The real binary with cheap password hashing, plain logs, and no secret
/// inherited from the environment.
pub fn awards_command() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_awards"));
    command
        .env("AWARDS_ARGON2_MEMORY_KIB", "1024")
        .env("AWARDS_ARGON2_ITERATIONS", "1")
        .env("NO_COLOR", "1")
        .env_remove("AWARDS_JWT_SECRET")
        .env_remove("AWARDS_ADMIN_PASSWORD");
    command
}

/// Collects what a pipe carries until it closes.
fn drain(pipe: impl Read + Send + 'static, into: Arc<Mutex<String>>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = vec![];
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            into.lock().unwrap().push_str(&String::from_utf8_lossy(&line));
            line.clear();
        }
    })
}

/// `awards serve` as a child process, its output captured in full.
pub struct Server {
    child: Child,
    pub address: String,
    stdout: Arc<Mutex<String>>,
    stderr: Arc<Mutex<String>>,
    drains: Vec<std::thread::JoinHandle<()>>,
}

impl Server {
    /// Starts `awards serve` on a free port (2 workers, 4 connections) with
    /// this signing key and waits until it listens. Logs are warnings and the
    /// start-up lines unless `configure` (which may set anything) says more.
    pub fn start(url: &str, jwt_secret: &str, configure: impl FnOnce(&mut Command)) -> Server {
        let mut command = awards_command();
        command
            .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2", "--pool-size", "4"])
            .env("AWARDS_DATABASE_URL", url)
            .env("AWARDS_JWT_SECRET", jwt_secret)
            .env("AWARDS_LOG", "warn,awards::cli=info");
        configure(&mut command);
        let mut child =
            command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("awards serve starts");
        let (stdout, stderr) = (Arc::new(Mutex::new(String::new())), Arc::new(Mutex::new(String::new())));
        let drains = vec![
            drain(child.stdout.take().unwrap(), stdout.clone()),
            drain(child.stderr.take().unwrap(), stderr.clone()),
        ];
        let started = Instant::now();
        let port = loop {
            let log = stderr.lock().unwrap().clone();
            let listening = log.lines().find(|l| l.contains("listening") && l.contains("port"));
            // `port=N` in text, `"port":N` in JSON.
            if let Some(port) = listening.and_then(|l| {
                let digits = l.split("port").last()?.trim_start_matches(['=', '"', ':', ' ']);
                digits.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u16>().ok()
            }) {
                break port;
            }
            assert!(child.try_wait().unwrap().is_none(), "awards serve exited: {log}");
            assert!(started.elapsed() < Duration::from_secs(60), "awards serve did not start: {log}");
            std::thread::sleep(Duration::from_millis(20));
        };
        Server { child, address: format!("http://127.0.0.1:{port}"), stdout, stderr, drains }
    }

    /// The first admin's password, printed when it started on an empty
    /// database (stdout is read on a thread of its own, so it may lag the log).
    pub fn first_admin_password(&self) -> String {
        let started = Instant::now();
        loop {
            let printed = self.stdout.lock().unwrap().clone();
            let password = printed
                .lines()
                .find(|l| l.trim_start().starts_with("password:"))
                .and_then(|l| l.split_whitespace().last())
                .map(str::to_owned);
            if let Some(password) = password {
                return password;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "no first admin password printed: {printed}"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Stops it as an operator would (SIGTERM) and returns (stdout, stderr).
    pub fn stop(mut self) -> (String, String) {
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let started = Instant::now();
        while self.child.try_wait().unwrap().is_none() {
            if started.elapsed() > Duration::from_secs(20) {
                let _ = self.child.kill();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        self.output()
    }

    /// Kills it with SIGKILL, as a crash would: nothing gets to finish.
    /// Returns (stdout, stderr).
    pub fn kill(mut self) -> (String, String) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the killed server is reaped");
        self.output()
    }

    fn output(&mut self) -> (String, String) {
        for drain in self.drains.drain(..) {
            drain.join().unwrap();
        }
        let stdout = self.stdout.lock().unwrap().clone();
        let stderr = self.stderr.lock().unwrap().clone();
        (stdout, stderr)
    }
}

impl Drop for Server {
    /// A test that fails leaves no server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
