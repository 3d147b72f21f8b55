use std::collections::{BTreeMap, BTreeSet};

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::{rfc3339, TestApp};
use crate::on_both;

on_both!(
    two_rounds_screen_down_to_exactly_the_target,
    round_settings_are_checked_and_frozen,
    reviewers_see_and_score_only_their_assignments,
    reviews_racing_a_close_are_counted_or_refused,
    results_stay_hidden_until_published,
);

pub struct Reviewer {
    pub id: i64,
    pub token: String,
}

/// Three member companies of two branches each, `per_branch` submitted
/// nominations in every branch, and reviewers: one in each branch, plus two
/// group reviewers without a branch.
pub struct Field {
    pub campaign: i64,
    /// nomination id → (member company, branch)
    pub nominations: BTreeMap<i64, (i64, i64)>,
    /// nomination id → the nominee's (employee number, activation code)
    pub nominees: BTreeMap<i64, (String, String)>,
    pub branch_reviewers: Vec<(Reviewer, i64, i64)>,
    pub group_reviewers: Vec<Reviewer>,
    pub employee: String,
}

pub async fn field(app: &TestApp, per_branch: usize, winners: i64) -> Field {
    let mut branches = vec![];
    for c in 0..3 {
        for b in 0..2 {
            branches.push((app.org(&format!("MC{c}"), &format!("MC{c}-B{b}")).await, format!("MC{c}-B{b}")));
        }
    }
    let mut csv = String::from("employee_no,name,branch_code\n");
    for (_, code) in &branches {
        for n in 0..per_branch {
            csv.push_str(&format!("{code}-E{n},员工{code}{n},{code}\n"));
        }
    }
    let imported = app.import_csv(app.admin(), csv).await;
    assert_eq!(imported.status, StatusCode::OK, "{}", imported.body);
    let codes: BTreeMap<String, String> = imported.body["activation_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["employee_no"].as_str().unwrap().to_owned(), c["code"].as_str().unwrap().to_owned()))
        .collect();
    let mut nominees = BTreeMap::new();
    let users = app.get("/api/v1/users?per_page=500", app.admin()).await;
    let ids: BTreeMap<String, i64> = users.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| (u["employee_no"].as_str().unwrap().to_owned(), u["id"].as_i64().unwrap()))
        .collect();

    let campaign = app.open_campaign(per_branch as i64, winners).await;
    let mut nominations = BTreeMap::new();
    for ((company, branch), code) in &branches {
        for n in 0..per_branch {
            let nominee = ids[&format!("{code}-E{n}")];
            let res = app
                .post(
                    format!("/api/v1/campaigns/{campaign}/nominations"),
                    app.admin(),
                    json!({"nominee_id": nominee, "title": format!("{code} 的故事 {n}"), "summary": "耐心解答客户疑问。", "story": "她帮助一位老人识破了诈骗。"}),
                )
                .await;
            assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
            let id = res.body["id"].as_i64().unwrap();
            let submitted =
                app.post(format!("/api/v1/nominations/{id}/submit"), app.admin(), json!({})).await;
            assert_eq!(submitted.status, StatusCode::OK, "{}", submitted.body);
            nominations.insert(id, (*company, *branch));
            let no = format!("{code}-E{n}");
            nominees.insert(id, (no.clone(), codes[&no].clone()));
        }
    }
    let mut branch_reviewers = vec![];
    for ((company, branch), code) in &branches {
        let (id, token) = app.user(&format!("{code}-R"), Some(*branch), &["employee", "reviewer"]).await;
        branch_reviewers.push((Reviewer { id, token }, *company, *branch));
    }
    let mut group_reviewers = vec![];
    for n in 0..2 {
        let (id, token) = app.user(&format!("GROUP-R{n}"), None, &["reviewer"]).await;
        group_reviewers.push(Reviewer { id, token });
    }
    let (_, employee) = app.user("PLAIN-E", Some(branches[0].0 .1), &["employee"]).await;
    Field { campaign, nominations, nominees, branch_reviewers, group_reviewers, employee }
}

fn criteria() -> Value {
    json!([{"name": "事迹真实性", "weight": 0.5, "max_score": 10}, {"name": "客户影响", "weight": 0.3, "max_score": 10}, {"name": "示范意义", "weight": 0.2, "max_score": 5}])
}

