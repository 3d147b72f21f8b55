use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{rfc3339, TestApp};
use crate::on_both;

on_both!(
    campaign_lifecycle_moves_only_as_allowed,
    managers_nominate_their_own_branch_with_checked_text,
    nothing_changes_outside_the_window,
    the_quota_holds_when_twenty_submits_race,
    ruling_out_racing_a_withdrawal_frees_one_place,
    one_nomination_per_nominee_even_under_a_race,
    stale_edits_are_refused,
    scopes_of_managers_nominees_and_employees,
    admins_filter_count_export_and_rule_out,
);

/// A campaign open for nominations now, with this quota per branch.
async fn open_campaign(app: &TestApp, quota: i64) -> i64 {
    let res = app
        .post(
            "/api/v1/campaigns",
            app.admin(),
            json!({"name": "2026 最美消保人", "nomination_opens_at": rfc3339(-60), "nomination_closes_at": rfc3339(60), "nominations_per_branch": quota}),
        )
        .await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    let id = res.body["id"].as_i64().unwrap();
    let moved =
        app.patch(&format!("/api/v1/campaigns/{id}"), app.admin(), json!({"status": "nominating"})).await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    id
}

fn nomination(nominee: i64, title: &str) -> Value {
    json!({"nominee_id": nominee, "title": title, "summary": "耐心解答客户疑问，化解纠纷。", "story": "她在柜台前坚持了三个小时，帮助一位老人识破了诈骗。", "links": ["https://example.com/story/1"]})
}

async fn employees(app: &TestApp, branch: i64, prefix: &str, n: usize) -> Vec<i64> {
    let mut ids = vec![];
    for i in 0..n {
        let res = app.post("/api/v1/users", app.admin(), json!({"employee_no": format!("{prefix}{i:03}"), "name": format!("员工{prefix}{i}"), "branch_id": branch})).await;
        assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
        ids.push(res.body["id"].as_i64().unwrap());
    }
    ids
}

