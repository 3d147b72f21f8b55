use diesel::prelude::*;
use serde_json::json;

use awards::db::schema::audit_events;

use crate::helpers::server::{awards_command, run};
use crate::helpers::TestApp;
use crate::on_both;

on_both!(
    changes_are_audited_and_filterable,
    tampering_is_detected_and_named,
    concurrent_writers_never_fork_the_chain
);

async fn changes_are_audited_and_filterable(app: TestApp) {
    let (_, branch) = app.org("PA", "B01").await;
    let (user, _) = app.user("E1", Some(branch), &[]).await;
    app.patch(&format!("/api/v1/users/{user}"), app.admin(), json!({"name": "改名"})).await.ok();
    let all = app.get("/api/v1/audit?per_page=500", app.admin()).await;
    let actions: Vec<&str> = all.strs("action").into_iter().collect();
    for expected in [
        "user.create_admin",
        "member_company.create",
        "branch.create",
        "user.create",
        "user.activate",
        "user.update",
    ] {
        assert!(actions.contains(&expected), "{expected} in {actions:?}");
    }
    let admin_id = app.get("/api/v1/me", app.admin()).await.body["id"].as_i64().unwrap();
    let by_subject = app.get(&format!("/api/v1/audit?subject=user:{user}"), app.admin()).await;
    assert_eq!(by_subject.body["total"], 3, "create, activate, update: {}", by_subject.body);
    let update = &app.get("/api/v1/audit?action=user.update", app.admin()).await.body["items"][0];
    assert_eq!(update["actor_id"], admin_id);
    assert_eq!(update["details"]["name"], "改名", "details are shown as JSON: {update}");
    assert_eq!(update["hash"].as_str().unwrap().len(), 64);
    let by_actor = app.get(&format!("/api/v1/audit?actor_id={user}"), app.admin()).await;
    assert_eq!(by_actor.body["items"][0]["action"], "user.activate");
    assert_eq!(app.verify_audit().await, json!({"ok": true, "events": all.body["total"]}));
}

async fn tampering_is_detected_and_named(app: TestApp) {
    for code in ["A", "B", "C"] {
        app.create_member_company(json!({"code": code, "name": code})).await.created();
    }
    let mut conn = app.connect();
    let target: i64 = audit_events::table
        .filter(audit_events::action.eq("member_company.create"))
        .select(audit_events::id)
        .order(audit_events::id.asc())
        .offset(1)
        .first(&mut conn)
        .unwrap();
    diesel::update(audit_events::table.find(target))
        .set(audit_events::details.eq("{\"code\":\"Z\"}"))
        .execute(&mut conn)
        .unwrap();
    let verify = app.verify_audit().await;
    assert_eq!(verify["ok"], false);
    assert_eq!(verify["first_broken"]["id"], target);
    assert_eq!(verify["events"], target - 1);
    // The CLI says the same and fails.
    let out = run(awards_command().args(["verify-audit", "--database-url", &app.database_url]), "");
    assert_eq!(out.code, Some(1), "{}", out.stderr);
    assert!(out.stdout.starts_with(&format!("audit chain BROKEN at event {target}: ")), "{}", out.stdout);
    assert!(
        out.stdout.trim_end().ends_with(&format!("({} events verified before it)", target - 1)),
        "{}",
        out.stdout
    );
}

async fn concurrent_writers_never_fork_the_chain(app: TestApp) {
    let creates = (0..24)
        .map(|i| app.create_member_company(json!({"code": format!("C{i}"), "name": format!("公司{i}")})));
    for res in futures_util::future::join_all(creates).await {
        res.created();
    }
    let verify = app.verify_audit().await;
    assert_eq!(verify["ok"], true, "{verify}");
    assert_eq!(verify["events"], 25);
}
