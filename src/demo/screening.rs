//! The demo's two rounds: their settings, the panels' reviews, closing and the ranking.

use std::collections::BTreeMap;

use anyhow::bail;
use chrono::TimeDelta;
use indicatif::ProgressBar;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

use super::plan::{self, Plan, VOTES_PER_VOTER};
use super::{fail, Entrant};
use crate::db::{self, DbConn};
use crate::domain::round::{ConflictScope, CriterionSpec, RoundConfig, RoundKind, Scope};
use crate::domain::scoring::{Advance, Aggregate, Normalization};
use crate::store::rounds::{Round, Standing};
use crate::store::{self, PageRequest};

/// Round 1: each member company's panel scores its own entries and the
/// seats are shared out by entry counts. Round 2: the group panel and the
/// employees' vote, 70/30, down to the winners.
pub(super) fn rounds(
    conn: &mut DbConn,
    admin: i64,
    campaign_id: i64,
    plan: &Plan,
) -> anyhow::Result<(Round, Round)> {
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
pub(super) fn screen(
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

pub(super) fn close(conn: &mut DbConn, admin: i64, round_id: i64) -> anyhow::Result<()> {
    store::rounds::close(conn, admin, round_id, false).map_err(fail("closing a round"))?;
    Ok(())
}

pub(super) fn ranking(conn: &mut DbConn, round_id: i64) -> anyhow::Result<Vec<Standing>> {
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
