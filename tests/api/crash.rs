//! Crash safety (issue 7): votes, withdrawals and reviews stream into the real
//! binary (`awards serve`) from tens of concurrent clients, the process is
//! killed with SIGKILL at a random moment, restarted on the same database,
//! and then, read directly from the database and over the API:
//!
//! - every acknowledged vote is stored once, with the receipt its client got;
//!   every acknowledged withdrawal is gone; nothing else was written;
//! - a request whose answer the kill swallowed ("unknown") either happened or
//!   did not; retried after the restart (a vote with its Idempotency-Key) it
//!   gives the stored receipt, or is written now, and counts once;
//! - the counters agree with the rows (entries' votes; PostgreSQL's ballots), and
//!   every stored vote has its idempotency key and every live key its vote;
//! - every acknowledged review is stored with its scores and version, and
//!   its audit events are exactly its versions; the audit chain verifies.
//!
//! `AWARDS_CRASH_CYCLES` sets the kill-and-restart cycles per backend (20 by
//! default, about 20 s on SQLite and 45 s on PostgreSQL), `AWARDS_CRASH_SEED`
//! replays a run's choices (the seed is printed, with the tallies, under
//! `--nocapture`; the kills land where the timing puts them).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use awards::db::schema::{audit_events, ballots, entries, reviews, vote_requests, votes};
use awards::db::DbConn;
use diesel::prelude::*;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::app::Call;
use crate::helpers::fixtures::{field, open_with_panel};
use crate::helpers::server::{awards_command, run};
use crate::helpers::{Client, Server, TestApp, TestDb, JWT_SECRET};
use crate::on_both_databases;

const VOTERS: usize = 40;
const VOTES_PER_VOTER: usize = 3;

on_both_databases!(async acknowledged_writes_survive_sigkill);

async fn acknowledged_writes_survive_sigkill((db, url): (TestDb, String)) {
    crash_cycles(db, url).await;
}

/// `awards serve` on the test database, without rate limits in the way.
fn serve(url: &str) -> Server {
    Server::start(url, JWT_SECRET, |serve| {
        serve.env("AWARDS_VOTE_RATE_ACCOUNT", "1000000").env("AWARDS_VOTE_RATE_IP", "1000000");
    })
}

/// What the clients know: what was acknowledged to them.
struct World {
    round: i64,
    entries: Vec<i64>,
    /// (criterion id, max score)
    criteria: Vec<(i64, i64)>,
    voters: Vec<Voter>,
    reviewers: Vec<Reviewer>,
}

#[derive(Clone)]
struct Voter {
    id: i64,
    token: String,
    /// nomination → receipt
    votes: BTreeMap<i64, String>,
}

#[derive(Clone)]
struct Reviewer {
    id: i64,
    token: String,
    assigned: Vec<i64>,
    /// nomination → the last acknowledged review
    reviews: BTreeMap<i64, Review>,
}

#[derive(Clone, Debug, PartialEq)]
struct Review {
    /// criterion id → score
    scores: BTreeMap<i64, i64>,
    version: i64,
}

/// A request whose answer was lost in the kill.
#[derive(Debug)]
enum Unknown {
    Vote { nomination: i64, key: String },
    Withdrawal { nomination: i64 },
    Review { nomination: i64, scores: BTreeMap<i64, i64> },
}

/// What one client saw in one storm.
struct Run {
    acknowledged: usize,
    withdrawals: usize,
    unknown: Option<Unknown>,
}

#[derive(Default, Debug)]
struct Tally {
    votes: usize,
    withdrawals: usize,
    reviews: usize,
    /// Unknown votes found stored (the retry replayed the receipt) / not stored (the retry wrote it).
    unknown_votes: (usize, usize),
    /// Unknown withdrawals found done / not done (the retry did it).
    unknown_withdrawals: (usize, usize),
    /// Unknown reviews found stored / not stored.
    unknown_reviews: (usize, usize),
    /// Requests in flight at each kill: least and most.
    in_flight: (usize, usize),
    /// PostgreSQL sessions of the killed process found still open, in all.
    orphans: usize,
}

