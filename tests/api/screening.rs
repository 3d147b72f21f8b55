use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::fixtures::{
    criteria, criterion_ids, field, open_with_panel, race_a_close, review_everything, review_round, Field,
    Reviewer,
};
use crate::helpers::{rfc3339, TestApp};
use crate::on_both;

on_both!(
    round_one_gives_each_member_company_panel_its_own_entries,
    round_one_closes_on_complete_reviews_and_recounts,
    round_two_cuts_to_exactly_the_target,
    recounting_catches_a_tampered_result,
    a_finished_campaign_exports_both_rounds_and_audits_them,
    round_settings_are_checked,
    the_last_round_must_cut_to_the_target_and_freezes_when_open,
    assignments_are_shared_evenly_and_scores_are_checked,
    racing_first_submissions_make_one_review,
    reviewers_see_their_own_scores_only,
    leaving_the_panel_keeps_reviewed_assignments_and_closing_may_allow_missing_reviews,
    reviews_racing_a_close_are_counted_or_refused,
    results_stay_hidden_until_published,
);

/// A field of 18 nominations (3 per branch) and two rounds cutting it to 4:
/// each member company's panel keeps 9 in proportion, then the group panel.
struct TwoRounds {
    f: Field,
    round1: Value,
    round2: Value,
    r1: i64,
    r2: i64,
}

async fn two_rounds(app: &TestApp) -> TwoRounds {
    let f = field(app, 3, 4).await;
    let round1 = app
        .create_round(
            f.campaign,
            json!({"name": "成员公司初评", "scope": "member_company", "reviews_per_entry": 1, "criteria": criteria(),
                   "normalization": "zscore", "advance": {"rule": "proportional", "n": 9}}),
        )
        .await;
    let round2 = app
        .create_round(
            f.campaign,
            json!({"name": "集团终评", "scope": "group", "conflict_scope": "member_company", "reviews_per_entry": 2,
                   "criteria": criteria(), "aggregate": "median", "advance": {"rule": "top_n", "n": 4}}),
        )
        .await;
    let (r1, r2) = (round1["id"].as_i64().unwrap(), round2["id"].as_i64().unwrap());
    TwoRounds { f, round1, round2, r1, r2 }
}

impl TwoRounds {
    /// Round 1's panel: the branch reviewers.
    fn panel1(&self) -> Vec<i64> {
        self.f.branch_reviewers.iter().map(|(r, _, _)| r.id).collect()
    }

    /// Screening, and round 1 open with its reviews assigned.
    async fn open_round_one(&self, app: &TestApp) {
        app.to_screening(self.f.campaign).await;
        open_with_panel(app, self.r1, &self.panel1(), Some(7)).await;
    }

    /// Round 1 reviewed in full and closed; its results.
    async fn close_round_one(&self, app: &TestApp) -> Vec<Value> {
        self.open_round_one(app).await;
        let reviewers: Vec<&Reviewer> = self.f.branch_reviewers.iter().map(|(r, _, _)| r).collect();
        review_everything(app, self.r1, &reviewers, &criterion_ids(&self.round1)).await;
        app.close_round(self.r1).await.ok();
        app.results(self.r1).await.ok().items().to_vec()
    }

    /// Round 2 opened without round 1's first finalist, which is ruled out;
    /// the finalist.
    async fn open_round_two(&self, app: &TestApp, round_one: &[Value]) -> i64 {
        let panel: Vec<i64> = self.f.group_reviewers.iter().map(|r| r.id).collect();
        app.set_panel(self.r2, &panel).await.ok();
        let finalist =
            round_one.iter().find(|i| i["advanced"] == true).unwrap()["nomination_id"].as_i64().unwrap();
        app.rule_out(finalist, "材料不实").await.ok();
        finalist
    }

    /// Both rounds closed: the winners are decided.
    async fn close_both(&self, app: &TestApp) {
        let round_one = self.close_round_one(app).await;
        self.open_round_two(app, &round_one).await;
        app.open_round(self.r2).await.ok();
        app.assign(self.r2, None).await.ok();
        let reviewers: Vec<&Reviewer> = self.f.group_reviewers.iter().collect();
        review_everything(app, self.r2, &reviewers, &criterion_ids(&self.round2)).await;
        app.close_round(self.r2).await.ok();
    }
}

