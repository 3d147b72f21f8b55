//! The service in-process over a test database ([`TestApp`]), and the one
//! HTTP client the tests call it with ([`Client`]), with a helper for each
//! endpoint that several tests call.

use std::ops::{Deref, DerefMut};
use std::time::Duration;

use awards::config::{DatabaseSettings, HashSettings, Settings};
use awards::db::DatabaseUrl;
use awards::startup::Application;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::{rfc3339, TestDb, JWT_SECRET, PASSWORD};

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
        console: awards::config::ConsoleSettings {
            timezone: chrono_tz::Asia::Shanghai,
            console_secure_cookie: false,
            console_idle_minutes: 30,
            console_session_hours: 12,
        },
    }
}

/// A second node of the service on the same database (no first admin: the
/// database has one); its address.
pub async fn another_node(database_url: &str, tweak: impl FnOnce(&mut Settings)) -> String {
    let mut settings = settings(database_url);
    tweak(&mut settings);
    let (app, _) = Application::build(settings).await.expect("node starts");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped());
    address
}

/// The one HTTP client of the tests: a connection pool and the node it
/// calls. Clone it to call from another task; [`Client::at`] calls another
/// node. No redirect is followed: every status is the service's own.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    pub address: String,
}

/// An answer, read whole.
pub struct Response {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    /// The body as JSON; a body that is not JSON as a string; none as null.
    pub body: Value,
    pub bytes: Vec<u8>,
}

impl Response {
    /// The problem's `code`, for error answers.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.bytes).into_owned()
    }

    /// Asserts the status, showing the body when it is another.
    #[track_caller]
    pub fn expect(self, status: StatusCode) -> Response {
        assert_eq!(self.status, status, "{}", self.body);
        self
    }

    #[track_caller]
    pub fn ok(self) -> Response {
        self.expect(StatusCode::OK)
    }

    #[track_caller]
    pub fn created(self) -> Response {
        self.expect(StatusCode::CREATED)
    }

    /// The `items` of a list answer.
    #[track_caller]
    pub fn items(&self) -> &[Value] {
        self.body["items"].as_array().unwrap_or_else(|| panic!("items in {}", self.body))
    }

    /// This field of every item of a list answer, as integers.
    #[track_caller]
    pub fn ints(&self, field: &str) -> Vec<i64> {
        self.items()
            .iter()
            .map(|item| item[field].as_i64().unwrap_or_else(|| panic!("{field} in {item}")))
            .collect()
    }

    /// This field of every item of a list answer, as strings.
    #[track_caller]
    pub fn strs(&self, field: &str) -> Vec<&str> {
        self.items()
            .iter()
            .map(|item| item[field].as_str().unwrap_or_else(|| panic!("{field} in {item}")))
            .collect()
    }

    /// The `id` of what the answer shows.
    #[track_caller]
    pub fn id(&self) -> i64 {
        self.body["id"].as_i64().unwrap_or_else(|| panic!("an id in {}", self.body))
    }
}

/// A call that has not been answered.
#[derive(Debug)]
pub struct Unanswered {
    pub error: reqwest::Error,
    /// The answer's status and headers arrived, its body did not.
    pub head_arrived: bool,
}

/// One request, built up and then sent.
pub struct Call {
    request: reqwest::RequestBuilder,
    checked: bool,
}

impl Call {
    pub fn token(self, token: &str) -> Call {
        Call { request: self.request.bearer_auth(token), ..self }
    }

    pub fn maybe_token(self, token: Option<&str>) -> Call {
        match token {
            Some(token) => self.token(token),
            None => self,
        }
    }

    pub fn json(self, body: &Value) -> Call {
        Call { request: self.request.json(body), ..self }
    }

    /// A body of this content type.
    pub fn body(self, content_type: &str, body: impl Into<reqwest::Body>) -> Call {
        Call { request: self.request.header("content-type", content_type).body(body), ..self }
    }

    pub fn header(self, name: &str, value: &str) -> Call {
        Call { request: self.request.header(name, value), ..self }
    }

    pub fn timeout(self, timeout: Duration) -> Call {
        Call { request: self.request.timeout(timeout), ..self }
    }

    /// Takes the answer as it comes. Otherwise every error answer is checked
    /// to be application/problem+json, and none a 5xx but 503.
    pub fn unchecked(self) -> Call {
        Call { checked: false, ..self }
    }

    #[track_caller]
    pub fn send(self) -> impl std::future::Future<Output = Response> {
        let caller = std::panic::Location::caller();
        async move {
            match self.try_send().await {
                Ok(res) => res,
                Err(e) => panic!("{caller}: no answer: {}", e.error),
            }
        }
    }

