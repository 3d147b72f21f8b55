//! `awards demo`: a whole campaign, small, on both backends; the seed repeats it.

use crate::helpers::server::run_awards;
use crate::helpers::{another_node, settings, Client, TestDb};
use crate::on_both_databases;

on_both_databases!(async the_demo_runs_a_whole_campaign);

fn demo_args(url: &str, seed: u64) -> awards::demo::DemoArgs {
    let settings = settings(url);
    awards::demo::DemoArgs {
        database: settings.database,
        hashing: settings.hashing,
        employees: 5_000,
        seed,
        vote_share: 0.2,
    }
}

/// The command as an operator runs it, then the API on the same database.
async fn the_demo_runs_a_whole_campaign(db: (TestDb, String)) {
    let (_db, url) = db;
    let run = || run_awards(&["demo", "--employees", "5000", "--vote-share", "0.2", "--seed", "11"], &url);
    let out = run();
    assert!(out.success(), "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("50 winners published"), "{}", out.stdout);
    assert!(out.stdout.contains("the ledger recounts to the tally"), "{}", out.stdout);
    let password = out
        .stdout
        .split("Every demo account has the password ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("the password is printed")
        .to_owned();

    let again = run();
    assert_eq!(again.code, Some(2), "a second run refuses a database with accounts");
    assert!(again.stderr.contains("needs an empty database"), "{}", again.stderr);

    // The shared password signs in, and the API shows what the demo made.
    let node = Client::new(another_node(&url, |_| {}).await);
    let admin = node.login("admin", &password).await;
    let employee = node.login("E0000042", &password).await;
    let campaign = node.get("/api/v1/campaigns/1", &admin).await.ok().body;
    assert_eq!(campaign["status"], "published");
    let winners = node.get("/api/v1/campaigns/1/winners?per_page=500", &employee).await.ok().body;
    assert_eq!(winners["total"], 50);
    let ledger = node.get("/api/v1/rounds/2/ledger?per_page=1", &employee).await.ok().body;
    let results = node.get("/api/v1/rounds/2/results?per_page=500", &admin).await.ok().body;
    let tally: i64 =
        results["items"].as_array().unwrap().iter().map(|s| s["vote_count"].as_i64().unwrap()).sum();
    assert!(tally > 5_000, "about 1,000 voters cast 6 to 10 votes each: {tally}");
    assert_eq!(ledger["total"].as_i64(), Some(tally), "the ledger holds every counted vote");
    let verify = node.get("/api/v1/audit/verify", &admin).await.ok().body;
    assert_eq!(verify["ok"], true, "{verify}");
}

#[test]
fn the_same_seed_gives_the_same_winners() {
    let outcome = |seed: u64| {
        let (_db, url) = TestDb::sqlite();
        awards::demo::run(&demo_args(&url, seed)).expect("the demo runs")
    };
    let (first, again, other) = (outcome(3), outcome(3), outcome(4));
    assert_eq!(first.winners.len(), 50);
    assert_eq!((&first.winners, first.votes, first.reviews), (&again.winners, again.votes, again.reviews));
    assert_ne!(first.winners, other.winners, "another seed, another campaign");
}
