//! `awards demo`: a whole campaign at real size (13 member companies, 200
//! branches, 300,000 employees, two rounds, about 1.5 million votes, 310
//! winners) through the same store and domain functions the HTTP handlers
//! call, into the configured database. The same seed gives the same people,
//! scores, votes and winners.

mod nominations;
mod people;
mod plan;
mod screening;
mod text;
mod voting;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use indicatif::{HumanCount, ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use secrecy::SecretString;

use crate::auth::Hasher;
use crate::config::{DatabaseSettings, HashSettings};
use crate::db::{self, DbConn};
use crate::domain::campaign::CampaignStatus;
use crate::http::errors::AppError;
use crate::store::campaigns::CampaignChanges;
use crate::store::{self, PageRequest, StoreError};
use nominations::nominations;
use people::{employees, organisation};
use plan::Plan;
use screening::{close, ranking, rounds, screen};
use text::MEMBER_COMPANIES;
use voting::vote;

#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    #[command(flatten)]
    pub database: DatabaseSettings,
    #[command(flatten)]
    pub hashing: HashSettings,
    /// Employees across the group; managers and reviewers are among them.
    #[arg(long, default_value_t = 300_000, value_parser = clap::value_parser!(u32).range(5_000..=3_000_000))]
    pub employees: u32,
    /// The same seed gives the same people, scores, votes and winners.
    #[arg(long, default_value_t = 2026)]
    pub seed: u64,
    /// The share of employees who vote, from 0 to 1; each casts 6 to 10 votes.
    #[arg(long, default_value_t = 0.6, value_parser = share)]
    pub vote_share: f64,
}

fn share(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err("a share from 0 to 1, e.g. 0.6".into()),
    }
}

/// The store refuses in typed values; the command line says them as the API would.
fn fail(doing: &'static str) -> impl FnOnce(StoreError) -> anyhow::Error {
    move |e| anyhow::anyhow!("{doing}: {}", AppError::from(e))
}

/// What the demo made, for the summary and for the test that runs it.
#[derive(Debug)]
pub struct Outcome {
    pub campaign_id: i64,
    pub rounds: [i64; 2],
    pub password: String,
    pub employees: usize,
    pub nominations: usize,
    pub reviews: usize,
    pub voters: usize,
    pub votes: usize,
    /// (member company, winners), in the group's order.
    pub winners_by_company: Vec<(String, usize)>,
    pub winners: Vec<i64>,
    pub audit_events: u64,
    pub phases: Vec<(&'static str, Duration, String)>,
}

/// One named step of the demo, with its progress bar and its time.
struct Phase {
    name: &'static str,
    started: Instant,
    bar: ProgressBar,
}

impl Phase {
    fn start(name: &'static str, len: u64) -> Phase {
        let bar = ProgressBar::new(len).with_style(
            ProgressStyle::with_template(
                "{prefix:>12} [{bar:40}] {human_pos}/{human_len} {per_sec:>12} {msg}",
            )
            .expect("template")
            .progress_chars("=> "),
        );
        bar.set_prefix(name);
        Phase { name, started: Instant::now(), bar }
    }

