//! The authorization matrix (issue 7): every route the service serves, called
//! by each kind of caller, must answer with exactly the status in its row.
//! The API's routes are read from the served OpenAPI document, the console's
//! from the source that registers them, so a route without a row fails the
//! test, and so does a row for a route that no longer exists.
//!
//! The API is called with each caller's token, the console with each
//! caller's session, signed in through the console's own sign-in page; every
//! console form carries the caller's own CSRF token and our origin, so what
//! its rows test is who may, not where the form came from.

use std::collections::BTreeSet;

use reqwest::header::{CONTENT_TYPE, LOCATION};
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::browser::Browser;
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

// The console's rows: whoever is not signed in is sent to sign in (303 to
// /console/login?next=…); a page of another role is 403, another branch's
// nomination 404. Admins have the pages of the roles they hold, and here
// hold no other.

const fn console_signed_in(status: u16) -> Statuses {
    [303, status, status, status, status, status, status]
}

const fn console_managers(status: u16) -> Statuses {
    [303, 403, 403, 403, status, status, 403]
}

/// The entry's own pages: its branch's manager; the other branch's does not find it.
const fn console_entry_branch(status: u16) -> Statuses {
    [303, 403, 403, 403, 404, status, 403]
}

const fn console_reviewer(status: u16) -> Statuses {
    [303, 403, 403, status, 403, 403, 403]
}

enum Body {
    Empty,
    Json(Value),
    Csv(String),
    /// A console form; the caller's CSRF token is added to it.
    Form(Vec<(String, String)>),
}

/// Which door a row knocks on.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Via {
    /// The JSON API, with the caller's bearer token.
    Api,
    /// The console, with the caller's session cookie.
    Console,
}

struct Row {
    via: Via,
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
    /// Console rows: anonymous callers are not sent to sign in.
    public: bool,
}

fn row(method: Method, route: &'static str, expect: Statuses) -> Row {
    Row {
        via: Via::Api,
        method,
        route,
        path: route.to_owned(),
        body: Body::Empty,
        expect,
        conflict: None,
        hidden: vec![],
        public: false,
    }
}