async fn crash_cycles(db: TestDb, url: String) {
    let cycles: usize = std::env::var("AWARDS_CRASH_CYCLES").ok().and_then(|c| c.parse().ok()).unwrap_or(20);
    let seed: u64 =
        std::env::var("AWARDS_CRASH_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(|| {
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64
        });
    let backend = if url.starts_with("sqlite") { "SQLite" } else { "PostgreSQL" };
    eprintln!("crash test on {backend}: {cycles} cycles, AWARDS_CRASH_SEED={seed}");
    let started = Instant::now();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut server = serve(&url);
    let password = server.first_admin_password();
    let mut app = TestApp::attach(db, url.clone(), server.address.clone(), password).await;
    let mut world = set_up(&app).await;
    let mut conn = app.connect();
    let mut tally = Tally { in_flight: (usize::MAX, 0), ..Tally::default() };

    for cycle in 0..cycles {
        let (tasks, in_flight) = storm(&app.client, &world, cycle, &mut rng);
        let wait = Duration::from_millis(rng.gen_range(200..=1000));
        tokio::time::sleep(wait).await;
        let at_kill = in_flight.load(Ordering::SeqCst);
        server.kill();
        tally.in_flight = (tally.in_flight.0.min(at_kill), tally.in_flight.1.max(at_kill));
        let mut vote_runs = vec![];
        let mut review_runs = vec![];
        for task in tasks {
            match task.await.expect("a client task") {
                (Caller::Voter(i, voter), run) => {
                    tally.votes += run.acknowledged;
                    tally.withdrawals += run.withdrawals;
                    world.voters[i] = voter;
                    vote_runs.push((i, run.unknown));
                }
                (Caller::Reviewer(i, reviewer), run) => {
                    tally.reviews += run.acknowledged;
                    world.reviewers[i] = reviewer;
                    review_runs.push((i, run.unknown));
                }
            }
        }
        tally.orphans += wait_for_orphans(&mut conn);
        server = serve(&url);
        app.address = server.address.clone();
        settle_votes(&app, &mut conn, &mut world, vote_runs, &mut tally).await;
        settle_reviews(&app, &mut conn, &mut world, review_runs, &mut tally).await;
        check(&app, &mut conn, &world).await.assert_none(&format!("after cycle {cycle}"));
        eprintln!("  cycle {cycle}: killed after {wait:?} with {at_kill} requests in flight; {tally:?}");
    }

    // The round closes on exactly what was acknowledged.
    app.close_round_allowing_missing_reviews(world.round).await.ok();
    let mut failures = Failures::default();
    let results = app.results(world.round).await.ok();
    let counted: BTreeMap<i64, i64> = results.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["nomination_id"].as_i64().unwrap(), i["vote_count"].as_i64().unwrap()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let mut expected: BTreeMap<i64, i64> = BTreeMap::new();
    for voter in &world.voters {
        for nomination in voter.votes.keys() {
            *expected.entry(*nomination).or_default() += 1;
        }
    }
    failures.eq(counted, expected, "the results count exactly the acknowledged votes");
    let ledger =
        app.get(format!("/api/v1/rounds/{}/ledger?per_page=500", world.round), app.admin()).await.ok();
    let mut receipts: Vec<(String, i64)> = ledger.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["receipt"].as_str().unwrap().to_owned(), l["nomination_id"].as_i64().unwrap()))
        .collect();
    receipts.sort();
    let mut acknowledged: Vec<(String, i64)> =
        world.voters.iter().flat_map(|v| v.votes.iter().map(|(n, r)| (r.clone(), *n))).collect();
    acknowledged.sort();
    failures.eq(receipts, acknowledged, "the ledger is exactly the acknowledged receipts");
    failures.assert_none("after the close");
    server.stop();
    eprintln!(
        "crash test on {backend}: {cycles} cycles in {:.1?}, seed {seed}: {tally:?}",
        started.elapsed()
    );
    assert!(tally.votes > 0 && tally.reviews > 0, "the storms did write: {tally:?}");
}

