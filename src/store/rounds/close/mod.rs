//! Closing a round: score, cut, freeze the outcomes and publish the ledger.

mod postgres;
mod sqlite;

use diesel::prelude::*;
use serde_json::json;

use super::{campaign_of, get, inputs, next_round, short_of_reviews, Round};
use crate::db::schema::rounds;
use crate::db::{self, DbConn};
use crate::domain::round::{self as rules, RoundAction, RoundStatus};
use crate::domain::scoring::{self, DecidedBy, Outcome};
use crate::store::campaigns as campaign_store;
use crate::store::{audit, StoreResult};

/// Closes an open round: scores, cuts and freezes every entry's result and
/// the round's fingerprint. Refused while entries lack reviews unless the
/// admin says so; the last round must yield exactly the winners target.
pub fn close(conn: &mut DbConn, actor: i64, id: i64, allow_missing_reviews: bool) -> StoreResult<Round> {
    db::write_tx(conn, |conn| {
        let campaign_id = campaign_of(conn, id)?;
        // Exclusive: reviews and votes in flight land before the count, later ones are refused.
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        // Votes hold it shared until they commit: wait for those in flight.
        db::lock_resource(conn, db::LockSpace::RoundVotes, id, false)?;
        let campaign = campaign_store::get(conn, campaign_id)?;
        let round = get(conn, id)?;
        round.require_status(RoundStatus::Open, RoundAction::Close)?;
        let inputs = inputs(conn, &round)?;
        let short = short_of_reviews(&inputs, round.reviews_per_entry);
        let outcomes = scoring::close(&inputs.rules, &inputs.entries, &inputs.reviews);
        let advanced = outcomes.iter().filter(|o| o.advanced).count();
        let is_last = next_round(conn, &round)?.is_none();
        let target = campaign.winners_target as usize;
        rules::check_close(short, round.reviews_per_entry, allow_missing_reviews, is_last, advanced, target)?;
        let hash = scoring::fingerprint(&inputs.rules, &inputs.entries, &inputs.reviews, &outcomes);
        freeze(conn, id, &outcomes)?;
        crate::store::votes::publish_ledger(conn, id)?;
        let now = db::now();
        diesel::update(rounds::table.find(id))
            .set((
                rounds::status.eq(RoundStatus::Closed),
                rounds::algorithm_version.eq(scoring::ALGORITHM_VERSION),
                rounds::result_hash.eq(&hash),
                rounds::allowed_missing_reviews.eq(short > 0),
                rounds::closed_at.eq(now),
                rounds::version.eq(round.version + 1),
                rounds::updated_at.eq(now),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            Some(actor),
            "round.close",
            &format!("round:{id}"),
            json!({
                "entries": outcomes.len(), "advanced": advanced, "reviews": inputs.reviews.len(),
                "short_of_reviews": short, "algorithm_version": scoring::ALGORITHM_VERSION, "result_hash": hash,
            }),
        )?;
        get(conn, id)
    })
}

/// Writes each entry's outcome. PostgreSQL gets them in one statement (one
/// round trip instead of thousands); SQLite, in process, row by row.
fn freeze(conn: &mut DbConn, round_id: i64, outcomes: &[Outcome]) -> QueryResult<()> {
    match conn {
        DbConn::Pg(pg) => postgres::freeze(pg, round_id, outcomes),
        DbConn::Sqlite(_) => sqlite::freeze(conn, round_id, outcomes),
    }
}

fn decided_by_text(d: DecidedBy) -> String {
    serde_json::to_value(d).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}
