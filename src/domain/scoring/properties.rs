//! Property tests of the scoring engine: every rule, any input order.

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
