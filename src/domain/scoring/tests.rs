//! Unit tests of the scoring engine, worked by hand.

use super::*;

fn at(minute: u32) -> Timestamp {
    chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_opt(9, minute, 0).unwrap().into()
}

fn criteria() -> Vec<Criterion> {
    // 事迹 60 %, 影响 40 %; max 10 each.
    vec![Criterion { id: 1, weight: 0.6, max_score: 10.0 }, Criterion { id: 2, weight: 0.4, max_score: 10.0 }]
}

fn review(reviewer: i64, nomination: i64, a: f64, b: f64) -> Review {
    Review { reviewer_id: reviewer, nomination_id: nomination, scores: BTreeMap::from([(1, a), (2, b)]) }
}

fn entry(id: i64, company: i64, minute: u32, votes: i64) -> Entry {
    Entry { nomination_id: id, member_company_id: company, submitted_at: at(minute), votes, ruled_out: false }
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