/// A console route, by its full path (`/console/…`, and the way in at `/`).
fn page(method: Method, route: &'static str, expect: Statuses) -> Row {
    Row { via: Via::Console, ..row(method, route, expect) }
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

    fn form(mut self, fields: &[(&str, &str)]) -> Row {
        self.body = Body::Form(fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect());
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

    /// A console route that needs no session (signing in, assets).
    fn public(mut self) -> Row {
        self.public = true;
        self
    }
}

/// A caller's console session: the cookie and the CSRF token it was given.
struct Session {
    cookie: String,
    csrf: String,
}

/// What the rows point at: one of everything, in the state each route needs.
struct Fixture {
    /// A token per caller, in the order of `CALLERS` (none for anonymous).
    tokens: [Option<String>; CALLERS.len()],
    /// A console session per caller, signed in through the sign-in page.
    sessions: [Option<Session>; CALLERS.len()],
    /// The console's stylesheet, as pages link it.
    stylesheet: String,
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
    /// Branch A's, for the console's nomination form.
    console_newcomer: i64,
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
    let console_newcomer = app.account("A-N4", branch_a).await;

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

    // Each caller signs in to the console as people do; the admin with the
    // first admin's password.
    let mut sessions = vec![None];
    for (employee_no, password) in [
        ("A-EMP", PASSWORD),
        ("A-N1", PASSWORD),
        ("REVIEWER", PASSWORD),
        ("B-MGR", PASSWORD),
        ("A-MGR", PASSWORD),
        ("admin", app.admin_password.as_str()),
    ] {
        let mut browser = Browser::new(app);
        browser.sign_in_with(employee_no, password).await;
        let csrf = browser.csrf("/console/").await;
        sessions.push(Some(Session { cookie: browser.cookie_header(), csrf }));
    }
    let login = app.call(Method::GET, "/console/login").send().await.text();
    let stylesheet = login
        .split("/console/assets/")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the sign-in page links its stylesheet")
        .to_owned();

    Fixture {
        sessions: sessions.try_into().unwrap_or_else(|_| unreachable!("a session per caller")),
        stylesheet,
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
        console_newcomer,
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

/// The console's rows. They run after the API's, on the fixture as those
/// leave it: the entry submitted (again), the running round open.
fn console_matrix(f: &Fixture) -> Vec<Row> {
    use Method as M;
    let (running, entry) = (f.running_round, f.entry);
    let score = format!("score-{}", f.criterion);
    vec![
        // Ways in, and the frame: open to everyone.
        page(M::GET, "/", everyone(303)).public(),
        page(M::GET, "/console", everyone(303)).public(),
        page(M::GET, "/console/assets/{name}", everyone(200))
            .public()
            .at(format!("/console/assets/{}", f.stylesheet)),
        page(M::GET, "/console/login", everyone(200)).public(),
        // Signing in (as the employee) answers everyone the same; the
        // callers' own sessions stay as they were.
        page(M::POST, "/console/login", everyone(303))
            .public()
            .form(&[("employee_no", "A-EMP"), ("password", PASSWORD)]),
        page(M::GET, "/console/activate", everyone(200)).public(),
        // As in the API's row: the password policy refuses, in place, before any code is tried.
        page(M::POST, "/console/activate", everyone(200)).public().form(&[
            ("employee_no", "SPARE"),
            ("activation_code", "x"),
            ("new_password", "short"),
            ("repeat_password", "short"),
        ]),
        page(M::GET, "/console/lang/{tag}", everyone(303))
            .public()
            .at("/console/lang/zh-CN?next=/console/".into()),
        // A signed-in person's pages.
        page(M::GET, "/console/", console_signed_in(200)),
        // A manager's pages: the own branch only.
        page(M::GET, "/console/campaigns/{id}", console_managers(200))
            .ids(&[f.nominating])
            .hidden_from(OTHER_MANAGER, f.entry_title),
        page(M::GET, "/console/campaigns/{id}/nominations/new", console_managers(200)).ids(&[f.nominating]),
        page(M::GET, "/console/campaigns/{id}/staff", console_managers(200))
            .at(format!("/console/campaigns/{}/staff?q=A-N", f.nominating))
            .hidden_from(OTHER_MANAGER, "A-N1"),
        // Branch A's employee: its manager saves a draft; the other branch's
        // is refused on the nominee (403), and nothing is written.
        page(M::POST, "/console/campaigns/{id}/nominations", [303, 403, 403, 403, 403, 303, 403])
            .ids(&[f.nominating])
            .form(&[
                ("nominee_id", &f.console_newcomer.to_string()),
                ("title", "网页推荐"),
                ("summary", "耐心。"),
                ("story", "故事。"),
                ("action", "save"),
            ]),
        page(M::GET, "/console/nominations/{id}", console_entry_branch(200)).ids(&[entry]),
        // Saving the submitted entry's own text again changes nothing.
        page(M::POST, "/console/nominations/{id}", console_entry_branch(303)).ids(&[entry]).form(&[
            ("title", f.entry_title),
            ("summary", "耐心解答客户疑问。"),
            ("story", "她帮助一位老人识破了诈骗。"),
            ("action", "save"),
        ]),
        // A reviewer's pages: the own assignments only; a round with none
        // for the reviewer (the vote round) is not there.
        page(M::GET, "/console/rounds/{id}", console_reviewer(200)).ids(&[running]),
        page(M::GET, "/console/rounds/{id}", console_reviewer(404)).ids(&[f.decided_round]),
        page(M::GET, "/console/rounds/{id}/entries/{nomination_id}", console_reviewer(200))
            .ids(&[running, f.running_entry]),
        // The reviewer revises the API row's review.
        page(M::POST, "/console/rounds/{id}/entries/{nomination_id}", console_reviewer(303))
            .ids(&[running, f.running_entry])
            .form(&[(&score, "7"), ("comment", "网页评分"), ("action", "save")]),
        // Last: signing out ends every console session of the caller on the
        // server (console::signing_out_ends_the_session_on_the_server).
        page(M::POST, "/console/logout", console_signed_in(303)).form(&[]),
    ]
}

/// Every method and path the console serves, read from the source that
/// registers them: `pages::configure` (`.route("…", web::get()…)`, under
/// `/console`), and the assets route and the two ways in of `console::routes`.
fn console_routes() -> BTreeSet<String> {
    let mut routes = BTreeSet::new();
    let sources = [include_str!("../../src/console/pages/mod.rs"), include_str!("../../src/console/mod.rs")];
    for source in sources {
        for (at, _) in source.match_indices(".route(") {
            let rest = source[at + ".route(".len()..].trim_start();
            // `.route(web::get()…)` of a resource: named by its `web::resource` below.
            let Some(rest) = rest.strip_prefix('"') else { continue };
            let (path, rest) = rest.split_once('"').expect("a closed string");
            let rest = rest.trim_start().strip_prefix(',').expect("a method after the path").trim_start();
            routes.insert(format!("{} /console{path}", method_of(rest)));
        }
        for (at, _) in source.match_indices("web::resource(\"") {
            let rest = &source[at + "web::resource(\"".len()..];
            let (path, rest) = rest.split_once('"').expect("a closed string");
            let rest = rest.trim_start().strip_prefix(").route(").expect("a route of the resource");
            routes.insert(format!("{} {path}", method_of(rest)));
        }
    }
    assert!(routes.len() > 10, "the console's routes were read: {routes:#?}");
    routes
}

/// `GET` of `web::get()…`.
fn method_of(source: &str) -> String {
    let method = source.strip_prefix("web::").and_then(|rest| rest.split_once("()")).map(|(m, _)| m);
    method.expect("web::<method>()").to_uppercase()
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

/// One call's answer, read whole.
struct Answer {
    status: u16,
    kind: String,
    body: String,
    location: String,
}

/// One call, exactly as the row says (the answers are checked below, all of
/// them), by this caller: with its token (API) or its session (console).
async fn call(app: &TestApp, f: &Fixture, row: &Row, caller: usize) -> Answer {
    let call = app.call(row.method.clone(), &row.path).unchecked();
    let session = f.sessions[caller].as_ref();
    let call = match (row.via, session) {
        (Via::Api, _) => call.maybe_token(f.tokens[caller].as_deref()),
        (Via::Console, Some(session)) => call.header("cookie", &session.cookie),
        (Via::Console, None) => call,
    };
    let call = match &row.body {
        Body::Empty => call,
        Body::Json(body) => call.json(body),
        Body::Csv(body) => call.body("text/csv", body.clone()),
        Body::Form(fields) => {
            // The caller's own token (none without a session), from our origin.
            let csrf = ("csrf", session.map_or("", |s| s.csrf.as_str()));
            let fields: Vec<(&str, &str)> =
                std::iter::once(csrf).chain(fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))).collect();
            let body = serde_urlencoded::to_string(fields).expect("a form");
            call.header("origin", &app.address).body("application/x-www-form-urlencoded", body)
        }
    };
    let res = call.send().await;
    let header = |name| res.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let (kind, location) = (header(CONTENT_TYPE), header(LOCATION));
    Answer { status: res.status.as_u16(), kind, body: res.text(), location }
}

/// How many events the audit trail holds: every change by an admin, manager
/// or reviewer writes one.
async fn audit_events(app: &TestApp) -> i64 {
    app.verify_audit().await["events"].as_i64().expect("events")
}

async fn every_route_answers_every_caller_as_its_row_says(app: TestApp) {
    let f = fixture(&app).await;
    let rows: Vec<Row> = matrix(&f).into_iter().chain(console_matrix(&f)).collect();

    let keys =
        |via: Via| -> BTreeSet<String> { rows.iter().filter(|r| r.via == via).map(Row::key).collect() };
    let documented = documented_routes(&app).await;
    let covered = keys(Via::Api);
    let missing: Vec<&String> = documented.difference(&covered).collect();
    let unknown: Vec<&String> =
        covered.iter().filter(|r| !documented.contains(*r) && !UNDOCUMENTED.contains(&r.as_str())).collect();
    assert!(missing.is_empty(), "routes without a row in the authorization matrix: {missing:#?}");
    assert!(unknown.is_empty(), "rows for routes the service does not have: {unknown:#?}");
    let (served, covered) = (console_routes(), keys(Via::Console));
    let missing: Vec<&String> = served.difference(&covered).collect();
    let unknown: Vec<&String> = covered.difference(&served).collect();
    assert!(missing.is_empty(), "console routes without a row in the authorization matrix: {missing:#?}");
    assert!(unknown.is_empty(), "rows for console routes the service does not have: {unknown:#?}");

    // Exact statuses: the client follows no redirect.
    let mut wrong = vec![];
    for row in &rows {
        for (caller, who) in CALLERS.iter().enumerate() {
            let expected = row.expect[caller];
            let console = row.via == Via::Console;
            let sent_to_sign_in = console && !row.public && caller == 0;
            // A refused form must leave no trace.
            let refused_form = matches!(row.body, Body::Form(_)) && (expected >= 400 || sent_to_sign_in);
            let before = if refused_form { Some(audit_events(&app).await) } else { None };
            let Answer { status, kind, body, location } = call(&app, &f, row, caller).await;
            let what = format!("{} {} as {who}", row.method, row.path);
            if status != expected {
                let body: String = body.chars().take(300).collect();
                wrong.push(format!("{what}: expected {expected}, got {status} {body}"));
            }
            let problem = if console { "text/html" } else { "application/problem+json" };
            if status >= 400 && !kind.starts_with(problem) {
                wrong.push(format!("{what}: a {status} that is not {problem}: {kind}"));
            }
            if let (409, Some(code)) = (status, row.conflict) {
                if !body.contains(&format!("\"code\":\"{code}\"")) {
                    wrong.push(format!("{what}: 409 but not {code}: {body}"));
                }
            }
            for (_, text) in row.hidden.iter().filter(|(c, _)| *c == caller) {
                if status < 300 && body.contains(text.as_str()) {
                    wrong.push(format!("{what}: the answer shows {text:?}"));
                }
            }
            // Without a session, to sign in (and back); with one, never there.
            let to_sign_in = location.starts_with("/console/login?next=");
            if sent_to_sign_in && !(status == 303 && to_sign_in) {
                wrong.push(format!("{what}: not sent to sign in but {status} to {location:?}"));
            }
            if console && caller > 0 && to_sign_in {
                wrong.push(format!("{what}: the caller's session was not taken: to {location}"));
            }
            if let Some(before) = before {
                let after = audit_events(&app).await;
                if after != before {
                    wrong.push(format!("{what}: refused, but {} audit events were written", after - before));
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
