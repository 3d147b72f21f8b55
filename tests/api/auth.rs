use base64::Engine;
use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{another_node, Client, TestApp, TestDb, JWT_SECRET, PASSWORD};
use crate::on_both;

on_both!(
    first_admin_signs_in_and_reads_me,
    wrong_password_and_unknown_user_look_the_same,
    five_failures_lock_the_account_even_for_the_right_password,
    activation_sets_the_password_once,
    password_policy_is_enforced,
    password_change_retires_older_tokens,
    forged_and_expired_tokens_are_refused,
    disabled_accounts_lose_access,
    role_boundaries_hold,
    malformed_login_bodies_are_4xx,
);

async fn first_admin_signs_in_and_reads_me(app: TestApp) {
    let me = app.get("/api/v1/me", app.admin()).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["employee_no"], "admin");
    assert_eq!(me.body["roles"], json!(["admin", "employee"]));
    assert!(me.body.get("password_hash").is_none());
    let login = app.try_login("admin", &app.admin_password).await;
    assert_eq!(login.body["token_type"], "Bearer");
    assert_eq!(login.body["expires_in"], 3600);
    assert_eq!(login.body["user"]["employee_no"], "admin");
}

async fn wrong_password_and_unknown_user_look_the_same(app: TestApp) {
    let wrong = app.try_login("admin", "not the password").await;
    let unknown = app.try_login("nobody", "not the password").await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.body, unknown.body);
}

async fn five_failures_lock_the_account_even_for_the_right_password(app: TestApp) {
    // The failures arrive in parallel: every one must be counted.
    let attempts = (0..5).map(|_| app.try_login("admin", "wrong password!"));
    for res in futures_util::future::join_all(attempts).await {
        assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    }
    let locked = app.try_login("admin", &app.admin_password).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{}", locked.body);
    assert_eq!(locked.code(), "account_locked");
    let retry: u64 = locked.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry), "retry-after {retry}");
    // Tokens issued before the lock keep working: the lock guards sign-in only.
    assert_eq!(app.get("/api/v1/me", app.admin()).await.status, StatusCode::OK);
}

async fn activation_sets_the_password_once(app: TestApp) {
    let (_, branch) = app.org("PA", "B01").await;
    let created = app.create_user(json!({"employee_no": "E100", "name": "张三", "branch_id": branch})).await;
    assert_eq!(created.status, StatusCode::CREATED);
    let code = created.body["activation_code"].as_str().unwrap().to_owned();
    assert_eq!(created.body["activated"], false);
    // Not activated: no password works.
    assert_eq!(app.try_login("E100", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    let wrong = app.activate("E100", "WRONGCODE0000000", PASSWORD).await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    let ok = app.activate("E100", &code, PASSWORD).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["user"]["activated"], true);
    let token = ok.body["access_token"].as_str().unwrap();
    assert_eq!(app.get("/api/v1/me", token).await.body["employee_no"], "E100");
    let again = app.activate("E100", &code, "another good password").await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "a used code is refused");
    app.login("E100", PASSWORD).await;
    assert_eq!(app.try_login("E100", "another good password").await.status, StatusCode::UNAUTHORIZED);
}

async fn password_policy_is_enforced(app: TestApp) {
    let created = app.create_user(json!({"employee_no": "E2000000001", "name": "李四"})).await;
    let code = created.body["activation_code"].as_str().unwrap().to_owned();
    for (password, why) in
        [("short", "at least 10"), ("E2000000001", "employee number"), ("e2000000001", "employee number")]
    {
        let res = app.activate("E2000000001", &code, password).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{password}");
        assert_eq!(res.body["errors"][0]["field"], "new_password");
        assert!(res.body["errors"][0]["message"].as_str().unwrap().contains(why), "{}", res.body);
    }
    // Ten Chinese characters are ten characters.
    assert_eq!(app.activate("E2000000001", &code, "消费者权益保护宣传月").await.status, StatusCode::OK);
}

