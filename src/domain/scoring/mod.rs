//! The scoring engine: from reviews and votes to a ranking and the cut.
//!
//! Pure and deterministic: the same inputs in any order give the same
//! outputs, bit for bit (inputs are sorted before any floating-point sum).

mod fingerprint;
#[cfg(test)]
mod properties;
#[cfg(test)]
mod tests;

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

use super::text::text_enum;

pub use fingerprint::fingerprint;

/// The scoring algorithm's versions this build can reproduce. A new version
/// comes whenever a rule below changes the numbers it produces; a closed
/// round is recounted by the version that closed it, so that its published
/// result stays recountable after an upgrade.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Algorithm {
    /// The vote scale is the most-voted entry of the round, ruled out or not.
    V2,
    /// The vote scale is the most-voted entry still in the running.
    V3,
}

impl Algorithm {
    /// What a round closed now is scored by.
    pub const CURRENT: Algorithm = Algorithm::V3;

    pub const fn name(self) -> &'static str {
        match self {
            Algorithm::V2 => "awards-scoring/2",
            Algorithm::V3 => "awards-scoring/3",
        }
    }

    pub fn parse(name: &str) -> Option<Algorithm> {
        [Algorithm::V2, Algorithm::V3].into_iter().find(|a| a.name() == name)
    }
}

/// The name rounds closed now record.
pub const ALGORITHM_VERSION: &str = Algorithm::CURRENT.name();

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Criterion {
    pub id: i64,
    pub weight: f64,
    pub max_score: f64,
}

text_enum!(
    pub enum Normalization in "rounds"."normalization" { None = "none", Zscore = "zscore" }
);

text_enum!(
    pub enum Aggregate in "rounds"."aggregate" {
        Mean = "mean",
        Median = "median",
        /// The mean without the highest and the lowest review (with 3 or more).
        TrimmedMean = "trimmed_mean",
    }
);

/// Who advances: the best n overall, the best n of each member company, n
/// seats shared among member companies by the largest remainder on their
/// entry counts, or everyone whose final score reaches a threshold.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "rule", rename_all = "snake_case", deny_unknown_fields)]
pub enum Advance {
    TopN { n: usize },
    TopNPerMemberCompany { n: usize },
    Proportional { n: usize },
    Threshold { threshold: f64 },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RoundRules {
    pub algorithm: Algorithm,
    pub criteria: Vec<Criterion>,
    pub normalization: Normalization,
    pub aggregate: Aggregate,
    pub jury_weight: f64,
    pub vote_weight: f64,
    pub advance: Advance,
}

/// One reviewer's scores for one entry, by criterion id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Review {
    pub reviewer_id: i64,
    pub nomination_id: i64,
    pub scores: BTreeMap<i64, f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub nomination_id: i64,
    pub member_company_id: i64,
    pub submitted_at: Timestamp,
    pub votes: i64,
    /// Ruled out by an admin while the round ran: scored and shown, never advanced.
    #[serde(default)]
    pub ruled_out: bool,
}

/// The step of the tie-break order that separated an entry from the other
/// side of its cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DecidedBy {
    FinalScore,
    JuryScore,
    Votes,
    SubmittedAt,
    Id,
    /// Every entry of its group advanced: no cut to explain.
    AllAdvance,
    /// Its group had no seats.
    NoSeats,
    /// Threshold rounds: at or above the threshold, or below it.
    Threshold,
    /// Ruled out by an admin after the round opened.
    RuledOut,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Outcome {
    pub nomination_id: i64,
    pub member_company_id: i64,
    /// 0–100 after normalisation and aggregation; 0 without reviews.
    pub jury_score: f64,
    /// Population standard deviation of the entry's review scores.
    pub jury_stddev: f64,
    pub reviews: usize,
    pub vote_count: i64,
    /// 0–100: votes relative to the most-voted entry still in the running.
    pub vote_score: f64,
    pub final_score: f64,
    /// 1-based, over the whole round, in tie-break order.
    pub rank: usize,
    pub advanced: bool,
    pub decided_by: DecidedBy,
}

/// Rounds to 1e-9 so that values equal in exact arithmetic compare equal.
fn settle(x: f64) -> f64 {
    (x * 1e9).round() / 1e9
}

/// One review as 0–100: Σ(score / max × weight) / Σ weight.
pub fn review_total(criteria: &[Criterion], scores: &BTreeMap<i64, f64>) -> f64 {
    let total_weight: f64 = criteria.iter().map(|c| c.weight).sum();
    if total_weight <= 0.0 {
        return 0.0;
    }
    let weighted: f64 = criteria
        .iter()
        .map(|c| scores.get(&c.id).copied().unwrap_or(0.0).clamp(0.0, c.max_score) / c.max_score * c.weight)
        .sum();
    weighted / total_weight * 100.0
}

