//! The scoring engine: from reviews and votes to a ranking and the cut.
//!
//! Pure and deterministic: the same inputs in any order give the same
//! outputs, bit for bit (inputs are sorted before any floating-point sum).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

use super::text::text_enum;

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

/// SHA-256 over everything a round's result depends on and everything it
/// produced: algorithm version, rules, entries, reviews and outcomes, each in
/// a canonical order. Recomputing it from the stored inputs proves that the
/// published result is what these rules make of them.
///
/// The text hashed is written here field by field, numbers as the hex of
/// their IEEE-754 bits, so that no formatting library can change it.
pub fn fingerprint(
    rules: &RoundRules,
    entries: &[Entry],
    reviews: &[Review],
    outcomes: &[Outcome],
) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    let bits = |x: f64| format!("{:016x}", x.to_bits());
    let mut text = format!("{}\n", rules.algorithm.name());
    let advance = match rules.advance {
        Advance::TopN { n } => format!("top_n {n}"),
        Advance::TopNPerMemberCompany { n } => format!("top_n_per_member_company {n}"),
        Advance::Proportional { n } => format!("proportional {n}"),
        Advance::Threshold { threshold } => format!("threshold {}", bits(threshold)),
    };
    let _ = writeln!(
        text,
        "rules {:?} {:?} {} {} {advance}",
        rules.normalization,
        rules.aggregate,
        bits(rules.jury_weight),
        bits(rules.vote_weight)
    );
    let mut criteria = rules.criteria.clone();
    criteria.sort_by_key(|c| c.id);
    for c in &criteria {
        let _ = writeln!(text, "criterion {} {} {}", c.id, bits(c.weight), bits(c.max_score));
    }
    let mut entries: Vec<&Entry> = entries.iter().collect();
    entries.sort_by_key(|e| e.nomination_id);
    for e in entries {
        let _ = writeln!(
            text,
            "entry {} {} {} {} {}",
            e.nomination_id,
            e.member_company_id,
            e.submitted_at.and_utc().timestamp_micros(),
            e.votes,
            e.ruled_out
        );
    }
    let mut reviews: Vec<&Review> = reviews.iter().collect();
    reviews.sort_by_key(|r| (r.nomination_id, r.reviewer_id));
    for r in reviews {
        let scores: Vec<String> = r.scores.iter().map(|(c, v)| format!("{c}={}", bits(*v))).collect();
        let _ = writeln!(text, "review {} {} {}", r.nomination_id, r.reviewer_id, scores.join(","));
    }
    let mut outcomes: Vec<&Outcome> = outcomes.iter().collect();
    outcomes.sort_by_key(|o| (o.rank, o.nomination_id));
    for o in outcomes {
        let _ = writeln!(
            text,
            "outcome {} {} {} {} {} {} {} {} {} {} {:?}",
            o.rank,
            o.nomination_id,
            o.member_company_id,
            bits(o.jury_score),
            bits(o.jury_stddev),
            o.reviews,
            o.vote_count,
            bits(o.vote_score),
            bits(o.final_score),
            o.advanced,
            o.decided_by
        );
    }
    hex::encode(Sha256::digest(text.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(minute: u32) -> Timestamp {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_opt(9, minute, 0).unwrap().into()
    }

    fn criteria() -> Vec<Criterion> {
        // 事迹 60 %, 影响 40 %; max 10 each.
        vec![
            Criterion { id: 1, weight: 0.6, max_score: 10.0 },
            Criterion { id: 2, weight: 0.4, max_score: 10.0 },
        ]
    }

    fn review(reviewer: i64, nomination: i64, a: f64, b: f64) -> Review {
        Review { reviewer_id: reviewer, nomination_id: nomination, scores: BTreeMap::from([(1, a), (2, b)]) }
    }

    fn entry(id: i64, company: i64, minute: u32, votes: i64) -> Entry {
        Entry {
            nomination_id: id,
            member_company_id: company,
            submitted_at: at(minute),
            votes,
            ruled_out: false,
        }
    }

    fn rules(advance: Advance) -> RoundRules {
        RoundRules {
            algorithm: Algorithm::CURRENT,
            criteria: criteria(),
            normalization: Normalization::None,
            aggregate: Aggregate::Mean,
            jury_weight: 1.0,
            vote_weight: 0.0,
            advance,
        }
    }

    #[test]
    fn a_review_is_the_weighted_share_of_the_maximum() {
        // (8/10 × 0.6 + 5/10 × 0.4) / 1.0 × 100 = 68
        assert!((review_total(&criteria(), &review(1, 1, 8.0, 5.0).scores) - 68.0).abs() < 1e-9);
        // Out-of-range scores are clamped, missing ones count 0.
        assert!((review_total(&criteria(), &BTreeMap::from([(1, 12.0)])) - 60.0).abs() < 1e-9);
    }

    #[test]
    fn aggregates_by_hand() {
        assert_eq!(aggregate(Aggregate::Mean, &mut [60.0, 70.0, 95.0]), 75.0);
        assert_eq!(aggregate(Aggregate::Median, &mut [95.0, 60.0, 70.0]), 70.0);
        assert_eq!(aggregate(Aggregate::Median, &mut [60.0, 70.0, 80.0, 100.0]), 75.0);
        assert_eq!(aggregate(Aggregate::TrimmedMean, &mut [10.0, 60.0, 70.0, 100.0]), 65.0);
        assert_eq!(aggregate(Aggregate::TrimmedMean, &mut [60.0, 70.0]), 65.0, "under 3 reviews: the mean");
        assert_eq!(aggregate(Aggregate::Mean, &mut []), 0.0);
    }

    #[test]
    fn zscore_removes_a_reviewers_harshness() {
        // Reviewer 1 is harsh (totals 40, 60), reviewer 2 generous (80, 100),
        // each scoring entry 1 below entry 2 by the same margin: after
        // normalisation both entries get the same score from each reviewer.
        let mut totals = vec![(1, 1, 40.0), (1, 2, 60.0), (2, 1, 80.0), (2, 2, 100.0)];
        normalise(&mut totals);
        // M = 70, S = sqrt(500) ≈ 22.36; z = ∓1 for every reviewer.
        let s = 500f64.sqrt();
        assert!((totals[0].2 - (70.0 - s)).abs() < 1e-9);
        assert!((totals[2].2 - (70.0 - s)).abs() < 1e-9);
        assert!((totals[1].2 - (70.0 + s)).abs() < 1e-9);
    }

    #[test]
    fn zscore_with_one_review_or_no_spread_maps_to_the_mean() {
        let mut totals = vec![(1, 1, 90.0), (2, 1, 50.0), (2, 2, 50.0)];
        normalise(&mut totals);
        let m = (90.0 + 50.0 + 50.0) / 3.0;
        assert!(totals.iter().all(|t| (t.2 - m).abs() < 1e-9), "{totals:?}");
    }

    #[test]
    fn zscore_of_equal_totals_is_not_rounding_noise() {
        // Regression: three equal totals of 0.1 have a computed mean of
        // 0.10000000000000002 and σ of 1.4e-17, which made z = -1 for each
        // and sent all three to M - S instead of M.
        let mut totals = vec![(1, 1, 0.1), (1, 2, 0.1), (1, 3, 0.1), (2, 1, 20.0), (2, 2, 80.0)];
        let all: Vec<f64> = totals.iter().map(|t| t.2).collect();
        let m = mean(&all);
        normalise(&mut totals);
        assert!(totals[..3].iter().all(|t| (t.2 - m).abs() < 1e-9), "{totals:?}");
        // Totals equal in exact arithmetic but not in floating point
        // (0, 4 and 2, 1 both make 16, but 16.000000000000004 and 16.0) say
        // nothing either.
        let c = criteria();
        let (a, b) = (
            review_total(&c, &BTreeMap::from([(1, 0.0), (2, 4.0)])),
            review_total(&c, &BTreeMap::from([(1, 2.0), (2, 1.0)])),
        );
        assert_ne!(a, b, "the two totals differ in floating point");
        let mut totals = vec![(1, 1, a), (1, 2, b), (2, 1, 20.0), (2, 2, 80.0)];
        let m = (a + b + 100.0) / 4.0;
        normalise(&mut totals);
        assert!(totals[..2].iter().all(|t| (t.2 - m).abs() < 1e-9), "{totals:?}");
    }

    #[test]
    fn final_score_weights_jury_and_votes() {
        let mut r = rules(Advance::TopN { n: 1 });
        (r.jury_weight, r.vote_weight) = (0.7, 0.3);
        let out = close(
            &r,
            &[entry(1, 1, 0, 50), entry(2, 1, 0, 100)],
            &[review(1, 1, 10.0, 10.0), review(1, 2, 8.0, 5.0)],
        );
        // entry 1: 0.7 × 100 + 0.3 × 50 = 85; entry 2: 0.7 × 68 + 0.3 × 100 = 77.6
        assert_eq!(out[0].nomination_id, 1);
        assert!((out[0].final_score - 85.0).abs() < 1e-9);
        assert!((out[1].final_score - 77.6).abs() < 1e-9);
        assert_eq!(out[1].vote_score, 100.0);
    }

    #[test]
    fn a_ruled_out_entry_does_not_set_the_vote_scale() {
        let r = rules(Advance::TopN { n: 1 });
        let stuffed = Entry { ruled_out: true, ..entry(3, 1, 0, 1_000) };
        let out = close(&r, &[entry(1, 1, 0, 40), entry(2, 1, 0, 20), stuffed.clone()], &[]);
        let score = |id| out.iter().find(|o| o.nomination_id == id).unwrap().vote_score;
        assert_eq!((score(1), score(2), score(3)), (100.0, 50.0, 100.0));
        assert_eq!(out[2].decided_by, DecidedBy::RuledOut);
        // A round closed by version 2 recounts as version 2 scored it.
        let v2 = RoundRules { algorithm: Algorithm::V2, ..r };
        let out = close(&v2, &[entry(1, 1, 0, 40), entry(2, 1, 0, 20), stuffed], &[]);
        let score = |id| out.iter().find(|o| o.nomination_id == id).unwrap().vote_score;
        assert_eq!((score(1), score(2), score(3)), (4.0, 2.0, 100.0));
    }

    #[test]
    fn ties_fall_through_the_chain_and_say_where() {
        let r = rules(Advance::TopN { n: 1 });
        let same = |id| review(1, id, 5.0, 5.0);
        // Same score: decided by votes (with vote weight 0, votes still break ties).
        let out = close(&r, &[entry(1, 1, 0, 3), entry(2, 1, 0, 9)], &[same(1), same(2)]);
        assert_eq!((out[0].nomination_id, out[0].decided_by), (2, DecidedBy::Votes));
        assert_eq!(out[1].decided_by, DecidedBy::Votes);
        // Same votes too: the earlier submission.
        let out = close(&r, &[entry(1, 1, 5, 3), entry(2, 1, 1, 3)], &[same(1), same(2)]);
        assert_eq!((out[0].nomination_id, out[0].decided_by), (2, DecidedBy::SubmittedAt));
        // Everything equal: the lower id.
        let out = close(&r, &[entry(2, 1, 1, 3), entry(1, 1, 1, 3)], &[same(1), same(2)]);
        assert_eq!((out[0].nomination_id, out[0].decided_by), (1, DecidedBy::Id));
        // A clear gap: the final score.
        let out = close(&r, &[entry(1, 1, 0, 0), entry(2, 1, 0, 0)], &[review(1, 1, 9.0, 9.0), same(2)]);
        assert_eq!(out[0].decided_by, DecidedBy::FinalScore);
    }

    #[test]
    fn largest_remainder_by_hand() {
        // 10 seats over 50/30/20 → 5/3/2 exactly.
        let seats = apportion(10, &BTreeMap::from([(1, 50), (2, 30), (3, 20)]));
        assert_eq!(seats, BTreeMap::from([(1, 5), (2, 3), (3, 2)]));
        // 7 seats over 5/3/2 (of 10): quotas 3.5/2.1/1.4 → floors 3/2/1, the last seat to the .5.
        let seats = apportion(7, &BTreeMap::from([(1, 5), (2, 3), (3, 2)]));
        assert_eq!(seats, BTreeMap::from([(1, 4), (2, 2), (3, 1)]));
        // Equal remainders: the larger company, then the lower id.
        let seats = apportion(1, &BTreeMap::from([(1, 2), (2, 2)]));
        assert_eq!(seats, BTreeMap::from([(1, 1), (2, 0)]));
    }

    #[test]
    fn proportional_and_per_company_cuts() {
        let entries: Vec<Entry> = (1..=10).map(|id| entry(id, if id <= 6 { 1 } else { 2 }, 0, 0)).collect();
        let reviews: Vec<Review> = (1..=10).map(|id| review(1, id, id as f64, id as f64)).collect();
        let out = close(&rules(Advance::Proportional { n: 5 }), &entries, &reviews);
        // 6 and 4 entries → 3 and 2 seats, the best of each company.
        let winners: Vec<i64> = out.iter().filter(|o| o.advanced).map(|o| o.nomination_id).collect();
        assert_eq!(winners, vec![10, 9, 6, 5, 4]);
        let out = close(&rules(Advance::TopNPerMemberCompany { n: 1 }), &entries, &reviews);
        let winners: Vec<i64> = out.iter().filter(|o| o.advanced).map(|o| o.nomination_id).collect();
        assert_eq!(winners, vec![10, 6]);
    }

    #[test]
    fn threshold_advances_everyone_at_or_above() {
        let out = close(
            &rules(Advance::Threshold { threshold: 68.0 }),
            &[entry(1, 1, 0, 0), entry(2, 1, 0, 0)],
            &[review(1, 1, 8.0, 5.0), review(1, 2, 7.0, 5.0)],
        );
        assert_eq!(out.iter().map(|o| o.advanced).collect::<Vec<_>>(), vec![true, false]);
    }

    #[test]
    fn ruled_out_entries_rank_last_and_never_advance() {
        let mut best = entry(1, 1, 0, 0);
        best.ruled_out = true;
        let out = close(
            &rules(Advance::TopN { n: 1 }),
            &[best, entry(2, 1, 0, 0), entry(3, 1, 0, 0)],
            &[review(1, 1, 10.0, 10.0), review(1, 2, 5.0, 5.0), review(1, 3, 4.0, 4.0)],
        );
        let order: Vec<(i64, bool, DecidedBy)> =
            out.iter().map(|o| (o.nomination_id, o.advanced, o.decided_by)).collect();
        assert_eq!(
            order,
            vec![
                (2, true, DecidedBy::FinalScore),
                (3, false, DecidedBy::FinalScore),
                (1, false, DecidedBy::RuledOut)
            ]
        );
        assert_eq!(out[2].jury_score, 100.0, "still scored, for the record");
    }

    #[test]
    fn the_fingerprint_changes_with_any_input_or_output() {
        let r = rules(Advance::TopN { n: 1 });
        let entries = [entry(1, 1, 0, 0), entry(2, 1, 0, 0)];
        let reviews = [review(1, 1, 8.0, 5.0), review(1, 2, 7.0, 5.0)];
        let out = close(&r, &entries, &reviews);
        let hash = fingerprint(&r, &entries, &reviews, &out);
        let reversed = [entries[1].clone(), entries[0].clone()];
        assert_eq!(hash, fingerprint(&r, &reversed, &reviews, &out), "order does not matter");
        let changed = [review(1, 1, 8.0, 5.0), review(1, 2, 7.0, 5.5)];
        assert_ne!(hash, fingerprint(&r, &entries, &changed, &out));
        let mut tampered = out.clone();
        tampered[0].final_score += 0.001;
        assert_ne!(hash, fingerprint(&r, &entries, &reviews, &tampered));
    }

    #[test]
    fn entries_without_reviews_score_zero_and_rank_last() {
        let out = close(
            &rules(Advance::TopN { n: 1 }),
            &[entry(1, 1, 0, 0), entry(2, 1, 0, 0)],
            &[review(1, 2, 1.0, 1.0)],
        );
        assert_eq!((out[1].nomination_id, out[1].reviews, out[1].jury_score), (1, 0, 0.0));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    fn round() -> impl Strategy<Value = (Vec<Entry>, Vec<Review>, usize, Normalization, Aggregate)> {
        (1usize..40, 1i64..5, 0usize..200).prop_flat_map(|(entries, companies, review_count)| {
            let entry = (1i64..=companies, 0u32..60, 0i64..5);
            let review = (1i64..8, 0usize..entries, 0u8..=10, 0u8..=10);
            (
                proptest::collection::vec(entry, entries),
                proptest::collection::vec(review, review_count),
                0usize..=entries,
                prop_oneof![Just(Normalization::None), Just(Normalization::Zscore)],
                prop_oneof![Just(Aggregate::Mean), Just(Aggregate::Median), Just(Aggregate::TrimmedMean)],
            )
                .prop_map(|(entries, reviews, n, normalization, aggregate)| {
                    let entries: Vec<Entry> = entries
                        .into_iter()
                        .enumerate()
                        .map(|(i, (company, minute, votes))| Entry {
                            nomination_id: i as i64 + 1,
                            member_company_id: company,
                            submitted_at: chrono::NaiveDate::from_ymd_opt(2026, 3, 1)
                                .unwrap()
                                .and_hms_opt(9, minute, 0)
                                .unwrap()
                                .into(),
                            votes,
                            ruled_out: false,
                        })
                        .collect();
                    // One review per reviewer and entry, as the database guarantees.
                    let mut seen = std::collections::BTreeSet::new();
                    let reviews = reviews
                        .into_iter()
                        .filter(|(reviewer, entry, _, _)| seen.insert((*reviewer, *entry)))
                        .map(|(reviewer, entry, a, b)| Review {
                            reviewer_id: reviewer,
                            nomination_id: entry as i64 + 1,
                            scores: BTreeMap::from([(1, a as f64), (2, b as f64)]),
                        })
                        .collect();
                    (entries, reviews, n, normalization, aggregate)
                })
        })
    }

    fn rules(advance: Advance, normalization: Normalization, aggregate: Aggregate) -> RoundRules {
        RoundRules {
            algorithm: Algorithm::CURRENT,
            criteria: vec![
                Criterion { id: 1, weight: 3.0, max_score: 10.0 },
                Criterion { id: 2, weight: 1.0, max_score: 10.0 },
            ],
            normalization,
            aggregate,
            jury_weight: 0.7,
            vote_weight: 0.3,
            advance,
        }
    }

    fn no_outsider_outranks_a_winner(out: &[Outcome], group: impl Fn(&Outcome) -> i64) -> bool {
        let mut worst_in: BTreeMap<i64, usize> = BTreeMap::new();
        let mut best_out: BTreeMap<i64, usize> = BTreeMap::new();
        for o in out {
            let slot = if o.advanced {
                worst_in.entry(group(o)).or_insert(0)
            } else {
                best_out.entry(group(o)).or_insert(usize::MAX)
            };
            *slot = if o.advanced { (*slot).max(o.rank) } else { (*slot).min(o.rank) };
        }
        worst_in.iter().all(|(g, worst)| best_out.get(g).is_none_or(|best| worst < best))
    }

    type Round = (Vec<Entry>, Vec<Review>, usize, Normalization, Aggregate);

    /// A round as `round()` makes it, with about one entry in six ruled out.
    fn round_with_ruled_out() -> impl Strategy<Value = Round> {
        (round(), proptest::collection::vec(proptest::bool::weighted(0.15), 40)).prop_map(
            |((mut entries, reviews, n, norm, agg), flags)| {
                for (e, ruled_out) in entries.iter_mut().zip(flags) {
                    e.ruled_out = ruled_out;
                }
                (entries, reviews, n, norm, agg)
            },
        )
    }

    /// Every advancement rule, with n (or the threshold) from the round.
    fn every_rule(n: usize, threshold: f64) -> [Advance; 4] {
        [
            Advance::TopN { n },
            Advance::TopNPerMemberCompany { n: n / 4 },
            Advance::Proportional { n },
            Advance::Threshold { threshold },
        ]
    }

    /// The tie-break key of an outcome: greater is better.
    fn key<'a>(o: &Outcome, entries: &'a [Entry]) -> (f64, f64, i64, std::cmp::Reverse<&'a Timestamp>, i64) {
        let e = entries.iter().find(|e| e.nomination_id == o.nomination_id).unwrap();
        (o.final_score, o.jury_score, o.vote_count, std::cmp::Reverse(&e.submitted_at), -o.nomination_id)
    }

    /// The first tie-break step on which two outcomes differ.
    fn first_difference(a: &Outcome, b: &Outcome, entries: &[Entry]) -> DecidedBy {
        let (ka, kb) = (key(a, entries), key(b, entries));
        if ka.0 != kb.0 {
            DecidedBy::FinalScore
        } else if ka.1 != kb.1 {
            DecidedBy::JuryScore
        } else if ka.2 != kb.2 {
            DecidedBy::Votes
        } else if ka.3 != kb.3 {
            DecidedBy::SubmittedAt
        } else {
            DecidedBy::Id
        }
    }

    /// Review totals as `normalise` takes them: one per reviewer and entry.
    fn totals() -> impl Strategy<Value = Vec<(i64, i64, f64)>> {
        proptest::collection::btree_map((1i64..6, 1i64..30), 0.0..=100.0f64, 2..120)
            .prop_map(|m| m.into_iter().map(|((r, e), t)| (r, e, t)).collect())
    }

    fn mean_and_sd(totals: &[(i64, i64, f64)]) -> (f64, f64) {
        let all: Vec<f64> = totals.iter().map(|t| t.2).collect();
        (mean(&all), stddev(&all))
    }

    proptest! {
        #[test]
        fn every_rule_advances_the_right_entries((entries, reviews, n, norm, agg) in round_with_ruled_out(), threshold in 0.0..=100.0f64) {
            let contenders: Vec<&Entry> = entries.iter().filter(|e| !e.ruled_out).collect();
            let mut per_company: BTreeMap<i64, usize> = BTreeMap::new();
            for e in &contenders {
                *per_company.entry(e.member_company_id).or_default() += 1;
            }
            for advance in every_rule(n, threshold) {
                let out = close(&rules(advance, norm, agg), &entries, &reviews);
                // Ranks are 1..=n in the order returned; ruled-out entries come
                // last, never advance, and say why.
                let ranks: Vec<usize> = out.iter().map(|o| o.rank).collect();
                prop_assert_eq!(ranks, (1..=entries.len()).collect::<Vec<_>>());
                for (o, in_running) in out.iter().zip((0..out.len()).map(|i| i < contenders.len())) {
                    let e = entries.iter().find(|e| e.nomination_id == o.nomination_id).unwrap();
                    prop_assert_eq!(e.ruled_out, !in_running);
                    prop_assert_eq!(o.decided_by == DecidedBy::RuledOut, e.ruled_out);
                    prop_assert!(!(e.ruled_out && o.advanced));
                }
                let mut advanced: BTreeMap<i64, usize> = BTreeMap::new();
                for o in out.iter().filter(|o| o.advanced) {
                    *advanced.entry(o.member_company_id).or_default() += 1;
                }
                let count = |c: &i64| advanced.get(c).copied().unwrap_or(0);
                let total: usize = advanced.values().sum();
                match advance {
                    Advance::TopN { n } => prop_assert_eq!(total, n.min(contenders.len())),
                    Advance::TopNPerMemberCompany { n } => {
                        for (c, entries) in &per_company {
                            prop_assert_eq!(count(c), n.min(*entries));
                        }
                    }
                    Advance::Proportional { n } => {
                        let seats = apportion(n, &per_company);
                        prop_assert_eq!(total, n.min(contenders.len()));
                        for (c, entries) in &per_company {
                            prop_assert_eq!(count(c), seats[c]);
                            prop_assert!(count(c) <= *entries);
                        }
                    }
                    Advance::Threshold { threshold } => {
                        for (o, e) in out.iter().map(|o| (o, entries.iter().find(|e| e.nomination_id == o.nomination_id).unwrap())) {
                            prop_assert_eq!(o.advanced, !e.ruled_out && o.final_score >= threshold);
                        }
                    }
                }
                let grouped = !matches!(advance, Advance::TopN { .. });
                let group = |o: &Outcome| if grouped { o.member_company_id } else { 0 };
                let running: Vec<Outcome> = out[..contenders.len()].to_vec();
                prop_assert!(no_outsider_outranks_a_winner(&running, group));
            }
        }

        #[test]
        fn the_ranking_follows_the_tie_break_chain_and_names_the_deciding_step((entries, reviews, n, norm, agg) in round_with_ruled_out()) {
            let out = close(&rules(Advance::TopN { n }, norm, agg), &entries, &reviews);
            let running = &out[..entries.iter().filter(|e| !e.ruled_out).count()];
            // The order is total: each contender strictly better than the next.
            for pair in running.windows(2) {
                prop_assert!(key(&pair[0], &entries) > key(&pair[1], &entries), "{:?}", pair);
            }
            let seats = n.min(running.len());
            for (i, o) in running.iter().enumerate() {
                let expected = if seats == running.len() {
                    DecidedBy::AllAdvance
                } else if seats == 0 {
                    DecidedBy::NoSeats
                } else if i < seats {
                    first_difference(o, &running[seats], &entries)
                } else {
                    first_difference(&running[seats - 1], o, &entries)
                };
                prop_assert_eq!(o.decided_by, expected, "rank {}", o.rank);
            }
        }

        #[test]
        fn results_do_not_depend_on_input_order(
            ((entries, reviews, n, norm, agg), shuffled_entries, shuffled_reviews) in round_with_ruled_out()
                .prop_flat_map(|round| {
                    let (entries, reviews) = (round.0.clone(), round.1.clone());
                    (Just(round), Just(entries).prop_shuffle(), Just(reviews).prop_shuffle())
                }),
            threshold in 0.0..=100.0f64,
        ) {
            for advance in every_rule(n, threshold) {
                let r = rules(advance, norm, agg);
                let expected = close(&r, &entries, &reviews);
                let again = close(&r, &shuffled_entries, &shuffled_reviews);
                // To the bit: compare the fingerprints as well as the values.
                prop_assert_eq!(
                    fingerprint(&r, &shuffled_entries, &shuffled_reviews, &again),
                    fingerprint(&r, &entries, &reviews, &expected)
                );
                prop_assert_eq!(again, expected);
            }
        }

        #[test]
        fn every_score_stays_within_0_and_100(
            (entries, reviews, n, norm, agg) in round_with_ruled_out(),
            weights in (0.01..1000.0f64, 0.01..1000.0f64),
            maxima in (0.5..1000.0f64, 0.5..1000.0f64),
            jury_weight in prop_oneof![Just(0.0), Just(1.0), 0.0..=1.0f64],
        ) {
            let mut r = rules(Advance::TopN { n }, norm, agg);
            r.criteria[0].weight = weights.0;
            r.criteria[1].weight = weights.1;
            r.criteria[0].max_score = maxima.0;
            r.criteria[1].max_score = maxima.1;
            (r.jury_weight, r.vote_weight) = (jury_weight, 1.0 - jury_weight);
            // The generated scores are 0..=10; put them on each criterion's scale.
            let reviews: Vec<Review> = reviews
                .into_iter()
                .map(|mut rv| {
                    for (c, max) in [(1, maxima.0), (2, maxima.1)] {
                        rv.scores.entry(c).and_modify(|s| *s = *s / 10.0 * max);
                    }
                    rv
                })
                .collect();
            for o in close(&r, &entries, &reviews) {
                prop_assert!((0.0..=100.0).contains(&o.jury_score), "{:?}", o);
                prop_assert!((0.0..=100.0).contains(&o.vote_score), "{:?}", o);
                prop_assert!((0.0..=100.0).contains(&o.final_score), "{:?}", o);
                prop_assert!((0.0..=50.0).contains(&o.jury_stddev), "{:?}", o);
                prop_assert_eq!(o.reviews, reviews.iter().filter(|rv| rv.nomination_id == o.nomination_id).count());
            }
        }

        #[test]
        fn zscore_ignores_how_harsh_or_generous_a_reviewer_is(
            totals in totals(),
            pick in any::<prop::sample::Index>(),
            (low, high) in (0.0..=99.0f64, 1.0..=100.0f64),
        ) {
            // Reviewer r's totals moved onto another part of the scale by a
            // positive affine map x ↦ a·x + b: their z-scores, and so the
            // position of every review relative to the round (M, S), stay.
            let r = totals[pick.index(totals.len())].0;
            let mine: Vec<f64> = totals.iter().filter(|t| t.0 == r).map(|t| t.2).collect();
            let (min, max) = mine.iter().fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(*x), hi.max(*x)));
            prop_assume!(max - min > 1e-3 && high - low >= 1.0);
            let moved: Vec<(i64, i64, f64)> = totals
                .iter()
                .map(|&(rv, e, x)| (rv, e, if rv == r { low + (x - min) / (max - min) * (high - low) } else { x }))
                .collect();
            let (before, after) = (mean_and_sd(&totals), mean_and_sd(&moved));
            prop_assume!(before.1 > 1e-3 && after.1 > 1e-3);
            let (mut a, mut b) = (totals.clone(), moved);
            normalise(&mut a);
            normalise(&mut b);
            for (x, y) in a.iter().zip(&b) {
                // Clamping to 0..=100 is the one place the map can show.
                if x.2 > 0.0 && x.2 < 100.0 && y.2 > 0.0 && y.2 < 100.0 {
                    let (zx, zy) = ((x.2 - before.0) / before.1, (y.2 - after.0) / after.1);
                    prop_assert!((zx - zy).abs() < 1e-6, "{:?} vs {:?}: {} vs {}", x, y, zx, zy);
                }
            }
        }

        #[test]
        fn zscore_keeps_each_reviewers_order_and_sends_a_flat_reviewer_to_the_mean(
            totals in totals(),
            flat in 0.0..=100.0f64,
            flat_entries in 1i64..12,
        ) {
            // Reviewer 9 gives every entry the same total.
            let mut totals = totals;
            totals.extend((1..=flat_entries).map(|e| (9, e, flat)));
            let (m, _) = mean_and_sd(&totals);
            let mut out = totals.clone();
            normalise(&mut out);
            for (i, x) in totals.iter().enumerate() {
                prop_assert!((0.0..=100.0).contains(&out[i].2));
                if x.0 == 9 {
                    prop_assert!((out[i].2 - m).abs() < 1e-9, "{} → {} (M = {})", x.2, out[i].2, m);
                }
                for (j, y) in totals.iter().enumerate() {
                    if x.0 == y.0 && x.2 < y.2 {
                        prop_assert!(out[i].2 <= out[j].2, "{:?} {:?} → {} {}", x, y, out[i].2, out[j].2);
                    }
                }
            }
        }

        #[test]
        fn the_fingerprint_is_stable_and_sees_every_review(
            (entries, reviews, n, norm, agg) in round_with_ruled_out(),
            pick in any::<prop::sample::Index>(),
            criterion in 1i64..=2,
            nudge in prop_oneof![Just(0.5), Just(-1.0), Just(1e-9)],
        ) {
            prop_assume!(!reviews.is_empty());
            let r = rules(Advance::Proportional { n }, norm, agg);
            let hash = fingerprint(&r, &entries, &reviews, &close(&r, &entries, &reviews));
            prop_assert_eq!(&hash, &fingerprint(&r, &entries, &reviews, &close(&r, &entries, &reviews)));
            let mut changed = reviews.clone();
            let i = pick.index(changed.len());
            *changed[i].scores.get_mut(&criterion).unwrap() += nudge;
            let other = fingerprint(&r, &entries, &changed, &close(&r, &entries, &changed));
            prop_assert_ne!(hash, other);
        }

        #[test]
        fn apportionment_is_the_largest_remainder(counts in proptest::collection::btree_map(1i64..14, 0usize..50, 1..14), seats in 0usize..400) {
            let given = apportion(seats, &counts);
            let total: usize = counts.values().sum();
            let seats = seats.min(total);
            prop_assert_eq!(given.values().sum::<usize>(), seats);
            prop_assert!(given.iter().all(|(c, s)| *s <= counts[c]));
            // Each company gets its quota's whole part or one more, and the
            // extra seats go to the largest remainders (ties: more entries,
            // then the lower id). Quotas are seats × count / total, exactly.
            let whole = |c: &i64| (seats * counts[c]).checked_div(total).unwrap_or(0);
            let rank = |c: &i64| ((seats * counts[c]).checked_rem(total), counts[c], std::cmp::Reverse(*c));
            for (c, s) in &given {
                prop_assert!(*s == whole(c) || *s == whole(c) + 1, "company {}: {} of quota {}", c, s, whole(c));
            }
            let extra = |c: &i64| given[c] > whole(c);
            for a in counts.keys().filter(|c| extra(c)) {
                for b in counts.keys().filter(|c| !extra(c)) {
                    prop_assert!(rank(a) > rank(b), "{} got the seat before {}", a, b);
                }
            }
        }
    }
}
