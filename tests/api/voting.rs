use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::fixtures::{field, race_a_close, voters, voting_round, Field};
use crate::helpers::{TestApp, TestDb, PASSWORD};
use crate::on_both;

on_both!(
    a_ballot_shows_the_candidates_and_votes_left_but_no_tallies,
    an_idempotency_key_replays_its_vote_and_nothing_else,
    votes_run_out_and_a_withdrawal_frees_one,
    nobody_votes_for_or_sees_their_own_nomination,
    a_withdrawn_vote_stays_withdrawn_when_its_request_is_retried,
    a_ruled_out_entry_takes_no_votes_and_leaves_the_ballot,
    tallies_and_the_ledger_stay_hidden_while_the_round_runs,
    a_closed_round_takes_no_votes_and_anyone_recounts_its_ledger,
    parallel_votes_hold_the_limits,
    concurrent_voters_match_the_oracle,
    votes_racing_a_close_are_counted_or_refused,
    a_graceful_stop_answers_and_keeps_every_vote_in_flight,
    a_window_outside_years_1_to_9999_takes_votes,
    the_vote_writer_prepares_each_statement_once,
    a_ruled_out_entry_does_not_set_the_vote_scale,
    the_database_refuses_a_vote_past_the_limit,
);

/// A window opening before year 1 or closing after 9999 (UTC) is stored as
/// given; the vote writer must read it back as well as any other.
async fn a_window_outside_years_1_to_9999_takes_votes(app: TestApp) {
    let f = field(&app, 2, 2).await;
    let round = app
        .create_round(
            f.campaign,
            json!({"name": "远期投票", "kind": "vote", "votes_per_voter": 1, "advance": {"rule": "top_n", "n": 2},
                   "opens_at": "0000-01-01T00:00:00+01:00", "closes_at": "9999-12-31T23:59:59-05:00"}),
        )
        .await;
    let id = round["id"].as_i64().unwrap();
    app.to_screening(f.campaign).await;
    app.open_round(id).await.ok();
    let (_, token) = &voters(&app, 1).await[0];
    let nomination = f.entries()[0];
    assert_eq!(app.cast_vote(id, token, nomination, None).await.status, StatusCode::CREATED);
}

/// Every statement of a vote batch is prepared once per connection and then
/// taken from diesel's cache: the second batch prepares nothing new. (diesel
/// caches neither an UPDATE, an upsert, a multi-row insert nor an IN list;
/// parsing them for every batch was a quarter of the writer's time.)
async fn the_vote_writer_prepares_each_statement_once(app: TestApp) {
    use awards::store::votes::{cast_batch, Cast};
    use diesel::connection::{Connection, InstrumentationEvent};
    let (f, round) = voting_round(&app, false).await;
    let voters = voters(&app, 6).await;
    let branch = app.get("/api/v1/branches?per_page=1", app.admin()).await.body["items"][0]["id"].as_i64();
    let nominations = f.entries();
    let mut conn = app.connect();
    // (started, newly cached) statement texts, transaction control aside.
    let seen: Arc<Mutex<(Vec<String>, Vec<String>)>> = Default::default();
    let record = seen.clone();
    let instrument = move |event: InstrumentationEvent<'_>| {
        let mut seen = record.lock().unwrap();
        match event {
            InstrumentationEvent::StartQuery { query, .. } => {
                let text = query.to_string();
                let sql = text.split(" -- binds:").next().unwrap_or_default().trim().to_owned();
                let control = ["BEGIN", "COMMIT", "ROLLBACK"].iter().any(|c| sql.starts_with(c));
                if !control {
                    seen.0.push(sql);
                }
            }
            InstrumentationEvent::CacheQuery { sql, .. } => seen.1.push(sql.trim().to_owned()),
            _ => {}
        }
    };
    match &mut conn {
        awards::db::DbConn::Pg(pg) => pg.set_instrumentation(instrument),
        awards::db::DbConn::Sqlite(lite) => lite.set_instrumentation(instrument),
    }
    for (batch, voters) in voters.chunks(3).enumerate() {
        let casts: Vec<Cast> = voters
            .iter()
            .enumerate()
            .map(|(i, (voter_id, _))| Cast {
                round_id: round,
                nomination_id: nominations[i],
                voter_id: *voter_id,
                // With a branch and without: diesel's insert text differs.
                voter_branch_id: branch.filter(|_| i == 0),
                idempotency_key: Some(format!("key-{batch}-{i}")),
                ip: "127.0.0.1".into(),
            })
            .collect();
        let casts: Vec<&Cast> = casts.iter().collect();
        let answers = awards::db::write_tx(&mut conn, |c| cast_batch(c, &casts, awards::db::now())).unwrap();
        assert!(answers.iter().all(Result::is_ok), "{answers:?}");
        let mut seen = seen.lock().unwrap();
        if batch == 0 {
            assert!(!seen.0.is_empty() && !seen.1.is_empty(), "the instrumentation saw the first batch");
            let cached = std::mem::take(&mut seen.1);
            for sql in std::mem::take(&mut seen.0) {
                assert!(cached.contains(&sql), "not cached: {sql}");
            }
        }
    }
    // The second batch ran statements, all of them from the cache.
    let (started, cached) = &*seen.lock().unwrap();
    assert!(!started.is_empty());
    assert!(cached.is_empty(), "prepared anew for a second batch: {cached:?}");
}

