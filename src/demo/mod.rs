//! `awards demo`: a whole campaign at real size (13 member companies, 200
//! branches, 300,000 employees, two rounds, about 1.5 million votes, 310
//! winners) through the same store and domain functions the HTTP handlers
//! call, into the configured database. The same seed gives the same people,
//! scores, votes and winners.

mod plan;
mod text;

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use chrono::TimeDelta;
use indicatif::{HumanCount, ProgressBar, ProgressStyle};
use rand::distributions::WeightedIndex;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use secrecy::SecretString;

use crate::auth::Hasher;
use crate::config::{DatabaseSettings, HashSettings};
use crate::db::{self, DbConn};
use crate::domain::access::Actor;
use crate::domain::campaign::CampaignStatus;
use crate::domain::import::EmployeeRow;
use crate::domain::roles::{Role, Roles};
use crate::domain::round::{ConflictScope, CriterionSpec, RoundConfig, RoundKind, Scope};
use crate::domain::scoring::{Advance, Aggregate, Normalization};
use crate::http::errors::AppError;
use crate::store::campaigns::{CampaignChanges, NewCampaign};
use crate::store::nominations::NominationText;
use crate::store::rounds::{Round, Standing};
use crate::store::votes::Cast;
use crate::store::{self, PageRequest, StoreError};
use plan::{Plan, STAFF_SLOTS, VOTES_PER_VOTER};
use text::MEMBER_COMPANIES;

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

/// Votes written per transaction: large batches, as the vote writer makes under load.
const VOTE_BATCH: usize = 2_000;

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

