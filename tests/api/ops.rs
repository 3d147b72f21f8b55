use reqwest::{Method, StatusCode};

use crate::helpers::{Client, Server, TestApp, TestDb, JWT_SECRET};
use crate::on_both;

on_both!(
    probes_answer,
    openapi_describes_every_route,
    errors_are_problems,
    security_headers_on_every_answer,
    head_is_get_without_the_body,
    an_unknown_stored_word_is_an_error_not_a_default
);

async fn probes_answer(app: TestApp) {
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let res = app.request(Method::GET, path, None, None).await;
        assert_eq!(res.status, StatusCode::OK);
        assert_eq!(res.body["status"], status);
        assert!(res.headers.contains_key("x-request-id"));
    }
    app.get("/api/v1/me", app.admin()).await.ok();
    let metrics = app.call(Method::GET, "/metrics").send().await.ok().text();
    assert!(metrics.contains("awards_http_requests_total"), "{metrics}");
}

async fn openapi_describes_every_route(app: TestApp) {
    let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.body;
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    let paths = doc["paths"].as_object().unwrap();
    for (path, method) in [
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/activate", "post"),
        ("/api/v1/auth/password", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/member-companies", "post"),
        ("/api/v1/member-companies/{id}", "patch"),
        ("/api/v1/branches/{id}", "delete"),
        ("/api/v1/users", "get"),
        ("/api/v1/users/{id}/activation-code", "post"),
        ("/api/v1/imports/employees", "post"),
        ("/api/v1/audit", "get"),
        ("/api/v1/audit/verify", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
    ] {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is documented");
        assert!(
            op["responses"].as_object().unwrap().len() >= 2 || path.ends_with("z"),
            "{method} {path} documents its errors"
        );
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    // The shared error answers (src/http/openapi.rs); tests/schemathesis checks them against the service.
    for (path, item) in paths {
        for (method, op) in item.as_object().unwrap() {
            let responses = op["responses"].as_object().unwrap();
            let mut expected = vec!["400"];
            if op.get("security").is_some() {
                expected.push("401");
            }
            if op.get("requestBody").is_some() {
                expected.extend(["413", "415", "422"]);
            }
            for status in expected {
                assert!(responses.contains_key(status), "{method} {path} documents {status}");
            }
            for (status, response) in responses.iter().filter(|(s, _)| !s.starts_with('2')) {
                assert_eq!(
                    response["content"].as_object().map(|c| c.keys().collect::<Vec<_>>()),
                    Some(vec![&"application/problem+json".to_owned()]),
                    "{method} {path} {status} is a problem"
                );
                assert_eq!(
                    response["content"]["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem"
                );
            }
        }
    }
    let html = app.call(Method::GET, "/docs/").send().await.ok().text();
    assert!(html.contains("swagger"), "{html}");
    assert!(
        !html.contains("https://") && !html.contains("http://"),
        "the docs page fetches nothing from outside"
    );
    let bundle = app.call(Method::GET, "/docs/swagger-ui-bundle.js").send().await;
    assert_eq!(bundle.status, StatusCode::OK, "assets are bundled");
}

async fn errors_are_problems(app: TestApp) {
    let res = app.request(Method::GET, "/no/such/thing", None, None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    assert_eq!(res.body["status"], 404);
    assert_eq!(res.body["type"], "/problems/not_found");
    // A path of ours with a method it does not take: 405 with Allow.
    let res = app.request(Method::PUT, "/api/v1/me", Some(app.admin()), None).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(res.headers["allow"], "GET, HEAD");
    assert_eq!(res.body["type"], "/problems/method_not_allowed");
    let res = app.request(Method::GET, "/api/v1/rounds/7/votes", Some(app.admin()), None).await;
    assert_eq!(
        (res.status, &res.headers["allow"]),
        (StatusCode::METHOD_NOT_ALLOWED, &"POST".parse().unwrap())
    );
    let res = app.request(Method::PUT, "/api/v1/nominations/7", Some(app.admin()), None).await;
    assert_eq!(res.headers["allow"], "DELETE, GET, HEAD, PATCH");
    // Matched as the router matches: percent-decoded, and {kind}.csv whole.
    let res = app.request(Method::PUT, "/api/v1/m%65", Some(app.admin()), None).await;
    assert_eq!(res.status, StatusCode::METHOD_NOT_ALLOWED);
    let res = app.request(Method::POST, "/api/v1/campaigns/1/exports/x", Some(app.admin()), None).await;
    assert_eq!(res.status, StatusCode::NOT_FOUND);
    // Not one of ours, whatever the method.
    for path in ["/api/v1/rounds/7/nothing", "/api/v1/rounds//votes", "/api/v1/me/"] {
        let res = app.request(Method::GET, path, Some(app.admin()), None).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
    }
}

async fn security_headers_on_every_answer(app: TestApp) {
    let answers = [
        app.request(Method::GET, "/healthz", None, None).await,
        app.get("/api/v1/me", app.admin()).await,
        app.request(Method::GET, "/api/v1/me", None, None).await,
        app.request(Method::GET, "/no/such/route", None, None).await,
        app.request(Method::PUT, "/healthz", None, None).await,
    ];
    for res in answers {
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
        ] {
            assert_eq!(
                res.headers.get(name).and_then(|v| v.to_str().ok()),
                Some(value),
                "{name} on {}",
                res.status
            );
        }
        let csp = res.headers.get("content-security-policy").unwrap().to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{csp}");
    }
}

/// The access log shows the address the service trusts: the peer's, or with
/// --trust-proxy the proxy's own (last) X-Forwarded-For entry, never the
/// first one, which a client writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_access_log_cannot_be_given_a_forged_address() {
    for trust_proxy in [false, true] {
        let (_db, url) = TestDb::sqlite();
        let server = Server::start(&url, JWT_SECRET, |command| {
            command.env("AWARDS_LOG", "info");
            if trust_proxy {
                command.arg("--trust-proxy");
            }
        });
        let res = Client::new(&server.address)
            .call(Method::GET, "/healthz")
            .header("X-Forwarded-For", "6.6.6.6, 10.9.8.7")
            .header("Forwarded", "for=6.6.6.6")
            .send()
            .await;
        assert_eq!(res.status, StatusCode::OK);
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let (_, log) = server.stop();
        let line = log.lines().find(|l| l.contains("/healthz")).unwrap_or_else(|| panic!("logged: {log}"));
        let expected = if trust_proxy { "10.9.8.7" } else { "127.0.0.1" };
        assert!(line.contains(expected) && !line.contains("6.6.6.6"), "trust_proxy {trust_proxy}: {line}");
    }
}

async fn head_is_get_without_the_body(app: TestApp) {
    for (path, token) in [
        ("/healthz", None),
        ("/api/v1/me", Some(app.admin())),
        ("/api/v1/users?per_page=2", Some(app.admin())),
    ] {
        let get = app.request(Method::GET, path, token, None).await;
        // Unchecked: a HEAD answer has the GET's headers and no body.
        let head = app.call(Method::HEAD, path).maybe_token(token).unchecked().send().await;
        assert_eq!(head.status, StatusCode::OK, "HEAD {path}");
        assert_eq!(head.headers["content-type"], get.headers["content-type"], "HEAD {path}");
        let length: usize = head.headers["content-length"].to_str().unwrap().parse().unwrap();
        assert_eq!(length, get.bytes.len(), "HEAD {path} announces the GET's body");
        assert!(length > 0, "HEAD {path} announces the GET's body");
        assert!(head.bytes.is_empty(), "HEAD {path} sends no body");
    }
    // As GET does: no token, 401; a path that takes no GET, 405.
    let res = app.call(Method::HEAD, "/api/v1/me").unchecked().send().await;
    assert_eq!(res.status, StatusCode::UNAUTHORIZED);
    let res = app.call(Method::HEAD, "/api/v1/rounds/7/votes").unchecked().send().await;
    assert_eq!(
        (res.status, &res.headers["allow"]),
        (StatusCode::METHOD_NOT_ALLOWED, &"POST".parse().unwrap())
    );
}

/// A status this version never writes (a newer version's word after the
/// binary was rolled back past the migration that allowed it) must not read
/// as some default: a campaign quietly "draft" again would be editable. The
/// answer is a plain 500; the log names the column and the value.
async fn an_unknown_stored_word_is_an_error_not_a_default(app: TestApp) {
    use awards::db::{schema::campaigns, DbConn};
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;
    let campaign = app
        .create_campaign(serde_json::json!({
            "name": "2026", "nomination_opens_at": crate::helpers::rfc3339(-60),
            "nomination_closes_at": crate::helpers::rfc3339(60), "nominations_per_branch": 2, "winners_target": 1,
        }))
        .await
        .created()
        .id();
    let mut conn = app.connect();
    match &mut conn {
        DbConn::Pg(pg) => pg.batch_execute("ALTER TABLE campaigns DROP CONSTRAINT campaigns_status_check"),
        DbConn::Sqlite(sqlite) => sqlite.batch_execute("PRAGMA ignore_check_constraints = ON"),
    }
    .unwrap();
    diesel::update(campaigns::table.find(campaign))
        .set(campaigns::status.eq("archived"))
        .execute(&mut conn)
        .unwrap();
    for path in [format!("/api/v1/campaigns/{campaign}"), "/api/v1/campaigns".into()] {
        // A 5xx is what this test wants: `unchecked` lets it through.
        let res = app.call(Method::GET, &path).token(app.admin()).unchecked().send().await;
        assert_eq!(res.status, StatusCode::INTERNAL_SERVER_ERROR, "{path}: {:?}", res.body);
        assert!(!res.text().contains("archived"), "no stored text reaches the client: {}", res.text());
    }
}