/// An entry ruled out after it drew the most votes keeps its count but does
/// not set the vote scale: the others' vote scores are relative to the
/// most-voted entry still in the running.
async fn a_ruled_out_entry_does_not_set_the_vote_scale(app: TestApp) {
    let (f, round) = voting_round(&app, false).await;
    let ids = f.entries();
    let (stuffed, first, second) = (ids[0], ids[1], ids[2]);
    // stuffed 4 votes, first 2, second 1.
    for (i, (_, token)) in voters(&app, 4).await.iter().enumerate() {
        let mut choices = vec![stuffed];
        choices.extend([first].iter().filter(|_| i < 2));
        choices.extend([second].iter().filter(|_| i == 0));
        for nomination in choices {
            assert_eq!(app.cast_vote(round, token, nomination, None).await.status, StatusCode::CREATED);
        }
    }
    app.rule_out(stuffed, "刷票").await.ok();
    app.close_round(round).await.ok();
    let results = app.results(round).await.ok();
    let of = |id: i64| {
        let items = results.items();
        let item = items.iter().find(|i| i["nomination_id"] == id).unwrap().clone();
        (
            item["vote_count"].as_i64().unwrap(),
            item["vote_score"].as_f64().unwrap(),
            item["decided_by"].clone(),
        )
    };
    assert_eq!(of(stuffed), (4, 100.0, json!("ruled_out")));
    assert_eq!((of(first).0, of(first).1), (2, 100.0));
    assert_eq!((of(second).0, of(second).1), (1, 50.0));
    let recount = app.recount(round).await;
    assert_eq!(
        (recount.body["ok"].clone(), recount.body["algorithm_version"].clone()),
        (json!(true), json!("awards-scoring/3"))
    );
}

/// Tallies after close, from the results (admin).
async fn tallies(app: &TestApp, round: i64) -> BTreeMap<i64, i64> {
    let results = app.results(round).await.ok();
    results.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| (i["nomination_id"].as_i64().unwrap(), i["vote_count"].as_i64().unwrap()))
        .collect()
}

/// The ledger, recounted.
async fn recount_ledger(app: &TestApp, round: i64) -> (BTreeMap<i64, i64>, BTreeSet<String>) {
    let mut counts = BTreeMap::new();
    let mut receipts = BTreeSet::new();
    let mut page = 1;
    loop {
        let res = app
            .get(format!("/api/v1/rounds/{round}/ledger?per_page=500&page={page}"), app.admin())
            .await
            .ok();
        for line in res.items() {
            assert_eq!(line.as_object().unwrap().len(), 2, "receipt and nomination only: {line}");
            *counts.entry(line["nomination_id"].as_i64().unwrap()).or_insert(0) += 1;
            assert!(receipts.insert(line["receipt"].as_str().unwrap().to_owned()), "receipts are unique");
        }
        if page * 500 >= res.body["total"].as_i64().unwrap() {
            return (counts, receipts);
        }
        page += 1;
    }
}

/// One open vote round (3 votes, withdrawal allowed) over 12 entries, and
/// one voter.
struct OneVoter {
    f: Field,
    round: i64,
    entries: Vec<i64>,
    token: String,
}

async fn one_voter(app: &TestApp) -> OneVoter {
    let (f, round) = voting_round(app, true).await;
    let entries = f.entries();
    let (_, token) = voters(app, 1).await.remove(0);
    OneVoter { f, round, entries, token }
}

