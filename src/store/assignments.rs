//! A reviewer's work: the rounds they have entries to score in, and how far
//! they are (the console's reviewer home page).

use diesel::prelude::*;

use crate::db::schema::{assignments, campaigns, reviews, rounds};
use crate::db::DbConn;
use crate::domain::round::RoundStatus;
use crate::store::StoreResult;

#[derive(Debug, Clone)]
pub struct ReviewerRound {
    pub round_id: i64,
    pub round_name: String,
    pub campaign_name: String,
    pub status: RoundStatus,
    pub assigned: i64,
    pub done: i64,
}

/// The rounds with entries assigned to `reviewer`, newest first.
pub fn rounds_of(conn: &mut DbConn, reviewer: i64) -> StoreResult<Vec<ReviewerRound>> {
    let assigned: Vec<(i64, i64)> = assignments::table
        .filter(assignments::reviewer_id.eq(reviewer))
        .group_by(assignments::round_id)
        .select((assignments::round_id, diesel::dsl::count_star()))
        .load(conn)?;
    let ids: Vec<i64> = assigned.iter().map(|(id, _)| *id).collect();
    let done: Vec<(i64, i64)> = reviews::table
        .filter(reviews::reviewer_id.eq(reviewer))
        .filter(reviews::round_id.eq_any(&ids))
        .group_by(reviews::round_id)
        .select((reviews::round_id, diesel::dsl::count_star()))
        .load(conn)?;
    let described: Vec<(i64, String, String, RoundStatus)> = rounds::table
        .inner_join(campaigns::table)
        .filter(rounds::id.eq_any(&ids))
        .order(rounds::id.desc())
        .select((rounds::id, rounds::name, campaigns::name, rounds::status))
        .load(conn)?;
    Ok(described
        .into_iter()
        .map(|(round_id, round_name, campaign_name, status)| ReviewerRound {
            round_id,
            round_name,
            campaign_name,
            status,
            assigned: assigned.iter().find(|(id, _)| *id == round_id).map_or(0, |(_, n)| *n),
            done: done.iter().find(|(id, _)| *id == round_id).map_or(0, |(_, n)| *n),
        })
        .collect())
}
