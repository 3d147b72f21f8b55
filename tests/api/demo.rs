//! `awards demo`: a whole campaign, small, on both backends; the seed repeats it.

use std::process::Command;

use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::{settings, TestDb};

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
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_awards"))
            .args(["demo", "--employees", "5000", "--vote-share", "0.2", "--seed", "11"])
            .env("AWARDS_DATABASE_URL", &url)
            .env("AWARDS_ARGON2_MEMORY_KIB", "1024")
            .env("AWARDS_ARGON2_ITERATIONS", "1")
            .output()
            .expect("run awards demo")
    };
    let out = run();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("50 winners published"), "{stdout}");
    assert!(stdout.contains("the ledger recounts to the tally"), "{stdout}");
    let password = stdout
        .split("Every demo account has the password ")
        .nth(1)
        .and_then(|rest| rest.lines().next())
        .expect("the password is printed")
        .to_owned();

    let again = run();
    assert_eq!(again.status.code(), Some(2), "a second run refuses a database with accounts");
    assert!(String::from_utf8_lossy(&again.stderr).contains("needs an empty database"));

    // The shared password signs in, and the API shows what the demo made.
    let node = crate::helpers::another_node(&url, |_| {}).await;
    let client = reqwest::Client::new();
    let login = |who: &'static str| {
        let (client, node, password) = (client.clone(), node.clone(), password.clone());
        async move {
            let res = client
                .post(format!("{node}/api/v1/auth/login"))
                .json(&json!({"employee_no": who, "password": password}))
                .send()
                .await
                .unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{who} signs in with the demo password");
            res.json::<serde_json::Value>().await.unwrap()["access_token"].as_str().unwrap().to_owned()
        }
    };
    let admin = login("admin").await;
    let employee = login("E0000042").await;
    let get = |path: String, token: String| {
        let (client, node) = (client.clone(), node.clone());
        async move {
            let res = client.get(format!("{node}{path}")).bearer_auth(token).send().await.unwrap();
            assert_eq!(res.status(), StatusCode::OK, "{path}");
            res.json::<serde_json::Value>().await.unwrap()
        }
    };
    let campaign = get("/api/v1/campaigns/1".into(), admin.clone()).await;
    assert_eq!(campaign["status"], "published");
    let winners = get("/api/v1/campaigns/1/winners?per_page=500".into(), employee.clone()).await;
    assert_eq!(winners["total"], 50);
    let ledger = get("/api/v1/rounds/2/ledger?per_page=1".into(), employee.clone()).await;
    let results = get("/api/v1/rounds/2/results?per_page=500".into(), admin.clone()).await;
    let tally: i64 =
        results["items"].as_array().unwrap().iter().map(|s| s["vote_count"].as_i64().unwrap()).sum();
    assert!(tally > 5_000, "about 1,000 voters cast 6 to 10 votes each: {tally}");
    assert_eq!(ledger["total"].as_i64(), Some(tally), "the ledger holds every counted vote");
    let verify = get("/api/v1/audit/verify".into(), admin).await;
    assert_eq!(verify["ok"], true, "{verify}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_a_whole_campaign_on_sqlite() {
    the_demo_runs_a_whole_campaign(TestDb::sqlite()).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_runs_a_whole_campaign_on_postgres() {
    match TestDb::postgres() {
        Some(db) => the_demo_runs_a_whole_campaign(db).await,
        None => eprintln!("AWARDS_TEST_POSTGRES_URL is not set: PostgreSQL half skipped"),
    }
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