    pub async fn try_send(self) -> Result<Response, Unanswered> {
        let res = self.request.send().await.map_err(|error| Unanswered { error, head_arrived: false })?;
        let status = res.status();
        let headers = res.headers().clone();
        let bytes = res.bytes().await.map_err(|error| Unanswered { error, head_arrived: true })?.to_vec();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        if self.checked && (status.is_client_error() || status.is_server_error()) {
            let kind = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
            assert_eq!(kind, "application/problem+json", "errors are problem+json: {status} {body}");
            assert!(
                status.is_client_error() || status == StatusCode::SERVICE_UNAVAILABLE,
                "never a 5xx: {status} {body}"
            );
        }
        Ok(Response { status, headers, body, bytes })
    }
}

impl Client {
    pub fn new(address: impl Into<String>) -> Client {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client");
        Client { http, address: address.into() }
    }

    /// The same client calling another node.
    pub fn at(&self, address: impl Into<String>) -> Client {
        Client { http: self.http.clone(), address: address.into() }
    }

    pub fn call(&self, method: Method, path: impl AsRef<str>) -> Call {
        let request = self.http.request(method, format!("{}{}", self.address, path.as_ref()));
        Call { request, checked: true }
    }

    pub async fn request(
        &self,
        method: Method,
        path: impl AsRef<str>,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Response {
        let call = self.call(method, path).maybe_token(token);
        match body {
            Some(body) => call.json(&body).send().await,
            None => call.send().await,
        }
    }

    pub async fn get(&self, path: impl AsRef<str>, token: &str) -> Response {
        self.call(Method::GET, path).token(token).send().await
    }

    pub async fn post(&self, path: impl AsRef<str>, token: &str, body: Value) -> Response {
        self.call(Method::POST, path).token(token).json(&body).send().await
    }

    pub async fn patch(&self, path: impl AsRef<str>, token: &str, body: Value) -> Response {
        self.call(Method::PATCH, path).token(token).json(&body).send().await
    }

    pub async fn delete(&self, path: impl AsRef<str>, token: &str) -> Response {
        self.call(Method::DELETE, path).token(token).send().await
    }

    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: &str,
        body: impl Into<reqwest::Body>,
    ) -> Response {
        self.call(method, path).maybe_token(token).body(content_type, body).send().await
    }

    pub async fn import_csv(&self, token: &str, csv: impl Into<reqwest::Body>) -> Response {
        self.raw(Method::POST, "/api/v1/imports/employees", Some(token), "text/csv", csv).await
    }

    pub async fn try_login(&self, employee_no: &str, password: &str) -> Response {
        let body = json!({"employee_no": employee_no, "password": password});
        self.request(Method::POST, "/api/v1/auth/login", None, Some(body)).await
    }

    pub async fn login(&self, employee_no: &str, password: &str) -> String {
        let res = self.try_login(employee_no, password).await;
        assert_eq!(res.status, StatusCode::OK, "login {employee_no}: {}", res.body);
        res.body["access_token"].as_str().expect("token").to_owned()
    }

    pub async fn activate(&self, employee_no: &str, code: &str, password: &str) -> Response {
        let body = json!({"employee_no": employee_no, "activation_code": code, "new_password": password});
        self.request(Method::POST, "/api/v1/auth/activate", None, Some(body)).await
    }

    pub async fn change_password(&self, token: &str, current: &str, new: &str) -> Response {
        let body = json!({"current_password": current, "new_password": new});
        self.post("/api/v1/auth/password", token, body).await
    }

    /// POST /rounds/{round}/votes, with this Idempotency-Key if any.
    pub async fn cast_vote(&self, round: i64, token: &str, nomination: i64, key: Option<&str>) -> Response {
        let call = self.vote_call(round, token, nomination);
        match key {
            Some(key) => call.header("Idempotency-Key", key).send().await,
            None => call.send().await,
        }
    }

    /// A vote, not yet sent.
    pub fn vote_call(&self, round: i64, token: &str, nomination: i64) -> Call {
        self.call(Method::POST, format!("/api/v1/rounds/{round}/votes"))
            .token(token)
            .json(&json!({"nomination_id": nomination}))
    }

    pub async fn withdraw_vote(&self, round: i64, token: &str, nomination: i64) -> Response {
        self.delete(format!("/api/v1/rounds/{round}/votes/{nomination}"), token).await
    }

