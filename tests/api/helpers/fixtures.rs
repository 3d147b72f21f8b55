//! What several test modules set up the same way: a field of submitted
//! nominations across member companies and branches, its reviewers, review
//! and vote rounds, voters.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use reqwest::StatusCode;

use serde_json::{json, Value};

use super::TestApp;

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
    /// (reviewer, member company, branch)
    pub branch_reviewers: Vec<(Reviewer, i64, i64)>,
    pub group_reviewers: Vec<Reviewer>,
    /// The token of an employee who is neither nominee nor reviewer.
    pub employee: String,
}

impl Field {
    pub fn entries(&self) -> Vec<i64> {
        self.nominations.keys().copied().collect()
    }
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
    let imported = app.import_csv(app.admin(), csv).await.ok();
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
            let body = json!({"nominee_id": nominee, "title": format!("{code} 的故事 {n}"), "summary": "耐心解答客户疑问。", "story": "她帮助一位老人识破了诈骗。"});
            let id = app.create_nomination(app.admin(), campaign, body).await.created().id();
            app.submit_nomination(app.admin(), id).await.ok();
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

/// Three criteria: 事迹真实性 (weight 0.5, out of 10), 客户影响 (0.3, out of
/// 10), 示范意义 (0.2, out of 5).
pub fn criteria() -> Value {
    json!([{"name": "事迹真实性", "weight": 0.5, "max_score": 10}, {"name": "客户影响", "weight": 0.3, "max_score": 10}, {"name": "示范意义", "weight": 0.2, "max_score": 5}])
}

/// A group review round on [`criteria`] that advances the best `top_n`.
pub fn review_round(name: &str, reviews_per_entry: i64, top_n: i64) -> Value {
    json!({"name": name, "reviews_per_entry": reviews_per_entry, "criteria": criteria(), "advance": {"rule": "top_n", "n": top_n}})
}

/// A round's criteria: (id, max score).
pub fn criterion_ids(round: &Value) -> Vec<(i64, f64)> {
    round["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["max_score"].as_f64().unwrap()))
        .collect()
}

/// Gives a pending round this panel, opens it and assigns its reviews.
pub async fn open_with_panel(
    app: &TestApp,
    round: i64,
    panel: &[i64],
    seed: Option<u64>,
) -> crate::helpers::Response {
    app.set_panel(round, panel).await.ok();
    app.open_round(round).await.ok();
    app.assign(round, seed).await.ok()
}

/// Every reviewer scores every assignment with scores derived from the ids.
pub async fn review_everything(
    app: &TestApp,
    round: i64,
    reviewers: &[&Reviewer],
    criteria: &[(i64, f64)],
) -> usize {
    let mut done = 0;
    for r in reviewers {
        let mine = app.my_assignments(round, &r.token).await.ok();
        for a in mine.body["items"].as_array().unwrap() {
            let nomination = a["nomination_id"].as_i64().unwrap();
            let scores: BTreeMap<String, f64> = criteria
                .iter()
                .enumerate()
                .map(|(i, (id, max))| {
                    (id.to_string(), ((nomination * 7 + r.id * 3 + i as i64) % (*max as i64 + 1)) as f64)
                })
                .collect();
            app.review(round, nomination, &r.token, json!({"scores": scores})).await.ok();
            done += 1;
        }
    }
    done
}

/// A campaign of 12 submitted nominations in screening, with one open vote
/// round (3 votes per voter, withdrawal allowed or not) cutting to 2.
pub async fn voting_round(app: &TestApp, allow_withdrawal: bool) -> (Field, i64) {
    let f = field(app, 2, 2).await;
    let round = app
        .create_round(
            f.campaign,
            json!({"name": "员工投票", "kind": "vote", "votes_per_voter": 3, "allow_vote_withdrawal": allow_withdrawal,
                   "advance": {"rule": "top_n", "n": 2}}),
        )
        .await;
    let id = round["id"].as_i64().unwrap();
    app.to_screening(f.campaign).await;
    app.open_round(id).await.ok();
    (f, id)
}

/// `n` activated employees of the first branch: (id, token).
pub async fn voters(app: &TestApp, n: usize) -> Vec<(i64, String)> {
    let branch = app.get("/api/v1/branches?per_page=1", app.admin()).await.body["items"][0]["id"].as_i64();
    let mut out = vec![];
    for i in 0..n {
        out.push(app.user(&format!("V{i:03}"), branch, &["employee"]).await);
    }
    out
}

/// Closes a round (allowing missing reviews, or not) this long after the
/// calls started, while they run; how many of them were acknowledged with
/// `acknowledged`. Every other one must have been refused with 409.
pub async fn race_a_close(
    app: &Arc<TestApp>,
    round: i64,
    allow_missing_reviews: bool,
    after: Duration,
    calls: Vec<tokio::task::JoinHandle<StatusCode>>,
    acknowledged: StatusCode,
) -> i64 {
    let closer = {
        let app = app.clone();
        tokio::spawn(async move {
            tokio::time::sleep(after).await;
            match allow_missing_reviews {
                true => app.close_round_allowing_missing_reviews(round).await,
                false => app.close_round(round).await,
            }
        })
    };
    let mut count = 0;
    for call in calls {
        match call.await.unwrap() {
            status if status == acknowledged => count += 1,
            StatusCode::CONFLICT => {}
            other => panic!("unexpected {other}"),
        }
    }
    closer.await.unwrap().ok();
    count
}
