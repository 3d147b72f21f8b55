//! The fingerprint of a round's result: a SHA-256 of its inputs and outputs.

use super::{Advance, Entry, Outcome, Review, RoundRules};

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
