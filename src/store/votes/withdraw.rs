//! Withdrawing a vote.

use diesel::prelude::*;

use super::voting_round;
use crate::db::schema::{ballots, entries, vote_requests, votes};
use crate::db::{self, DbConn};
use crate::domain::time::Timestamp;
use crate::domain::vote::{self as rules, VoteRefusal};
use crate::store::StoreResult;

/// Withdraws a voter's vote for an entry (inside a write transaction): the
/// vote and its receipt leave the ledger, and the vote can be used again.
pub fn withdraw(
    conn: &mut DbConn,
    round_id: i64,
    voter_id: i64,
    nomination_id: i64,
    now: Timestamp,
) -> StoreResult<()> {
    // As a vote does: a close waits for this, and this sees a close.
    db::lock_resource(conn, db::LockSpace::RoundVotes, round_id, true)?;
    let (round, _) = voting_round(conn, round_id)?.ok_or(VoteRefusal::NoSuchEntry)?;
    rules::check_withdrawal(&round, now)?;
    let receipt: Option<String> = diesel::delete(votes::table.find((round_id, voter_id, nomination_id)))
        .returning(votes::receipt)
        .get_result(conn)
        .optional()?;
    let receipt = receipt.ok_or(VoteRefusal::NoSuchVote)?;
    // The entry's row before the ballot's, as a batch of votes takes them.
    diesel::update(entries::table.find((round_id, nomination_id)))
        .set(entries::votes.eq(entries::votes - 1))
        .execute(conn)?;
    // PostgreSQL's counter of the voter's votes (SQLite counts the rows).
    if let DbConn::Pg(pg) = conn {
        let held = diesel::update(ballots::table.find((round_id, voter_id)).filter(ballots::used.gt(0)))
            .set(ballots::used.eq(ballots::used - 1))
            .execute(pg)?;
        if held == 0 {
            return Err(VoteRefusal::NoSuchVote.into());
        }
    }
    // A late retry of the request that made the vote must not bring it back.
    diesel::update(vote_requests::table.filter(vote_requests::receipt.eq(receipt)))
        .set(vote_requests::withdrawn.eq(true))
        .execute(conn)?;
    Ok(())
}