/// A campaign of 12 entries in one open combined round (3 votes a voter,
/// withdrawal allowed, 2 reviews an entry), 8 reviewers with their
/// assignments, and the voters.
async fn set_up(app: &TestApp) -> World {
    let f = field(app, 2, 2).await;
    let round = app
        .create_round(
        f.campaign,
        json!({"name": "复评", "kind": "combined", "scope": "group", "reviews_per_entry": 2,
               "criteria": [{"name": "事迹真实性", "weight": 0.5, "max_score": 10}, {"name": "客户影响", "weight": 0.3, "max_score": 10},
                            {"name": "示范意义", "weight": 0.2, "max_score": 5}],
               "jury_weight": 0.7, "vote_weight": 0.3, "votes_per_voter": VOTES_PER_VOTER, "allow_vote_withdrawal": true,
               "advance": {"rule": "top_n", "n": 2}}),
    )
    .await;
    let id = round["id"].as_i64().unwrap();
    let criteria = round["criteria"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["id"].as_i64().unwrap(), c["max_score"].as_f64().unwrap() as i64))
        .collect();
    app.to_screening(f.campaign).await;
    let mut panel: Vec<(i64, String)> =
        f.branch_reviewers.iter().map(|(r, _, _)| (r.id, r.token.clone())).collect();
    panel.extend(f.group_reviewers.iter().map(|r| (r.id, r.token.clone())));
    let ids: Vec<i64> = panel.iter().map(|(id, _)| *id).collect();
    open_with_panel(app, id, &ids, Some(1)).await;
    let mut reviewers = vec![];
    for (reviewer, token) in panel {
        let mine = app.my_assignments(id, &token).await.ok();
        let assigned = mine.ints("nomination_id");
        if !assigned.is_empty() {
            reviewers.push(Reviewer { id: reviewer, token, assigned, reviews: BTreeMap::new() });
        }
    }
    assert!(reviewers.len() >= 6, "the reviewers have work");
    let branch = f.nominations.values().next().map(|(_, branch)| *branch);
    let mut voters = vec![];
    for i in 0..VOTERS {
        let (id, token) = app.user(&format!("CV{i:03}"), branch, &["employee"]).await;
        voters.push(Voter { id, token, votes: BTreeMap::new() });
    }
    World { round: id, entries: f.nominations.keys().copied().collect(), criteria, voters, reviewers }
}

enum Caller {
    Voter(usize, Voter),
    Reviewer(usize, Reviewer),
}

type Tasks = Vec<tokio::task::JoinHandle<(Caller, Run)>>;

/// Starts every client on its own task: each voter and each reviewer sends
/// one request after another until one fails (the kill).
fn storm(client: &Client, world: &World, cycle: usize, rng: &mut ChaCha8Rng) -> (Tasks, Arc<AtomicUsize>) {
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut tasks: Tasks = vec![];
    for (i, voter) in world.voters.iter().enumerate() {
        let (client, in_flight, voter) = (client.clone(), in_flight.clone(), voter.clone());
        let (round, entries, seed) = (world.round, world.entries.clone(), rng.gen());
        tasks.push(tokio::spawn(async move {
            let mut voter = voter;
            let run = vote_storm(&client, &in_flight, round, &entries, &mut voter, cycle, seed).await;
            (Caller::Voter(i, voter), run)
        }));
    }
    for (i, reviewer) in world.reviewers.iter().enumerate() {
        let (client, in_flight, reviewer) = (client.clone(), in_flight.clone(), reviewer.clone());
        let (round, criteria, seed) = (world.round, world.criteria.clone(), rng.gen());
        tasks.push(tokio::spawn(async move {
            let mut reviewer = reviewer;
            let run = review_storm(&client, &in_flight, round, &criteria, &mut reviewer, seed).await;
            (Caller::Reviewer(i, reviewer), run)
        }));
    }
    (tasks, in_flight)
}

/// How a request ended: its status and body, or lost. A request that never
/// reached the server (refused connection) is `Err(false)`; one whose answer
/// did not arrive is `Err(true)`: it may or may not have been carried out.
async fn send(in_flight: &AtomicUsize, call: Call) -> Result<(StatusCode, Value), bool> {
    in_flight.fetch_add(1, Ordering::SeqCst);
    // Unchecked: the statuses are asserted where they are known.
    let answer = call.timeout(Duration::from_secs(30)).unchecked().try_send().await;
    in_flight.fetch_sub(1, Ordering::SeqCst);
    match answer {
        Ok(res) => Ok((res.status, res.body)),
        Err(lost) if lost.head_arrived => Err(true),
        Err(lost) => {
            assert!(!lost.error.is_timeout(), "a live server answers within 30 s: {}", lost.error);
            Err(!lost.error.is_connect())
        }
    }
}