    fn finish(self, phases: &mut Vec<(&'static str, Duration, String)>, summary: String) {
        self.bar.finish_with_message(summary.clone());
        phases.push((self.name, self.started.elapsed(), summary));
    }
}

/// Runs the demo into an empty database.
pub fn run(args: &DemoArgs) -> anyhow::Result<Outcome> {
    let url = &args.database.database_url;
    let mut conn = url.connect().with_context(|| format!("cannot connect to {}", url.redacted()))?;
    let conn = &mut conn;
    db::migrate(conn)?;
    if let DbConn::Pg(pg) = conn {
        // Thousands of one-review transactions: without waiting for each
        // commit's flush they run at memory speed. A crash could lose the
        // last few commits of a demo, never corrupt it.
        diesel::RunQueryDsl::execute(diesel::sql_query("SET synchronous_commit = off"), pg)?;
    }
    if store::users::count(conn)? > 0 {
        bail!(
            "the demo needs an empty database, and {} has accounts already; \
             give it another one, e.g. --database-url sqlite://demo.db",
            url.redacted()
        );
    }
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let plan = Plan::new(args.employees as usize, &mut rng);
    let password = format!("demo-{:06}", rng.gen_range(0..1_000_000));
    let hash = Hasher::new(&args.hashing)?.hash_now(&SecretString::from(password.clone()))?;
    let admin =
        store::users::upsert_admin(conn, "admin", "演示管理员", &hash).map_err(fail("creating the admin"))?;
    let mut phases = Vec::new();

    let org = organisation(conn, admin.id, &plan, &mut phases)?;
    let people = employees(conn, admin.id, &plan, &hash, &mut rng, &mut phases)?;
    let (campaign_id, field) = nominations(conn, admin.id, &plan, &org, &people, &mut rng, &mut phases)?;

    let (round1, round2) = rounds(conn, admin.id, campaign_id, &plan)?;
    let phase = Phase::start("round 1", 0);
    let panel: Vec<i64> =
        (0..MEMBER_COMPANIES.len()).flat_map(|c| plan.company_reviewers(c)).map(|i| people.ids[i]).collect();
    let reviews1 = screen(conn, admin.id, &round1, &panel, &field, &mut rng, &phase.bar)?;
    close(conn, admin.id, round1.id)?;
    let advanced: BTreeSet<i64> =
        ranking(conn, round1.id)?.into_iter().filter(|s| s.advanced).map(|s| s.nomination_id).collect();
    phase.finish(
        &mut phases,
        format!(
            "{} entries, {} reviews, {} advanced",
            HumanCount(field.len() as u64),
            HumanCount(reviews1 as u64),
            advanced.len()
        ),
    );

    let phase = Phase::start("round 2", 0);
    let panel: Vec<i64> = plan.group_panel().into_iter().map(|i| people.ids[i]).collect();
    let reviews2 = screen(conn, admin.id, &round2, &panel, &field, &mut rng, &phase.bar)?;
    phase.finish(&mut phases, format!("{} entries, {reviews2} reviews by the group panel", advanced.len()));

    let entries: Vec<&Entrant> = field.iter().filter(|e| advanced.contains(&e.nomination_id)).collect();
    let (voters, votes) =
        vote(conn, round2.id, &plan, &org, &people, &entries, args.vote_share, &mut rng, &mut phases)?;

    let phase = Phase::start("publish", 0);
    close(conn, admin.id, round2.id)?;
    for status in [CampaignStatus::Finished, CampaignStatus::Published] {
        let changes = CampaignChanges { status: Some(status), ..Default::default() };
        store::campaigns::update(conn, admin.id, campaign_id, changes, None).map_err(fail("publishing"))?;
    }
    let winners = store::rounds::winners(
        conn,
        campaign_id,
        PageRequest { page: 1, per_page: PageRequest::MAX_PER_PAGE },
    )
    .map_err(fail("reading the winners"))?;
    let mut by_company: BTreeMap<i64, (String, usize)> = BTreeMap::new();
    for w in &winners.items {
        by_company.entry(w.member_company_id).or_insert_with(|| (w.member_company_name.clone(), 0)).1 += 1;
    }
    phase.finish(&mut phases, format!("{} winners published", winners.total));

    let phase = Phase::start("checks", 0);
    let audit = store::audit::verify(conn)?;
    if let Some(broken) = audit.first_broken {
        bail!("the audit chain is broken at event {}: {}", broken.id, broken.reason);
    }
    for id in [round1.id, round2.id] {
        let recount = store::rounds::recount(conn, id).map_err(fail("recounting"))?;
        if !recount.ok {
            bail!("round {id} does not recount to its published result");
        }
    }
    let ledger = store::votes::ledger_counts(conn, round2.id).map_err(fail("counting the ledger"))?;
    let tally: BTreeMap<i64, i64> = ranking(conn, round2.id)?
        .into_iter()
        .filter(|s| s.vote_count > 0)
        .map(|s| (s.nomination_id, s.vote_count))
        .collect();
    if ledger != tally || ledger.values().sum::<i64>() != votes as i64 {
        bail!("the ledger does not recount to the tally");
    }
    phase.finish(
        &mut phases,
        format!(
            "audit chain ok ({} events); both rounds recount; the ledger recounts to the tally",
            audit.events
        ),
    );

    Ok(Outcome {
        campaign_id,
        rounds: [round1.id, round2.id],
        password,
        employees: plan.employees,
        nominations: field.len(),
        reviews: reviews1 + reviews2,
        voters,
        votes,
        winners_by_company: by_company.into_values().collect(),
        winners: winners.items.iter().map(|w| w.nomination_id).collect(),
        audit_events: audit.events,
        phases,
    })
}

/// Prints what the demo did and how to try it.
pub fn print_summary(args: &DemoArgs, outcome: &Outcome) {
    let total: Duration = outcome.phases.iter().map(|(_, d, _)| *d).sum();
    println!();
    println!(
        "Demo campaign {} on {} (seed {})",
        outcome.campaign_id,
        args.database.database_url.redacted(),
        args.seed
    );
    println!();
    for (name, took, summary) in &outcome.phases {
        println!("  {name:<13} {:>7.1} s  {summary}", took.as_secs_f64());
    }
    println!("  {:<13} {:>7.1} s", "total", total.as_secs_f64());
    println!();
    println!("Winners by member company:");
    for (company, n) in &outcome.winners_by_company {
        println!("  {n:>4}  {company}");
    }
    println!();
    println!("Every demo account has the password {}", outcome.password);
    println!("  admin: admin    managers, reviewers, employees: E0000001 and on");
    println!("Try the API on the same database:");
    println!("  awards serve --dev --database-url {}", args.database.database_url.redacted());
    println!("  curl -s localhost:8080/api/v1/auth/login -H 'content-type: application/json' \\");
    println!("       -d '{{\"employee_no\": \"admin\", \"password\": \"{}\"}}'", outcome.password);
    println!("  then GET /api/v1/campaigns/{}/winners with the token", outcome.campaign_id);
}

struct Org {
    /// Branch ids and names, in the plan's order.
    branches: Vec<(i64, String)>,
}

struct People {
    /// Account ids and names by the plan's employee index.
    ids: Vec<i64>,
    names: Vec<String>,
}

/// An entry in the field, with what the demo knows of it and the store does
/// not: how good the case really is, and how well known the nominee is.
struct Entrant {
    nomination_id: i64,
    nominee_id: i64,
    company: usize,
    quality: f64,
    popularity: f64,
}
