//! No secret or password hash in logs, responses or exports (issue 7). The
//! real binary runs with every log line on (trace, text and JSON), is driven
//! through every flow that handles a secret, and then everything it printed,
//! everything it answered and everything the CLI printed is searched for the
//! passwords used, the stored hashes, the JWT secret, the activation codes
//! (outside the one answer that shows each by design) and the access tokens
//! (outside the answers that issue them).

use std::collections::BTreeSet;
use std::process::Command;

use awards::db::schema::users;
use awards::db::{DatabaseUrl, DbConn};
use diesel::prelude::*;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::app::Call;
use crate::helpers::server::{awards_command, run};
use crate::helpers::{rfc3339, Client, Server, TestDb};

const JWT_SECRET: &str = "leak-test-jwt-secret-7f3a9c1e5b2d4f6a8c0e";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_leaks_on_sqlite() {
    for format in ["text", "json"] {
        let (_db, url) = TestDb::sqlite();
        no_secret_leaks(&url, format, None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_leaks_on_postgres() {
    for format in ["text", "json"] {
        let (_db, url) = TestDb::postgres();
        let (url, password) = with_password(&url);
        no_secret_leaks(&url, format, password).await;
    }
}

/// The URL with a made-up password, where the server ignores passwords
/// (trust), so that the logs are searched for one; else the URL as it is.
fn with_password(url: &str) -> (String, Option<&'static str>) {
    const PASSWORD: &str = "leak-test-db-password-5e1b";
    let made_up = match url.strip_prefix("postgres://").and_then(|rest| rest.split_once('@')) {
        Some((user, host)) if !user.contains(':') => format!("postgres://{user}:{PASSWORD}@{host}"),
        _ => return (url.to_owned(), None),
    };
    match DatabaseUrl::parse(&made_up).unwrap().connect() {
        Ok(_) => (made_up, Some(PASSWORD)),
        Err(_) => (url.to_owned(), None),
    }
}

/// The binary with every log line on.
fn awards() -> Command {
    let mut command = awards_command();
    command.env("AWARDS_LOG", "trace");
    command
}

/// Where an activation code was shown by design: one answer, or the CLI's codes file.
#[derive(Clone, Copy, PartialEq)]
enum Shown {
    Answer(usize),
    CodesFile,
}

/// Drives the server and keeps every answer, and every hash the database has
/// held meanwhile.
struct Session {
    client: Client,
    conn: DbConn,
    /// ("METHOD path → status", headers and body)
    answers: Vec<(String, String)>,
    hashes: BTreeSet<String>,
    passwords: Vec<String>,
    codes: Vec<(String, Shown)>,
    tokens: BTreeSet<String>,
}

impl Session {
    fn new(address: String, url: &str) -> Session {
        Session {
            client: Client::new(address),
            conn: DatabaseUrl::parse(url).unwrap().connect().expect("connect"),
            answers: vec![],
            hashes: BTreeSet::new(),
            passwords: vec![],
            codes: vec![],
            tokens: BTreeSet::new(),
        }
    }

    /// Every password and code hash stored right now.
    fn read_hashes(&mut self) {
        let stored: Vec<(Option<String>, Option<String>)> = users::table
            .select((users::password_hash, users::activation_code_hash))
            .load(&mut self.conn)
            .expect("read hashes");
        self.hashes.extend(stored.into_iter().flat_map(|(p, c)| [p, c]).flatten());
    }

    async fn send(&mut self, call: Call, what: String, expect: u16) -> Value {
        let res = call.unchecked().send().await;
        let status = res.status.as_u16();
        let headers: String =
            res.headers.iter().map(|(k, v)| format!("{k}: {}\n", v.to_str().unwrap_or(""))).collect();
        let body = res.text();
        assert_eq!(status, expect, "{what}: {body}");
        self.answers.push((format!("{what} → {status}"), format!("{headers}\n{body}")));
        self.read_hashes();
        let value: Value = serde_json::from_str(&body).unwrap_or(Value::String(body));
        if let Some(token) = value["access_token"].as_str() {
            self.tokens.insert(token.to_owned());
        }
        value
    }

    async fn call(
        &mut self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        expect: u16,
    ) -> Value {
        let call = self.client.call(method.clone(), path).maybe_token(token);
        let call = match body {
            Some(body) => call.json(&body),
            None => call,
        };
        self.send(call, format!("{method} {path}"), expect).await
    }

    async fn login(&mut self, employee_no: &str, password: &str, expect: u16) -> String {
        let body = json!({"employee_no": employee_no, "password": password});
        let res = self.call(Method::POST, "/api/v1/auth/login", None, Some(body), expect).await;
        res["access_token"].as_str().unwrap_or_default().to_owned()
    }

    async fn activate(&mut self, employee_no: &str, code: &str, password: &str, expect: u16) -> String {
        let body = json!({"employee_no": employee_no, "activation_code": code, "new_password": password});
        let res = self.call(Method::POST, "/api/v1/auth/activate", None, Some(body), expect).await;
        res["access_token"].as_str().unwrap_or_default().to_owned()
    }

    /// A password (or code) this test types in, right or wrong.
    fn password(&mut self, password: &str) -> String {
        self.passwords.push(password.to_owned());
        password.to_owned()
    }

    /// Notes the activation code the last answer showed.
    fn code_shown(&mut self, code: &Value) -> String {
        let code = code.as_str().expect("an activation code").to_owned();
        self.codes.push((code.clone(), Shown::Answer(self.answers.len() - 1)));
        code
    }
}

/// Runs a CLI command to completion; (stdout, stderr).
fn cli(args: &[&str], url: &str, stdin: &str) -> (String, String) {
    let out = run(awards().args(args).env("AWARDS_DATABASE_URL", url), stdin);
    assert!(out.success(), "awards {args:?}: {}", out.stderr);
    (out.stdout, out.stderr)
}

async fn no_secret_leaks(url: &str, format: &str, database_password: Option<&str>) {
    let server = Server::start(url, JWT_SECRET, |serve| {
        serve.env("AWARDS_LOG", "trace").env("AWARDS_LOG_FORMAT", format);
    });
    let mut s = Session::new(server.address.clone(), url);
    let first = server.first_admin_password();
    s.passwords.push(first.clone());
    s.passwords.extend(database_password.map(str::to_owned));
    use Method as M;

    // The first admin signs in, fails twice, and changes the password.
    let admin = s.login("admin", &first, 200).await;
    let wrong = s.password("wrong-password-one");
    s.login("admin", &wrong, 401).await;
    let unknown = s.password("nobody-has-this-password");
    s.login("NOBODY", &unknown, 401).await;
    // Clients that send a numeric password or code as a JSON number: the
    // type error must not repeat it.
    s.password("13812345678");
    s.password("4711471147114711");
    let body = json!({"employee_no": "admin", "password": 13812345678_u64});
    s.call(M::POST, "/api/v1/auth/login", None, Some(body), 422).await;
    let body = json!({"employee_no": "admin", "activation_code": 4711471147114711_u64, "new_password": "x"});
    s.call(M::POST, "/api/v1/auth/activate", None, Some(body), 422).await;
    let body = json!({"current_password": 13812345678_u64, "new_password": "long enough password"});
    s.call(M::POST, "/api/v1/auth/password", Some(&admin), Some(body), 422).await;
    let admin_password = s.password("管理员的新密码-2026-xyz");
    let body = json!({"current_password": first, "new_password": admin_password});
    let admin = s.call(M::POST, "/api/v1/auth/password", Some(&admin), Some(body), 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let company = s
        .call(
            M::POST,
            "/api/v1/member-companies",
            Some(&admin),
            Some(json!({"code": "PA", "name": "平安"})),
            201,
        )
        .await;
    let body = json!({"code": "B01", "name": "分行", "member_company_id": company["id"]});
    let branch =
        s.call(M::POST, "/api/v1/branches", Some(&admin), Some(body), 201).await["id"].as_i64().unwrap();

    // A new account: its code is shown once; a wrong code, the right one, the used one again.
    let body = json!({"employee_no": "M1", "name": "王经理", "branch_id": branch, "roles": ["manager"]});
    let created = s.call(M::POST, "/api/v1/users", Some(&admin), Some(body), 201).await;
    let manager_id = created["id"].as_i64().unwrap();
    let code = s.code_shown(&created["activation_code"]);
    let first_manager_password = s.password("manager-first-password");
    s.activate("M1", "AAAAAAAAAAAAAAAA", &first_manager_password, 401).await;
    let manager = s.activate("M1", &code, &first_manager_password, 200).await;
    let reuse = s.password("manager-reuse-password");
    s.activate("M1", &code, &reuse, 401).await;
    // A wrong current password, then a real change.
    let not_current = s.password("not-the-current-password");
    let manager_password = s.password("manager-second-password");
    let body = json!({"current_password": not_current, "new_password": manager_password});
    s.call(M::POST, "/api/v1/auth/password", Some(&manager), Some(body), 422).await;
    let body = json!({"current_password": first_manager_password, "new_password": manager_password});
    s.call(M::POST, "/api/v1/auth/password", Some(&manager), Some(body), 200).await;
    // Forgotten: a new code, and activation with it.
    let reset = s
        .call(M::POST, &format!("/api/v1/users/{manager_id}/activation-code"), Some(&admin), None, 200)
        .await;
    let code = s.code_shown(&reset["activation_code"]);
    let manager_password = s.password("manager-third-password");
    let manager = s.activate("M1", &code, &manager_password, 200).await;

    // The import through the API: codes for new accounts in the answer.
    let csv = "employee_no,name,branch_code,roles\nE1,张三,B01,\nE2,李四,B01,\nR1,评审,B01,reviewer\n";
    let call = s.client.call(M::POST, "/api/v1/imports/employees").token(&admin).body("text/csv", csv);
    let imported = s.send(call, "POST /api/v1/imports/employees".into(), 200).await;
    for shown in imported["activation_codes"].as_array().unwrap() {
        s.code_shown(&shown["code"]);
    }
    let code_of = |no: &str| {
        imported["activation_codes"].as_array().unwrap().iter().find(|c| c["employee_no"] == no).unwrap()
            ["code"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let employee_password = s.password("employee-one-password");
    let employee = s.activate("E1", &code_of("E1"), &employee_password, 200).await;
    let reviewer_password = s.password("reviewer-one-password");
    let reviewer = s.activate("R1", &code_of("R1"), &reviewer_password, 200).await;

    // The CLI: an admin with the password on standard input, and an import
    // whose codes go to a file.
    let cli_password = s.password("cli-admin-password-42");
    let mut cli_output = vec![cli(
        &["create-admin", "--employee-no", "boss", "--name", "老板"],
        url,
        &format!("{cli_password}\n"),
    )];
    s.login("boss", &cli_password, 200).await;
    let dir = tempfile::tempdir().unwrap();
    let (people, codes_file) = (dir.path().join("people.csv"), dir.path().join("codes.csv"));
    std::fs::write(&people, "employee_no,name,branch_code\nC1,王五,B01\nC2,赵六,B01\n").unwrap();
    cli_output.push(cli(
        &["import-employees", people.to_str().unwrap(), "--codes-out", codes_file.to_str().unwrap()],
        url,
        "",
    ));
    let file_codes: Vec<(String, String)> = std::fs::read_to_string(&codes_file)
        .unwrap()
        .lines()
        .skip(1)
        .map(|l| l.split_once(',').map(|(no, code)| (no.to_owned(), code.to_owned())).unwrap())
        .collect();
    assert_eq!(file_codes.len(), 2);
    s.codes.extend(file_codes.iter().map(|(_, code)| (code.clone(), Shown::CodesFile)));
    let imported_password = s.password("cli-imported-password");
    s.activate("C1", &file_codes[0].1, &imported_password, 200).await;

    // Listings and the audit log.
    s.call(M::GET, "/api/v1/users?per_page=500", Some(&admin), None, 200).await;
    s.call(M::GET, &format!("/api/v1/users/{manager_id}"), Some(&admin), None, 200).await;
    s.call(M::GET, "/api/v1/users?q=M1", Some(&admin), None, 200).await;
    s.call(M::GET, "/api/v1/me", Some(&manager), None, 200).await;
    s.call(M::GET, "/api/v1/me", Some(&employee), None, 200).await;
    s.call(M::GET, "/api/v1/audit?per_page=500", Some(&admin), None, 200).await;

    // A campaign through one review round, for exports with rows in them.
    let body = json!({"name": "2026", "nomination_opens_at": rfc3339(-60), "nomination_closes_at": rfc3339(60), "nominations_per_branch": 5, "winners_target": 1});
    let campaign =
        s.call(M::POST, "/api/v1/campaigns", Some(&admin), Some(body), 201).await["id"].as_i64().unwrap();
    let path = format!("/api/v1/campaigns/{campaign}");
    s.call(M::PATCH, &path, Some(&admin), Some(json!({"status": "nominating"})), 200).await;
    let employee_id = s.call(M::GET, "/api/v1/me", Some(&employee), None, 200).await["id"].as_i64().unwrap();
    let body = json!({"nominee_id": employee_id, "title": "守护老人钱袋子", "summary": "识破诈骗。", "story": "她坚持了三个小时。"});
    let nomination = s.call(M::POST, &format!("{path}/nominations"), Some(&manager), Some(body), 201).await
        ["id"]
        .as_i64()
        .unwrap();
    s.call(M::POST, &format!("/api/v1/nominations/{nomination}/submit"), Some(&manager), None, 200).await;
    let body = json!({"name": "终评", "reviews_per_entry": 1, "conflict_scope": "member_company",
                      "criteria": [{"name": "事迹", "weight": 1, "max_score": 10}], "advance": {"rule": "top_n", "n": 1}});
    let round = s.call(M::POST, &format!("{path}/rounds"), Some(&admin), Some(body), 201).await;
    let (round_id, criterion) = (round["id"].as_i64().unwrap(), round["criteria"][0]["id"].as_i64().unwrap());
    s.call(M::PATCH, &path, Some(&admin), Some(json!({"status": "screening"})), 200).await;
    let boss = s.login("boss", &cli_password, 200).await;
    let reviewer_id = s.call(M::GET, "/api/v1/me", Some(&reviewer), None, 200).await["id"].as_i64().unwrap();
    // The reviewer is of the nominee's branch: a group reviewer scores instead.
    let body = json!({"roles": ["reviewer"], "branch_id": null});
    s.call(M::PATCH, &format!("/api/v1/users/{reviewer_id}"), Some(&boss), Some(body), 200).await;
    let rounds = format!("/api/v1/rounds/{round_id}");
    s.call(
        M::POST,
        &format!("{rounds}/reviewers"),
        Some(&admin),
        Some(json!({"user_ids": [reviewer_id]})),
        200,
    )
    .await;
    s.call(M::POST, &format!("{rounds}/open"), Some(&admin), None, 200).await;
    s.call(M::POST, &format!("{rounds}/assignments"), Some(&admin), None, 200).await;
    let body = json!({"scores": {criterion.to_string(): 9}, "comment": "真实"});
    s.call(M::PUT, &format!("{rounds}/entries/{nomination}/review"), Some(&reviewer), Some(body), 200).await;
    s.call(M::POST, &format!("{rounds}/close"), Some(&admin), None, 200).await;
    for kind in ["nominations", "reviews", "results"] {
        let csv = s.call(M::GET, &format!("{path}/exports/{kind}.csv"), Some(&admin), None, 200).await;
        assert!(csv.as_str().is_some_and(|c| c.lines().count() >= 2), "{kind}.csv has rows: {csv}");
    }
    s.call(M::GET, "/api/v1/audit?per_page=500", Some(&admin), None, 200).await;

    let Session { answers, hashes, passwords, codes, tokens, client, .. } = s;
    drop(client);
    let (stdout, stderr) = server.stop();
    let logs = [("the server's standard output", &stdout), ("the server's log", &stderr)];

    // What was searched is what it should be.
    let password_hashes = hashes.iter().filter(|h| h.starts_with("$argon2id$")).count();
    assert!(password_hashes >= 8, "the database held {password_hashes} password hashes");
    assert!(hashes.len() > password_hashes, "and activation code hashes");
    assert!(
        stderr.contains("/api/v1/auth/login") && stderr.contains("TRACE"),
        "every log line is on: {stderr}"
    );

    let mut leaks = vec![];
    let mut check = |place: &str, text: &str, secret: &str, what: &str| {
        if text.contains(secret) {
            leaks.push(format!("{place} shows {what} {secret:?}"));
        }
    };
    for (place, text) in logs.iter().copied().chain(
        cli_output
            .iter()
            .flat_map(|(out, err)| [("the CLI's standard output", out), ("the CLI's standard error", err)]),
    ) {
        for password in &passwords {
            // The first admin's password is printed once, to the terminal, by design.
            if place == "the server's standard output" && *password == first {
                assert_eq!(text.matches(password.as_str()).count(), 1, "printed once");
                continue;
            }
            check(place, text, password, "a password");
        }
        for hash in &hashes {
            check(place, text, hash, "a stored hash");
        }
        check(place, text, "$argon2", "a password hash");
        check(place, text, JWT_SECRET, "the JWT secret");
        for (code, _) in &codes {
            check(place, text, code, "an activation code");
        }
        for token in &tokens {
            check(place, text, token, "an access token");
        }
    }
    for (index, (what, text)) in answers.iter().enumerate() {
        let place = format!("the answer to {what}");
        for password in &passwords {
            check(&place, text, password, "a password");
        }
        for hash in &hashes {
            check(&place, text, hash, "a stored hash");
        }
        check(&place, text, "$argon2", "a password hash");
        check(&place, text, "password_hash", "a hash field");
        check(&place, text, JWT_SECRET, "the JWT secret");
        for (code, shown) in &codes {
            if *shown != Shown::Answer(index) {
                check(&place, text, code, "an activation code shown elsewhere");
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked ({format} logs):\n{}", leaks.join("\n"));
}