/// A voter votes while it has votes left, and now and then (always, when it
/// has none left) withdraws one; every vote with a key of its own.
async fn vote_storm(
    client: &Client,
    in_flight: &AtomicUsize,
    round: i64,
    entries: &[i64],
    voter: &mut Voter,
    cycle: usize,
    seed: u64,
) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut run = Run { acknowledged: 0, withdrawals: 0, unknown: None };
    for n in 0.. {
        let full = voter.votes.len() == VOTES_PER_VOTER;
        if full || (!voter.votes.is_empty() && rng.gen_bool(0.25)) {
            let nomination = *voter.votes.keys().nth(rng.gen_range(0..voter.votes.len())).unwrap();
            let call =
                client.call(reqwest::Method::DELETE, format!("/api/v1/rounds/{round}/votes/{nomination}"));
            match send(in_flight, call.token(&voter.token)).await {
                Ok((status, body)) => {
                    assert_eq!(status, StatusCode::NO_CONTENT, "withdrawal: {body}");
                    voter.votes.remove(&nomination);
                    run.withdrawals += 1;
                }
                Err(lost) => {
                    run.unknown = lost.then_some(Unknown::Withdrawal { nomination });
                    return run;
                }
            }
        } else {
            let free: Vec<i64> = entries.iter().copied().filter(|e| !voter.votes.contains_key(e)).collect();
            let nomination = free[rng.gen_range(0..free.len())];
            let key = format!("c{cycle}-v{}-{n}", voter.id);
            let call = client.vote_call(round, &voter.token, nomination).header("Idempotency-Key", &key);
            match send(in_flight, call).await {
                Ok((status, body)) => {
                    assert_eq!(status, StatusCode::CREATED, "vote: {body}");
                    assert_eq!(body["replayed"], false, "a new key makes a new vote: {body}");
                    voter.votes.insert(nomination, body["receipt"].as_str().unwrap().to_owned());
                    run.acknowledged += 1;
                }
                Err(lost) => {
                    run.unknown = lost.then_some(Unknown::Vote { nomination, key });
                    return run;
                }
            }
        }
    }
    unreachable!()
}

/// A review of these scores, with a comment.
fn review_body(scores: &BTreeMap<i64, i64>) -> Value {
    let scores: BTreeMap<String, i64> = scores.iter().map(|(c, s)| (c.to_string(), *s)).collect();
    json!({"scores": scores, "comment": "事迹感人"})
}

/// A reviewer scores (and rescores) its assignments, one after another.
async fn review_storm(
    client: &Client,
    in_flight: &AtomicUsize,
    round: i64,
    criteria: &[(i64, i64)],
    reviewer: &mut Reviewer,
    seed: u64,
) -> Run {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut run = Run { acknowledged: 0, withdrawals: 0, unknown: None };
    loop {
        let nomination = reviewer.assigned[rng.gen_range(0..reviewer.assigned.len())];
        let scores: BTreeMap<i64, i64> =
            criteria.iter().map(|(c, max)| (*c, rng.gen_range(0..=*max))).collect();
        let call = client.review_call(round, nomination, &reviewer.token, &review_body(&scores));
        match send(in_flight, call).await {
            Ok((status, body)) => {
                assert_eq!(status, StatusCode::OK, "review: {body}");
                let version = reviewer.reviews.get(&nomination).map_or(0, |r| r.version) + 1;
                assert_eq!(body["version"], version, "{body}");
                reviewer.reviews.insert(nomination, Review { scores, version });
                run.acknowledged += 1;
            }
            Err(lost) => {
                run.unknown = lost.then_some(Unknown::Review { nomination, scores });
                return run;
            }
        }
    }
}

