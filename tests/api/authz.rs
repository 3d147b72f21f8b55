//! The authorization matrix (issue 7): every route the service serves, called
//! by each kind of caller, must answer with exactly the status in its row.
//! The routes are read from the served OpenAPI document, so a route without a
//! row fails the test, and so does a row for a route that no longer exists.

use std::collections::BTreeSet;

use reqwest::header::CONTENT_TYPE;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::fixtures::open_with_panel;
use crate::helpers::{rfc3339, TestApp, PASSWORD};
use crate::on_both;

on_both!(every_route_answers_every_caller_as_its_row_says);

/// The callers, in the order each row calls them: the least entitled first,
/// so that a refused call never meets state that an allowed one changed. The
/// nominee is an employee of branch A whose nomination is the entry.
const CALLERS: [&str; 7] = [
    "anonymous",
    "employee",
    "the entry's nominee",
    "reviewer",
    "manager of another branch",
    "manager of the entry's branch",
    "admin",
];
const OTHER_MANAGER: usize = 4;

/// Routes served outside the OpenAPI document; they may have rows too.
const UNDOCUMENTED: [&str; 4] = ["GET /api/openapi.json", "GET /docs", "GET /docs/", "GET /metrics"];

type Statuses = [u16; CALLERS.len()];

const fn everyone(status: u16) -> Statuses {
    [status; CALLERS.len()]
}

const fn signed_in(status: u16) -> Statuses {
    [401, status, status, status, status, status, status]
}

const fn admin_only(status: u16) -> Statuses {
    [401, 403, 403, 403, 403, 403, status]
}

/// Managers (the other branch's sees its own branch only) and admins.
const fn managers(status: u16) -> Statuses {
    [401, 403, 403, 403, status, status, status]
}

/// Who may change the entry: its branch's manager and admins.
const fn entry_branch(manager: u16, admin: u16) -> Statuses {
    [401, 403, 403, 403, 403, manager, admin]
}

const fn reviewer_only(status: u16) -> Statuses {
    [401, 403, 403, status, 403, 403, 403]
}

enum Body {
    Empty,
    Json(Value),
    Csv(String),
}

struct Row {
    method: Method,
    /// As the OpenAPI document names it.
    route: &'static str,
    /// The route with the fixture's ids in place of its parameters.
    path: String,
    body: Body,
    /// One status per caller, in the order of `CALLERS`.
    expect: Statuses,
    /// The problem code of every 409 in this row: which state refused.
    conflict: Option<&'static str>,
    /// Text that a caller's successful answer must not contain.
    hidden: Vec<(usize, String)>,
}

fn row(method: Method, route: &'static str, expect: Statuses) -> Row {
    Row { method, route, path: route.to_owned(), body: Body::Empty, expect, conflict: None, hidden: vec![] }
}

impl Row {
    /// Fills the route's `{…}` parameters with these ids, in order.
    fn ids(mut self, ids: &[i64]) -> Row {
        let mut ids = ids.iter();
        self.path = self
            .route
            .split('/')
            .map(|segment| match segment.starts_with('{') {
                true => ids.next().expect("an id for every parameter").to_string(),
                false => segment.to_owned(),
            })
            .collect::<Vec<_>>()
            .join("/");
        assert!(ids.next().is_none(), "more ids than parameters in {}", self.route);
        self
    }

    fn at(mut self, path: String) -> Row {
        self.path = path;
        self
    }

    fn json(mut self, body: Value) -> Row {
        self.body = Body::Json(body);
        self
    }

    fn csv(mut self, body: &str) -> Row {
        self.body = Body::Csv(body.to_owned());
        self
    }

    fn conflict(mut self, code: &'static str) -> Row {
        self.conflict = Some(code);
        self
    }

    fn hidden_from(mut self, caller: usize, text: &str) -> Row {
        self.hidden.push((caller, text.to_owned()));
        self
    }

    fn key(&self) -> String {
        format!("{} {}", self.method, self.route)
    }
}