impl OneVoter {
    /// The nominee of entry 4, activated: their token.
    async fn nominee(&self, app: &TestApp) -> String {
        let (no, code) = &self.f.nominees[&self.entries[4]];
        app.activate(no, code, PASSWORD).await.ok().body["access_token"].as_str().unwrap().to_owned()
    }

    /// Leaves four votes standing: the voter's for entries 0 (with the key
    /// retry-1), 1 and 3 (2 withdrawn), and the nominee of 4's for 5 (7, with
    /// the key late-1, withdrawn); entry 6 is ruled out. The receipt of the
    /// vote for 0, and the nominee's token.
    async fn four_standing_votes(&self, app: &TestApp) -> (String, String) {
        let (round, e, token) = (self.round, &self.entries, &self.token);
        let receipt = app.cast_vote(round, token, e[0], Some("retry-1")).await.created().body["receipt"]
            .as_str()
            .unwrap()
            .to_owned();
        for entry in [e[1], e[2]] {
            app.cast_vote(round, token, entry, None).await.created();
        }
        app.withdraw_vote(round, token, e[2]).await.expect(StatusCode::NO_CONTENT);
        app.cast_vote(round, token, e[3], None).await.created();
        let nominee = self.nominee(app).await;
        app.cast_vote(round, &nominee, e[5], None).await.created();
        app.cast_vote(round, &nominee, e[7], Some("late-1")).await.created();
        app.withdraw_vote(round, &nominee, e[7]).await.expect(StatusCode::NO_CONTENT);
        app.rule_out(e[6], "材料不实").await.ok();
        (receipt, nominee)
    }
}

async fn a_ballot_shows_the_candidates_and_votes_left_but_no_tallies(app: TestApp) {
    let v = one_voter(&app).await;
    let ballot = app.ballot(v.round, &v.token, "?per_page=5").await.ok();
    assert_eq!(
        (ballot.body["votes_per_voter"].as_i64(), ballot.body["votes_left"].as_i64()),
        (Some(3), Some(3))
    );
    assert_eq!(
        (
            ballot.body["candidates"]["total"].as_i64(),
            ballot.body["candidates"]["items"].as_array().unwrap().len()
        ),
        (Some(12), 5)
    );
    assert!(!ballot.body.to_string().contains("vote_count"), "no tallies on a ballot");
    let (company, _) = v.f.nominations[&v.entries[0]];
    let filtered = app.ballot(v.round, &v.token, &format!("?member_company_id={company}")).await;
    assert_eq!(filtered.body["candidates"]["total"], 4);
}