fn mean(values: &[f64]) -> f64 {
    if values.is_empty() {
        0.0
    } else {
        values.iter().sum::<f64>() / values.len() as f64
    }
}

fn stddev(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let m = mean(values);
    (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / values.len() as f64).sqrt()
}

fn aggregate(rule: Aggregate, values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    match rule {
        Aggregate::Mean => mean(values),
        Aggregate::Median => match values.len() {
            0 => 0.0,
            n if n % 2 == 1 => values[n / 2],
            n => (values[n / 2 - 1] + values[n / 2]) / 2.0,
        },
        Aggregate::TrimmedMean if values.len() >= 3 => mean(&values[1..values.len() - 1]),
        Aggregate::TrimmedMean => mean(values),
    }
}

/// Per-reviewer z-scores mapped back onto the 0–100 scale of all reviews:
/// x' = M + z × S, where z = (x − μ_r) / σ_r for reviewer r, and M and S are
/// the mean and standard deviation of every review in the round. A reviewer
/// whose totals do not vary (σ_r = 0, which includes a single review) gives
/// no information about ranking, so each of their reviews maps to M. Results
/// are clamped to [0, 100].
///
/// "Do not vary" is decided on the totals settled to 1e-9, not on the
/// computed σ_r: the mean of equal floats is not always that float (three
/// reviews of 0.1 have a mean of 0.10000000000000002), so σ_r of equal totals
/// can come out as 1e-17, and z = rounding noise / 1e-17 = ±1 would move
/// every one of that reviewer's reviews a whole S away from M.
fn normalise(totals: &mut [(i64, i64, f64)]) {
    let all: Vec<f64> = totals.iter().map(|t| t.2).collect();
    let (overall_mean, overall_sd) = (mean(&all), stddev(&all));
    let mut by_reviewer: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (reviewer, _, total) in totals.iter() {
        by_reviewer.entry(*reviewer).or_default().push(*total);
    }
    let stats: BTreeMap<i64, (f64, f64)> = by_reviewer
        .iter()
        .map(|(r, v)| {
            let varies = v.iter().any(|x| settle(*x) != settle(v[0]));
            (*r, (mean(v), if varies { stddev(v) } else { 0.0 }))
        })
        .collect();
    for (reviewer, _, total) in totals.iter_mut() {
        let (m, sd) = stats[reviewer];
        let z = if sd > 0.0 { (*total - m) / sd } else { 0.0 };
        *total = (overall_mean + z * overall_sd).clamp(0.0, 100.0);
    }
}

/// Orders two outcomes by the tie-break chain: final score, jury score, votes,
/// earlier submission, lower id. Returns the ordering and the deciding step.
fn compare(a: &Scored, b: &Scored) -> (Ordering, DecidedBy) {
    let steps = [
        (b.final_score.total_cmp(&a.final_score), DecidedBy::FinalScore),
        (b.jury_score.total_cmp(&a.jury_score), DecidedBy::JuryScore),
        (b.votes.cmp(&a.votes), DecidedBy::Votes),
        (a.submitted_at.cmp(&b.submitted_at), DecidedBy::SubmittedAt),
        (a.nomination_id.cmp(&b.nomination_id), DecidedBy::Id),
    ];
    steps.into_iter().find(|(o, _)| o.is_ne()).unwrap_or((Ordering::Equal, DecidedBy::Id))
}

#[derive(Debug, Clone)]
struct Scored {
    nomination_id: i64,
    member_company_id: i64,
    submitted_at: Timestamp,
    votes: i64,
    ruled_out: bool,
    jury_score: f64,
    jury_stddev: f64,
    reviews: usize,
    vote_score: f64,
    final_score: f64,
}

/// Seats per member company for `proportional`: the largest-remainder method
/// on their entry counts. Ties in the remainder go to the company with more
/// entries, then to the lower id.
pub fn apportion(seats: usize, counts: &BTreeMap<i64, usize>) -> BTreeMap<i64, usize> {
    let total: usize = counts.values().sum();
    if total == 0 {
        return counts.keys().map(|c| (*c, 0)).collect();
    }
    let seats = seats.min(total);
    let mut given: BTreeMap<i64, usize> = counts.iter().map(|(c, n)| (*c, seats * n / total)).collect();
    let mut left = seats - given.values().sum::<usize>();
    // Remainders compared exactly, as numerators over `total`.
    let mut order: Vec<(i64, usize, usize)> =
        counts.iter().map(|(c, n)| (*c, seats * n % total, *n)).collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(b.2.cmp(&a.2)).then(a.0.cmp(&b.0)));
    for (company, _, n) in order {
        if left == 0 {
            break;
        }
        let seat = given.entry(company).or_default();
        if *seat < n {
            *seat += 1;
            left -= 1;
        }
    }
    given
}