    /// PUT /rounds/{round}/entries/{nomination}/review, not yet sent.
    pub fn review_call(&self, round: i64, nomination: i64, token: &str, body: &Value) -> Call {
        self.call(Method::PUT, format!("/api/v1/rounds/{round}/entries/{nomination}/review"))
            .token(token)
            .json(body)
    }

    pub async fn review(&self, round: i64, nomination: i64, token: &str, body: Value) -> Response {
        self.review_call(round, nomination, token, &body).send().await
    }

    /// A reviewer's own assignments in a round (all of them).
    pub async fn my_assignments(&self, round: i64, token: &str) -> Response {
        self.get(format!("/api/v1/rounds/{round}/assignments/mine?per_page=500"), token).await
    }

    pub async fn ballot(&self, round: i64, token: &str, query: &str) -> Response {
        self.get(format!("/api/v1/rounds/{round}/ballot{query}"), token).await
    }
}

/// The service on a test database, signed in as its first admin. It is a
/// [`Client`] of its service (`app.get(…)`, `app.address`).
pub struct TestApp {
    pub client: Client,
    pub admin_password: String,
    pub database_url: String,
    /// Stops the server as SIGTERM would (`stop(true)`: graceful); none when
    /// the app is a child process (`attach`).
    pub server: Option<actix_web::dev::ServerHandle>,
    admin_token: Option<String>,
    _db: TestDb,
}

impl Deref for TestApp {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl DerefMut for TestApp {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.client
    }
}

impl TestApp {
    pub async fn sqlite() -> TestApp {
        let (db, url) = TestDb::sqlite();
        Self::start(db, url, |_| {}).await
    }