/// What the rows point at: one of everything, in the state each route needs.
struct Fixture {
    /// A token per caller, in the order of `CALLERS` (none for anonymous).
    tokens: [Option<String>; CALLERS.len()],
    reviewer: i64,
    company: i64,
    branch_a: i64,
    spare_company: i64,
    spare_branch: i64,
    spare_user: i64,
    /// Nominating: the entry (submitted, branch A), one to rule out, one to nominate.
    nominating: i64,
    entry: i64,
    entry_title: &'static str,
    to_rule_out: i64,
    newcomer: i64,
    /// Draft: two pending rounds, the second the last.
    draft: i64,
    pending_round: i64,
    last_round: i64,
    /// Screening: an open combined round, panel and assignments made.
    running: i64,
    running_round: i64,
    running_entry: i64,
    criterion: i64,
    /// Screening, not published: its only round (votes) has closed.
    decided: i64,
    decided_round: i64,
}

async fn fixture(app: &TestApp) -> Fixture {
    let (company, branch_a) = app.org("MC1", "MC1-A").await;
    let (_, branch_b) = app.org("MC1", "MC1-B").await;
    let (_, spare_branch) = app.org("MC1", "MC1-EMPTY").await;
    let spare = app.create_member_company(json!({"code": "EMPTY", "name": "空公司"})).await;
    let spare_company = spare.created().id();

    let (_, employee) = app.user("A-EMP", Some(branch_a), &["employee"]).await;
    let (reviewer, reviewer_token) = app.user("REVIEWER", None, &["reviewer"]).await;
    let (_, manager_b) = app.user("B-MGR", Some(branch_b), &["manager"]).await;
    let (_, manager_a) = app.user("A-MGR", Some(branch_a), &["manager"]).await;
    let spare_user = app.account("SPARE", branch_a).await;
    let (nominee_a, nominee) = app.user("A-N1", Some(branch_a), &["employee"]).await;
    let nominee_b = app.account("B-N1", branch_b).await;
    let (to_rule_out_nominee, newcomer) =
        (app.account("A-N2", branch_a).await, app.account("A-N3", branch_a).await);

    let entry_title = "A 分行的故事";
    let nominating = app.open_campaign(5, 310).await;
    let entry = app.nominate(nominating, nominee_a, entry_title).await;
    let to_rule_out = app.nominate(nominating, to_rule_out_nominee, "待裁定").await;
    app.nominate(nominating, nominee_b, "B 分行的故事").await;

    let draft = app.create_campaign(json!({"name": "草稿", "nomination_opens_at": rfc3339(60), "nomination_closes_at": rfc3339(120), "nominations_per_branch": 5})).await;
    let draft = draft.created().id();
    let review_round = json!({"name": "初评", "reviews_per_entry": 1, "criteria": [{"name": "事迹", "weight": 1, "max_score": 10}], "advance": {"rule": "top_n", "n": 1}});
    let pending_round = app.create_round(draft, review_round.clone()).await["id"].as_i64().expect("id");
    let last_round = app.create_round(draft, review_round).await["id"].as_i64().expect("id");

    // A campaign (to one winner) of the two branches' nominees, with this
    // round, in screening: (campaign, the entry of branch A, the round).
    let screening = |round: Value| async move {
        let campaign = app.open_campaign(5, 1).await;
        let entry = app.nominate(campaign, nominee_a, entry_title).await;
        app.nominate(campaign, nominee_b, "B 分行的故事").await;
        let round = app.create_round(campaign, round).await;
        app.to_screening(campaign).await;
        (campaign, entry, round)
    };
    let (running, running_entry, round) =
        screening(json!({"name": "评审与投票", "kind": "combined", "reviews_per_entry": 1,
        "criteria": [{"name": "事迹", "weight": 1, "max_score": 10}], "jury_weight": 0.7, "vote_weight": 0.3,
        "votes_per_voter": 2, "allow_vote_withdrawal": true, "advance": {"rule": "top_n", "n": 1}}))
        .await;
    let (running_round, criterion) =
        (round["id"].as_i64().expect("id"), round["criteria"][0]["id"].as_i64().expect("id"));
    open_with_panel(app, running_round, &[reviewer], Some(1)).await;

    let (decided, decided_entry, round) = screening(
        json!({"name": "员工投票", "kind": "vote", "votes_per_voter": 1, "advance": {"rule": "top_n", "n": 1}}),
    )
    .await;
    let decided_round = round["id"].as_i64().expect("id");
    app.open_round(decided_round).await.ok();
    app.cast_vote(decided_round, app.admin(), decided_entry, None).await.created();
    app.close_round(decided_round).await.ok();

    Fixture {
        tokens: [
            None,
            Some(employee),
            Some(nominee),
            Some(reviewer_token),
            Some(manager_b),
            Some(manager_a),
            Some(app.admin().to_owned()),
        ],
        reviewer,
        company,
        branch_a,
        spare_company,
        spare_branch,
        spare_user,
        nominating,
        entry,
        entry_title,
        to_rule_out,
        newcomer,
        draft,
        pending_round,
        last_round,
        running,
        running_round,
        running_entry,
        criterion,
        decided,
        decided_round,
    }
}