async fn round_one_gives_each_member_company_panel_its_own_entries(app: TestApp) {
    let t = two_rounds(&app).await;
    let (c, r1, r2) = (t.f.campaign, t.r1, t.r2);
    assert_eq!((t.round1["sequence"].as_i64(), t.round2["sequence"].as_i64()), (Some(1), Some(2)));

    let early = app.open_round(r1).await;
    assert_eq!(
        (early.status, early.code()),
        (StatusCode::CONFLICT, "invalid_state"),
        "campaign still nominating"
    );
    app.to_screening(c).await;
    let out_of_order = app.open_round(r2).await;
    assert_eq!(out_of_order.status, StatusCode::CONFLICT, "round 1 has not closed");

    // Round 1: each member company's panel (its branch reviewers) scores its own entries.
    app.set_panel(r1, &t.panel1()).await.ok();
    let early_assign = app.assign(r1, Some(7)).await;
    assert_eq!(early_assign.status, StatusCode::CONFLICT, "entries are fixed when the round opens");
    let opened = app.open_round(r1).await.ok();
    assert_eq!((opened.body["status"].as_str(), opened.body["entries"].as_i64()), (Some("open"), Some(18)));
    let assigned = app.assign(r1, Some(7)).await.ok();
    assert_eq!(
        (assigned.body["created"].as_i64(), assigned.body["shortfalls"].as_array().map(Vec::len)),
        (Some(18), Some(0))
    );
    let again = app.assign(r1, Some(8)).await;
    assert_eq!(
        (again.body["created"].as_i64(), again.body["total"].as_i64()),
        (Some(0), Some(18)),
        "a top-up adds nothing when complete"
    );
    // Nobody reviews their own branch; each reviewer has the 3 entries of the other branch of their company.
    for (r, company, branch) in &t.f.branch_reviewers {
        let mine = app.my_assignments(r1, &r.token).await.ok();
        assert_eq!(mine.body["total"], 3);
        for a in mine.items() {
            assert_eq!(a["member_company_id"].as_i64(), Some(*company));
            assert_ne!(a["branch_id"].as_i64(), Some(*branch));
            assert!(a["story"].as_str().unwrap().contains("诈骗"));
        }
    }
}

async fn round_one_closes_on_complete_reviews_and_recounts(app: TestApp) {
    let t = two_rounds(&app).await;
    let r1 = t.r1;
    t.open_round_one(&app).await;
    let short = app.close_round(r1).await;
    assert_eq!((short.status, short.code()), (StatusCode::CONFLICT, "reviews_missing"));
    let reviewers: Vec<&Reviewer> = t.f.branch_reviewers.iter().map(|(r, _, _)| r).collect();
    assert_eq!(review_everything(&app, r1, &reviewers, &criterion_ids(&t.round1)).await, 18);
    let progress = app.progress(r1).await.ok();
    assert_eq!(
        (progress.body["reviews"].as_i64(), progress.body["entries_short"].as_i64()),
        (Some(18), Some(0))
    );
    assert!(progress.body["reviewers"].as_array().unwrap().iter().all(|r| r["done"] == 3 && r["total"] == 3));

    let preview = app.get(format!("/api/v1/rounds/{r1}/preview?per_page=500"), app.admin()).await.ok();
    assert_eq!(preview.body["advanced"], 9);
    let closed = app.close_round(r1).await.ok();
    assert_eq!(closed.body["status"], "closed");
    assert_eq!(closed.body["algorithm_version"], "awards-scoring/3");
    let hash = closed.body["result_hash"].as_str().unwrap().to_owned();
    assert_eq!(hash.len(), 64);
    let twice = app.close_round(r1).await;
    assert_eq!(twice.status, StatusCode::CONFLICT, "closing twice");

    let results = app.results(r1).await.ok();
    assert_eq!(results.body["result_hash"], hash.as_str());
    assert_eq!(results.body["items"], preview.body["items"], "the preview was what closing froze");
    let items = results.items();
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
        let (company, branch) = t.f.nominations[&i["nomination_id"].as_i64().unwrap()];
        assert_eq!((i["member_company_id"].as_i64(), i["branch_id"].as_i64()), (Some(company), Some(branch)));
    }
    let recount = app.recount(r1).await.ok();
    assert_eq!(
        (recount.body["ok"].as_bool(), recount.body["recomputed_hash"].as_str()),
        (Some(true), Some(hash.as_str()))
    );
}

