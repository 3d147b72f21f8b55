//! The demo's vote: a share of the employees, in large batches through `cast_batch`.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::bail;
use indicatif::HumanCount;
use rand::distributions::WeightedIndex;
use rand::seq::SliceRandom;
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Distribution;

use super::plan::{Plan, VOTES_PER_VOTER};
use super::text::MEMBER_COMPANIES;
use super::{Entrant, Org, People, Phase};
use crate::db::{self, DbConn};
use crate::store;
use crate::store::votes::Cast;

/// Votes written per transaction: large batches, as the vote writer makes under load.
const VOTE_BATCH: usize = 2_000;

/// A share of the employees vote, 6 to 10 entries each. They favour the
/// well-known and their own member company's entries, and never vote for
/// themselves. Votes go through `cast_batch` in large transactions.
#[allow(clippy::too_many_arguments)]
pub(super) fn vote(
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