/// The matrix. Rows run in this order, each caller in the order of `CALLERS`;
/// where an allowed call changes the fixture, the comment says how the row
/// keeps the check meaningful.
fn matrix(f: &Fixture) -> Vec<Row> {
    use Method as M;
    let running = f.running_round;
    vec![
        // Probes, documentation: no token needed, and a token changes nothing.
        row(M::GET, "/healthz", everyone(200)),
        row(M::GET, "/readyz", everyone(200)),
        row(M::GET, "/metrics", everyone(200)),
        row(M::GET, "/api/openapi.json", everyone(200)),
        row(M::GET, "/docs", everyone(307)),
        row(M::GET, "/docs/", everyone(200)),
        // Sign-in and activation need no token.
        row(M::POST, "/api/v1/auth/login", everyone(200)).json(json!({"employee_no": "A-EMP", "password": PASSWORD})),
        // Activating for real works once; a new password that breaks the
        // policy shows that every caller reaches the check, without using a
        // code or counting a failed attempt.
        row(M::POST, "/api/v1/auth/activate", everyone(422))
            .json(json!({"employee_no": "SPARE", "activation_code": "x", "new_password": "short"})),
        // A real change would retire the caller's token: the policy refuses this one.
        row(M::POST, "/api/v1/auth/password", signed_in(422))
            .json(json!({"current_password": PASSWORD, "new_password": "short"})),
        row(M::GET, "/api/v1/me", signed_in(200)),
        row(M::GET, "/api/v1/me/nominations", signed_in(200)),
        // The org chart: everyone reads, admins write.
        row(M::GET, "/api/v1/member-companies", signed_in(200)),
        row(M::POST, "/api/v1/member-companies", admin_only(201)).json(json!({"code": "MC-NEW", "name": "新公司"})),
        row(M::GET, "/api/v1/member-companies/{id}", signed_in(200)).ids(&[f.company]),
        row(M::PATCH, "/api/v1/member-companies/{id}", admin_only(200))
            .ids(&[f.company])
            .json(json!({"name": "第一公司"})),
        row(M::DELETE, "/api/v1/member-companies/{id}", admin_only(204)).ids(&[f.spare_company]),
        row(M::GET, "/api/v1/branches", signed_in(200)),
        row(M::POST, "/api/v1/branches", admin_only(201))
            .json(json!({"code": "MC1-NEW", "name": "新分行", "member_company_id": f.company})),
        row(M::GET, "/api/v1/branches/{id}", signed_in(200)).ids(&[f.branch_a]),
        row(M::PATCH, "/api/v1/branches/{id}", admin_only(200)).ids(&[f.branch_a]).json(json!({"name": "甲分行"})),
        row(M::DELETE, "/api/v1/branches/{id}", admin_only(204)).ids(&[f.spare_branch]),
        // Accounts and the import: admins only. The spare account is edited,
        // given a new code and disabled last.
        row(M::GET, "/api/v1/users", managers(200)),
        row(M::POST, "/api/v1/users", admin_only(201)).json(json!({"employee_no": "NEW-1", "name": "新人"})),
        row(M::GET, "/api/v1/users/{id}", admin_only(200)).ids(&[f.spare_user]),
        row(M::PATCH, "/api/v1/users/{id}", admin_only(200)).ids(&[f.spare_user]).json(json!({"name": "备用"})),
        row(M::POST, "/api/v1/users/{id}/activation-code", admin_only(200)).ids(&[f.spare_user]),
        row(M::DELETE, "/api/v1/users/{id}", admin_only(200)).ids(&[f.spare_user]),
        row(M::POST, "/api/v1/imports/employees", admin_only(200)).csv("employee_no,name,branch_code\nIMP-1,导入,MC1-A\n"),
        row(M::GET, "/api/v1/audit", admin_only(200)),
        row(M::GET, "/api/v1/audit/verify", admin_only(200)),
        // Campaigns: everyone reads, admins write.
        row(M::GET, "/api/v1/campaigns", signed_in(200)),
        row(M::POST, "/api/v1/campaigns", admin_only(201)).json(json!({"name": "新一届", "nomination_opens_at": "2030-01-01T00:00:00Z", "nomination_closes_at": "2030-02-01T00:00:00Z", "nominations_per_branch": 3})),
        row(M::GET, "/api/v1/campaigns/{id}", signed_in(200)).ids(&[f.nominating]),
        row(M::PATCH, "/api/v1/campaigns/{id}", admin_only(200)).ids(&[f.nominating]).json(json!({"name": "2026 最美消保人（修订）"})),
        // Nominations: managers of the nominee's branch and admins. The entry
        // branch's manager nominates first, so the admin's same call is
        // 409 already_nominated: past the role checks.
        row(M::POST, "/api/v1/campaigns/{id}/nominations", entry_branch(201, 409)).conflict("already_nominated")
            .ids(&[f.nominating])
            .json(json!({"nominee_id": f.newcomer, "title": "新提名", "summary": "耐心。", "story": "故事。"})),
        row(M::GET, "/api/v1/campaigns/{id}/nominations", managers(200))
            .ids(&[f.nominating])
            .hidden_from(OTHER_MANAGER, f.entry_title),
        row(M::GET, "/api/v1/campaigns/{id}/nomination-counts", managers(200)).ids(&[f.nominating]),
        row(M::GET, "/api/v1/campaigns/{id}/exports/{kind}.csv", managers(200))
            .at(format!("/api/v1/campaigns/{}/exports/nominations.csv", f.nominating))
            .hidden_from(OTHER_MANAGER, f.entry_title),
        row(M::GET, "/api/v1/campaigns/{id}/exports/{kind}.csv", admin_only(200))
            .at(format!("/api/v1/campaigns/{}/exports/reviews.csv", f.running)),
        // Results are the admins' until the campaign is published.
        row(M::GET, "/api/v1/campaigns/{id}/exports/{kind}.csv", admin_only(200))
            .at(format!("/api/v1/campaigns/{}/exports/results.csv", f.decided)),
        // Another branch's nomination does not exist for its manager, nor for
        // the nominee and other employees (they read GET /me/nominations).
        row(M::GET, "/api/v1/nominations/{id}", [401, 404, 404, 404, 404, 200, 200]).ids(&[f.entry]),
        row(M::PATCH, "/api/v1/nominations/{id}", entry_branch(200, 200)).ids(&[f.entry]).json(json!({"title": f.entry_title})),
        // The branch's manager withdraws and submits again; the admin, right
        // after, finds it already so: 409, past the role checks.
        row(M::POST, "/api/v1/nominations/{id}/withdraw", entry_branch(200, 409)).conflict("invalid_state").ids(&[f.entry]),
        row(M::POST, "/api/v1/nominations/{id}/submit", entry_branch(200, 409)).conflict("invalid_state").ids(&[f.entry]),
        // Deleting the (submitted) entry is refused as not a draft: 409 for
        // those the rules let try, and the entry stays.
        row(M::DELETE, "/api/v1/nominations/{id}", entry_branch(409, 409)).conflict("invalid_state").ids(&[f.entry]),
        row(M::POST, "/api/v1/nominations/{id}/ineligible", admin_only(200))
            .ids(&[f.to_rule_out])
            .json(json!({"reason": "材料不实"})),
        // Rounds: everyone reads, admins configure.
        row(M::GET, "/api/v1/campaigns/{id}/rounds", signed_in(200)).ids(&[f.running]),
        row(M::POST, "/api/v1/campaigns/{id}/rounds", admin_only(201))
            .ids(&[f.nominating])
            .json(json!({"name": "终评", "kind": "vote", "votes_per_voter": 1, "advance": {"rule": "top_n", "n": 310}})),
        row(M::GET, "/api/v1/rounds/{id}", signed_in(200)).ids(&[running]),
        row(M::PATCH, "/api/v1/rounds/{id}", admin_only(200)).ids(&[f.pending_round]).json(json!({"name": "初评（修订）"})),
        row(M::DELETE, "/api/v1/rounds/{id}", admin_only(204)).ids(&[f.last_round]),
        row(M::GET, "/api/v1/rounds/{id}/reviewers", admin_only(200)).ids(&[running]),
        // The same panel again: nobody loses an assignment.
        row(M::POST, "/api/v1/rounds/{id}/reviewers", admin_only(200)).ids(&[running]).json(json!({"user_ids": [f.reviewer]})),
        // Assigning again tops up and changes nothing.
        row(M::POST, "/api/v1/rounds/{id}/assignments", admin_only(200)).ids(&[running]).json(json!({"seed": 1})),
        // The round is open already, and closing it would end the reviews and
        // votes below: both are 409 (already open; reviews missing).
        row(M::POST, "/api/v1/rounds/{id}/open", admin_only(409)).conflict("invalid_state").ids(&[running]),
        row(M::POST, "/api/v1/rounds/{id}/close", admin_only(409)).conflict("reviews_missing").ids(&[running]),
        row(M::GET, "/api/v1/rounds/{id}/preview", admin_only(200)).ids(&[running]),
        row(M::GET, "/api/v1/rounds/{id}/progress", admin_only(200)).ids(&[running]),
        row(M::GET, "/api/v1/rounds/{id}/anomalies", admin_only(200)).ids(&[running]),
        // Reviewing is for reviewers (admins are not, unless given the role).
        row(M::GET, "/api/v1/rounds/{id}/assignments/mine", reviewer_only(200)).ids(&[running]),
        row(M::PUT, "/api/v1/rounds/{id}/entries/{nomination_id}/review", reviewer_only(200))
            .ids(&[running, f.running_entry])
            .json(json!({"scores": {f.criterion.to_string(): 8}, "comment": "事迹真实"})),
        // Every signed-in account votes, but not for themselves; each
        // withdraws its own vote after (the nominee has none: 404).
        row(M::GET, "/api/v1/rounds/{id}/ballot", signed_in(200)).ids(&[running]),
        row(M::POST, "/api/v1/rounds/{id}/votes", [401, 201, 403, 201, 201, 201, 201]).ids(&[running]).json(json!({"nomination_id": f.running_entry})),
        row(M::DELETE, "/api/v1/rounds/{id}/votes/{nomination_id}", [401, 204, 404, 204, 204, 204, 204]).ids(&[running, f.running_entry]),
        // The ledger opens to everyone when the round closes, not before.
        row(M::GET, "/api/v1/rounds/{id}/ledger", signed_in(200)).ids(&[f.decided_round]),
        row(M::GET, "/api/v1/rounds/{id}/ledger", signed_in(409)).conflict("invalid_state").ids(&[running]),
        row(M::GET, "/api/v1/rounds/{id}/results", admin_only(200)).ids(&[f.decided_round]),
        row(M::GET, "/api/v1/rounds/{id}/results", admin_only(409)).conflict("invalid_state").ids(&[running]),
        row(M::GET, "/api/v1/rounds/{id}/recount", admin_only(200)).ids(&[f.decided_round]),
        row(M::GET, "/api/v1/campaigns/{id}/winners", admin_only(200)).ids(&[f.decided]),
        row(M::GET, "/api/v1/campaigns/{id}/winners", admin_only(409)).conflict("not_decided").ids(&[f.running]),
        // Rounds of a draft campaign are read like any other.
        row(M::GET, "/api/v1/campaigns/{id}/rounds", signed_in(200)).ids(&[f.draft]),
    ]
}