async fn campaign_lifecycle_moves_only_as_allowed(app: TestApp) {
    let bad_window = app
        .post("/api/v1/campaigns", app.admin(), json!({"name": "x", "nomination_opens_at": rfc3339(60), "nomination_closes_at": rfc3339(-60), "nominations_per_branch": 5}))
        .await;
    assert_eq!(bad_window.status, StatusCode::UNPROCESSABLE_ENTITY);
    let bad_time = app
        .post("/api/v1/campaigns", app.admin(), json!({"name": "x", "nomination_opens_at": "yesterday", "nomination_closes_at": rfc3339(60), "nominations_per_branch": 5}))
        .await;
    assert_eq!(bad_time.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad_time.body["errors"][0]["field"], "nomination_opens_at");
    let zero_quota = app
        .post("/api/v1/campaigns", app.admin(), json!({"name": "x", "nomination_opens_at": rfc3339(0), "nomination_closes_at": rfc3339(60), "nominations_per_branch": 0}))
        .await;
    assert_eq!(zero_quota.status, StatusCode::UNPROCESSABLE_ENTITY);

    let created = app
        .post("/api/v1/campaigns", app.admin(), json!({"name": "2026 评选", "nomination_opens_at": rfc3339(-60), "nomination_closes_at": rfc3339(60), "nominations_per_branch": 5}))
        .await;
    assert_eq!(created.body["status"], "draft");
    assert_eq!(created.body["winners_target"], 310);
    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/campaigns/{id}");
    let step = |status: &'static str| app.patch(&path, app.admin(), json!({"status": status}));
    assert_eq!(step("screening").await.status, StatusCode::CONFLICT, "draft cannot skip nominating");
    assert_eq!(step("nominating").await.status, StatusCode::OK);
    assert_eq!(step("draft").await.status, StatusCode::OK, "back to draft before screening");
    assert_eq!(step("nominating").await.status, StatusCode::OK);
    assert_eq!(step("screening").await.status, StatusCode::OK);
    let back = step("nominating").await;
    assert_eq!((back.status, back.code()), (StatusCode::CONFLICT, "invalid_transition"));
    let edit = app.patch(&path, app.admin(), json!({"nominations_per_branch": 9})).await;
    assert_eq!(edit.status, StatusCode::CONFLICT, "settings are frozen once screening starts");
    assert_eq!(step("published").await.status, StatusCode::CONFLICT);
    let unfinished = step("finished").await;
    assert_eq!(
        (unfinished.status, unfinished.code()),
        (StatusCode::CONFLICT, "screening_unfinished"),
        "no round has decided the winners yet (the screening tests walk on to published)"
    );
    assert_eq!(step("draft").await.status, StatusCode::CONFLICT);
    assert_eq!(step("retired").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let (_, employee) = app.user("E1", None, &[]).await;
    assert_eq!(app.get(&path, &employee).await.status, StatusCode::OK, "everyone may read campaigns");
    assert_eq!(app.get("/api/v1/campaigns", &employee).await.body["total"], 1);
    let denied = app
        .post("/api/v1/campaigns", &employee, json!({"name": "x", "nomination_opens_at": rfc3339(0), "nomination_closes_at": rfc3339(60), "nominations_per_branch": 5}))
        .await;
    assert_eq!(denied.status, StatusCode::FORBIDDEN);
    assert_eq!(app.patch(&path, &employee, json!({"name": "y"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/api/v1/campaigns/999", app.admin()).await.status, StatusCode::NOT_FOUND);
}

async fn managers_nominate_their_own_branch_with_checked_text(app: TestApp) {
    let campaign = open_campaign(&app, 5).await;
    let (_, branch) = app.org("PA", "B01").await;
    let (_, other_branch) = app.org("PA", "B02").await;
    let (_, manager) = app.user("M1", Some(branch), &["manager"]).await;
    let (employee_id, employee) = app.user("E1", Some(branch), &[]).await;
    let stranger = employees(&app, other_branch, "X", 1).await[0];
    let path = format!("/api/v1/campaigns/{campaign}/nominations");

    let created = app.post(&path, &manager, nomination(employee_id, "守护老人钱袋子")).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    assert_eq!(created.body["status"], "draft");
    assert_eq!(created.body["branch_id"], branch);
    assert_eq!(created.body["nominee_name"], "用户E1");
    assert_eq!(created.headers["etag"], "\"1\"");

    let other = app.post(&path, &manager, nomination(stranger, "别的分行")).await;
    assert_eq!(other.status, StatusCode::FORBIDDEN, "a nominee of another branch");
    assert_eq!(
        app.post(&path, &employee, nomination(employee_id, "自荐")).await.status,
        StatusCode::FORBIDDEN
    );
    let unknown = app.post(&path, app.admin(), nomination(9999, "查无此人")).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(unknown.body["errors"][0]["field"], "nominee_id");
    // A manager learns nothing about people outside their branch.
    assert_eq!(app.post(&path, &manager, nomination(9999, "查无此人")).await.status, StatusCode::FORBIDDEN);
    let group_staff =
        app.post("/api/v1/users", app.admin(), json!({"employee_no": "G1", "name": "集团"})).await;
    let staff =
        app.post(&path, app.admin(), nomination(group_staff.body["id"].as_i64().unwrap(), "集团员工")).await;
    assert_eq!(staff.status, StatusCode::UNPROCESSABLE_ENTITY);
    let again = app.post(&path, &manager, nomination(employee_id, "再来一次")).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "already_nominated"));
    assert_eq!(
        app.post("/api/v1/campaigns/999/nominations", &manager, nomination(employee_id, "x")).await.status,
        StatusCode::NOT_FOUND
    );

    let fresh = employees(&app, branch, "T", 1).await[0];
    let long_story = "消".repeat(5000);
    let mut body = nomination(fresh, &"标".repeat(60));
    body["story"] = json!(long_story);
    body["summary"] = json!("摘".repeat(300));
    let exact = app.post(&path, &manager, body).await;
    assert_eq!(exact.status, StatusCode::CREATED, "limits count characters, not bytes: {}", exact.body);
    let id = exact.body["id"].as_i64().unwrap();
    for (field, value) in [
        ("title", json!("标".repeat(61))),
        ("summary", json!("摘".repeat(301))),
        ("story", json!("消".repeat(5001))),
        ("title", json!("   ")),
        (
            "links",
            json!([
                "https://a.example",
                "https://b.example",
                "https://c.example",
                "https://d.example",
                "https://e.example",
                "https://f.example"
            ]),
        ),
        ("links", json!(["javascript:alert(1)"])),
        ("links", json!(["ftp://files.example/x"])),
    ] {
        let res = app.patch(&format!("/api/v1/nominations/{id}"), &manager, json!({field: value})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", res.body);
        assert_eq!(res.body["errors"][0]["field"], field);
    }
    for (field, value) in [("title", "a\u{0}b"), ("summary", "a\u{7}b"), ("story", "a\u{0}b")] {
        let res = app.patch(&format!("/api/v1/nominations/{id}"), &manager, json!({field: value})).await;
        assert_eq!(res.status, StatusCode::UNPROCESSABLE_ENTITY, "{field}: {}", res.body);
    }
    let multi_line =
        app.patch(&format!("/api/v1/nominations/{id}"), &manager, json!({"story": "第一段\n\t第二段"})).await;
    assert_eq!(multi_line.status, StatusCode::OK);
    // NUL in a search is refused or matches nothing, never a 5xx (the harness checks).
    app.get(&format!("{path}?q=%00"), app.admin()).await;
    app.get("/api/v1/users?q=%00", app.admin()).await;
    let nul_login = app.try_login("ad\u{0}min", "whatever password").await;
    assert!(nul_login.status.is_client_error());
    let wrong_type = app.patch(&format!("/api/v1/nominations/{id}"), &manager, json!({"title": 7})).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY);
    let malformed =
        app.raw(Method::POST, &path, Some(&manager), "application/json", "{\"nominee_id\":").await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

async fn nothing_changes_outside_the_window(app: TestApp) {
    let (_, branch) = app.org("PA", "B01").await;
    let (_, manager) = app.user("M1", Some(branch), &["manager"]).await;
    let people = employees(&app, branch, "E", 3).await;
    let draft = app
        .post("/api/v1/campaigns", app.admin(), json!({"name": "草稿", "nomination_opens_at": rfc3339(-60), "nomination_closes_at": rfc3339(60), "nominations_per_branch": 5}))
        .await;
    let draft_id = draft.body["id"].as_i64().unwrap();
    let res = app
        .post(&format!("/api/v1/campaigns/{draft_id}/nominations"), &manager, nomination(people[0], "x"))
        .await;
    assert_eq!((res.status, res.code()), (StatusCode::CONFLICT, "not_nominating"));

    let campaign = open_campaign(&app, 5).await;
    let path = format!("/api/v1/campaigns/{campaign}/nominations");
    let open = app.post(&path, &manager, nomination(people[0], "窗口内")).await;
    let id = open.body["id"].as_i64().unwrap();
    // The window moves into the future: not yet open.
    let moved = app
        .patch(
            &format!("/api/v1/campaigns/{campaign}"),
            app.admin(),
            json!({"nomination_opens_at": rfc3339(30), "nomination_closes_at": rfc3339(90)}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let early = app.post(&path, &manager, nomination(people[1], "太早")).await;
    assert_eq!((early.status, early.code()), (StatusCode::CONFLICT, "window_closed"));
    // And into the past: closed.
    app.patch(
        &format!("/api/v1/campaigns/{campaign}"),
        app.admin(),
        json!({"nomination_opens_at": rfc3339(-90), "nomination_closes_at": rfc3339(-30)}),
    )
    .await;
    let late = app.post(&path, &manager, nomination(people[2], "太晚")).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "window_closed"));
    let nomination_path = format!("/api/v1/nominations/{id}");
    assert_eq!(
        app.patch(&nomination_path, &manager, json!({"title": "改"})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.post(&format!("{nomination_path}/submit"), &manager, json!({})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(
        app.post(&format!("{nomination_path}/withdraw"), &manager, json!({})).await.status,
        StatusCode::CONFLICT
    );
    assert_eq!(app.delete(&nomination_path, &manager).await.status, StatusCode::CONFLICT);

    // Screening: nothing changes either, whatever the window says.
    let campaign = open_campaign(&app, 5).await;
    let path = format!("/api/v1/campaigns/{campaign}/nominations");
    let kept = app.post(&path, &manager, nomination(people[1], "进入评审前")).await;
    let kept_path = format!("/api/v1/nominations/{}", kept.body["id"]);
    app.post(format!("{kept_path}/submit"), &manager, json!({})).await;
    let screening = app
        .patch(&format!("/api/v1/campaigns/{campaign}"), app.admin(), json!({"status": "screening"}))
        .await;
    assert_eq!(screening.status, StatusCode::OK);
    let res = app.post(&path, &manager, nomination(people[2], "太晚")).await;
    assert_eq!((res.status, res.code()), (StatusCode::CONFLICT, "not_nominating"));
    assert_eq!(app.patch(&kept_path, &manager, json!({"title": "改"})).await.status, StatusCode::CONFLICT);
    assert_eq!(
        app.post(format!("{kept_path}/withdraw"), &manager, json!({})).await.status,
        StatusCode::CONFLICT
    );
    // Ruling out still works while screening.
    let out = app.post(format!("{kept_path}/ineligible"), app.admin(), json!({"reason": "重复申报"})).await;
    assert_eq!(out.body["status"], "ineligible");
}

async fn the_quota_holds_when_twenty_submits_race(app: TestApp) {
    let campaign = open_campaign(&app, 5).await;
    let (_, branch) = app.org("PA", "B01").await;
    let (_, manager) = app.user("M1", Some(branch), &["manager"]).await;
    let people = employees(&app, branch, "E", 20).await;
    let mut ids = vec![];
    for (i, person) in people.iter().enumerate() {
        let res = app
            .post(
                &format!("/api/v1/campaigns/{campaign}/nominations"),
                &manager,
                nomination(*person, &format!("案例{i}")),
            )
            .await;
        ids.push(res.body["id"].as_i64().unwrap());
    }
    let submits =
        ids.iter().map(|id| app.post(format!("/api/v1/nominations/{id}/submit"), &manager, json!({})));
    let answers = futures_util::future::join_all(submits).await;
    let accepted = answers.iter().filter(|r| r.status == StatusCode::OK).count();
    let refused =
        answers.iter().filter(|r| r.status == StatusCode::CONFLICT && r.code() == "quota_exhausted").count();
    assert_eq!(
        (accepted, refused),
        (5, 15),
        "{:?}",
        answers.iter().map(|r| (r.status, r.code().to_owned())).collect::<Vec<_>>()
    );
    let counts = app.get(&format!("/api/v1/campaigns/{campaign}/nomination-counts"), app.admin()).await;
    let row = counts.body["branches"].as_array().unwrap().iter().find(|b| b["id"] == branch).unwrap().clone();
    assert_eq!(
        (row["submitted"].as_i64(), row["quota_left"].as_i64(), row["drafts"].as_i64()),
        (Some(5), Some(0), Some(15))
    );
    // Withdrawing frees a place, and exactly one of two racing submits takes it.
    let submitted: Vec<i64> = answers
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .map(|r| r.body["id"].as_i64().unwrap())
        .collect();
    let withdrawn =
        app.post(&format!("/api/v1/nominations/{}/withdraw", submitted[0]), &manager, json!({})).await;
    assert_eq!(withdrawn.body["status"], "withdrawn");
    let drafts: Vec<i64> = ids.iter().copied().filter(|id| !submitted.contains(id)).take(2).collect();
    let race =
        drafts.iter().map(|id| app.post(format!("/api/v1/nominations/{id}/submit"), &manager, json!({})));
    let race = futures_util::future::join_all(race).await;
    assert_eq!(race.iter().filter(|r| r.status == StatusCode::OK).count(), 1);
    // The quota cannot drop below what a branch already submitted.
    let lower = app
        .patch(&format!("/api/v1/campaigns/{campaign}"), app.admin(), json!({"nominations_per_branch": 3}))
        .await;
    assert_eq!((lower.status, lower.code()), (StatusCode::CONFLICT, "quota_below_submitted"));
    assert_eq!(app.get("/api/v1/audit/verify", app.admin()).await.body["ok"], true);
}

async fn ruling_out_racing_a_withdrawal_frees_one_place(app: TestApp) {
    let campaign = open_campaign(&app, 5).await;
    let (_, branch) = app.org("PA", "B01").await;
    let (_, manager) = app.user("M1", Some(branch), &["manager"]).await;
    let people = employees(&app, branch, "E", 11).await;
    let path = format!("/api/v1/campaigns/{campaign}/nominations");
    let mut ids = vec![];
    for person in &people {
        ids.push(app.post(&path, &manager, nomination(*person, "案例")).await.body["id"].as_i64().unwrap());
    }
    for id in &ids[..5] {
        assert_eq!(
            app.post(format!("/api/v1/nominations/{id}/submit"), &manager, json!({})).await.status,
            StatusCode::OK
        );
    }
    // Each submitted nomination is withdrawn and ruled out at the same moment: one wins.
    let races = ids[..5].iter().flat_map(|id| {
        [
            app.post(format!("/api/v1/nominations/{id}/withdraw"), &manager, json!({})),
            app.post(format!("/api/v1/nominations/{id}/ineligible"), app.admin(), json!({"reason": "重复"})),
        ]
    });
    let answers = futures_util::future::join_all(races).await;
    assert_eq!(answers.iter().filter(|r| r.status == StatusCode::OK).count(), 5, "one winner per nomination");
    // Five places are free again, exactly: six racing submits, five succeed.
    let submits =
        ids[5..].iter().map(|id| app.post(format!("/api/v1/nominations/{id}/submit"), &manager, json!({})));
    let answers = futures_util::future::join_all(submits).await;
    assert_eq!(answers.iter().filter(|r| r.status == StatusCode::OK).count(), 5);
    assert_eq!(answers.iter().filter(|r| r.code() == "quota_exhausted").count(), 1);
}

async fn one_nomination_per_nominee_even_under_a_race(app: TestApp) {
    let campaign = open_campaign(&app, 5).await;
    let (_, branch) = app.org("PA", "B01").await;
    let (_, manager) = app.user("M1", Some(branch), &["manager"]).await;
    let person = employees(&app, branch, "E", 1).await[0];
    let path = format!("/api/v1/campaigns/{campaign}/nominations");
    let creates = (0..10).map(|i| app.post(&path, &manager, nomination(person, &format!("第{i}份"))));
    let answers = futures_util::future::join_all(creates).await;
    assert_eq!(answers.iter().filter(|r| r.status == StatusCode::CREATED).count(), 1);
    assert!(answers
        .iter()
        .filter(|r| r.status != StatusCode::CREATED)
        .all(|r| r.status == StatusCode::CONFLICT));
    assert_eq!(app.get(&path, app.admin()).await.body["total"], 1);
}

async fn stale_edits_are_refused(app: TestApp) {
    let campaign = open_campaign(&app, 5).await;
    let (_, branch) = app.org("PA", "B01").await;
    let (_, manager) = app.user("M1", Some(branch), &["manager"]).await;
    let person = employees(&app, branch, "E", 1).await[0];
    let created = app
        .post(&format!("/api/v1/campaigns/{campaign}/nominations"), &manager, nomination(person, "初稿"))
        .await;
    let path = format!("/api/v1/nominations/{}", created.body["id"]);
    let read = app.get(&path, &manager).await;
    let tag = read.headers["etag"].to_str().unwrap().to_owned();
    let edit = |if_match: &str, title: &str| {
        app.client
            .patch(format!("{}{path}", app.address))
            .bearer_auth(&manager)
            .header("if-match", if_match)
            .json(&json!({"title": title}))
            .send()
    };
    let first = TestApp::read(edit(&tag, "第二稿").await.unwrap()).await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.headers["etag"], "\"2\"");
    let stale = TestApp::read(edit(&tag, "过时的修改").await.unwrap()).await;
    assert_eq!((stale.status, stale.code()), (StatusCode::PRECONDITION_FAILED, "stale"));
    let stale_body = app.patch(&path, &manager, json!({"title": "过时", "version": 1})).await;
    assert_eq!(stale_body.status, StatusCode::PRECONDITION_FAILED);
    // Submit and delete honour If-Match too.
    let stale_submit = app
        .client
        .post(format!("{}{path}/submit", app.address))
        .bearer_auth(&manager)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale_submit.status(), StatusCode::PRECONDITION_FAILED);
    let stale_delete = app
        .client
        .delete(format!("{}{path}", app.address))
        .bearer_auth(&manager)
        .header("if-match", "\"1\"")
        .send()
        .await
        .unwrap();
    assert_eq!(stale_delete.status(), StatusCode::PRECONDITION_FAILED);
    let garbage = TestApp::read(edit("not-a-version", "x").await.unwrap()).await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.get(&path, &manager).await.body["title"], "第二稿");
    let campaign_path = format!("/api/v1/campaigns/{campaign}");
    let stale_campaign = app.patch(&campaign_path, app.admin(), json!({"name": "新名", "version": 1})).await;
    assert_eq!(stale_campaign.status, StatusCode::PRECONDITION_FAILED);
}

async fn scopes_of_managers_nominees_and_employees(app: TestApp) {
    let campaign = open_campaign(&app, 5).await;
    let (_, branch) = app.org("PA", "B01").await;
    let (_, other_branch) = app.org("PA", "B02").await;
    let (_, manager) = app.user("M1", Some(branch), &["manager"]).await;
    let (_, other_manager) = app.user("M2", Some(other_branch), &["manager"]).await;
    let (nominee_id, nominee) = app.user("E1", Some(branch), &[]).await;
    let (_, colleague) = app.user("E2", Some(branch), &[]).await;
    let created = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/nominations"),
            &manager,
            nomination(nominee_id, "热心服务"),
        )
        .await;
    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/api/v1/nominations/{id}");

    assert_eq!(app.get(&path, &other_manager).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.patch(&path, &other_manager, json!({"title": "抢"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post(&format!("{path}/submit"), &other_manager, json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.delete(&path, &other_manager).await.status, StatusCode::FORBIDDEN);
    let others = app.get(&format!("/api/v1/campaigns/{campaign}/nominations"), &other_manager).await;
    assert_eq!(others.body["total"], 0, "managers see their own branch only");
    let peek = app
        .get(&format!("/api/v1/campaigns/{campaign}/nominations?branch_id={branch}"), &other_manager)
        .await;
    assert_eq!(peek.status, StatusCode::FORBIDDEN);
    let own_counts =
        app.get(&format!("/api/v1/campaigns/{campaign}/nomination-counts"), &other_manager).await;
    assert_eq!(own_counts.body["branches"].as_array().unwrap().len(), 1);
    assert_eq!(
        app.get(&format!("/api/v1/campaigns/{campaign}/nominations"), &colleague).await.status,
        StatusCode::FORBIDDEN
    );

    // A draft is the manager's business; once submitted the nominee sees it.
    assert_eq!(app.get(&path, &nominee).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/me/nominations", &nominee).await.body["items"], json!([]));
    app.post(&format!("{path}/submit"), &manager, json!({})).await;
    let mine = app.get("/api/v1/me/nominations", &nominee).await;
    assert_eq!(mine.body["items"][0]["status"], "submitted");
    assert_eq!(mine.body["items"][0]["title"], "热心服务");
    assert_eq!(app.get(&path, &nominee).await.status, StatusCode::NOT_FOUND, "the file is the branch's");
    assert_eq!(app.patch(&path, &nominee, json!({"title": "我自己改"})).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.post(&format!("{path}/withdraw"), &nominee, json!({})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.get(&path, &colleague).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.post(&format!("{path}/ineligible"), &manager, json!({"reason": "x"})).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(format!("{path}/withdraw"), &other_manager, json!({})).await.status,
        StatusCode::FORBIDDEN
    );

    // A draft whose nominee was disabled meanwhile cannot be submitted.
    let (leaver_id, _) = app.user("E3", Some(branch), &[]).await;
    let draft = app
        .post(
            &format!("/api/v1/campaigns/{campaign}/nominations"),
            &manager,
            nomination(leaver_id, "即将离职"),
        )
        .await;
    app.delete(&format!("/api/v1/users/{leaver_id}"), app.admin()).await;
    let refused =
        app.post(format!("/api/v1/nominations/{}/submit", draft.body["id"]), &manager, json!({})).await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", refused.body);
    for path in ["nominations", "nomination-counts", "exports/nominations.csv"] {
        assert_eq!(
            app.get(format!("/api/v1/campaigns/999/{path}"), app.admin()).await.status,
            StatusCode::NOT_FOUND,
            "{path}"
        );
    }
}

async fn admins_filter_count_export_and_rule_out(app: TestApp) {
    let campaign = open_campaign(&app, 2).await;
    let (company_a, a1) = app.org("PA", "A1").await;
    let (_, a2) = app.org("PA", "A2").await;
    let (company_b, b1) = app.org("PB", "B1").await;
    let (_, manager_a1) = app.user("MA1", Some(a1), &["manager"]).await;
    let (_, manager_a2) = app.user("MA2", Some(a2), &["manager"]).await;
    let (_, manager_b1) = app.user("MB1", Some(b1), &["manager"]).await;
    let path = format!("/api/v1/campaigns/{campaign}/nominations");
    let mut all = vec![];
    for (branch, manager, prefix) in
        [(a1, &manager_a1, "A1_"), (a2, &manager_a2, "A2_"), (b1, &manager_b1, "B1_")]
    {
        for (i, person) in employees(&app, branch, prefix, 2).await.into_iter().enumerate() {
            let title = if i == 0 { format!("={prefix}SUM(A1)") } else { format!("{prefix}反诈先锋") };
            let res = app.post(&path, manager, nomination(person, &title)).await;
            let id = res.body["id"].as_i64().unwrap();
            app.post(&format!("/api/v1/nominations/{id}/submit"), manager, json!({})).await;
            all.push(id);
        }
    }
    let list = |query: &str| app.get(format!("{path}?{query}"), app.admin());
    let everything = list("").await;
    assert_eq!(everything.body["total"], 6);
    assert!(everything.body["items"][0].get("story").is_none(), "lists leave the story out");
    assert!(everything.body["items"][0]["summary"].is_string());
    assert_eq!(list(&format!("member_company_id={company_a}")).await.body["total"], 4);
    assert_eq!(list(&format!("member_company_id={company_b}&status=submitted")).await.body["total"], 2);
    assert_eq!(list("status=draft").await.body["total"], 0);
    assert_eq!(list("q=%E5%8F%8D%E8%AF%88").await.body["total"], 3, "title text 反诈");
    assert_eq!(list("q=%E5%91%98%E5%B7%A5A2_").await.body["total"], 2, "nominee name 员工A2_");
    let page = list("sort=-id&per_page=4&page=2").await;
    let ids: Vec<i64> =
        page.body["items"].as_array().unwrap().iter().map(|n| n["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, vec![all[1], all[0]]);
    assert_eq!(list("sort=sideways").await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(list("status=lost").await.status, StatusCode::UNPROCESSABLE_ENTITY);

    let counts = app.get(&format!("/api/v1/campaigns/{campaign}/nomination-counts"), app.admin()).await.body;
    assert_eq!(counts["total"]["submitted"], 6);
    assert_eq!(counts["total"]["quota_left"], 0);
    let company_a_row =
        counts["member_companies"].as_array().unwrap().iter().find(|c| c["id"] == company_a).unwrap().clone();
    assert_eq!((company_a_row["submitted"].as_i64(), company_a_row["quota"].as_i64()), (Some(4), Some(4)));

    let ruled_out = app
        .post(
            &format!("/api/v1/nominations/{}/ineligible", all[0]),
            app.admin(),
            json!({"reason": "材料不实"}),
        )
        .await;
    assert_eq!(ruled_out.body["status"], "ineligible");
    assert_eq!(ruled_out.body["ineligible_reason"], "材料不实");
    let empty_reason = app
        .post(&format!("/api/v1/nominations/{}/ineligible", all[1]), app.admin(), json!({"reason": " "}))
        .await;
    assert_eq!(empty_reason.status, StatusCode::UNPROCESSABLE_ENTITY);
    let counts = app.get(&format!("/api/v1/campaigns/{campaign}/nomination-counts"), app.admin()).await.body;
    assert_eq!(counts["total"]["quota_left"], 1, "ruling out frees the place");

    let csv = app
        .client
        .get(format!("{}/api/v1/campaigns/{campaign}/exports/nominations.csv", app.address))
        .bearer_auth(app.admin())
        .send()
        .await
        .unwrap();
    assert_eq!(csv.status(), StatusCode::OK);
    assert!(csv.headers()["content-type"].to_str().unwrap().starts_with("text/csv"));
    let bytes = csv.bytes().await.unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBF"), "a BOM for Excel");
    let text = String::from_utf8(bytes[3..].to_vec()).unwrap();
    assert_eq!(text.lines().count(), 7);
    assert!(text.contains("反诈先锋") && text.contains("材料不实"));
    assert!(text.contains("'=A1_SUM(A1)"), "formulas are defused: {text}");
    let manager_csv = app
        .client
        .get(format!("{}/api/v1/campaigns/{campaign}/exports/nominations.csv", app.address))
        .bearer_auth(&manager_b1)
        .send()
        .await
        .unwrap();
    assert_eq!(manager_csv.text().await.unwrap().lines().count(), 3, "a manager exports their own branch");
    let unknown = app.get(&format!("/api/v1/campaigns/{campaign}/exports/secrets.csv"), app.admin()).await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    let verify = app.get("/api/v1/audit/verify", app.admin()).await;
    assert_eq!(verify.body["ok"], true);
    let events = app.get("/api/v1/audit?action=nomination.submit", app.admin()).await;
    assert_eq!(events.body["total"], 6);
}
