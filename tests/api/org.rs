use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::TestApp;
use crate::on_both;

on_both!(
    member_companies_and_branches_crud,
    names_count_characters_and_codes_are_unique,
    unknown_and_bad_ids
);

async fn member_companies_and_branches_crud(app: TestApp) {
    let company = app.create_member_company(json!({"code": "PAB", "name": "平安银行"})).await;
    assert_eq!(company.status, StatusCode::CREATED);
    let id = company.body["id"].as_i64().unwrap();
    let branch =
        app.create_branch(json!({"code": "SZ01", "name": "深圳分行", "member_company_id": id})).await;
    assert_eq!(branch.status, StatusCode::CREATED, "{}", branch.body);
    let branch_id = branch.body["id"].as_i64().unwrap();
    let other = app.create_member_company(json!({"code": "PAL", "name": "平安寿险"})).await;
    let other_id = other.body["id"].as_i64().unwrap();

    let list = app.get("/api/v1/member-companies?page=1&per_page=1", app.admin()).await;
    assert_eq!((list.body["total"].as_i64(), list.body["per_page"].as_i64()), (Some(2), Some(1)));
    assert_eq!(list.items().len(), 1);
    let filtered = app.get(&format!("/api/v1/branches?member_company_id={other_id}"), app.admin()).await;
    assert_eq!(filtered.body["total"], 0);

    let renamed = app
        .patch(&format!("/api/v1/member-companies/{id}"), app.admin(), json!({"name": "平安银行股份"}))
        .await;
    assert_eq!(renamed.body["name"], "平安银行股份");
    assert_eq!(renamed.body["code"], "PAB");
    let moved = app
        .patch(&format!("/api/v1/branches/{branch_id}"), app.admin(), json!({"member_company_id": other_id}))
        .await;
    assert_eq!(moved.body["member_company_id"], other_id);
    let bad_move = app
        .patch(&format!("/api/v1/branches/{branch_id}"), app.admin(), json!({"member_company_id": 9999}))
        .await;
    assert_eq!(bad_move.status, StatusCode::UNPROCESSABLE_ENTITY);

    // A company with branches, or a branch with people, cannot be deleted.
    assert_eq!(
        app.delete(&format!("/api/v1/member-companies/{other_id}"), app.admin()).await.status,
        StatusCode::CONFLICT
    );
    app.user("E1", Some(branch_id), &[]).await;
    assert_eq!(
        app.delete(&format!("/api/v1/branches/{branch_id}"), app.admin()).await.status,
        StatusCode::CONFLICT
    );
    let spare = app.create_branch(json!({"code": "SZ02", "name": "空分行", "member_company_id": id})).await;
    let spare_id = spare.body["id"].as_i64().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/branches/{spare_id}"), app.admin()).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.get(&format!("/api/v1/branches/{spare_id}"), app.admin()).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.delete(&format!("/api/v1/member-companies/{id}"), app.admin()).await.status,
        StatusCode::NO_CONTENT
    );
}

async fn names_count_characters_and_codes_are_unique(app: TestApp) {
    let hundred = "消".repeat(100);
    let ok = app.create_member_company(json!({"code": "A", "name": hundred})).await;
    assert_eq!(ok.status, StatusCode::CREATED, "100 Chinese characters are within the limit");
    for (body, field) in [
        (json!({"code": "B", "name": "消".repeat(101)}), "name"),
        (json!({"code": "B", "name": ""}), "name"),
        (json!({"code": "B", "name": "   "}), "name"),
        (json!({"code": "", "name": "x"}), "code"),
        (json!({"code": "has space", "name": "x"}), "code"),
        (json!({"code": "B", "name": "a\u{0007}b"}), "name"),
    ] {
        let res = app.create_member_company(body.clone()).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(res.body["errors"][0]["field"], field, "{}", res.body);
    }
    let missing = app.create_member_company(json!({"name": "x"})).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown_field = app.create_member_company(json!({"code": "C", "name": "x", "colour": "red"})).await;
    assert_eq!(unknown_field.status, StatusCode::UNPROCESSABLE_ENTITY);
    let dup = app.create_member_company(json!({"code": "A", "name": "again"})).await;
    assert_eq!((dup.status, dup.code()), (StatusCode::CONFLICT, "duplicate"));
    let b = app.create_member_company(json!({"code": "B", "name": "b"})).await;
    let recode = app
        .patch(&format!("/api/v1/member-companies/{}", b.body["id"]), app.admin(), json!({"code": "A"}))
        .await;
    assert_eq!(recode.status, StatusCode::CONFLICT);
    let company = ok.body["id"].as_i64().unwrap();
    let branch = json!({"code": "BR", "name": "b", "member_company_id": company});
    assert_eq!(app.create_branch(branch.clone()).await.status, StatusCode::CREATED);
    assert_eq!(app.create_branch(branch).await.status, StatusCode::CONFLICT);
    let orphan = app.create_branch(json!({"code": "BX", "name": "b", "member_company_id": 424242})).await;
    assert_eq!(orphan.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(orphan.body["errors"][0]["field"], "member_company_id");
}

async fn unknown_and_bad_ids(app: TestApp) {
    for path in ["/api/v1/member-companies/999", "/api/v1/branches/999", "/api/v1/users/999"] {
        let res = app.get(path, app.admin()).await;
        assert_eq!(res.status, StatusCode::NOT_FOUND, "{path}");
    }
    for path in ["/api/v1/member-companies/abc", "/api/v1/branches/1.5", "/api/v1/users/99999999999999999999"]
    {
        let res = app.get(path, app.admin()).await;
        assert_eq!(res.status, StatusCode::BAD_REQUEST, "{path}");
    }
    assert_eq!(
        app.patch("/api/v1/member-companies/999", app.admin(), json!({"name": "x"})).await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(app.delete("/api/v1/branches/999", app.admin()).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/nothing-here", app.admin()).await.status, StatusCode::NOT_FOUND);
    for query in ["per_page=0", "per_page=501", "page=0", "page=x"] {
        let res = app.get(&format!("/api/v1/member-companies?{query}"), app.admin()).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
    }
}