async fn an_idempotency_key_replays_its_vote_and_nothing_else(app: TestApp) {
    let OneVoter { round, entries, token, .. } = one_voter(&app).await;
    let first = app.cast_vote(round, &token, entries[0], Some("retry-1")).await.created();
    let receipt = first.body["receipt"].as_str().unwrap().to_owned();
    assert!(receipt.len() == 32 && receipt.bytes().all(|b| b.is_ascii_hexdigit()));
    let again = app.cast_vote(round, &token, entries[0], Some("retry-1")).await;
    assert_eq!(
        (again.status, again.body["receipt"].as_str(), again.body["replayed"].as_bool()),
        (StatusCode::CREATED, Some(receipt.as_str()), Some(true))
    );
    let other_body = app.cast_vote(round, &token, entries[1], Some("retry-1")).await;
    assert_eq!((other_body.status, other_body.code()), (StatusCode::CONFLICT, "idempotency_key_reused"));
    let twice = app.cast_vote(round, &token, entries[0], None).await;
    assert_eq!((twice.status, twice.code()), (StatusCode::CONFLICT, "already_voted"));
    let bad_key = app.cast_vote(round, &token, entries[0], Some("bad key")).await;
    assert_eq!(bad_key.status, StatusCode::BAD_REQUEST);
    assert_eq!(app.cast_vote(round, &token, 999_999, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.cast_vote(999_999, &token, entries[0], None).await.status, StatusCode::NOT_FOUND);
    let malformed = app
        .raw(
            Method::POST,
            &format!("/api/v1/rounds/{round}/votes"),
            Some(&token),
            "application/json",
            "{\"nomination_id\":\"7\"}",
        )
        .await;
    assert_eq!(malformed.status, StatusCode::UNPROCESSABLE_ENTITY);
    let ballot = app.ballot(round, &token, "?per_page=500").await.ok();
    assert_eq!(ballot.body["votes_left"], 2, "one vote, however often it was sent");
}

async fn votes_run_out_and_a_withdrawal_frees_one(app: TestApp) {
    let OneVoter { round, entries, token, .. } = one_voter(&app).await;
    for &entry in &entries[..3] {
        app.cast_vote(round, &token, entry, None).await.created();
    }
    let fourth = app.cast_vote(round, &token, entries[3], None).await;
    assert_eq!((fourth.status, fourth.code()), (StatusCode::CONFLICT, "no_votes_left"));
    assert_eq!(app.withdraw_vote(round, &token, entries[2]).await.status, StatusCode::NO_CONTENT);
    assert_eq!(app.withdraw_vote(round, &token, entries[2]).await.status, StatusCode::NOT_FOUND);
    app.cast_vote(round, &token, entries[3], None).await.created();
    let ballot = app.ballot(round, &token, "?per_page=500").await;
    assert_eq!(ballot.body["votes_left"], 0);
    let mine: BTreeSet<i64> = ballot.body["my_votes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["nomination_id"].as_i64().unwrap())
        .collect();
    assert_eq!(mine, BTreeSet::from([entries[0], entries[1], entries[3]]));
}

async fn nobody_votes_for_or_sees_their_own_nomination(app: TestApp) {
    let v = one_voter(&app).await;
    let (round, entries) = (v.round, &v.entries);
    let nominee = v.nominee(&app).await;
    let own = app.cast_vote(round, &nominee, entries[4], None).await;
    assert_eq!((own.status, own.code()), (StatusCode::FORBIDDEN, "own_nomination"));
    app.cast_vote(round, &nominee, entries[5], None).await.created();
    let own_ballot = app.ballot(round, &nominee, "?per_page=500").await.ok();
    let candidates = own_ballot.body["candidates"]["items"].as_array().unwrap();
    assert_eq!(candidates.len(), 11, "every entry but their own");
    assert!(candidates.iter().all(|c| c["nomination_id"] != entries[4]));
}

async fn a_withdrawn_vote_stays_withdrawn_when_its_request_is_retried(app: TestApp) {
    let v = one_voter(&app).await;
    let (round, entries) = (v.round, &v.entries);
    let nominee = v.nominee(&app).await;
    app.cast_vote(round, &nominee, entries[7], Some("late-1")).await.created();
    assert_eq!(app.withdraw_vote(round, &nominee, entries[7]).await.status, StatusCode::NO_CONTENT);
    let late_retry = app.cast_vote(round, &nominee, entries[7], Some("late-1")).await;
    assert_eq!((late_retry.status, late_retry.code()), (StatusCode::CONFLICT, "vote_withdrawn"));
    let ballot = app.ballot(round, &nominee, "?per_page=500").await.ok();
    assert_eq!(ballot.body["my_votes"], json!([]), "the retry did not bring the vote back");
}

async fn a_ruled_out_entry_takes_no_votes_and_leaves_the_ballot(app: TestApp) {
    let v = one_voter(&app).await;
    let (round, entries) = (v.round, &v.entries);
    let nominee = v.nominee(&app).await;
    app.rule_out(entries[6], "材料不实").await.ok();
    let ruled = app.cast_vote(round, &nominee, entries[6], None).await;
    assert_eq!((ruled.status, ruled.code()), (StatusCode::CONFLICT, "ruled_out"));
    assert_eq!(app.ballot(round, &v.token, "").await.body["candidates"]["total"], 11);
}

/// Tallies stay hidden until the round closes; the ledger too.
async fn tallies_and_the_ledger_stay_hidden_while_the_round_runs(app: TestApp) {
    let v = one_voter(&app).await;
    let (round, token) = (v.round, &v.token);
    v.four_standing_votes(&app).await;
    assert_eq!(app.get(format!("/api/v1/rounds/{round}/preview"), token).await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        app.get(format!("/api/v1/rounds/{round}/ledger"), app.admin()).await.status,
        StatusCode::CONFLICT
    );
    let anomalies = app.get(format!("/api/v1/rounds/{round}/anomalies?threshold=1"), app.admin()).await.ok();
    let from_ip: i64 =
        anomalies.body["by_ip"].as_array().unwrap().iter().map(|b| b["votes"].as_i64().unwrap()).sum();
    assert_eq!(from_ip, 4, "4 standing votes, all from 127.0.0.1: {}", anomalies.body);
    assert_eq!(anomalies.body["by_ip"][0]["source"], "127.0.0.1");
    assert_eq!(
        app.get(format!("/api/v1/rounds/{round}/anomalies"), token).await.status,
        StatusCode::FORBIDDEN
    );
}

async fn a_closed_round_takes_no_votes_and_anyone_recounts_its_ledger(app: TestApp) {
    let v = one_voter(&app).await;
    let (round, entries, token) = (v.round, &v.entries, &v.token);
    let (receipt, nominee) = v.four_standing_votes(&app).await;
    app.close_round(round).await.ok();
    let late = app.cast_vote(round, &nominee, entries[7], None).await;
    assert_eq!((late.status, late.code()), (StatusCode::CONFLICT, "invalid_state"));
    let tally = tallies(&app, round).await;
    assert_eq!(tally.values().sum::<i64>(), 4);
    assert_eq!((tally[&entries[0]], tally[&entries[2]], tally[&entries[5]]), (1, 0, 1));
    let (recounted, receipts) = recount_ledger(&app, round).await;
    assert_eq!(recounted, tally.into_iter().filter(|(_, n)| *n > 0).collect());
    assert!(receipts.contains(&receipt));
    let public = app.get(format!("/api/v1/rounds/{round}/ledger?per_page=500"), token).await.ok();
    assert_eq!(public.body["total"], 4, "any voter can recount the closed round");
}

/// The database itself refuses a vote past the voter's limit, whatever a
/// writer decided: on SQLite the `votes_within_limit` trigger counts the
/// voter's vote rows; on PostgreSQL the ballot's CHECK bounds its counter.
async fn the_database_refuses_a_vote_past_the_limit(app: TestApp) {
    use awards::db::schema::{ballots, votes};
    use awards::db::DbConn;
    use diesel::prelude::*;
    let (f, round) = voting_round(&app, false).await;
    let (voter, token) = voters(&app, 1).await.remove(0);
    let entries = f.entries();
    for &entry in &entries[..3] {
        app.cast_vote(round, &token, entry, None).await.created();
    }
    let mut conn = app.connect();
    let fourth = match &mut conn {
        DbConn::Sqlite(lite) => diesel::insert_into(votes::table)
            .values((
                votes::round_id.eq(round),
                votes::nomination_id.eq(entries[3]),
                votes::voter_id.eq(voter),
                votes::receipt.eq("00000000000000000000000000000000"),
                votes::ip.eq("127.0.0.1"),
                votes::minute.eq(0),
                votes::created_at.eq(awards::db::now()),
            ))
            .execute(lite),
        DbConn::Pg(pg) => diesel::update(ballots::table.find((round, voter)))
            .set(ballots::used.eq(ballots::used + 1))
            .execute(pg),
    };
    let error = fourth.expect_err("a fourth vote of three is refused");
    assert!(error.to_string().contains("within_limit"), "{error}");
    let stored: i64 = votes::table
        .filter(votes::round_id.eq(round))
        .filter(votes::voter_id.eq(voter))
        .count()
        .get_result(&mut conn)
        .unwrap();
    assert_eq!(stored, 3);
}

/// Two nodes on one PostgreSQL database, each with its own vote writer, take
/// the same voters' votes at once: the database's constraints hold the limits
/// across them, and every acknowledged vote is counted once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_postgres_nodes_hold_the_limits_together() {
    let app = TestApp::postgres().await;
    let (f, round) = voting_round(&app, false).await;
    let entries = f.entries();
    let people = voters(&app, 6).await;
    let nodes = [app.client.clone(), app.at(crate::helpers::another_node(&app.database_url, |_| {}).await)];
    let mut tasks = vec![];
    for (v, (_, token)) in people.iter().enumerate() {
        for (i, &entry) in entries[..8].iter().enumerate() {
            // Voter 0 sends one keyed vote 4 times, twice to each node.
            let (entry, key) = if v == 0 && i < 4 { (entries[0], Some("k")) } else { (entry, None) };
            let (node, token) = (nodes[(v + i) % 2].clone(), token.clone());
            tasks.push(tokio::spawn(async move {
                let res = node.cast_vote(round, &token, entry, key).await;
                (v, res.status, res.body["receipt"].as_str().map(str::to_owned))
            }));
        }
    }
    let mut created: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for task in tasks {
        let (voter, status, receipt) = task.await.unwrap();
        assert!(status == StatusCode::CREATED || status == StatusCode::CONFLICT, "{status}");
        if status == StatusCode::CREATED {
            created.entry(voter).or_default().extend(receipt);
        }
    }
    assert!(created.values().all(|receipts| receipts.len() == 3), "{created:?}");
    app.close_round(round).await.ok();
    assert_eq!(tallies(&app, round).await.values().sum::<i64>(), 18);
    let (_, ledger) = recount_ledger(&app, round).await;
    let acknowledged: BTreeSet<String> = created.into_values().flatten().collect();
    assert_eq!(ledger, acknowledged, "the ledger is exactly the acknowledged votes");
}

async fn parallel_votes_hold_the_limits(app: TestApp) {
    let (f, round) = voting_round(&app, false).await;
    let entries = f.entries();
    let people = voters(&app, 2).await;
    let app = Arc::new(app);
    // One voter, 8 different entries at once, 3 votes allowed: exactly 3 count.
    let token = people[0].1.clone();
    let tasks: Vec<_> = entries[..8]
        .iter()
        .map(|&e| {
            let (app, token) = (app.clone(), token.clone());
            tokio::spawn(async move { app.cast_vote(round, &token, e, None).await.status })
        })
        .collect();
    let mut statuses = vec![];
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == StatusCode::CREATED).count(), 3, "{statuses:?}");
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED || *s == StatusCode::CONFLICT));
    // Another voter: one entry 4 times at once with one Idempotency-Key (all
    // get the one receipt), another 4 times without a key (one vote counts).
    let token = people[1].1.clone();
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let (app, token) = (app.clone(), token.clone());
            let (e, key) = if i < 4 { (entries[0], Some("same-key")) } else { (entries[1], None) };
            tokio::spawn(async move {
                let res = app.cast_vote(round, &token, e, key).await;
                (key.is_some(), res.status, res.body["receipt"].as_str().map(str::to_owned))
            })
        })
        .collect();
    let (mut keyed, mut unkeyed) = (BTreeSet::new(), vec![]);
    for t in tasks {
        match t.await.unwrap() {
            (true, status, receipt) => {
                assert_eq!(status, StatusCode::CREATED, "a retry with the key gets the receipt");
                keyed.extend(receipt);
            }
            (false, status, _) => unkeyed.push(status),
        }
    }
    assert_eq!(keyed.len(), 1, "one vote, one receipt, however many retries");
    assert_eq!(unkeyed.iter().filter(|s| **s == StatusCode::CREATED).count(), 1, "{unkeyed:?}");
    app.close_round(round).await.ok();
    let tally = tallies(&app, round).await;
    assert_eq!(tally.values().sum::<i64>(), 5);
    assert_eq!(app.withdraw_vote(round, &token, entries[0]).await.status, StatusCode::CONFLICT);
}