async fn password_change_retires_older_tokens(app: TestApp) {
    let (_, old_token) = app.user("E300", None, &[]).await;
    let second_old = app.login("E300", PASSWORD).await;
    let wrong = app.change_password(&old_token, "not it at all", "a brand new password").await;
    assert_eq!(wrong.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(wrong.body["errors"][0]["field"], "current_password");
    let weak = app.change_password(&old_token, PASSWORD, "short").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    let changed = app.change_password(&old_token, PASSWORD, "a brand new password").await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let new_token = changed.body["access_token"].as_str().unwrap();
    for stale in [&old_token, &second_old] {
        assert_eq!(app.get("/api/v1/me", stale).await.status, StatusCode::UNAUTHORIZED);
    }
    assert_eq!(app.get("/api/v1/me", new_token).await.status, StatusCode::OK);
    assert_eq!(app.try_login("E300", PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    app.login("E300", "a brand new password").await;
}

fn sign(claims: serde_json::Value, secret: &str) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
    .unwrap()
}

async fn forged_and_expired_tokens_are_refused(app: TestApp) {
    let now = chrono::Utc::now().timestamp();
    let claims = |exp: i64| json!({"sub": "1", "roles": ["admin", "employee"], "branch": null, "iat": now - 10, "exp": exp, "jti": "x", "tv": 0});
    // The harness signs with the real secret: a fresh token works...
    let good = sign(claims(now + 600), JWT_SECRET);
    assert_eq!(app.get("/api/v1/me", &good).await.status, StatusCode::OK);
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let parts: Vec<&str> = good.split('.').collect();
    let tampered_payload =
        b64.encode(claims(now + 600).to_string().replace("\"sub\":\"1\"", "\"sub\":\"2\""));
    let alg_none = format!("{}.{}.", b64.encode(r#"{"alg":"none","typ":"JWT"}"#), parts[1]);
    let cases = [
        ("expired", sign(claims(now - 1), JWT_SECRET)),
        ("wrong secret", sign(claims(now + 600), "another-secret-another-secret-0000")),
        ("tampered payload", format!("{}.{}.{}", parts[0], tampered_payload, parts[2])),
        ("alg none", alg_none),
        ("garbage", "garbage".to_owned()),
        (
            "unknown user",
            sign(
                json!({"sub": "999", "roles": [], "iat": now, "exp": now + 60, "jti": "y", "tv": 0}),
                JWT_SECRET,
            ),
        ),
    ];
    for (what, token) in cases {
        let res = app.get("/api/v1/me", &token).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "{what}");
    }
    let no_token = app.request(Method::GET, "/api/v1/me", None, None).await;
    assert_eq!(no_token.status, StatusCode::UNAUTHORIZED);
    let basic =
        app.call(Method::GET, "/api/v1/me").header("authorization", "Basic YWRtaW46eA==").send().await;
    assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
}

async fn disabled_accounts_lose_access(app: TestApp) {
    let (id, token) = app.user("E400", None, &[]).await;
    let res = app.delete(&format!("/api/v1/users/{id}"), app.admin()).await;
    assert_eq!(res.status, StatusCode::OK);
    assert_eq!(res.body["status"], "disabled");
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::UNAUTHORIZED);
    let login = app.try_login("E400", PASSWORD).await;
    assert_eq!(login.status, StatusCode::FORBIDDEN);
    assert_eq!(login.code(), "account_disabled");
    assert_eq!(
        app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({"status": "active"})).await.status,
        StatusCode::OK
    );
    app.login("E400", PASSWORD).await;
}

async fn role_boundaries_hold(app: TestApp) {
    let (_, branch) = app.org("PA", "B01").await;
    let (_, employee) = app.user("E500", Some(branch), &[]).await;
    let (_, manager) = app.user("M500", Some(branch), &["manager"]).await;
    let (_, reviewer) = app.user("R500", None, &["reviewer"]).await;
    let admin_only = [
        (Method::POST, "/api/v1/member-companies", Some(json!({"code": "X", "name": "X"}))),
        (Method::PATCH, "/api/v1/member-companies/1", Some(json!({"name": "Y"}))),
        (Method::DELETE, "/api/v1/member-companies/1", None),
        (Method::POST, "/api/v1/branches", Some(json!({"code": "X", "name": "X", "member_company_id": 1}))),
        (Method::PATCH, "/api/v1/branches/1", Some(json!({"name": "Y"}))),
        (Method::DELETE, "/api/v1/branches/1", None),
        (Method::POST, "/api/v1/users", Some(json!({"employee_no": "Z1", "name": "Z"}))),
        (Method::GET, "/api/v1/users/1", None),
        (Method::PATCH, "/api/v1/users/1", Some(json!({"name": "Z"}))),
        (Method::DELETE, "/api/v1/users/1", None),
        (Method::POST, "/api/v1/users/1/activation-code", None),
        (Method::GET, "/api/v1/audit", None),
        (Method::GET, "/api/v1/audit/verify", None),
    ];
    for token in [&employee, &manager, &reviewer] {
        for (method, path, body) in &admin_only {
            let res = app.request(method.clone(), path, Some(token), body.clone()).await;
            assert_eq!(res.status, StatusCode::FORBIDDEN, "{method} {path}");
        }
        let csv = app.import_csv(token, "employee_no,name,branch_code\n").await;
        assert_eq!(csv.status, StatusCode::FORBIDDEN);
        for path in ["/api/v1/me", "/api/v1/member-companies", "/api/v1/branches", "/api/v1/branches/1"] {
            assert_eq!(app.get(path, token).await.status, StatusCode::OK, "{path}");
        }
    }
    for (method, path, body) in &admin_only {
        let res = app.request(method.clone(), path, None, body.clone()).await;
        assert_eq!(res.status, StatusCode::UNAUTHORIZED, "anonymous {method} {path}");
    }
}

async fn malformed_login_bodies_are_4xx(app: TestApp) {
    let url = "/api/v1/auth/login";
    let cases: [(&str, &str, StatusCode); 7] = [
        ("application/json", "{\"employee_no\": \"admin\",", StatusCode::BAD_REQUEST),
        ("application/json", "", StatusCode::BAD_REQUEST),
        ("application/json", "[1,2]", StatusCode::UNPROCESSABLE_ENTITY),
        ("application/json", "{\"employee_no\": 5, \"password\": \"x\"}", StatusCode::UNPROCESSABLE_ENTITY),
        ("application/json", "{\"employee_no\": \"admin\"}", StatusCode::UNPROCESSABLE_ENTITY),
        (
            "application/json",
            "{\"employee_no\": \"\", \"password\": \"x\"}",
            StatusCode::UNPROCESSABLE_ENTITY,
        ),
        ("text/plain", "{}", StatusCode::UNSUPPORTED_MEDIA_TYPE),
    ];
    for (kind, body, expected) in cases {
        let res = app.raw(Method::POST, url, None, kind, body.to_owned()).await;
        assert_eq!(res.status, expected, "{body}: {}", res.body);
    }
    let missing = app.raw(Method::POST, url, None, "application/json", "{\"employee_no\": \"admin\"}").await;
    assert_eq!(missing.body["errors"][0]["field"], "password", "{}", missing.body);
    let huge = format!("{{\"employee_no\": \"admin\", \"password\": \"{}\"}}", "x".repeat(100_000));
    assert_eq!(
        app.raw(Method::POST, url, None, "application/json", huge).await.status,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_beyond_the_hash_queue_gets_503_with_retry_after() {
    let (db, url) = TestDb::sqlite();
    let app = TestApp::start(db, url, |s| {
        // The real OWASP cost, one worker and a short queue.
        s.hashing.argon2_memory_kib = 19 * 1024;
        s.hashing.argon2_iterations = 2;
        s.hashing.hash_workers = Some(1);
        s.hashing.hash_queue = 2;
    })
    .await;
    let burst = (0..30).map(|_| app.try_login("nobody", "whatever password"));
    let answers = futures_util::future::join_all(burst).await;
    let busy: Vec<_> = answers.iter().filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE).collect();
    assert!(!busy.is_empty(), "some logins are turned away");
    assert!(busy.iter().all(|r| r.headers.contains_key("retry-after")));
    assert!(answers
        .iter()
        .all(|r| r.status == StatusCode::UNAUTHORIZED || r.status == StatusCode::SERVICE_UNAVAILABLE));
    // The hash in a stored password is argon2id with the configured cost.
    use diesel::prelude::*;
    let hash: String = awards::db::schema::users::table
        .select(awards::db::schema::users::password_hash.assume_not_null())
        .first(&mut app.connect())
        .unwrap();
    assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{hash}");
}

/// A node restarted with a new key and the old one as previous keeps every
/// signed-in user; its new tokens are signed with the new key only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_signing_key_signs_nobody_out() {
    const NEW_SECRET: &str = "rotated-secret-rotated-secret-rotated-01";
    let (db, url) = TestDb::sqlite();
    let old = TestApp::start(db, url.clone(), |_| {}).await;
    let node = |previous: Option<&'static str>| {
        let (url, client) = (url.clone(), old.client.clone());
        async move {
            let address = another_node(&url, move |s| {
                s.jwt_secret = Some(NEW_SECRET.into());
                s.jwt_previous_secret = previous.map(Into::into);
            })
            .await;
            client.at(address)
        }
    };
    async fn me(node: &Client, token: &str) -> crate::helpers::Response {
        node.get("/api/v1/me", token).await
    }
    let rotated = node(Some(JWT_SECRET)).await;
    let old_token = old.admin().to_owned();
    assert_eq!(me(&rotated, &old_token).await.status, StatusCode::OK, "old token, rotated node");
    let new_token = rotated.login("admin", &old.admin_password).await;
    assert_eq!(me(&rotated, &new_token).await.status, StatusCode::OK);
    assert_eq!(me(&old.client, &new_token).await.status, StatusCode::UNAUTHORIZED, "signed with the new key");
    let done = node(None).await;
    assert_eq!(me(&done, &old_token).await.status, StatusCode::UNAUTHORIZED, "previous key dropped");
}
