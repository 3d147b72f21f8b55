//! Freezing a round's outcomes on SQLite: in process, row by row.

use diesel::prelude::*;

use super::decided_by_text;
use crate::db::schema::entries;
use crate::db::DbConn;
use crate::domain::scoring::{DecidedBy, Outcome};

/// One `UPDATE` an entry: in process, a statement costs no round trip.
pub(super) fn freeze(conn: &mut DbConn, round_id: i64, outcomes: &[Outcome]) -> QueryResult<()> {
    for o in outcomes {
        diesel::update(entries::table.find((round_id, o.nomination_id)))
            .set((
                entries::ruled_out.eq(o.decided_by == DecidedBy::RuledOut),
                entries::jury_score.eq(o.jury_score),
                entries::jury_stddev.eq(o.jury_stddev),
                entries::reviews.eq(o.reviews as i32),
                entries::vote_score.eq(o.vote_score),
                entries::final_score.eq(o.final_score),
                entries::rank.eq(o.rank as i32),
                entries::advanced.eq(o.advanced),
                entries::decided_by.eq(decided_by_text(o.decided_by)),
            ))
            .execute(conn)?;
    }
    Ok(())
}
