//! What the scoring engine reads of a round: its entries and reviews.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::Round;
use crate::db::schema::{entries, nominations, reviews};
use crate::db::DbConn;
use crate::domain::campaign::NominationStatus;
use crate::domain::round as rules;
use crate::domain::scoring::{self, RoundRules};
use crate::domain::time::Timestamp;
use crate::store::{StoreError, StoreResult};

/// Everything the scoring engine needs, read from the database.
pub struct Inputs {
    pub rules: RoundRules,
    pub entries: Vec<scoring::Entry>,
    pub reviews: Vec<scoring::Review>,
}

#[derive(Queryable)]
struct ReviewRow {
    nomination_id: i64,
    reviewer_id: i64,
    scores: String,
}

/// A review's stored scores; the review (round, entry, reviewer) is named
/// only if they cannot be read.
pub(crate) fn parse_scores(
    text: &str,
    round_id: i64,
    nomination_id: i64,
    reviewer: impl std::fmt::Display,
) -> StoreResult<BTreeMap<i64, f64>> {
    serde_json::from_str(text).map_err(|_| {
        StoreError::corrupt("reviews", "scores", format!("{round_id}/{nomination_id}/{reviewer}"), text)
    })
}

pub fn inputs(conn: &mut DbConn, round: &Round) -> StoreResult<Inputs> {
    let entries = entries::table
        .inner_join(nominations::table)
        .filter(entries::round_id.eq(round.id))
        .order(entries::nomination_id)
        .select((
            entries::nomination_id,
            entries::member_company_id,
            entries::submitted_at,
            entries::votes,
            entries::ruled_out,
            nominations::status,
        ))
        .load::<(i64, i64, Timestamp, i64, Option<bool>, String)>(conn)?
        .into_iter()
        .map(|(nomination_id, member_company_id, submitted_at, votes, frozen, status)| scoring::Entry {
            nomination_id,
            member_company_id,
            submitted_at,
            votes,
            // As frozen at close; while the round runs, as the nomination is now.
            ruled_out: frozen.unwrap_or(status != NominationStatus::Submitted.as_str()),
        })
        .collect();
    let reviews = reviews::table
        .filter(reviews::round_id.eq(round.id))
        .order((reviews::nomination_id, reviews::reviewer_id))
        .select((reviews::nomination_id, reviews::reviewer_id, reviews::scores))
        .load::<ReviewRow>(conn)?
        .into_iter()
        .map(|r| {
            Ok(scoring::Review {
                reviewer_id: r.reviewer_id,
                nomination_id: r.nomination_id,
                scores: parse_scores(&r.scores, round.id, r.nomination_id, r.reviewer_id)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Inputs { rules: round.rules(), entries, reviews })
}

/// Entries with fewer reviews than the round asks for.
/// How many of a round's entries have fewer reviews than each should get.
pub fn short_of_reviews(inputs: &Inputs, per_entry: i32) -> usize {
    let mut received: BTreeMap<i64, usize> = BTreeMap::new();
    for r in &inputs.reviews {
        *received.entry(r.nomination_id).or_default() += 1;
    }
    let counts = inputs.entries.iter().map(|e| received.get(&e.nomination_id).copied().unwrap_or(0));
    rules::short_of_reviews(counts, per_entry)
}