/// Scores, ranks and cuts a round.
pub fn close(rules: &RoundRules, entries: &[Entry], reviews: &[Review]) -> Vec<Outcome> {
    let mut entries = entries.to_vec();
    entries.sort_by_key(|e| e.nomination_id);
    let mut totals: Vec<(i64, i64, f64)> = reviews
        .iter()
        .filter(|r| entries.binary_search_by_key(&r.nomination_id, |e| e.nomination_id).is_ok())
        .map(|r| (r.reviewer_id, r.nomination_id, review_total(&rules.criteria, &r.scores)))
        .collect();
    totals.sort_by_key(|t| (t.1, t.0));
    if rules.normalization == Normalization::Zscore {
        normalise(&mut totals);
    }
    let mut by_entry: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for (_, nomination, total) in &totals {
        by_entry.entry(*nomination).or_default().push(*total);
    }
    // The scale is the most-voted entry still in the running: an entry ruled
    // out for, say, stuffed votes must not shrink everyone else's vote score.
    let sets_scale = |e: &&Entry| rules.algorithm == Algorithm::V2 || !e.ruled_out;
    let max_votes = entries.iter().filter(sets_scale).map(|e| e.votes).max().unwrap_or(0);
    let mut scored: Vec<Scored> = entries
        .iter()
        .map(|e| {
            let mut mine = by_entry.remove(&e.nomination_id).unwrap_or_default();
            let jury_stddev = settle(stddev(&mine));
            let jury_score = settle(aggregate(rules.aggregate, &mut mine));
            let vote_score = match max_votes {
                0 => 0.0,
                // A ruled-out entry may have more votes than the scale.
                max => settle((e.votes.min(max) as f64 / max as f64) * 100.0),
            };
            Scored {
                nomination_id: e.nomination_id,
                member_company_id: e.member_company_id,
                submitted_at: e.submitted_at,
                votes: e.votes,
                ruled_out: e.ruled_out,
                jury_score,
                jury_stddev,
                reviews: mine.len(),
                vote_score,
                final_score: settle(rules.jury_weight * jury_score + rules.vote_weight * vote_score),
            }
        })
        .collect();
    // Ruled-out entries rank after everyone else and take no part in any cut.
    scored.sort_by(|a, b| a.ruled_out.cmp(&b.ruled_out).then_with(|| compare(a, b).0));
    let contenders = scored.iter().filter(|s| !s.ruled_out).count();

    // Which entries advance, group by group.
    let mut advanced = vec![false; scored.len()];
    let mut groups: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    let mut seats: BTreeMap<i64, usize> = BTreeMap::new();
    match rules.advance {
        Advance::TopN { n } => {
            groups.insert(0, (0..contenders).collect());
            seats.insert(0, n);
        }
        Advance::TopNPerMemberCompany { n } | Advance::Proportional { n } => {
            for (i, s) in scored[..contenders].iter().enumerate() {
                groups.entry(s.member_company_id).or_default().push(i);
            }
            seats = match rules.advance {
                Advance::Proportional { .. } => {
                    apportion(n, &groups.iter().map(|(c, members)| (*c, members.len())).collect())
                }
                _ => groups.keys().map(|c| (*c, n)).collect(),
            };
        }
        Advance::Threshold { threshold } => {
            for (i, s) in scored[..contenders].iter().enumerate() {
                advanced[i] = s.final_score >= threshold;
            }
        }
    }
    let mut decided: Vec<DecidedBy> = (0..scored.len())
        .map(|i| if i < contenders { DecidedBy::Threshold } else { DecidedBy::RuledOut })
        .collect();
    for (group, members) in &groups {
        let n = seats.get(group).copied().unwrap_or(0).min(members.len());
        for &i in &members[..n] {
            advanced[i] = true;
        }
        for (position, &i) in members.iter().enumerate() {
            decided[i] = if n == members.len() {
                DecidedBy::AllAdvance
            } else if n == 0 {
                DecidedBy::NoSeats
            } else if position < n {
                compare(&scored[i], &scored[members[n]]).1
            } else {
                compare(&scored[members[n - 1]], &scored[i]).1
            };
        }
    }
    scored
        .into_iter()
        .enumerate()
        .map(|(i, s)| Outcome {
            nomination_id: s.nomination_id,
            member_company_id: s.member_company_id,
            jury_score: s.jury_score,
            jury_stddev: s.jury_stddev,
            reviews: s.reviews,
            vote_count: s.votes,
            vote_score: s.vote_score,
            final_score: s.final_score,
            rank: i + 1,
            advanced: advanced[i],
            decided_by: decided[i],
        })
        .collect()
}