async fn concurrent_voters_match_the_oracle(app: TestApp) {
    let (f, round) = voting_round(&app, true).await;
    let entries = f.entries();
    let people = voters(&app, 24).await;
    let app = Arc::new(app);
    // Each voter runs a little script concurrently with the others: votes,
    // retries with the same key, duplicates, withdrawals; the oracle keeps
    // what the answers acknowledged.
    let tasks: Vec<_> = people
        .iter()
        .enumerate()
        .map(|(v, (voter, token))| {
            let (app, token, entries, voter) = (app.clone(), token.clone(), entries.clone(), *voter);
            tokio::spawn(async move {
                let mut mine: BTreeSet<i64> = BTreeSet::new();
                for step in 0..8usize {
                    let e = entries[(v * 5 + step * 7) % entries.len()];
                    match (v + step) % 4 {
                        3 if !mine.is_empty() => {
                            let gone = *mine.iter().next().unwrap();
                            if app.withdraw_vote(round, &token, gone).await.status == StatusCode::NO_CONTENT {
                                mine.remove(&gone);
                            }
                        }
                        _ => {
                            let key = format!("v{voter}-s{step}");
                            let first = app.cast_vote(round, &token, e, Some(&key)).await;
                            let retry = app.cast_vote(round, &token, e, Some(&key)).await;
                            if first.status == StatusCode::CREATED {
                                assert_eq!(first.body["receipt"], retry.body["receipt"]);
                                mine.insert(e);
                            } else {
                                assert_eq!(first.status, StatusCode::CONFLICT, "{}", first.body);
                            }
                        }
                    }
                }
                mine
            })
        })
        .collect();
    let mut oracle: BTreeMap<i64, i64> = BTreeMap::new();
    for t in tasks {
        let mine = t.await.unwrap();
        assert!(mine.len() <= 3);
        for e in mine {
            *oracle.entry(e).or_insert(0) += 1;
        }
    }
    app.close_round(round).await.ok();
    let tally: BTreeMap<i64, i64> = tallies(&app, round).await.into_iter().filter(|(_, n)| *n > 0).collect();
    assert_eq!(tally, oracle, "the tally is exactly what was acknowledged");
    let (recounted, _) = recount_ledger(&app, round).await;
    assert_eq!(recounted, tally, "the ledger recounts to the tally");
    assert!(oracle.values().sum::<i64>() > 20, "the script did vote: {oracle:?}");
}