async fn round_two_cuts_to_exactly_the_target(app: TestApp) {
    let t = two_rounds(&app).await;
    let (c, r1, r2) = (t.f.campaign, t.r1, t.r2);
    let round_one = t.close_round_one(&app).await;
    // Round 2: the group panel; winners must be exactly the target. One of
    // round 1's finalists is ruled out before round 2: it does not go on,
    // and round 1's frozen result still recounts.
    t.open_round_two(&app, &round_one).await;
    let opened = app.open_round(r2).await.ok();
    assert_eq!(opened.body["entries"], 8, "the entries round 1 advanced, less the one ruled out");
    let recount = app.recount(r1).await;
    assert_eq!(recount.body["ok"], true, "{}", recount.body);
    app.assign(r2, None).await.ok();
    let not_yet = app.get(format!("/api/v1/campaigns/{c}/winners"), app.admin()).await;
    assert_eq!((not_yet.status, not_yet.code()), (StatusCode::CONFLICT, "not_decided"));
    let reviewers: Vec<&Reviewer> = t.f.group_reviewers.iter().collect();
    assert_eq!(review_everything(&app, r2, &reviewers, &criterion_ids(&t.round2)).await, 16);
    app.close_round(r2).await.ok();

    let winners = app.get(format!("/api/v1/campaigns/{c}/winners"), app.admin()).await.ok();
    assert_eq!(winners.body["total"], 4);
    let ranks: Vec<i64> = winners.ints("rank");
    assert_eq!(ranks, vec![1, 2, 3, 4]);
    let first = &winners.body["items"][0];
    let late = app.rule_out(first["nomination_id"].as_i64().unwrap(), "x").await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "winners_decided"));
    assert!(first["title"].as_str().unwrap().contains("的故事"));
    assert!(first["final_score"].is_number() && first["member_company_name"].is_string());
}

async fn recounting_catches_a_tampered_result(app: TestApp) {
    let t = two_rounds(&app).await;
    let (c, r2) = (t.f.campaign, t.r2);
    t.close_both(&app).await;
    let winners = app.get(format!("/api/v1/campaigns/{c}/winners"), app.admin()).await.ok();
    let winner = winners.body["items"][0]["nomination_id"].as_i64().unwrap();
    assert_eq!(app.recount(r2).await.ok().body["ok"], true, "untouched, it recounts");
    {
        use diesel::RunQueryDsl;
        let mut conn = app.connect();
        diesel::sql_query(format!("UPDATE entries SET final_score = final_score + 1 WHERE round_id = {r2} AND nomination_id = {winner}"))
            .execute(&mut conn)
            .unwrap();
    }
    let recount = app.recount(r2).await.ok();
    assert_eq!(
        (recount.body["ok"].as_bool(), recount.body["outcomes_match"].as_bool()),
        (Some(false), Some(false))
    );
}

async fn a_finished_campaign_exports_both_rounds_and_audits_them(app: TestApp) {
    let t = two_rounds(&app).await;
    let c = t.f.campaign;
    t.close_both(&app).await;
    app.move_campaign(c, "finished").await.ok();
    let exported = app.get(format!("/api/v1/campaigns/{c}/exports/results.csv"), app.admin()).await.ok();
    let text = exported.body.as_str().unwrap();
    assert!(text.starts_with('\u{feff}'));
    assert_eq!(text.lines().count(), 1 + 18 + 8, "a header and every entry of both rounds");
    let reviews = app.get(format!("/api/v1/campaigns/{c}/exports/reviews.csv"), app.admin()).await.ok();
    let text = reviews.body.as_str().unwrap();
    assert!(text.lines().next().unwrap().contains("事迹真实性"));
    assert_eq!(text.lines().count(), 1 + 18 + 16);
    assert_eq!(app.verify_audit().await["ok"], true);
    let audit = app.get("/api/v1/audit?per_page=500", app.admin()).await;
    let actions: BTreeSet<&str> = audit.strs("action").into_iter().collect();
    for action in
        ["round.create", "round.panel", "round.open", "round.assign", "review.submit", "round.close"]
    {
        assert!(actions.contains(action), "{action} audited");
    }
}

