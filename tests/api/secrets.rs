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
use crate::on_both_databases;

const JWT_SECRET: &str = "leak-test-jwt-secret-7f3a9c1e5b2d4f6a8c0e";

on_both_databases!(async no_secret_leaks_in_text_logs, no_secret_leaks_in_json_logs);

async fn no_secret_leaks_in_text_logs(db: (TestDb, String)) {
    no_secret_leaks(db, "text").await
}

async fn no_secret_leaks_in_json_logs(db: (TestDb, String)) {
    no_secret_leaks(db, "json").await
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

/// The real binary driven through every flow that handles a secret, then
/// everything it printed and answered searched for them.
async fn no_secret_leaks((_db, url): (TestDb, String), format: &str) {
    let (url, database_password) = match url.starts_with("postgres") {
        true => with_password(&url),
        false => (url, None),
    };
    let url = url.as_str();
    let server = Server::start(url, JWT_SECRET, |serve| {
        serve.env("AWARDS_LOG", "trace").env("AWARDS_LOG_FORMAT", format);
    });
    let mut s = Session::new(server.address.clone(), url);
    let first = server.first_admin_password();
    s.passwords.push(first.clone());
    s.passwords.extend(database_password.map(str::to_owned));

    let admin = first_admin_changes_password(&mut s, &first).await;
    let branch = an_org(&mut s, &admin).await;
    let (manager_id, manager) = a_manager_account(&mut s, &admin, branch).await;
    let (employee, reviewer) = an_import_through_the_api(&mut s, &admin).await;
    let (boss_password, cli_output) = the_cli(&mut s, url).await;
    listings_and_the_audit_log(&mut s, &admin, manager_id, &manager, &employee).await;
    let people = People { admin, manager, employee, reviewer, boss_password };
    a_campaign_with_exports(&mut s, &people).await;

    let Session { answers, hashes, passwords, codes, tokens, client, .. } = s;
    drop(client);
    let (stdout, stderr) = server.stop();
    let logs = [("the server's standard output", &stdout), ("the server's log", &stderr)];

    // What was searched is what it should be (reported with any leak: a
    // failure here does not hide one).
    let mut leaks = vec![];
    let password_hashes = hashes.iter().filter(|h| h.starts_with("$argon2id$")).count();
    if password_hashes < 8 {
        leaks.push(format!("(the search) the database held only {password_hashes} password hashes"));
    }
    if hashes.len() <= password_hashes {
        leaks.push("(the search) the database held no activation code hashes".to_owned());
    }
    if !(stderr.contains("/api/v1/auth/login") && stderr.contains("TRACE")) {
        leaks.push(format!("(the search) not every log line is on: {stderr}"));
    }

    let printed = stdout.matches(first.as_str()).count();
    if printed != 1 {
        leaks.push(format!(
            "the server's standard output shows the first admin's password {printed} times, not once"
        ));
    }

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
            // The first admin's password is printed once, to the terminal, by design (above).
            if place == "the server's standard output" && *password == first {
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

use Method as M;

/// The first admin signs in, fails twice, sends numbers where passwords go,
/// and changes the password; the new token.
async fn first_admin_changes_password(s: &mut Session, first: &str) -> String {
    let admin = s.login("admin", first, 200).await;
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
    s.call(M::POST, "/api/v1/auth/password", Some(&admin), Some(body), 200).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Member company PA and its branch B01; the branch's id.
async fn an_org(s: &mut Session, admin: &str) -> i64 {
    let body = json!({"code": "PA", "name": "平安"});
    let company = s.call(M::POST, "/api/v1/member-companies", Some(admin), Some(body), 201).await;
    let body = json!({"code": "B01", "name": "分行", "member_company_id": company["id"]});
    s.call(M::POST, "/api/v1/branches", Some(admin), Some(body), 201).await["id"].as_i64().unwrap()
}

/// A new account: its code is shown once; a wrong code, the right one, the
/// used one again; a wrong current password, a real change; forgotten, a
/// new code. The manager's id and token.
async fn a_manager_account(s: &mut Session, admin: &str, branch: i64) -> (i64, String) {
    let body = json!({"employee_no": "M1", "name": "王经理", "branch_id": branch, "roles": ["manager"]});
    let created = s.call(M::POST, "/api/v1/users", Some(admin), Some(body), 201).await;
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
    let reset =
        s.call(M::POST, &format!("/api/v1/users/{manager_id}/activation-code"), Some(admin), None, 200).await;
    let code = s.code_shown(&reset["activation_code"]);
    let manager_password = s.password("manager-third-password");
    (manager_id, s.activate("M1", &code, &manager_password, 200).await)
}

/// The import through the API: codes for new accounts in the answer; two of
/// them activated. The employee's and the reviewer's tokens.
async fn an_import_through_the_api(s: &mut Session, admin: &str) -> (String, String) {
    let csv = "employee_no,name,branch_code,roles\nE1,张三,B01,\nE2,李四,B01,\nR1,评审,B01,reviewer\n";
    let call = s.client.call(M::POST, "/api/v1/imports/employees").token(admin).body("text/csv", csv);
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
    (employee, reviewer)
}

/// The CLI: an admin (boss) with the password on standard input, and an
/// import whose codes go to a file. Boss's password, and what the CLI printed.
async fn the_cli(s: &mut Session, url: &str) -> (String, Vec<(String, String)>) {
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
    (cli_password, cli_output)
}

async fn listings_and_the_audit_log(
    s: &mut Session,
    admin: &str,
    manager_id: i64,
    manager: &str,
    employee: &str,
) {
    s.call(M::GET, "/api/v1/users?per_page=500", Some(admin), None, 200).await;
    s.call(M::GET, &format!("/api/v1/users/{manager_id}"), Some(admin), None, 200).await;
    s.call(M::GET, "/api/v1/users?q=M1", Some(admin), None, 200).await;
    s.call(M::GET, "/api/v1/me", Some(manager), None, 200).await;
    s.call(M::GET, "/api/v1/me", Some(employee), None, 200).await;
    s.call(M::GET, "/api/v1/audit?per_page=500", Some(admin), None, 200).await;
}

/// The signed-in accounts the campaign needs.
struct People {
    admin: String,
    manager: String,
    employee: String,
    reviewer: String,
    boss_password: String,
}

/// A campaign through one review round, for exports with rows in them.
async fn a_campaign_with_exports(s: &mut Session, p: &People) {
    let (admin, manager, employee, reviewer) = (&p.admin, &p.manager, &p.employee, &p.reviewer);
    let body = json!({"name": "2026", "nomination_opens_at": rfc3339(-60), "nomination_closes_at": rfc3339(60), "nominations_per_branch": 5, "winners_target": 1});
    let campaign =
        s.call(M::POST, "/api/v1/campaigns", Some(admin), Some(body), 201).await["id"].as_i64().unwrap();
    let path = format!("/api/v1/campaigns/{campaign}");
    s.call(M::PATCH, &path, Some(admin), Some(json!({"status": "nominating"})), 200).await;
    let employee_id = s.call(M::GET, "/api/v1/me", Some(employee), None, 200).await["id"].as_i64().unwrap();
    let body = json!({"nominee_id": employee_id, "title": "守护老人钱袋子", "summary": "识破诈骗。", "story": "她坚持了三个小时。"});
    let nomination = s.call(M::POST, &format!("{path}/nominations"), Some(manager), Some(body), 201).await
        ["id"]
        .as_i64()
        .unwrap();
    s.call(M::POST, &format!("/api/v1/nominations/{nomination}/submit"), Some(manager), None, 200).await;
    let body = json!({"name": "终评", "reviews_per_entry": 1, "conflict_scope": "member_company",
                      "criteria": [{"name": "事迹", "weight": 1, "max_score": 10}], "advance": {"rule": "top_n", "n": 1}});
    let round = s.call(M::POST, &format!("{path}/rounds"), Some(admin), Some(body), 201).await;
    let (round_id, criterion) = (round["id"].as_i64().unwrap(), round["criteria"][0]["id"].as_i64().unwrap());
    s.call(M::PATCH, &path, Some(admin), Some(json!({"status": "screening"})), 200).await;
    let boss = s.login("boss", &p.boss_password, 200).await;
    let reviewer_id = s.call(M::GET, "/api/v1/me", Some(reviewer), None, 200).await["id"].as_i64().unwrap();
    // The reviewer is of the nominee's branch: a group reviewer scores instead.
    let body = json!({"roles": ["reviewer"], "branch_id": null});
    s.call(M::PATCH, &format!("/api/v1/users/{reviewer_id}"), Some(&boss), Some(body), 200).await;
    let rounds = format!("/api/v1/rounds/{round_id}");
    let panel = json!({"user_ids": [reviewer_id]});
    s.call(M::POST, &format!("{rounds}/reviewers"), Some(admin), Some(panel), 200).await;
    s.call(M::POST, &format!("{rounds}/open"), Some(admin), None, 200).await;
    s.call(M::POST, &format!("{rounds}/assignments"), Some(admin), None, 200).await;
    let body = json!({"scores": {criterion.to_string(): 9}, "comment": "真实"});
    s.call(M::PUT, &format!("{rounds}/entries/{nomination}/review"), Some(reviewer), Some(body), 200).await;
    s.call(M::POST, &format!("{rounds}/close"), Some(admin), None, 200).await;
    for kind in ["nominations", "reviews", "results"] {
        let csv = s.call(M::GET, &format!("{path}/exports/{kind}.csv"), Some(admin), None, 200).await;
        assert!(csv.as_str().is_some_and(|c| c.lines().count() >= 2), "{kind}.csv has rows: {csv}");
    }
    s.call(M::GET, "/api/v1/audit?per_page=500", Some(admin), None, 200).await;
}