async fn votes_racing_a_close_are_counted_or_refused(app: TestApp) {
    let (f, round) = voting_round(&app, false).await;
    let entries = f.entries();
    let people = voters(&app, 12).await;
    let app = Arc::new(app);
    let mut tasks = vec![];
    for (v, (_, token)) in people.iter().enumerate() {
        for k in 0..3 {
            let (app, token) = (app.clone(), token.clone());
            let e = entries[(v + k * 4) % entries.len()];
            tasks.push(tokio::spawn(async move { app.cast_vote(round, &token, e, None).await.status }));
        }
    }
    let acknowledged =
        race_a_close(&app, round, false, Duration::from_millis(10), tasks, StatusCode::CREATED).await;
    let tally = tallies(&app, round).await;
    assert_eq!(tally.values().sum::<i64>(), acknowledged, "every acknowledged vote is counted, nothing else");
    let (recounted, _) = recount_ledger(&app, round).await;
    assert_eq!(recounted.values().sum::<i64>(), acknowledged);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn votes_are_rate_limited_per_account() {
    let (db, url) = TestDb::sqlite();
    let app = TestApp::start(db, url, |s| s.votes.vote_rate_account = 2).await;
    let (f, round) = voting_round(&app, false).await;
    let entries = f.entries();
    let (_, token) = &voters(&app, 1).await[0];
    for e in &entries[..2] {
        assert_eq!(app.cast_vote(round, token, *e, None).await.status, StatusCode::CREATED);
    }
    let limited = app.cast_vote(round, token, entries[2], None).await;
    assert_eq!((limited.status, limited.code()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
    let retry_after: u64 = limited.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after));
}

/// A graceful stop (what SIGTERM does) while votes stream in: every vote
/// acknowledged is in the database once the server has stopped, and every
/// vote in it was acknowledged (the writer finished its batches before exit).
async fn a_graceful_stop_answers_and_keeps_every_vote_in_flight(app: TestApp) {
    let (f, round) = voting_round(&app, false).await;
    let entries = f.entries();
    let people = voters(&app, 40).await;
    let first = app.cast_vote(round, &people[0].1, entries[0], None).await.created();
    let app = Arc::new(app);
    let tasks: Vec<_> = people
        .iter()
        .flat_map(|(_, token)| entries[..3].iter().map(move |&e| (token.clone(), e)))
        .skip(1)
        .map(|(token, entry)| {
            let call = app.vote_call(round, &token, entry);
            tokio::spawn(async move {
                match call.try_send().await {
                    Ok(res) => Some(res),
                    // Refused at the door: the server was stopping.
                    Err(lost) if !lost.head_arrived => None,
                    Err(lost) => panic!("an answer cut off: {}", lost.error),
                }
            })
        })
        .collect();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    app.server.as_ref().expect("in process").stop(true).await;
    let mut acknowledged: BTreeSet<String> =
        first.body["receipt"].as_str().map(str::to_owned).into_iter().collect();
    for task in tasks {
        if let Some(res) = task.await.unwrap() {
            assert!(
                res.status == StatusCode::CREATED || res.status == StatusCode::SERVICE_UNAVAILABLE,
                "{}",
                res.status
            );
            acknowledged.extend(res.body["receipt"].as_str().map(str::to_owned));
        }
    }
    use diesel::prelude::*;
    let stored: BTreeSet<String> = awards::db::schema::votes::table
        .filter(awards::db::schema::votes::round_id.eq(round))
        .select(awards::db::schema::votes::receipt)
        .load::<String>(&mut app.connect())
        .unwrap()
        .into_iter()
        .collect();
    assert_eq!(stored, acknowledged, "stored votes are exactly the acknowledged ones");
}