/// PostgreSQL: the sessions of a killed process live on until their backend
/// notices, and a COMMIT the process had sent just before it died may still
/// land then, after the restart (seen in a loaded run). A retry racing it is
/// safe: its insert waits on the orphan's rows, fails on their keys once they
/// commit, and the next attempt replays them, as between two nodes. The
/// clients' oracle describes the settled database, so this waits until, with
/// the server down, no other session is left; it returns how many there were.
fn wait_for_orphans(conn: &mut DbConn) -> usize {
    #[derive(QueryableByName)]
    struct Sessions {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let DbConn::Pg(pg) = conn else { return 0 };
    let started = Instant::now();
    let mut found = 0;
    loop {
        let left = diesel::sql_query(
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        )
        .get_result::<Sessions>(pg)
        .expect("read pg_stat_activity")
        .n as usize;
        found = found.max(left);
        if left == 0 {
            return found;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{left} sessions of the killed server linger");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// The round's votes as stored: voter → nomination → receipt.
fn stored_votes(conn: &mut DbConn, round: i64) -> BTreeMap<i64, BTreeMap<i64, String>> {
    let rows: Vec<(i64, i64, String)> = votes::table
        .filter(votes::round_id.eq(round))
        .select((votes::voter_id, votes::nomination_id, votes::receipt))
        .load(conn)
        .expect("read votes");
    let mut stored: BTreeMap<i64, BTreeMap<i64, String>> = BTreeMap::new();
    for (voter, nomination, receipt) in rows {
        assert!(
            stored.entry(voter).or_default().insert(nomination, receipt).is_none(),
            "one vote per voter and entry"
        );
    }
    stored
}

/// The round's reviews as stored: (reviewer, nomination) → review.
fn stored_reviews(conn: &mut DbConn, round: i64) -> BTreeMap<(i64, i64), Review> {
    reviews::table
        .filter(reviews::round_id.eq(round))
        .select((reviews::reviewer_id, reviews::nomination_id, reviews::scores, reviews::version))
        .load::<(i64, i64, String, i32)>(conn)
        .expect("read reviews")
        .into_iter()
        .map(|(reviewer, nomination, scores, version)| {
            let scores: BTreeMap<i64, f64> = serde_json::from_str(&scores).expect("scores are JSON");
            let scores = scores.into_iter().map(|(c, s)| (c, s as i64)).collect();
            ((reviewer, nomination), Review { scores, version: version.into() })
        })
        .collect()
}

/// After the restart: what each voter knows is stored exactly; its unknown
/// request, if any, happened or did not, and its retry settles it.
async fn settle_votes(
    app: &TestApp,
    conn: &mut DbConn,
    world: &mut World,
    runs: Vec<(usize, Option<Unknown>)>,
    tally: &mut Tally,
) {
    let mut stored = stored_votes(conn, world.round);
    for (i, unknown) in runs {
        let voter = &mut world.voters[i];
        let mine = stored.remove(&voter.id).unwrap_or_default();
        match unknown {
            None => assert_eq!(
                mine, voter.votes,
                "voter {}: the stored votes are the acknowledged ones",
                voter.id
            ),
            Some(Unknown::Vote { nomination, key }) => {
                let mut others = mine.clone();
                let earlier = others.remove(&nomination);
                assert_eq!(others, voter.votes, "voter {}: nothing but the unknown vote is new", voter.id);
                let retry = app.cast_vote(world.round, &voter.token, nomination, Some(&key)).await;
                assert_eq!(retry.status, StatusCode::CREATED, "retry: {}", retry.body);
                let receipt = retry.body["receipt"].as_str().unwrap().to_owned();
                match earlier {
                    Some(earlier) => {
                        assert_eq!(
                            (&receipt, &retry.body["replayed"]),
                            (&earlier, &json!(true)),
                            "the stored receipt"
                        );
                        tally.unknown_votes.0 += 1;
                    }
                    None => {
                        assert_eq!(retry.body["replayed"], false, "{}", retry.body);
                        tally.unknown_votes.1 += 1;
                    }
                }
                voter.votes.insert(nomination, receipt);
            }
            Some(Unknown::Withdrawal { nomination }) => {
                let mut without = voter.votes.clone();
                without.remove(&nomination);
                let done = mine == without;
                assert!(
                    done || mine == voter.votes,
                    "voter {}: {mine:?} is {:?} or {without:?}",
                    voter.id,
                    voter.votes
                );
                let retry = app.withdraw_vote(world.round, &voter.token, nomination).await;
                let expected = if done { StatusCode::NOT_FOUND } else { StatusCode::NO_CONTENT };
                assert_eq!(retry.status, expected, "{}", retry.body);
                if done {
                    tally.unknown_withdrawals.0 += 1;
                } else {
                    tally.unknown_withdrawals.1 += 1;
                }
                voter.votes = without;
            }
            Some(Unknown::Review { .. }) => unreachable!("voters do not review"),
        }
    }
    assert!(stored.is_empty(), "votes of nobody who voted: {stored:?}");
}

/// After the restart: each acknowledged review is stored as acknowledged, an
/// unknown one is stored or not, and sent again it is the next version.
async fn settle_reviews(
    app: &TestApp,
    conn: &mut DbConn,
    world: &mut World,
    runs: Vec<(usize, Option<Unknown>)>,
    tally: &mut Tally,
) {
    let mut stored = stored_reviews(conn, world.round);
    for (i, unknown) in runs {
        let reviewer = &mut world.reviewers[i];
        for &nomination in &reviewer.assigned {
            let found = stored.remove(&(reviewer.id, nomination));
            let known = reviewer.reviews.get(&nomination).cloned();
            match &unknown {
                Some(Unknown::Review { nomination: n, scores }) if *n == nomination => {
                    let version = known.as_ref().map_or(0, |r| r.version) + 1;
                    let sent = Review { scores: scores.clone(), version };
                    let applied = found.as_ref() == Some(&sent);
                    assert!(applied || found == known, "review {nomination} of {}: {found:?}", reviewer.id);
                    let retry =
                        app.review(world.round, nomination, &reviewer.token, review_body(scores)).await.ok();
                    let version = found.map_or(0, |r| r.version) + 1;
                    assert_eq!(retry.body["version"], version);
                    reviewer.reviews.insert(nomination, Review { scores: scores.clone(), version });
                    if applied {
                        tally.unknown_reviews.0 += 1;
                    } else {
                        tally.unknown_reviews.1 += 1;
                    }
                }
                _ => assert_eq!(found, known, "review {nomination} of {}", reviewer.id),
            }
        }
    }
    assert!(stored.is_empty(), "reviews nobody sent: {stored:?}");
}

/// The invariants found broken. Each is checked whatever happened to the
/// others, and they are reported together.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn eq<T: PartialEq + std::fmt::Debug>(&mut self, left: T, right: T, what: &str) {
        if left != right {
            self.0.push(format!("{what}:\n   found: {left:?}\n  wanted: {right:?}"));
        }
    }

    fn holds(&mut self, holds: bool, what: impl FnOnce() -> String) {
        if !holds {
            self.0.push(what());
        }
    }

    #[track_caller]
    fn assert_none(self, when: &str) {
        assert!(self.0.is_empty(), "{when}, {} broken:\n{}", self.0.len(), self.0.join("\n"));
    }
}

/// Everything stored is what was acknowledged, once, and holds together.
async fn check(app: &TestApp, conn: &mut DbConn, world: &World) -> Failures {
    let round = world.round;
    let mut failures = Failures::default();
    let stored = stored_votes(conn, round);
    let known: BTreeMap<i64, BTreeMap<i64, String>> =
        world.voters.iter().filter(|v| !v.votes.is_empty()).map(|v| (v.id, v.votes.clone())).collect();
    failures.eq(&stored, &known, "the stored votes are exactly the acknowledged ones");

    // The counters agree with the rows.
    let mut per_entry: BTreeMap<i64, i64> = world.entries.iter().map(|e| (*e, 0)).collect();
    for nomination in known.values().flat_map(|votes| votes.keys()) {
        *per_entry.get_mut(nomination).unwrap() += 1;
    }
    let counters: BTreeMap<i64, i64> = entries::table
        .filter(entries::round_id.eq(round))
        .select((entries::nomination_id, entries::votes))
        .load(conn)
        .unwrap()
        .into_iter()
        .collect();
    failures.eq(counters, per_entry, "each entry's counter is its vote rows");
    // PostgreSQL's ballots count each voter's votes (SQLite counts the rows themselves).
    if let DbConn::Pg(_) = conn {
        let used: Vec<(i64, i32)> = ballots::table
            .filter(ballots::round_id.eq(round))
            .select((ballots::voter_id, ballots::used))
            .load(conn)
            .unwrap();
        for (voter, used) in &used {
            let rows = known.get(voter).map_or(0, |votes| votes.len());
            failures.eq(*used as usize, rows, &format!("voter {voter}: the ballot's used is its vote rows"));
        }
        let missing: Vec<&i64> =
            known.keys().filter(|voter| !used.iter().any(|(v, _)| v == *voter)).collect();
        failures
            .holds(missing.is_empty(), || format!("every voter has a ballot; these have none: {missing:?}"));
    }

    // Every stored vote has its key, every live key its vote, no withdrawn key a vote.
    let keys: Vec<(i64, i64, String, bool)> = vote_requests::table
        .filter(vote_requests::round_id.eq(round))
        .select((
            vote_requests::voter_id,
            vote_requests::nomination_id,
            vote_requests::receipt,
            vote_requests::withdrawn,
        ))
        .load(conn)
        .unwrap();
    let live: BTreeMap<i64, BTreeMap<i64, String>> =
        keys.iter().filter(|k| !k.3).fold(BTreeMap::new(), |mut live, (voter, nomination, receipt, _)| {
            assert!(live.entry(*voter).or_default().insert(*nomination, receipt.clone()).is_none());
            live
        });
    failures.eq(&live, &known, "the live idempotency keys are exactly the stored votes");
    let receipts: std::collections::BTreeSet<&String> = keys.iter().map(|k| &k.2).collect();
    failures.eq(receipts.len(), keys.len(), "every receipt is unique");

    // Reviews, and one audit event per version of each.
    let stored = stored_reviews(conn, round);
    let known_reviews: BTreeMap<(i64, i64), Review> = world
        .reviewers
        .iter()
        .flat_map(|r| r.reviews.iter().map(|(n, review)| ((r.id, *n), review.clone())))
        .collect();
    failures.eq(&stored, &known_reviews, "the stored reviews are exactly the acknowledged ones");
    let events: BTreeMap<(Option<i64>, String), i64> = audit_events::table
        .filter(audit_events::action.eq_any(["review.submit", "review.revise"]))
        .group_by((audit_events::actor_id, audit_events::subject))
        .select((audit_events::actor_id, audit_events::subject, diesel::dsl::count_star()))
        .load::<(Option<i64>, String, i64)>(conn)
        .unwrap()
        .into_iter()
        .map(|(actor, subject, n)| ((actor, subject), n))
        .collect();
    let versions: BTreeMap<(Option<i64>, String), i64> = known_reviews
        .iter()
        .map(|((reviewer, nomination), review)| {
            ((Some(*reviewer), format!("round:{round}/nomination:{nomination}")), review.version)
        })
        .collect();
    failures.eq(events, versions, "one audit event per stored review version");

    // Over the API: each voter's ballot, and the audit chain, twice.
    let ballots = world.voters.iter().map(|voter| async move {
        let ballot = app.ballot(round, &voter.token, "?per_page=1").await.ok();
        let mine: BTreeMap<i64, String> = ballot.body["my_votes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["nomination_id"].as_i64().unwrap(), v["receipt"].as_str().unwrap().to_owned()))
            .collect();
        let left = ballot.body["votes_left"].as_i64();
        (voter, mine, left)
    });
    for (voter, mine, left) in futures_util::future::join_all(ballots).await {
        failures.eq(&mine, &voter.votes, &format!("voter {}'s ballot", voter.id));
        let expected = Some((VOTES_PER_VOTER - voter.votes.len()) as i64);
        failures.eq(left, expected, &format!("voter {}'s votes left", voter.id));
    }
    let verified = app.verify_audit().await;
    failures.eq(&verified["ok"], &json!(true), &format!("the audit chain verifies over the API: {verified}"));
    let cli = run(awards_command().arg("verify-audit").env("AWARDS_DATABASE_URL", &app.database_url), "");
    failures.holds(cli.success() && cli.stdout.starts_with("audit chain ok"), || {
        format!("awards verify-audit: {}{}", cli.stdout, cli.stderr)
    });
    failures
}
