//! Freezing a round's outcomes on PostgreSQL: one statement of arrays.

use diesel::prelude::*;

use super::decided_by_text;
use crate::domain::scoring::{DecidedBy, Outcome};

/// One `UPDATE … FROM unnest(…)`: one round trip instead of thousands.
pub(super) fn freeze(pg: &mut diesel::PgConnection, round_id: i64, outcomes: &[Outcome]) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Text};
    let column = |f: &dyn Fn(&Outcome) -> f64| outcomes.iter().map(f).collect::<Vec<f64>>();
    diesel::sql_query(
        "UPDATE entries AS e SET ruled_out = v.ruled_out, jury_score = v.jury_score, \
         jury_stddev = v.jury_stddev, reviews = v.reviews, vote_score = v.vote_score, \
         final_score = v.final_score, rank = v.rank, advanced = v.advanced, decided_by = v.decided_by \
         FROM unnest($2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
         AS v(nomination_id, ruled_out, jury_score, jury_stddev, reviews, vote_score, final_score, rank, advanced, decided_by) \
         WHERE e.round_id = $1 AND e.nomination_id = v.nomination_id",
    )
    .bind::<BigInt, _>(round_id)
    .bind::<Array<BigInt>, _>(outcomes.iter().map(|o| o.nomination_id).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(outcomes.iter().map(|o| o.decided_by == DecidedBy::RuledOut).collect::<Vec<_>>())
    .bind::<Array<Double>, _>(column(&|o| o.jury_score))
    .bind::<Array<Double>, _>(column(&|o| o.jury_stddev))
    .bind::<Array<Integer>, _>(outcomes.iter().map(|o| o.reviews as i32).collect::<Vec<_>>())
    .bind::<Array<Double>, _>(column(&|o| o.vote_score))
    .bind::<Array<Double>, _>(column(&|o| o.final_score))
    .bind::<Array<Integer>, _>(outcomes.iter().map(|o| o.rank as i32).collect::<Vec<_>>())
    .bind::<Array<Bool>, _>(outcomes.iter().map(|o| o.advanced).collect::<Vec<_>>())
    .bind::<Array<Text>, _>(outcomes.iter().map(|o| decided_by_text(o.decided_by)).collect::<Vec<_>>())
    .execute(pg)?;
    Ok(())
}