pub async fn to_screening(app: &TestApp, campaign: i64) {
    let res =
        app.patch(format!("/api/v1/campaigns/{campaign}"), app.admin(), json!({"status": "screening"})).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

pub async fn create_round(app: &TestApp, campaign: i64, body: Value) -> Value {
    let res = app.post(format!("/api/v1/campaigns/{campaign}/rounds"), app.admin(), body).await;
    assert_eq!(res.status, StatusCode::CREATED, "{}", res.body);
    res.body
}

pub fn ok(res: &crate::helpers::Response) {
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
}

/// Every reviewer scores every assignment with scores derived from the ids.
async fn review_everything(
    app: &TestApp,
    round: i64,
    reviewers: &[&Reviewer],
    criteria: &[(i64, f64)],
) -> usize {
    let mut done = 0;
    for r in reviewers {
        let mine = app.get(format!("/api/v1/rounds/{round}/assignments/mine?per_page=500"), &r.token).await;
        ok(&mine);
        for a in mine.body["items"].as_array().unwrap() {
            let nomination = a["nomination_id"].as_i64().unwrap();
            let scores: BTreeMap<String, f64> = criteria
                .iter()
                .enumerate()
                .map(|(i, (id, max))| {
                    (id.to_string(), ((nomination * 7 + r.id * 3 + i as i64) % (*max as i64 + 1)) as f64)
                })
                .collect();
            let res = app
                .request(
                    Method::PUT,
                    format!("/api/v1/rounds/{round}/entries/{nomination}/review"),
                    Some(&r.token),
                    Some(json!({"scores": scores})),
                )
                .await;
            ok(&res);
            done += 1;
        }
    }
    done
}

fn criterion_ids(round: &Value) -> Vec<(i64, f64)> {
    round["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["max_score"].as_f64().unwrap()))
        .collect()
}

async fn two_rounds_screen_down_to_exactly_the_target(app: TestApp) {
    let f = field(&app, 3, 4).await;
    let c = f.campaign;
    let round1 = create_round(
        &app,
        c,
        json!({"name": "成员公司初评", "scope": "member_company", "reviews_per_entry": 1, "criteria": criteria(),
               "normalization": "zscore", "advance": {"rule": "proportional", "n": 9}}),
    )
    .await;
    let round2 = create_round(
        &app,
        c,
        json!({"name": "集团终评", "scope": "group", "conflict_scope": "member_company", "reviews_per_entry": 2,
               "criteria": criteria(), "aggregate": "median", "advance": {"rule": "top_n", "n": 4}}),
    )
    .await;
    assert_eq!((round1["sequence"].as_i64(), round2["sequence"].as_i64()), (Some(1), Some(2)));
    let (r1, r2) = (round1["id"].as_i64().unwrap(), round2["id"].as_i64().unwrap());

    let early = app.post(format!("/api/v1/rounds/{r1}/open"), app.admin(), json!({})).await;
    assert_eq!(
        (early.status, early.code()),
        (StatusCode::CONFLICT, "invalid_state"),
        "campaign still nominating"
    );
    to_screening(&app, c).await;
    let out_of_order = app.post(format!("/api/v1/rounds/{r2}/open"), app.admin(), json!({})).await;
    assert_eq!(out_of_order.status, StatusCode::CONFLICT, "round 1 has not closed");

    // Round 1: each member company's panel (its branch reviewers) scores its own entries.
    let panel: Vec<i64> = f.branch_reviewers.iter().map(|(r, _, _)| r.id).collect();
    ok(&app.post(format!("/api/v1/rounds/{r1}/reviewers"), app.admin(), json!({"user_ids": panel})).await);
    let early_assign =
        app.post(format!("/api/v1/rounds/{r1}/assignments"), app.admin(), json!({"seed": 7})).await;
    assert_eq!(early_assign.status, StatusCode::CONFLICT, "entries are fixed when the round opens");
    let opened = app.post(format!("/api/v1/rounds/{r1}/open"), app.admin(), json!({})).await;
    ok(&opened);
    assert_eq!((opened.body["status"].as_str(), opened.body["entries"].as_i64()), (Some("open"), Some(18)));
    let assigned =
        app.post(format!("/api/v1/rounds/{r1}/assignments"), app.admin(), json!({"seed": 7})).await;
    ok(&assigned);
    assert_eq!(
        (assigned.body["created"].as_i64(), assigned.body["shortfalls"].as_array().map(Vec::len)),
        (Some(18), Some(0))
    );
    let again = app.post(format!("/api/v1/rounds/{r1}/assignments"), app.admin(), json!({"seed": 8})).await;
    assert_eq!(
        (again.body["created"].as_i64(), again.body["total"].as_i64()),
        (Some(0), Some(18)),
        "a top-up adds nothing when complete"
    );
    // Nobody reviews their own branch; each reviewer has the 3 entries of the other branch of their company.
    for (r, company, branch) in &f.branch_reviewers {
        let mine = app.get(format!("/api/v1/rounds/{r1}/assignments/mine"), &r.token).await;
        ok(&mine);
        assert_eq!(mine.body["total"], 3);
        for a in mine.body["items"].as_array().unwrap() {
            assert_eq!(a["member_company_id"].as_i64(), Some(*company));
            assert_ne!(a["branch_id"].as_i64(), Some(*branch));
            assert!(a["story"].as_str().unwrap().contains("诈骗"));
        }
    }

    let short = app.post(format!("/api/v1/rounds/{r1}/close"), app.admin(), json!({})).await;
    assert_eq!((short.status, short.code()), (StatusCode::CONFLICT, "reviews_missing"));
    let reviewers: Vec<&Reviewer> = f.branch_reviewers.iter().map(|(r, _, _)| r).collect();
    assert_eq!(review_everything(&app, r1, &reviewers, &criterion_ids(&round1)).await, 18);
    let progress = app.get(format!("/api/v1/rounds/{r1}/progress"), app.admin()).await;
    ok(&progress);
    assert_eq!(
        (progress.body["reviews"].as_i64(), progress.body["entries_short"].as_i64()),
        (Some(18), Some(0))
    );
    assert!(progress.body["reviewers"].as_array().unwrap().iter().all(|r| r["done"] == 3 && r["total"] == 3));

    let preview = app.get(format!("/api/v1/rounds/{r1}/preview?per_page=500"), app.admin()).await;
    ok(&preview);
    assert_eq!(preview.body["advanced"], 9);
    let closed = app.post(format!("/api/v1/rounds/{r1}/close"), app.admin(), json!({})).await;
    ok(&closed);
    assert_eq!(closed.body["status"], "closed");
    assert_eq!(closed.body["algorithm_version"], "awards-scoring/3");
    let hash = closed.body["result_hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    let twice = app.post(format!("/api/v1/rounds/{r1}/close"), app.admin(), json!({})).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "closing twice");

    let results = app.get(format!("/api/v1/rounds/{r1}/results?per_page=500"), app.admin()).await;
    ok(&results);
    assert_eq!(results.body["result_hash"], hash.as_str());
    assert_eq!(results.body["items"], preview.body["items"], "the preview was what closing froze");
    let items = results.body["items"].as_array().unwrap();
    // 18 entries, 6 per company: 9 seats are 3 per company, the best 3 of each.
    let mut seats: BTreeMap<i64, usize> = BTreeMap::new();
    for i in items.iter().filter(|i| i["advanced"] == true) {
        *seats.entry(i["member_company_id"].as_i64().unwrap()).or_default() += 1;
    }
    assert_eq!(seats.values().copied().collect::<Vec<_>>(), vec![3, 3, 3]);
    for company in seats.keys() {
        let ranks = |advanced: bool| -> Vec<i64> {
            items
                .iter()
                .filter(|i| i["member_company_id"] == *company && i["advanced"] == advanced)
                .map(|i| i["rank"].as_i64().unwrap())
                .collect()
        };
        assert!(ranks(true).iter().max() < ranks(false).iter().min(), "no outsider outranks a winner");
    }
    assert!(items.iter().all(|i| i["decided_by"].is_string() && i["jury_stddev"].is_number()));
    for i in items {
        let (company, branch) = f.nominations[&i["nomination_id"].as_i64().unwrap()];
        assert_eq!((i["member_company_id"].as_i64(), i["branch_id"].as_i64()), (Some(company), Some(branch)));
    }
    let recount = app.get(format!("/api/v1/rounds/{r1}/recount"), app.admin()).await;
    ok(&recount);
    assert_eq!(
        (recount.body["ok"].as_bool(), recount.body["recomputed_hash"].as_str()),
        (Some(true), Some(hash.as_str()))
    );

    // Round 2: the group panel; winners must be exactly the target.
    let panel: Vec<i64> = f.group_reviewers.iter().map(|r| r.id).collect();
    ok(&app.post(format!("/api/v1/rounds/{r2}/reviewers"), app.admin(), json!({"user_ids": panel})).await);
    // One of round 1's finalists is ruled out before round 2: it does not go on,
    // and round 1's frozen result still recounts.
    let finalist = items.iter().find(|i| i["advanced"] == true).unwrap()["nomination_id"].as_i64().unwrap();
    ok(&app
        .post(
            format!("/api/v1/nominations/{finalist}/ineligible"),
            app.admin(),
            json!({"reason": "材料不实"}),
        )
        .await);
    let opened = app.post(format!("/api/v1/rounds/{r2}/open"), app.admin(), json!({})).await;
    ok(&opened);
    assert_eq!(opened.body["entries"], 8, "the entries round 1 advanced, less the one ruled out");
    let recount = app.get(format!("/api/v1/rounds/{r1}/recount"), app.admin()).await;
    assert_eq!(recount.body["ok"], true, "{}", recount.body);
    ok(&app.post(format!("/api/v1/rounds/{r2}/assignments"), app.admin(), json!({})).await);
    let not_yet = app.get(format!("/api/v1/campaigns/{c}/winners"), app.admin()).await;
    assert_eq!((not_yet.status, not_yet.code()), (StatusCode::CONFLICT, "not_decided"));
    let reviewers: Vec<&Reviewer> = f.group_reviewers.iter().collect();
    assert_eq!(review_everything(&app, r2, &reviewers, &criterion_ids(&round2)).await, 16);
    ok(&app.post(format!("/api/v1/rounds/{r2}/close"), app.admin(), json!({})).await);

    let winners = app.get(format!("/api/v1/campaigns/{c}/winners"), app.admin()).await;
    ok(&winners);
    assert_eq!(winners.body["total"], 4);
    let ranks: Vec<i64> =
        winners.body["items"].as_array().unwrap().iter().map(|w| w["rank"].as_i64().unwrap()).collect();
    assert_eq!(ranks, vec![1, 2, 3, 4]);
    let first = &winners.body["items"][0];
    let late = app
        .post(
            format!("/api/v1/nominations/{}/ineligible", first["nomination_id"]),
            app.admin(),
            json!({"reason": "x"}),
        )
        .await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "winners_decided"));
    assert!(first["title"].as_str().unwrap().contains("的故事"));
    assert!(first["final_score"].is_number() && first["member_company_name"].is_string());

    // Recounting catches a tampered result.
    {
        use diesel::RunQueryDsl;
        let mut conn = app.connect();
        let winner = first["nomination_id"].as_i64().unwrap();
        diesel::sql_query(format!("UPDATE entries SET final_score = final_score + 1 WHERE round_id = {r2} AND nomination_id = {winner}"))
            .execute(&mut conn)
            .unwrap();
    }
    let recount = app.get(format!("/api/v1/rounds/{r2}/recount"), app.admin()).await;
    ok(&recount);
    assert_eq!(
        (recount.body["ok"].as_bool(), recount.body["outcomes_match"].as_bool()),
        (Some(false), Some(false))
    );

    ok(&app.patch(format!("/api/v1/campaigns/{c}"), app.admin(), json!({"status": "finished"})).await);
    let exported = app.get(format!("/api/v1/campaigns/{c}/exports/results.csv"), app.admin()).await;
    ok(&exported);
    let text = exported.body.as_str().unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert_eq!(text.lines().count(), 1 + 18 + 8, "a header and every entry of both rounds");
    let reviews = app.get(format!("/api/v1/campaigns/{c}/exports/reviews.csv"), app.admin()).await;
    ok(&reviews);
    let text = reviews.body.as_str().unwrap();
    assert!(text.lines().next().unwrap().contains("事迹真实性"));
    assert_eq!(text.lines().count(), 1 + 18 + 16);
    let verify = app.get("/api/v1/audit/verify", app.admin()).await;
    assert_eq!(verify.body["ok"], true);
    let audit = app.get("/api/v1/audit?per_page=500", app.admin()).await;
    let actions: BTreeSet<&str> =
        audit.body["items"].as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    for action in
        ["round.create", "round.panel", "round.open", "round.assign", "review.submit", "round.close"]
    {
        assert!(actions.contains(action), "{action} audited");
    }
}

async fn round_settings_are_checked_and_frozen(app: TestApp) {
    let f = field(&app, 2, 3).await;
    let c = f.campaign;
    let path = format!("/api/v1/campaigns/{c}/rounds");
    let bad = app
        .post(&path, app.admin(), json!({"name": "x", "reviews_per_entry": 0, "criteria": [{"name": "a", "weight": 0, "max_score": 10}],
                                          "jury_weight": 0.7, "vote_weight": 0.3, "advance": {"rule": "top_n", "n": 0}}))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: BTreeSet<&str> =
        bad.body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        BTreeSet::from(["criteria[0].weight", "reviews_per_entry", "vote_weight", "advance.n"])
    );
    let unknown_rule =
        app.post(&path, app.admin(), json!({"name": "x", "advance": {"rule": "lottery"}})).await;
    assert_eq!(unknown_rule.status, StatusCode::UNPROCESSABLE_ENTITY);
    let employee =
        app.post(&path, &f.employee, json!({"name": "x", "advance": {"rule": "top_n", "n": 3}})).await;
    assert_eq!(employee.status, StatusCode::FORBIDDEN);
    let missing = app.post("/api/v1/campaigns/999999/rounds", app.admin(), json!({"name": "x", "reviews_per_entry": 1, "criteria": criteria(), "advance": {"rule": "top_n", "n": 3}})).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/rounds/999999", app.admin()).await.status, StatusCode::NOT_FOUND);

    // The only round is the last: it must cut to the winners target (3).
    let round = create_round(&app, c, json!({"name": "唯一一轮", "reviews_per_entry": 1, "criteria": criteria(), "advance": {"rule": "top_n", "n": 5}})).await;
    let id = round["id"].as_i64().unwrap();
    let extra = create_round(&app, c, json!({"name": "多余", "reviews_per_entry": 1, "criteria": criteria(), "advance": {"rule": "top_n", "n": 3}})).await;
    let not_last = app.delete(format!("/api/v1/rounds/{id}"), app.admin()).await;
    assert_eq!(not_last.status, StatusCode::CONFLICT, "only the last round can be deleted");
    let deleted = app.delete(format!("/api/v1/rounds/{}", extra["id"]), app.admin()).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    to_screening(&app, c).await;
    let refused = app.post(format!("/api/v1/rounds/{id}/open"), app.admin(), json!({})).await;
    assert_eq!(
        (refused.status, refused.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("advance"))
    );
    let stale = app
        .request(
            Method::PATCH,
            format!("/api/v1/rounds/{id}"),
            Some(app.admin()),
            Some(json!({"advance": {"rule": "top_n", "n": 3}, "version": 99})),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let fixed = app
        .patch(
            format!("/api/v1/rounds/{id}"),
            app.admin(),
            json!({"advance": {"rule": "top_n", "n": 3}, "closes_at": rfc3339(120)}),
        )
        .await;
    ok(&fixed);
    assert_eq!(fixed.body["advance"], json!({"rule": "top_n", "n": 3}));
    assert_eq!(fixed.body["criteria"].as_array().unwrap().len(), 3, "criteria kept when not sent");
    // A group reviewer cannot sit on a member-company panel... but this round is group scope: fine.
    ok(&app
        .post(
            format!("/api/v1/rounds/{id}/reviewers"),
            app.admin(),
            json!({"user_ids": [f.group_reviewers[0].id]}),
        )
        .await);
    let not_reviewer =
        app.post(format!("/api/v1/rounds/{id}/reviewers"), app.admin(), json!({"user_ids": [999999]})).await;
    assert_eq!(
        (not_reviewer.status, not_reviewer.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("user_ids[0]"))
    );
    ok(&app.post(format!("/api/v1/rounds/{id}/open"), app.admin(), json!({})).await);
    let frozen = app.patch(format!("/api/v1/rounds/{id}"), app.admin(), json!({"name": "改名"})).await;
    assert_eq!((frozen.status, frozen.code()), (StatusCode::CONFLICT, "invalid_state"));
    let reopen = app.post(format!("/api/v1/rounds/{id}/open"), app.admin(), json!({})).await;
    assert_eq!(reopen.status, StatusCode::CONFLICT);
    let delete_open = app.delete(format!("/api/v1/rounds/{id}"), app.admin()).await;
    assert_eq!(delete_open.status, StatusCode::CONFLICT);
    let finish_early =
        app.patch(format!("/api/v1/campaigns/{c}"), app.admin(), json!({"status": "finished"})).await;
    assert_eq!((finish_early.status, finish_early.code()), (StatusCode::CONFLICT, "screening_unfinished"));

    // A member-company round refuses group staff on its panel.
    let mc = create_round(&app, c, json!({"name": "x", "scope": "member_company", "reviews_per_entry": 1, "criteria": criteria(), "advance": {"rule": "top_n", "n": 3}})).await;
    let mc_id = mc["id"].as_i64().unwrap();
    let group_staff = app
        .post(
            format!("/api/v1/rounds/{mc_id}/reviewers"),
            app.admin(),
            json!({"user_ids": [f.group_reviewers[1].id]}),
        )
        .await;
    assert_eq!(group_staff.status, StatusCode::UNPROCESSABLE_ENTITY);
    let same_scope = app
        .patch(format!("/api/v1/rounds/{mc_id}"), app.admin(), json!({"conflict_scope": "member_company"}))
        .await;
    assert_eq!(same_scope.status, StatusCode::UNPROCESSABLE_ENTITY);
    let while_open = app.delete(format!("/api/v1/rounds/{mc_id}"), app.admin()).await;
    assert_eq!(while_open.status, StatusCode::CONFLICT, "the open round was opened as the last one");
    let rounds = app.get(format!("/api/v1/campaigns/{c}/rounds"), &f.employee).await;
    ok(&rounds);
    assert_eq!(rounds.body["items"].as_array().unwrap().len(), 2);
}

async fn reviewers_see_and_score_only_their_assignments(app: TestApp) {
    let f = field(&app, 2, 2).await;
    let c = f.campaign;
    let round = create_round(&app, c, json!({"name": "终评", "reviews_per_entry": 1, "criteria": criteria(), "advance": {"rule": "top_n", "n": 2}})).await;
    let id = round["id"].as_i64().unwrap();
    to_screening(&app, c).await;
    let (alice, bob) = (&f.group_reviewers[0], &f.group_reviewers[1]);
    ok(&app
        .post(format!("/api/v1/rounds/{id}/reviewers"), app.admin(), json!({"user_ids": [alice.id, bob.id]}))
        .await);
    ok(&app.post(format!("/api/v1/rounds/{id}/open"), app.admin(), json!({})).await);
    let report = app.post(format!("/api/v1/rounds/{id}/assignments"), app.admin(), json!({"seed": 1})).await;
    ok(&report);
    let mine = app.get(format!("/api/v1/rounds/{id}/assignments/mine?per_page=500"), &alice.token).await;
    let theirs = app.get(format!("/api/v1/rounds/{id}/assignments/mine?per_page=500"), &bob.token).await;
    let (a, b) = (mine.body["total"].as_i64().unwrap(), theirs.body["total"].as_i64().unwrap());
    assert_eq!((a + b, (a - b).abs()), (12, 0), "12 entries shared evenly");
    let my_entry = mine.body["items"][0]["nomination_id"].as_i64().unwrap();
    let their_entry = theirs.body["items"][0]["nomination_id"].as_i64().unwrap();
    let ids = criterion_ids(&round);
    let scores = |a: f64, b: f64, c: f64| json!({"scores": {ids[0].0.to_string(): a, ids[1].0.to_string(): b, ids[2].0.to_string(): c}, "comment": "事迹感人"});
    let app = &app;
    let put = |entry: i64, token: &String, body: Value| {
        let token = token.clone();
        async move {
            app.request(
                Method::PUT,
                format!("/api/v1/rounds/{id}/entries/{entry}/review"),
                Some(&token),
                Some(body),
            )
            .await
        }
    };

    let saved = put(my_entry, &alice.token, scores(8.0, 6.0, 5.0)).await;
    ok(&saved);
    // (8/10 × 0.5 + 6/10 × 0.3 + 5/5 × 0.2) × 100 = 78
    assert!((saved.body["total"].as_f64().unwrap() - 78.0).abs() < 1e-9);
    assert_eq!(saved.body["version"], 1);
    let revised = put(my_entry, &alice.token, scores(9.0, 6.0, 5.0)).await;
    assert_eq!(revised.body["version"], 2);
    assert_eq!(put(their_entry, &alice.token, scores(1.0, 1.0, 1.0)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(put(999999, &alice.token, scores(1.0, 1.0, 1.0)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        put(my_entry, &f.employee, scores(1.0, 1.0, 1.0)).await.status,
        StatusCode::FORBIDDEN,
        "not a reviewer"
    );
    let over = put(my_entry, &alice.token, scores(11.0, 6.0, 5.0)).await;
    assert_eq!(
        (over.status, over.body["errors"][0]["field"].as_str().map(str::to_owned)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(format!("scores.{}", ids[0].0)))
    );
    let partial = put(my_entry, &alice.token, json!({"scores": {ids[0].0.to_string(): 5}})).await;
    assert_eq!(partial.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = put(my_entry, &alice.token, json!({"scores": {"abc": 5}})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let negative = put(my_entry, &alice.token, scores(-1.0, 6.0, 5.0)).await;
    assert_eq!(negative.status, StatusCode::UNPROCESSABLE_ENTITY);
    let malformed = app
        .raw(
            Method::PUT,
            &format!("/api/v1/rounds/{id}/entries/{my_entry}/review"),
            Some(&alice.token),
            "application/json",
            "{\"scores\":",
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);

    // Alice sees her own scores and never Bob's.
    // Four identical first submissions at once: all succeed, one review, four versions.
    let (a, b, c, d) = tokio::join!(
        put(their_entry, &bob.token, scores(2.0, 2.0, 2.0)),
        put(their_entry, &bob.token, scores(2.0, 2.0, 2.0)),
        put(their_entry, &bob.token, scores(2.0, 2.0, 2.0)),
        put(their_entry, &bob.token, scores(2.0, 2.0, 2.0)),
    );
    let mut versions: Vec<i64> = [a, b, c, d]
        .iter()
        .map(|r| {
            ok(r);
            r.body["version"].as_i64().unwrap()
        })
        .collect();
    versions.sort();
    assert_eq!(versions, vec![1, 2, 3, 4]);
    let mine = app.get(format!("/api/v1/rounds/{id}/assignments/mine?per_page=500"), &alice.token).await;
    assert_eq!(mine.body["done"], 1);
    let reviewed: Vec<&Value> =
        mine.body["items"].as_array().unwrap().iter().filter(|i| i["reviewed"] == true).collect();
    assert_eq!(reviewed.len(), 1);
    assert_eq!(reviewed[0]["my_scores"][ids[0].0.to_string()], 9.0);
    assert_eq!(reviewed[0]["my_comment"], "事迹感人");
    assert!(
        !mine.body.to_string().contains("\"2.0\"")
            && mine.body["items"].as_array().unwrap().iter().all(|i| i["nomination_id"] != their_entry)
    );
    assert_eq!(
        app.get(format!("/api/v1/rounds/{id}/progress"), &alice.token).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.get(format!("/api/v1/rounds/{id}/preview"), &alice.token).await.status,
        StatusCode::FORBIDDEN
    );

    // Bob leaves the panel: his reviewed assignment stays, the rest go; a top-up gives them to Alice.
    ok(&app
        .post(format!("/api/v1/rounds/{id}/reviewers"), app.admin(), json!({"user_ids": [alice.id]}))
        .await);
    let progress = app.get(format!("/api/v1/rounds/{id}/progress"), app.admin()).await;
    assert_eq!(progress.body["assignments"], 7);
    let topped = app.post(format!("/api/v1/rounds/{id}/assignments"), app.admin(), json!({"seed": 1})).await;
    assert_eq!((topped.body["created"].as_i64(), topped.body["total"].as_i64()), (Some(5), Some(12)));

    // Closing with missing reviews needs saying so, and is recorded.
    let closed = app
        .post(format!("/api/v1/rounds/{id}/close"), app.admin(), json!({"allow_missing_reviews": true}))
        .await;
    ok(&closed);
    assert_eq!(closed.body["allowed_missing_reviews"], true);
    let late = put(my_entry, &alice.token, scores(1.0, 1.0, 1.0)).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "invalid_state"));
    let results = app.get(format!("/api/v1/rounds/{id}/results?per_page=500"), app.admin()).await;
    let items = results.body["items"].as_array().unwrap();
    assert_eq!(items.iter().filter(|i| i["advanced"] == true).count(), 2);
    assert_eq!(items.iter().filter(|i| i["reviews"] == 0).count(), 10, "scored on the reviews they have");
}

async fn reviews_racing_a_close_are_counted_or_refused(app: TestApp) {
    let f = field(&app, 2, 2).await;
    let c = f.campaign;
    let round = create_round(&app, c, json!({"name": "终评", "reviews_per_entry": 2, "criteria": criteria(), "advance": {"rule": "top_n", "n": 2}})).await;
    let id = round["id"].as_i64().unwrap();
    to_screening(&app, c).await;
    let panel: Vec<i64> = f.group_reviewers.iter().map(|r| r.id).collect();
    ok(&app.post(format!("/api/v1/rounds/{id}/reviewers"), app.admin(), json!({"user_ids": panel})).await);
    ok(&app.post(format!("/api/v1/rounds/{id}/open"), app.admin(), json!({})).await);
    ok(&app.post(format!("/api/v1/rounds/{id}/assignments"), app.admin(), json!({})).await);
    let ids = criterion_ids(&round);
    let body = json!({"scores": {ids[0].0.to_string(): 5, ids[1].0.to_string(): 5, ids[2].0.to_string(): 5}});
    let app = std::sync::Arc::new(app);
    let mut tasks = vec![];
    for r in &f.group_reviewers {
        let mine = app.get(format!("/api/v1/rounds/{id}/assignments/mine?per_page=500"), &r.token).await;
        for a in mine.body["items"].as_array().unwrap().clone() {
            let (app, token, body) = (app.clone(), r.token.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let entry = a["nomination_id"].as_i64().unwrap();
                app.request(
                    Method::PUT,
                    format!("/api/v1/rounds/{id}/entries/{entry}/review"),
                    Some(&token),
                    Some(body),
                )
                .await
                .status
            }));
        }
    }
    let closer = {
        let app = app.clone();
        tokio::spawn(async move {
            tokio::time::sleep(std::time::Duration::from_millis(15)).await;
            app.post(
                format!("/api/v1/rounds/{id}/close"),
                app.admin(),
                json!({"allow_missing_reviews": true}),
            )
            .await
        })
    };
    let mut accepted = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::OK => accepted += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    let closed = closer.await.unwrap();
    ok(&closed);
    let results = app.get(format!("/api/v1/rounds/{id}/results?per_page=500"), app.admin()).await;
    let counted: i64 =
        results.body["items"].as_array().unwrap().iter().map(|i| i["reviews"].as_i64().unwrap()).sum();
    assert_eq!(counted, accepted, "every acknowledged review is in the result, nothing else");
    let progress = app.get(format!("/api/v1/rounds/{id}/progress"), app.admin()).await;
    assert_eq!(progress.body["reviews"].as_i64(), Some(accepted));
}

async fn results_stay_hidden_until_published(app: TestApp) {
    let f = field(&app, 1, 2).await;
    let c = f.campaign;
    let round = create_round(&app, c, json!({"name": "终评", "reviews_per_entry": 1, "criteria": criteria(), "advance": {"rule": "top_n", "n": 2}})).await;
    let id = round["id"].as_i64().unwrap();
    to_screening(&app, c).await;
    ok(&app
        .post(
            format!("/api/v1/rounds/{id}/reviewers"),
            app.admin(),
            json!({"user_ids": [f.group_reviewers[0].id]}),
        )
        .await);
    ok(&app.post(format!("/api/v1/rounds/{id}/open"), app.admin(), json!({})).await);
    ok(&app.post(format!("/api/v1/rounds/{id}/assignments"), app.admin(), json!({})).await);
    let reviewers: Vec<&Reviewer> = f.group_reviewers.iter().take(1).collect();
    review_everything(&app, id, &reviewers, &criterion_ids(&round)).await;
    let before_close = app.get(format!("/api/v1/rounds/{id}/results"), app.admin()).await;
    assert_eq!(before_close.status, StatusCode::CONFLICT);
    ok(&app.post(format!("/api/v1/rounds/{id}/close"), app.admin(), json!({})).await);
    let employee = &f.employee;
    for path in [
        format!("/api/v1/rounds/{id}/results"),
        format!("/api/v1/campaigns/{c}/winners"),
        format!("/api/v1/rounds/{id}/recount"),
        format!("/api/v1/campaigns/{c}/exports/results.csv"),
    ] {
        assert_eq!(app.get(&path, employee).await.status, StatusCode::FORBIDDEN, "{path} before publication");
    }
    assert_eq!(
        app.get(format!("/api/v1/campaigns/{c}/exports/reviews.csv"), employee).await.status,
        StatusCode::FORBIDDEN
    );
    ok(&app.patch(format!("/api/v1/campaigns/{c}"), app.admin(), json!({"status": "finished"})).await);
    ok(&app.patch(format!("/api/v1/campaigns/{c}"), app.admin(), json!({"status": "published"})).await);
    let winners = app.get(format!("/api/v1/campaigns/{c}/winners"), employee).await;
    ok(&winners);
    assert_eq!(winners.body["total"], 2);
    ok(&app.get(format!("/api/v1/rounds/{id}/results"), employee).await);
    assert_eq!(
        app.get(format!("/api/v1/campaigns/{c}/exports/reviews.csv"), employee).await.status,
        StatusCode::FORBIDDEN,
        "reviews stay internal"
    );
    let new_round = app.post(format!("/api/v1/campaigns/{c}/rounds"), app.admin(), json!({"name": "x", "reviews_per_entry": 1, "criteria": criteria(), "advance": {"rule": "top_n", "n": 1}})).await;
    assert_eq!(new_round.status, StatusCode::CONFLICT, "a published campaign's rounds are final");
}