    /// Fails the test without a PostgreSQL server (see `helpers::db`).
    pub async fn postgres() -> TestApp {
        let (db, url) = TestDb::postgres();
        Self::start(db, url, |_| {}).await
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
    /// process, see `Server`) on this test database, signed in as its admin.
    /// Point `address` at the new port when the server restarts.
    pub async fn attach(db: TestDb, url: String, address: String, admin_password: String) -> TestApp {
        let mut app = TestApp {
            client: Client::new(address),
            server: None,
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

    /// A direct connection to the test database, for checks behind the API's back.
    pub fn connect(&self) -> awards::db::DbConn {
        DatabaseUrl::parse(&self.database_url).expect("url").connect().expect("connect")
    }

    /// Creates a member company (unless it exists) and a branch; returns
    /// (member_company_id, branch_id).
    pub async fn org(&self, company_code: &str, branch_code: &str) -> (i64, i64) {
        let companies = self.get("/api/v1/member-companies?per_page=500", self.admin()).await;
        let existing = companies.body["items"]
            .as_array()
            .and_then(|items| items.iter().find(|c| c["code"] == company_code).cloned());
        let company_id = match existing {
            Some(company) => company["id"].as_i64().expect("id"),
            None => self
                .create_member_company(json!({"code": company_code, "name": format!("{company_code} 公司")}))
                .await
                .created()
                .id(),
        };
        let branch = json!({"code": branch_code, "name": format!("{branch_code} 分行"), "member_company_id": company_id});
        (company_id, self.create_branch(branch).await.created().id())
    }

    /// Creates and activates an account; returns (user id, token).
    pub async fn user(&self, employee_no: &str, branch_id: Option<i64>, roles: &[&str]) -> (i64, String) {
        let res = self
            .create_user(json!({"employee_no": employee_no, "name": format!("用户{employee_no}"), "branch_id": branch_id, "roles": roles}))
            .await
            .created();
        let code = res.body["activation_code"].as_str().expect("code").to_owned();
        let activated = self.activate(employee_no, &code, PASSWORD).await.ok();
        (res.id(), activated.body["access_token"].as_str().expect("token").to_owned())
    }

    /// An account of this branch that has not been activated; its id.
    pub async fn account(&self, employee_no: &str, branch_id: i64) -> i64 {
        self.post(
            "/api/v1/users",
            self.admin(),
            json!({"employee_no": employee_no, "name": format!("员工{employee_no}"), "branch_id": branch_id}),
        )
        .await
        .created()
        .id()
    }

    /// POST /users as admin: creates an account (not activated).
    pub async fn create_user(&self, body: Value) -> Response {
        self.post("/api/v1/users", self.admin(), body).await
    }

    pub async fn create_member_company(&self, body: Value) -> Response {
        self.post("/api/v1/member-companies", self.admin(), body).await
    }

    pub async fn create_branch(&self, body: Value) -> Response {
        self.post("/api/v1/branches", self.admin(), body).await
    }

    pub async fn create_campaign(&self, body: Value) -> Response {
        self.post("/api/v1/campaigns", self.admin(), body).await
    }

    pub async fn patch_campaign(&self, campaign: i64, body: Value) -> Response {
        self.patch(format!("/api/v1/campaigns/{campaign}"), self.admin(), body).await
    }

    /// Moves a campaign to this status.
    pub async fn move_campaign(&self, campaign: i64, status: &str) -> Response {
        self.patch_campaign(campaign, json!({"status": status})).await
    }

    pub async fn to_screening(&self, campaign: i64) {
        self.move_campaign(campaign, "screening").await.ok();
    }

    /// A campaign open for nominations now (the window is an hour either
    /// side), with this quota per branch and winners target; its id.
    pub async fn open_campaign(&self, quota: i64, winners: i64) -> i64 {
        let id = self
            .create_campaign(json!({"name": "2026 最美消保人", "nomination_opens_at": rfc3339(-60), "nomination_closes_at": rfc3339(60),
                                    "nominations_per_branch": quota, "winners_target": winners}))
            .await
            .created()
            .id();
        self.move_campaign(id, "nominating").await.ok();
        id
    }

    pub async fn create_nomination(&self, token: &str, campaign: i64, body: Value) -> Response {
        self.post(format!("/api/v1/campaigns/{campaign}/nominations"), token, body).await
    }

    pub async fn submit_nomination(&self, token: &str, nomination: i64) -> Response {
        self.post(format!("/api/v1/nominations/{nomination}/submit"), token, json!({})).await
    }

    pub async fn withdraw_nomination(&self, token: &str, nomination: i64) -> Response {
        self.post(format!("/api/v1/nominations/{nomination}/withdraw"), token, json!({})).await
    }

    /// Rules a nomination out, as admin.
    pub async fn rule_out(&self, nomination: i64, reason: &str) -> Response {
        self.post(
            format!("/api/v1/nominations/{nomination}/ineligible"),
            self.admin(),
            json!({"reason": reason}),
        )
        .await
    }

    /// Nominates (as admin) and submits; the nomination's id.
    pub async fn nominate(&self, campaign: i64, nominee: i64, title: &str) -> i64 {
        let body = json!({"nominee_id": nominee, "title": title, "summary": "耐心解答客户疑问。", "story": "她帮助一位老人识破了诈骗。"});
        let id = self.create_nomination(self.admin(), campaign, body).await.created().id();
        self.submit_nomination(self.admin(), id).await.ok();
        id
    }

    /// Creates a round (it must be created); the round.
    pub async fn create_round(&self, campaign: i64, body: Value) -> Value {
        self.post(format!("/api/v1/campaigns/{campaign}/rounds"), self.admin(), body).await.created().body
    }

    pub async fn open_round(&self, round: i64) -> Response {
        self.post(format!("/api/v1/rounds/{round}/open"), self.admin(), json!({})).await
    }

    pub async fn close_round(&self, round: i64) -> Response {
        self.post(format!("/api/v1/rounds/{round}/close"), self.admin(), json!({})).await
    }

    pub async fn close_round_allowing_missing_reviews(&self, round: i64) -> Response {
        let body = json!({"allow_missing_reviews": true});
        self.post(format!("/api/v1/rounds/{round}/close"), self.admin(), body).await
    }

    /// Sets a round's panel of reviewers.
    pub async fn set_panel(&self, round: i64, reviewers: &[i64]) -> Response {
        self.post(format!("/api/v1/rounds/{round}/reviewers"), self.admin(), json!({"user_ids": reviewers}))
            .await
    }

    /// Assigns (or tops up) a round's reviews, with this seed if any.
    pub async fn assign(&self, round: i64, seed: Option<u64>) -> Response {
        let body = seed.map_or(json!({}), |seed| json!({"seed": seed}));
        self.post(format!("/api/v1/rounds/{round}/assignments"), self.admin(), body).await
    }

    /// A round's results (all of them), as admin.
    pub async fn results(&self, round: i64) -> Response {
        self.get(format!("/api/v1/rounds/{round}/results?per_page=500"), self.admin()).await
    }

    pub async fn recount(&self, round: i64) -> Response {
        self.get(format!("/api/v1/rounds/{round}/recount"), self.admin()).await
    }

    pub async fn progress(&self, round: i64) -> Response {
        self.get(format!("/api/v1/rounds/{round}/progress"), self.admin()).await
    }

    /// GET /audit/verify, as admin: its answer.
    pub async fn verify_audit(&self) -> Value {
        self.get("/api/v1/audit/verify", self.admin()).await.ok().body
    }
}