async fn round_settings_are_checked(app: TestApp) {
    let f = field(&app, 2, 3).await;
    let path = format!("/api/v1/campaigns/{}/rounds", f.campaign);
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
    let missing = app.post("/api/v1/campaigns/999999/rounds", app.admin(), review_round("x", 1, 3)).await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(app.get("/api/v1/rounds/999999", app.admin()).await.status, StatusCode::NOT_FOUND);
}

async fn the_last_round_must_cut_to_the_target_and_freezes_when_open(app: TestApp) {
    let f = field(&app, 2, 3).await;
    let c = f.campaign;
    // The only round is the last: it must cut to the winners target (3).
    let round = app.create_round(c, review_round("唯一一轮", 1, 5)).await;
    let id = round["id"].as_i64().unwrap();
    let extra = app.create_round(c, review_round("多余", 1, 3)).await;
    let not_last = app.delete(format!("/api/v1/rounds/{id}"), app.admin()).await;
    assert_eq!(not_last.status, StatusCode::CONFLICT, "only the last round can be deleted");
    let deleted = app.delete(format!("/api/v1/rounds/{}", extra["id"]), app.admin()).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    app.to_screening(c).await;
    let refused = app.open_round(id).await;
    assert_eq!(
        (refused.status, refused.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("advance"))
    );
    let stale = app
        .patch(
            format!("/api/v1/rounds/{id}"),
            app.admin(),
            json!({"advance": {"rule": "top_n", "n": 3}, "version": 99}),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let fixed = app
        .patch(
            format!("/api/v1/rounds/{id}"),
            app.admin(),
            json!({"advance": {"rule": "top_n", "n": 3}, "closes_at": rfc3339(120)}),
        )
        .await
        .ok();
    assert_eq!(fixed.body["advance"], json!({"rule": "top_n", "n": 3}));
    assert_eq!(fixed.body["criteria"].as_array().unwrap().len(), 3, "criteria kept when not sent");
    // A group reviewer cannot sit on a member-company panel... but this round is group scope: fine.
    app.set_panel(id, &[f.group_reviewers[0].id]).await.ok();
    let not_reviewer = app.set_panel(id, &[999999]).await;
    assert_eq!(
        (not_reviewer.status, not_reviewer.body["errors"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("user_ids[0]"))
    );
    app.open_round(id).await.ok();
    let frozen = app.patch(format!("/api/v1/rounds/{id}"), app.admin(), json!({"name": "改名"})).await;
    assert_eq!((frozen.status, frozen.code()), (StatusCode::CONFLICT, "invalid_state"));
    let reopen = app.open_round(id).await;
    assert_eq!(reopen.status, StatusCode::CONFLICT);
    let delete_open = app.delete(format!("/api/v1/rounds/{id}"), app.admin()).await;
    assert_eq!(delete_open.status, StatusCode::CONFLICT);
    let finish_early = app.move_campaign(c, "finished").await;
    assert_eq!((finish_early.status, finish_early.code()), (StatusCode::CONFLICT, "screening_unfinished"));

    // A member-company round refuses group staff on its panel.
    let mc = app.create_round(c, json!({"name": "x", "scope": "member_company", "reviews_per_entry": 1, "criteria": criteria(), "advance": {"rule": "top_n", "n": 3}})).await;
    let mc_id = mc["id"].as_i64().unwrap();
    let group_staff = app.set_panel(mc_id, &[f.group_reviewers[1].id]).await;
    assert_eq!(group_staff.status, StatusCode::UNPROCESSABLE_ENTITY);
    let same_scope = app
        .patch(format!("/api/v1/rounds/{mc_id}"), app.admin(), json!({"conflict_scope": "member_company"}))
        .await;
    assert_eq!(same_scope.status, StatusCode::UNPROCESSABLE_ENTITY);
    let while_open = app.delete(format!("/api/v1/rounds/{mc_id}"), app.admin()).await;
    assert_eq!(while_open.status, StatusCode::CONFLICT, "the open round was opened as the last one");
    let rounds = app.get(format!("/api/v1/campaigns/{c}/rounds"), &f.employee).await.ok();
    assert_eq!(rounds.items().len(), 2);
}

/// One group review round over 12 entries, one review each, scored by the two
/// group reviewers (alice and bob), assigned.
struct PanelOfTwo {
    f: Field,
    id: i64,
    /// The round's criteria: (id, max score).
    ids: Vec<(i64, f64)>,
    /// The first entry of alice's and of bob's assignments.
    my_entry: i64,
    their_entry: i64,
    mine: Value,
    theirs: Value,
}

async fn panel_of_two(app: &TestApp) -> PanelOfTwo {
    let f = field(app, 2, 2).await;
    let round = app.create_round(f.campaign, review_round("终评", 1, 2)).await;
    let id = round["id"].as_i64().unwrap();
    app.to_screening(f.campaign).await;
    open_with_panel(app, id, &[f.group_reviewers[0].id, f.group_reviewers[1].id], Some(1)).await;
    let mine = app.my_assignments(id, &f.group_reviewers[0].token).await.body;
    let theirs = app.my_assignments(id, &f.group_reviewers[1].token).await.body;
    let my_entry = mine["items"][0]["nomination_id"].as_i64().unwrap();
    let their_entry = theirs["items"][0]["nomination_id"].as_i64().unwrap();
    PanelOfTwo { f, id, ids: criterion_ids(&round), my_entry, their_entry, mine, theirs }
}

impl PanelOfTwo {
    fn alice(&self) -> &Reviewer {
        &self.f.group_reviewers[0]
    }

    fn bob(&self) -> &Reviewer {
        &self.f.group_reviewers[1]
    }

    /// A review of these three scores, with a comment.
    fn scores(&self, a: f64, b: f64, c: f64) -> Value {
        let ids = &self.ids;
        json!({"scores": {ids[0].0.to_string(): a, ids[1].0.to_string(): b, ids[2].0.to_string(): c}, "comment": "事迹感人"})
    }

    /// Alice scores her first entry (8, 6, 5) and revises it to (9, 6, 5);
    /// bob scores his first (2, 2, 2).
    async fn review_one_each(&self, app: &TestApp) {
        app.review(self.id, self.my_entry, &self.alice().token, self.scores(8.0, 6.0, 5.0)).await.ok();
        app.review(self.id, self.my_entry, &self.alice().token, self.scores(9.0, 6.0, 5.0)).await.ok();
        app.review(self.id, self.their_entry, &self.bob().token, self.scores(2.0, 2.0, 2.0)).await.ok();
    }
}

async fn assignments_are_shared_evenly_and_scores_are_checked(app: TestApp) {
    let p = panel_of_two(&app).await;
    let (id, my_entry, their_entry, ids) = (p.id, p.my_entry, p.their_entry, &p.ids);
    let (a, b) = (p.mine["total"].as_i64().unwrap(), p.theirs["total"].as_i64().unwrap());
    assert_eq!((a + b, (a - b).abs()), (12, 0), "12 entries shared evenly");
    let alice = &p.alice().token;

    let saved = app.review(id, my_entry, alice, p.scores(8.0, 6.0, 5.0)).await.ok();
    // (8/10 × 0.5 + 6/10 × 0.3 + 5/5 × 0.2) × 100 = 78
    assert!((saved.body["total"].as_f64().unwrap() - 78.0).abs() < 1e-9);
    assert_eq!(saved.body["version"], 1);
    let revised = app.review(id, my_entry, alice, p.scores(9.0, 6.0, 5.0)).await;
    assert_eq!(revised.body["version"], 2);
    assert_eq!(
        app.review(id, their_entry, alice, p.scores(1.0, 1.0, 1.0)).await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(app.review(id, 999999, alice, p.scores(1.0, 1.0, 1.0)).await.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.review(id, my_entry, &p.f.employee, p.scores(1.0, 1.0, 1.0)).await.status,
        StatusCode::FORBIDDEN,
        "not a reviewer"
    );
    let over = app.review(id, my_entry, alice, p.scores(11.0, 6.0, 5.0)).await;
    assert_eq!(
        (over.status, over.body["errors"][0]["field"].as_str().map(str::to_owned)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some(format!("scores.{}", ids[0].0)))
    );
    let partial = app.review(id, my_entry, alice, json!({"scores": {ids[0].0.to_string(): 5}})).await;
    assert_eq!(partial.status, StatusCode::UNPROCESSABLE_ENTITY);
    let unknown = app.review(id, my_entry, alice, json!({"scores": {"abc": 5}})).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    let negative = app.review(id, my_entry, alice, p.scores(-1.0, 6.0, 5.0)).await;
    assert_eq!(negative.status, StatusCode::UNPROCESSABLE_ENTITY);
    let malformed = app
        .raw(
            Method::PUT,
            &format!("/api/v1/rounds/{id}/entries/{my_entry}/review"),
            Some(alice),
            "application/json",
            "{\"scores\":",
        )
        .await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST);
}

/// Four identical first submissions at once: all succeed, one review, four versions.
async fn racing_first_submissions_make_one_review(app: TestApp) {
    let p = panel_of_two(&app).await;
    let body = p.scores(2.0, 2.0, 2.0);
    let put = || app.review(p.id, p.their_entry, &p.bob().token, body.clone());
    let (a, b, c, d) = tokio::join!(put(), put(), put(), put());
    let mut versions: Vec<i64> =
        [a, b, c, d].into_iter().map(|r| r.ok().body["version"].as_i64().unwrap()).collect();
    versions.sort();
    assert_eq!(versions, vec![1, 2, 3, 4]);
    let theirs = app.my_assignments(p.id, &p.bob().token).await.ok();
    assert_eq!(theirs.body["done"], 1, "one review");
}

async fn reviewers_see_their_own_scores_only(app: TestApp) {
    let p = panel_of_two(&app).await;
    let (id, their_entry, ids) = (p.id, p.their_entry, &p.ids);
    p.review_one_each(&app).await;
    // Alice sees her own scores and never Bob's.
    let mine = app.my_assignments(id, &p.alice().token).await.ok();
    assert_eq!(mine.body["done"], 1);
    let items = mine.items();
    let reviewed: Vec<&Value> = items.iter().filter(|i| i["reviewed"] == true).collect();
    assert_eq!(reviewed.len(), 1);
    assert_eq!(reviewed[0]["my_scores"][ids[0].0.to_string()], 9.0);
    assert_eq!(reviewed[0]["my_comment"], "事迹感人");
    for item in items {
        assert_ne!(item["nomination_id"], their_entry, "bob's entry is not alice's");
        if item["reviewed"] == true {
            let scores = item["my_scores"].as_object().expect("her scores");
            assert_eq!(scores.len(), 3, "{item}");
            for ((criterion, _), hers) in ids.iter().zip([9.0, 6.0, 5.0]) {
                assert_eq!(scores[&criterion.to_string()], hers, "her own scores: {item}");
            }
        } else {
            assert!(item["my_scores"].is_null(), "no scores on an entry she has not reviewed: {item}");
        }
    }
    for view in ["progress", "preview"] {
        let res = app.get(format!("/api/v1/rounds/{id}/{view}"), &p.alice().token).await;
        assert_eq!(res.status, StatusCode::FORBIDDEN, "{view}");
    }
}

async fn leaving_the_panel_keeps_reviewed_assignments_and_closing_may_allow_missing_reviews(app: TestApp) {
    let p = panel_of_two(&app).await;
    let id = p.id;
    p.review_one_each(&app).await;
    // Bob leaves the panel: his reviewed assignment stays, the rest go; a top-up gives them to Alice.
    app.set_panel(id, &[p.alice().id]).await.ok();
    let progress = app.progress(id).await;
    assert_eq!(progress.body["assignments"], 7);
    let topped = app.assign(id, Some(1)).await;
    assert_eq!((topped.body["created"].as_i64(), topped.body["total"].as_i64()), (Some(5), Some(12)));

    // Closing with missing reviews needs saying so, and is recorded.
    let closed = app.close_round_allowing_missing_reviews(id).await.ok();
    assert_eq!(closed.body["allowed_missing_reviews"], true);
    let late = app.review(id, p.my_entry, &p.alice().token, p.scores(1.0, 1.0, 1.0)).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "invalid_state"));
    let results = app.results(id).await;
    let items = results.items();
    assert_eq!(items.iter().filter(|i| i["advanced"] == true).count(), 2);
    assert_eq!(items.iter().filter(|i| i["reviews"] == 0).count(), 10, "scored on the reviews they have");
}

