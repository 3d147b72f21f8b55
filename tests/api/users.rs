use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both;

on_both!(
    admins_create_list_and_edit_users,
    bad_user_input,
    activation_code_reissue,
    admins_cannot_lock_themselves_out,
    managers_list_their_own_branch_only
);

/// A manager nominates by account id, so they may list their own branch,
/// and nothing else whatever filter they send.
async fn managers_list_their_own_branch_only(app: TestApp) {
    let (_, branch) = app.org("PA", "B01").await;
    let (_, other) = app.org("PA", "B02").await;
    let (manager_id, manager) = app.user("M1", Some(branch), &["manager"]).await;
    let (colleague, employee) = app.user("E1", Some(branch), &[]).await;
    app.user("E2", Some(other), &[]).await;
    for query in ["", "?branch_id={other}", "?q=E2"] {
        let res =
            app.get(format!("/api/v1/users{}", query.replace("{other}", &other.to_string())), &manager).await;
        assert_eq!(res.status, StatusCode::OK, "{}", res.body);
        let mut ids: Vec<i64> = res.ints("id");
        ids.sort_unstable();
        let expected = if query.contains("E2") { vec![] } else { vec![manager_id, colleague] };
        assert_eq!(ids, expected, "{query}");
    }
    assert_eq!(app.get("/api/v1/users", &employee).await.status, StatusCode::FORBIDDEN);
    let all = app.get("/api/v1/users?per_page=500", app.admin()).await;
    assert_eq!(all.body["total"], 4, "admins see everyone: {}", all.body);
}

async fn admins_create_list_and_edit_users(app: TestApp) {
    let (company, branch) = app.org("PA", "B01").await;
    let (_, other_branch) = app.org("PB", "B02").await;
    let created = app
        .create_user(
            json!({"employee_no": "M1", "name": "王经理", "branch_id": branch, "roles": ["manager"]}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["roles"], json!(["manager", "employee"]));
    assert_eq!(created.body["member_company_id"], company);
    assert_eq!(created.body["activation_code"].as_str().unwrap().len(), 16);
    let id = created.body["id"].as_i64().unwrap();
    app.create_user(json!({"employee_no": "E2", "name": "赵六", "branch_id": other_branch})).await;

    let by_branch = app.get(&format!("/api/v1/users?branch_id={branch}"), app.admin()).await;
    assert_eq!(by_branch.body["total"], 1);
    let by_company = app.get(&format!("/api/v1/users?member_company_id={company}"), app.admin()).await;
    assert_eq!(by_company.body["items"][0]["employee_no"], "M1");
    let managers = app.get("/api/v1/users?role=manager", app.admin()).await;
    assert_eq!(managers.body["total"], 1);
    let by_name = app.get("/api/v1/users?q=%E8%B5%B5", app.admin()).await; // 赵
    assert_eq!(by_name.body["items"][0]["employee_no"], "E2");
    let all = app.get("/api/v1/users?per_page=2&page=2", app.admin()).await;
    assert_eq!((all.body["total"].as_i64(), all.items().len()), (Some(3), 1));
    let unlisted = app.get("/api/v1/users?q=%25", app.admin()).await; // a literal '%' matches nothing
    assert_eq!(unlisted.body["total"], 0);

    let edited = app
        .patch(
            &format!("/api/v1/users/{id}"),
            app.admin(),
            json!({"name": "王总", "roles": ["reviewer"], "branch_id": other_branch}),
        )
        .await;
    assert_eq!(edited.status, StatusCode::OK);
    assert_eq!(edited.body["roles"], json!(["reviewer", "employee"]));
    assert_eq!(edited.body["branch_id"], other_branch);
    let group_staff =
        app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({"branch_id": null})).await;
    assert_eq!(group_staff.body["branch_id"], serde_json::Value::Null);
    assert_eq!(group_staff.body["name"], "王总", "absent fields are left alone");
    let disabled = app.get("/api/v1/users?status=disabled", app.admin()).await;
    assert_eq!(disabled.body["total"], 0);
}

async fn bad_user_input(app: TestApp) {
    let ok = app.create_user(json!({"employee_no": "E1", "name": "张三"})).await;
    assert_eq!(ok.status, StatusCode::CREATED);
    let dup = app.create_user(json!({"employee_no": "E1", "name": "又一个"})).await;
    assert_eq!((dup.status, dup.code()), (StatusCode::CONFLICT, "duplicate"));
    for (body, field) in [
        (json!({"employee_no": "", "name": "x"}), "employee_no"),
        (json!({"employee_no": "E 2", "name": "x"}), "employee_no"),
        (json!({"employee_no": "E".repeat(33), "name": "x"}), "employee_no"),
        (json!({"employee_no": "E3", "name": ""}), "name"),
        (json!({"employee_no": "E3", "name": "名".repeat(101)}), "name"),
        (json!({"employee_no": "E3", "name": "x", "roles": ["boss"]}), "roles[0]"),
        (json!({"employee_no": "E3", "name": "x", "branch_id": 777}), "branch_id"),
        (json!({"employee_no": "E3", "name": "x", "branch_id": "one"}), "branch_id"),
    ] {
        let res = app.create_user(body.clone()).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {}", res.body);
        assert_eq!(res.body["errors"][0]["field"], field, "{}", res.body);
    }
    let id = ok.body["id"].as_i64().unwrap();
    let bad_status = app.patch(&format!("/api/v1/users/{id}"), app.admin(), json!({"status": "gone"})).await;
    assert_eq!(bad_status.status, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn activation_code_reissue(app: TestApp) {
    let (id, token) = app.user("E9", None, &[]).await;
    for _ in 0..5 {
        app.try_login("E9", "forgotten password").await;
    }
    assert_eq!(app.try_login("E9", crate::helpers::PASSWORD).await.status, StatusCode::TOO_MANY_REQUESTS);
    let reissued = app.post(&format!("/api/v1/users/{id}/activation-code"), app.admin(), json!({})).await;
    assert_eq!(reissued.status, StatusCode::OK);
    assert_eq!(reissued.body["activated"], false);
    assert_eq!(app.get("/api/v1/me", &token).await.status, StatusCode::UNAUTHORIZED, "old sessions end");
    let code = reissued.body["activation_code"].as_str().unwrap();
    let activated = app.activate("E9", code, "a fresh new password").await;
    assert_eq!(activated.status, StatusCode::OK, "a new code lifts the lock: {}", activated.body);
}

async fn admins_cannot_lock_themselves_out(app: TestApp) {
    let me = app.get("/api/v1/me", app.admin()).await.body["id"].as_i64().unwrap();
    let res = app.delete(&format!("/api/v1/users/{me}"), app.admin()).await;
    assert_eq!(res.status, StatusCode::CONFLICT);
    let demote = app.patch(&format!("/api/v1/users/{me}"), app.admin(), json!({"roles": ["employee"]})).await;
    assert_eq!(demote.status, StatusCode::CONFLICT);
    let reset = app.post(&format!("/api/v1/users/{me}/activation-code"), app.admin(), json!({})).await;
    assert_eq!((reset.status, reset.code()), (StatusCode::CONFLICT, "self_lockout"));
    assert_eq!(app.get("/api/v1/me", app.admin()).await.status, StatusCode::OK, "still signed in");
}