/// Every method and path the served OpenAPI document lists.
async fn documented_routes(app: &TestApp) -> BTreeSet<String> {
    let doc = app.request(Method::GET, "/api/openapi.json", None, None).await.body;
    let paths = doc["paths"].as_object().expect("paths");
    let mut routes = BTreeSet::new();
    for (path, operations) in paths {
        for method in operations.as_object().expect("operations").keys() {
            if ["get", "put", "post", "delete", "options", "head", "patch", "trace"]
                .contains(&method.as_str())
            {
                routes.insert(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    routes
}

/// One call, exactly as the row says (the answers are checked below, all of
/// them): the status, the content type and the body as text.
async fn call(app: &TestApp, row: &Row, token: Option<&str>) -> (u16, String, String) {
    let call = app.call(row.method.clone(), &row.path).maybe_token(token).unchecked();
    let call = match &row.body {
        Body::Empty => call,
        Body::Json(body) => call.json(body),
        Body::Csv(body) => call.body("text/csv", body.clone()),
    };
    let res = call.send().await;
    let kind = res.headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    (res.status.as_u16(), kind, res.text())
}

async fn every_route_answers_every_caller_as_its_row_says(app: TestApp) {
    let f = fixture(&app).await;
    let rows = matrix(&f);

    let documented = documented_routes(&app).await;
    let covered: BTreeSet<String> = rows.iter().map(Row::key).collect();
    let missing: Vec<&String> = documented.difference(&covered).collect();
    let unknown: Vec<&String> =
        covered.iter().filter(|r| !documented.contains(*r) && !UNDOCUMENTED.contains(&r.as_str())).collect();
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:#?}");
    assert!(unknown.is_empty(), "rows for routes the service does not have: {unknown:#?}");

    // Exact statuses: the client follows no redirect.
    let mut wrong = vec![];
    for row in &rows {
        for (caller, token) in f.tokens.iter().enumerate() {
            let (status, kind, body) = call(&app, row, token.as_deref()).await;
            let who = CALLERS[caller];
            if status != row.expect[caller] {
                let body: String = body.chars().take(300).collect();
                wrong.push(format!(
                    "{} {} as {who}: expected {}, got {status} {body}",
                    row.method, row.path, row.expect[caller]
                ));
            }
            if status >= 400 && kind != "application/problem+json" {
                wrong.push(format!(
                    "{} {} as {who}: a {status} that is not a problem: {kind}",
                    row.method, row.path
                ));
            }
            if let (409, Some(code)) = (status, row.conflict) {
                if !body.contains(&format!("\"code\":\"{code}\"")) {
                    wrong.push(format!("{} {} as {who}: 409 but not {code}: {body}", row.method, row.path));
                }
            }
            for (_, text) in row.hidden.iter().filter(|(c, _)| *c == caller) {
                if status < 300 && body.contains(text.as_str()) {
                    wrong.push(format!("{} {} as {who}: the answer shows {text:?}", row.method, row.path));
                }
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} calls answered otherwise than the matrix says:\n{}",
        wrong.len(),
        rows.len() * CALLERS.len(),
        wrong.join("\n")
    );
}