async fn reviews_racing_a_close_are_counted_or_refused(app: TestApp) {
    let f = field(&app, 2, 2).await;
    let round = app.create_round(f.campaign, review_round("终评", 2, 2)).await;
    let id = round["id"].as_i64().unwrap();
    app.to_screening(f.campaign).await;
    let panel: Vec<i64> = f.group_reviewers.iter().map(|r| r.id).collect();
    open_with_panel(&app, id, &panel, None).await;
    let ids = criterion_ids(&round);
    let body = json!({"scores": {ids[0].0.to_string(): 5, ids[1].0.to_string(): 5, ids[2].0.to_string(): 5}});
    let app = std::sync::Arc::new(app);
    let mut tasks = vec![];
    for r in &f.group_reviewers {
        let mine = app.my_assignments(id, &r.token).await;
        for a in mine.items().to_vec() {
            let (app, token, body) = (app.clone(), r.token.clone(), body.clone());
            tasks.push(tokio::spawn(async move {
                let entry = a["nomination_id"].as_i64().unwrap();
                app.review(id, entry, &token, body).await.status
            }));
        }
    }
    let accepted = race_a_close(&app, id, true, Duration::from_millis(15), tasks, StatusCode::OK).await;
    let results = app.results(id).await;
    let counted: i64 = results.ints("reviews").iter().sum();
    assert_eq!(counted, accepted, "every acknowledged review is in the result, nothing else");
    let progress = app.progress(id).await;
    assert_eq!(progress.body["reviews"].as_i64(), Some(accepted));
}

