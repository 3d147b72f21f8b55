//! Votes: cast and withdraw (inside a transaction the caller opens), the
//! voter's ballot, the public ledger and the anomaly report.
//! This module holds what every part shares: the vote asked for, its receipt
//! and the round as voting sees it.

mod anomalies;
mod ballot;
mod cast;
mod ledger;
mod withdraw;

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::rounds;
use crate::db::DbConn;
use crate::domain::round::{RoundKind, RoundStatus};
use crate::domain::time::Timestamp;
use crate::domain::vote::VotingRound;

pub use anomalies::{anomalies, Anomalies, Burst};
pub use ballot::{ballot, candidates, BallotView, Candidate, CandidateFilter, Listed, MyVote};
pub use cast::cast_batch;
pub use ledger::{ledger, ledger_counts, publish_ledger, LedgerLine};
pub use withdraw::withdraw;

/// One vote as a client asks for it.
#[derive(Debug, Clone)]
pub struct Cast {
    pub round_id: i64,
    pub nomination_id: i64,
    pub voter_id: i64,
    pub voter_branch_id: Option<i64>,
    pub idempotency_key: Option<String>,
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub round_id: i64,
    pub nomination_id: i64,
    /// 128 random bits in hex: find it in the ledger once the round has closed.
    pub receipt: String,
    /// Whether this answer repeats an earlier one (same Idempotency-Key).
    pub replayed: bool,
}

/// Deserialized from `read_pg`'s JSON too, as an array in field order, its
/// times as microseconds since the epoch (JSON's text form of a timestamp
/// past year 9999 is one chrono cannot read).
#[derive(Queryable, Selectable, Deserialize)]
#[diesel(table_name = rounds)]
struct RoundRow {
    kind: RoundKind,
    status: RoundStatus,
    #[serde(deserialize_with = "crate::domain::time::micros_option")]
    opens_at: Option<Timestamp>,
    #[serde(deserialize_with = "crate::domain::time::micros_option")]
    closes_at: Option<Timestamp>,
    allow_vote_withdrawal: bool,
    votes_per_voter: i32,
}

impl RoundRow {
    /// The round as voting sees it, and its votes per voter.
    fn voting(&self) -> (VotingRound, i32) {
        let round = VotingRound {
            kind: self.kind,
            status: self.status,
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            allow_withdrawal: self.allow_vote_withdrawal,
        };
        (round, self.votes_per_voter)
    }
}

/// The round as voting sees it, if there is one.
fn voting_round(conn: &mut DbConn, round_id: i64) -> QueryResult<Option<(VotingRound, i32)>> {
    let row: Option<RoundRow> =
        rounds::table.find(round_id).select(RoundRow::as_select()).first(conn).optional()?;
    Ok(row.map(|row| row.voting()))
}