fn organisation(
    conn: &mut DbConn,
    admin: i64,
    plan: &Plan,
    phases: &mut Vec<(&'static str, Duration, String)>,
) -> anyhow::Result<Org> {
    let phase = Phase::start("organisation", (MEMBER_COMPANIES.len() + plan.branches.len()) as u64);
    let mut companies = Vec::new();
    for (code, name, _) in MEMBER_COMPANIES {
        let company =
            store::org::create_member_company(conn, admin, code, name).map_err(fail("creating a company"))?;
        companies.push(company.id);
        phase.bar.inc(1);
    }
    let mut branches = Vec::new();
    for b in &plan.branches {
        let name = text::branch_name(MEMBER_COMPANIES[b.company].1, b.company, b.index);
        let branch = store::org::create_branch(conn, admin, &branch_code(b), &name, companies[b.company])
            .map_err(fail("creating a branch"))?;
        branches.push((branch.id, name));
        phase.bar.inc(1);
    }
    phase.finish(phases, format!("{} member companies, {} branches", companies.len(), branches.len()));
    Ok(Org { branches })
}

struct People {
    /// Account ids and names by the plan's employee index.
    ids: Vec<i64>,
    names: Vec<String>,
}

fn employee_no(index: usize) -> String {
    format!("E{:07}", index + 1)
}

fn employees(
    conn: &mut DbConn,
    admin: i64,
    plan: &Plan,
    password_hash: &str,
    rng: &mut ChaCha8Rng,
    phases: &mut Vec<(&'static str, Duration, String)>,
) -> anyhow::Result<People> {
    let phase = Phase::start("employees", plan.employees as u64);
    let reviewers: BTreeSet<usize> = (0..MEMBER_COMPANIES.len())
        .flat_map(|c| plan.company_reviewers(c))
        .chain(plan.group_panel())
        .collect();
    let names: Vec<String> = (0..plan.employees).map(|_| text::person_name(rng)).collect();
    let (reviewers_ref, names_ref) = (&reviewers, &names);
    let rows = plan.branches.iter().flat_map(|branch| {
        let code = branch_code(branch);
        (branch.first..branch.first + branch.size).map(move |i| {
            let mut roles = vec![Role::Employee];
            if i == branch.first {
                roles.push(Role::Manager);
            }
            if reviewers_ref.contains(&i) {
                roles.push(Role::Reviewer);
            }
            Ok(EmployeeRow {
                line: i as u64 + 2,
                employee_no: employee_no(i),
                name: names_ref[i].clone(),
                branch_code: code.clone(),
                roles: Some(Roles::new(roles)),
            })
        })
    });
    let report = store::users::import(conn, Some(admin), rows.inspect(|_| phase.bar.inc(1)))
        .map_err(fail("importing the employees"))?;
    if report.created as usize != plan.employees || !report.rejected.is_empty() {
        bail!(
            "the import created {} of {} accounts: {:?}",
            report.created,
            plan.employees,
            report.rejected.first()
        );
    }
    store::users::set_pending_passwords(conn, admin, password_hash)
        .map_err(fail("setting the demo password"))?;
    let by_number = store::users::ids_by_employee_no(conn)?;
    let ids = (0..plan.employees).map(|i| by_number[&employee_no(i)]).collect();
    let managers = plan.branches.len();
    phase.finish(
        phases,
        format!(
            "{} accounts: {managers} managers, {} reviewers",
            HumanCount(plan.employees as u64),
            reviewers.len()
        ),
    );
    Ok(People { ids, names })
}

fn branch_code(branch: &plan::Branch) -> String {
    format!("{}-{:03}", MEMBER_COMPANIES[branch.company].0, branch.index + 1)
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

fn nominations(
    conn: &mut DbConn,
    admin: i64,
    plan: &Plan,
    org: &Org,
    people: &People,
    rng: &mut ChaCha8Rng,
    phases: &mut Vec<(&'static str, Duration, String)>,
) -> anyhow::Result<(i64, Vec<Entrant>)> {
    let quota = plan.nominations_per_branch;
    let phase = Phase::start("nominations", (plan.branches.len() * quota) as u64);
    let now = db::now();
    let campaign = store::campaigns::create(
        conn,
        admin,
        NewCampaign {
            name: "2026年度“最美消保人”评选".into(),
            nomination_opens_at: now - TimeDelta::minutes(1),
            nomination_closes_at: now + TimeDelta::days(30),
            nominations_per_branch: quota as i32,
            winners_target: plan.winners as i32,
        },
    )
    .map_err(fail("creating the campaign"))?;
    let to = |status: CampaignStatus| CampaignChanges { status: Some(status), ..Default::default() };
    store::campaigns::update(conn, admin, campaign.id, to(CampaignStatus::Nominating), None)
        .map_err(fail("opening nominations"))?;
    let mut field = Vec::new();
    for (b, branch) in plan.branches.iter().enumerate() {
        let manager = Actor {
            id: people.ids[branch.first],
            roles: Roles::new([Role::Employee, Role::Manager]),
            branch_id: Some(org.branches[b].0),
        };
        let mut nominees: Vec<usize> = (branch.first + STAFF_SLOTS..branch.first + branch.size)
            .collect::<Vec<_>>()
            .choose_multiple(rng, quota)
            .copied()
            .collect();
        nominees.sort_unstable();
        for i in nominees {
            let case = text::case(rng, &people.names[i], &org.branches[b].1);
            let text =
                NominationText { title: case.title, summary: case.summary, story: case.story, links: vec![] };
            let draft = store::nominations::create(conn, &manager, campaign.id, people.ids[i], text)
                .map_err(fail("nominating"))?;
            store::nominations::submit(conn, &manager, draft.id, None).map_err(fail("submitting"))?;
            let quality: f64 = rng.sample(StandardNormal);
            let buzz: f64 = rng.sample(StandardNormal);
            field.push(Entrant {
                nomination_id: draft.id,
                nominee_id: people.ids[i],
                company: branch.company,
                quality,
                // Good cases get talked about; some people are simply well known.
                popularity: (0.6 * quality + 0.8 * buzz).exp(),
            });
            phase.bar.inc(1);
        }
    }
    store::campaigns::update(conn, admin, campaign.id, to(CampaignStatus::Screening), None)
        .map_err(fail("starting the screening"))?;
    phase.finish(phases, format!("{} submitted, {quota} per branch", HumanCount(field.len() as u64)));
    Ok((campaign.id, field))
}

/// Round 1: each member company's panel scores its own entries and the
/// seats are shared out by entry counts. Round 2: the group panel and the
/// employees' vote, 70/30, down to the winners.
fn rounds(conn: &mut DbConn, admin: i64, campaign_id: i64, plan: &Plan) -> anyhow::Result<(Round, Round)> {
    let screening = RoundConfig {
        name: "成员公司初评".into(),
        kind: RoundKind::Review,
        scope: Scope::MemberCompany,
        conflict_scope: ConflictScope::Branch,
        reviews_per_entry: plan::REVIEWS_PER_ENTRY,
        criteria: criteria(),
        normalization: Normalization::Zscore,
        aggregate: Aggregate::Mean,
        jury_weight: 1.0,
        vote_weight: 0.0,
        votes_per_voter: 0,
        allow_vote_withdrawal: false,
        opens_at: None,
        closes_at: None,
        advance: Advance::Proportional { n: plan.round1_seats },
    };
    let now = db::now();
    let finals = RoundConfig {
        name: "集团终评与员工投票".into(),
        kind: RoundKind::Combined,
        scope: Scope::Group,
        conflict_scope: ConflictScope::MemberCompany,
        jury_weight: 0.7,
        vote_weight: 0.3,
        votes_per_voter: VOTES_PER_VOTER,
        allow_vote_withdrawal: true,
        opens_at: Some(now - TimeDelta::minutes(1)),
        closes_at: Some(now + TimeDelta::days(7)),
        advance: Advance::TopN { n: plan.winners },
        ..screening.clone()
    };
    let round1 =
        store::rounds::create(conn, admin, campaign_id, screening).map_err(fail("creating round 1"))?;
    let round2 = store::rounds::create(conn, admin, campaign_id, finals).map_err(fail("creating round 2"))?;
    Ok((round1, round2))
}

fn criteria() -> Vec<CriterionSpec> {
    [
        ("案例真实性与完整性", 0.25),
        ("消费者权益保护成效", 0.35),
        ("创新与可推广性", 0.2),
        ("服务态度与社会影响", 0.2),
    ]
    .into_iter()
    .map(|(name, weight)| CriterionSpec { name: name.into(), weight, max_score: 10.0 })
    .collect()
}

/// Opens a round with its panel, assigns reviewers and has each of them
/// score every entry assigned to them: a score follows the case's quality,
/// bent by the reviewer's own leniency (which z-scores take out again).
fn screen(
    conn: &mut DbConn,
    admin: i64,
    round: &Round,
    panel: &[i64],
    field: &[Entrant],
    rng: &mut ChaCha8Rng,
    bar: &ProgressBar,
) -> anyhow::Result<usize> {
    store::reviews::set_panel(conn, admin, round.id, panel).map_err(fail("setting the panel"))?;
    store::rounds::open(conn, admin, round.id).map_err(fail("opening the round"))?;
    let report = store::reviews::generate(conn, admin, round.id, rng.gen()).map_err(fail("assigning"))?;
    if !report.shortfalls.is_empty() {
        bail!("{} entries could not get {} reviewers", report.shortfalls.len(), round.reviews_per_entry);
    }
    bar.set_length(report.total as u64);
    let quality: BTreeMap<i64, f64> = field.iter().map(|e| (e.nomination_id, e.quality)).collect();
    let mut reviews = 0;
    for &reviewer_id in panel {
        let reviewer = store::users::get(conn, reviewer_id).map_err(fail("reading a reviewer"))?;
        let leniency: f64 = rng.gen_range(-1.5..1.5);
        let spread: f64 = rng.gen_range(0.7..1.3);
        let mut assigned = Vec::new();
        for page in 1.. {
            let mine = store::reviews::mine(
                conn,
                round.id,
                reviewer_id,
                PageRequest { page, per_page: PageRequest::MAX_PER_PAGE },
            )
            .map_err(fail("listing assignments"))?;
            assigned.extend(mine.items.iter().map(|a| a.nomination_id));
            if (page * mine.per_page) >= mine.total {
                break;
            }
        }
        assigned.sort_unstable();
        for nomination_id in assigned {
            let q = quality[&nomination_id];
            let scores = round
                .criteria
                .iter()
                .map(|c| {
                    let noise: f64 = rng.sample(StandardNormal);
                    let raw = 6.0 + leniency + spread * (1.4 * q + 0.6 * noise);
                    (c.id, ((raw * 2.0).round() / 2.0).clamp(0.0, c.max_score))
                })
                .collect();
            store::reviews::submit(conn, &reviewer, round.id, nomination_id, scores, None)
                .map_err(fail("reviewing"))?;
            reviews += 1;
            bar.inc(1);
        }
    }
    Ok(reviews)
}

fn close(conn: &mut DbConn, admin: i64, round_id: i64) -> anyhow::Result<()> {
    store::rounds::close(conn, admin, round_id, false).map_err(fail("closing a round"))?;
    Ok(())
}

fn ranking(conn: &mut DbConn, round_id: i64) -> anyhow::Result<Vec<Standing>> {
    let mut all = Vec::new();
    for page in 1.. {
        let ranking =
            store::rounds::results(conn, round_id, PageRequest { page, per_page: PageRequest::MAX_PER_PAGE })
                .map_err(fail("reading results"))?;
        let done = page * ranking.per_page >= ranking.total;
        all.extend(ranking.items);
        if done {
            return Ok(all);
        }
    }
    unreachable!("pages run out")
}

/// A share of the employees vote, 6 to 10 entries each. They favour the
/// well-known and their own member company's entries, and never vote for
/// themselves. Votes go through `cast_batch` in large transactions.
#[allow(clippy::too_many_arguments)]
fn vote(
    conn: &mut DbConn,
    round_id: i64,
    plan: &Plan,
    org: &Org,
    people: &People,
    entries: &[&Entrant],
    vote_share: f64,
    rng: &mut ChaCha8Rng,
    phases: &mut Vec<(&'static str, Duration, String)>,
) -> anyhow::Result<(usize, usize)> {
    let expected = (plan.employees as f64 * vote_share * f64::from(VOTES_PER_VOTER - 2)) as u64;
    let phase = Phase::start("votes", expected);
    // Colleagues first: four times the weight for the voter's own company.
    let by_company: Vec<WeightedIndex<f64>> = (0..MEMBER_COMPANIES.len())
        .map(|c| {
            WeightedIndex::new(entries.iter().map(|e| e.popularity * if e.company == c { 4.0 } else { 1.0 }))
                .expect("positive weights")
        })
        .collect();
    let (mut voters, mut votes) = (0, 0);
    let mut batch: Vec<Cast> = Vec::with_capacity(VOTE_BATCH + VOTES_PER_VOTER as usize);
    let flush = |conn: &mut DbConn, batch: &mut Vec<Cast>| -> anyhow::Result<usize> {
        let refs: Vec<&Cast> = batch.iter().collect();
        let answers = db::write_tx(conn, |conn| store::votes::cast_batch(conn, &refs, db::now()))?;
        let refused: Vec<_> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
        if let Some(refusal) = refused.first() {
            bail!("{} votes were refused, e.g. {refusal:?}", refused.len());
        }
        phase.bar.inc(answers.len() as u64);
        let written = answers.len();
        batch.clear();
        Ok(written)
    };
    for (b, branch) in plan.branches.iter().enumerate() {
        for i in branch.first..branch.first + branch.size {
            if !rng.gen_bool(vote_share) {
                continue;
            }
            voters += 1;
            let wanted = rng.gen_range(VOTES_PER_VOTER - 4..=VOTES_PER_VOTER) as usize;
            let mut chosen = BTreeSet::new();
            let mut tries = 0;
            while chosen.len() < wanted && tries < 100 {
                tries += 1;
                let entry = entries[by_company[branch.company].sample(rng)];
                if entry.nominee_id != people.ids[i] {
                    chosen.insert(entry.nomination_id);
                }
            }
            let mut picks: Vec<i64> = chosen.into_iter().collect();
            picks.shuffle(rng);
            batch.extend(picks.into_iter().map(|nomination_id| Cast {
                round_id,
                nomination_id,
                voter_id: people.ids[i],
                voter_branch_id: Some(org.branches[b].0),
                idempotency_key: None,
                ip: format!("10.{}.{}.{}", branch.company, b, 1 + i % 250),
            }));
            if batch.len() >= VOTE_BATCH {
                votes += flush(conn, &mut batch)?;
            }
        }
    }
    if !batch.is_empty() {
        votes += flush(conn, &mut batch)?;
    }
    phase.bar.set_length(votes as u64);
    phase.finish(
        phases,
        format!(
            "{} votes from {} voters ({:.0} %)",
            HumanCount(votes as u64),
            HumanCount(voters as u64),
            100.0 * voters as f64 / plan.employees as f64
        ),
    );
    Ok((voters, votes))
}