async fn results_stay_hidden_until_published(app: TestApp) {
    let f = field(&app, 1, 2).await;
    let c = f.campaign;
    let round = app.create_round(c, review_round("终评", 1, 2)).await;
    let id = round["id"].as_i64().unwrap();
    app.to_screening(c).await;
    open_with_panel(&app, id, &[f.group_reviewers[0].id], None).await;
    let reviewers: Vec<&Reviewer> = f.group_reviewers.iter().take(1).collect();
    review_everything(&app, id, &reviewers, &criterion_ids(&round)).await;
    let before_close = app.get(format!("/api/v1/rounds/{id}/results"), app.admin()).await;
    assert_eq!(before_close.status, StatusCode::CONFLICT);
    app.close_round(id).await.ok();
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
    app.move_campaign(c, "finished").await.ok();
    app.move_campaign(c, "published").await.ok();
    let winners = app.get(format!("/api/v1/campaigns/{c}/winners"), employee).await.ok();
    assert_eq!(winners.body["total"], 2);
    app.get(format!("/api/v1/rounds/{id}/results"), employee).await.ok();
    assert_eq!(
        app.get(format!("/api/v1/campaigns/{c}/exports/reviews.csv"), employee).await.status,
        StatusCode::FORBIDDEN,
        "reviews stay internal"
    );
    let new_round =
        app.post(format!("/api/v1/campaigns/{c}/rounds"), app.admin(), review_round("x", 1, 1)).await;
    assert_eq!(new_round.status, StatusCode::CONFLICT, "a published campaign's rounds are final");
}
