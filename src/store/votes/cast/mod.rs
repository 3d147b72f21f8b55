//! Casting a batch of votes: read what the rules need, decide, record.
//! The reads and writes differ wholly by backend: `postgres.rs`, `sqlite.rs`.

mod postgres;
mod sqlite;

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Deserialize;

use super::{Cast, Receipt, RoundRow};
use crate::db::schema::{vote_requests, votes};
use crate::db::{self, DbConn};
use crate::domain::campaign::NominationStatus;
use crate::domain::time::Timestamp;
use crate::domain::vote::{self as rules, VoteRefusal};

#[derive(Insertable)]
#[diesel(table_name = votes)]
struct NewVote<'a> {
    round_id: i64,
    nomination_id: i64,
    voter_id: i64,
    receipt: &'a str,
    voter_branch_id: Option<i64>,
    ip: &'a str,
    minute: i64,
    created_at: Timestamp,
}

/// Votes a batch takes from one voter's ballot (PostgreSQL): `used` is added to the row's
/// count (or starts it), and the row's CHECK refuses going past `max_votes`.
struct BallotTake {
    round_id: i64,
    voter_id: i64,
    used: i32,
    max_votes: i32,
}

#[derive(Insertable)]
#[diesel(table_name = vote_requests)]
struct NewKey<'a> {
    voter_id: i64,
    idempotency_key: &'a str,
    round_id: i64,
    nomination_id: i64,
    receipt: &'a str,
    created_at: Timestamp,
}

/// Records a batch of votes, inside a write transaction the caller opens and
/// commits: a few reads bring what the rules need (the rounds, entries, and
/// the voters' standing votes, ballots and keys), `rules::decide` judges each
/// vote in order, and `record` writes the accepted ones. Every statement is
/// prepared once per connection; PostgreSQL's are a handful per batch, not
/// per vote, and SQLite, in process, runs one cheap prepared statement a row.
///
/// The database keeps the last word: one vote per voter and entry is the
/// primary key, the per-voter limit the ballot's CHECK on an increment. They
/// only fire when another node raced this batch; the statement then fails,
/// and the caller rolls back and runs the batch again, which sees the
/// other node's votes and refuses what they rule out.
pub fn cast_batch(
    conn: &mut DbConn,
    casts: &[&Cast],
    now: Timestamp,
) -> QueryResult<Vec<Result<Receipt, VoteRefusal>>> {
    let mut standing = read_standing(conn, casts)?;
    let answers: Vec<Result<Receipt, VoteRefusal>> = casts
        .iter()
        .map(|cast| {
            let request = rules::Request {
                round_id: cast.round_id,
                nomination_id: cast.nomination_id,
                voter_id: cast.voter_id,
                key: cast.idempotency_key.as_deref(),
            };
            rules::decide(&mut standing, request, now).map(|accepted| Receipt {
                round_id: cast.round_id,
                nomination_id: cast.nomination_id,
                receipt: accepted.receipt,
                replayed: accepted.replayed,
            })
        })
        .collect();
    let new: Vec<(&Cast, &str)> = casts
        .iter()
        .zip(&answers)
        .filter_map(|(cast, answer)| match answer {
            Ok(r) if !r.replayed => Some((*cast, r.receipt.as_str())),
            _ => None,
        })
        .collect();
    record(conn, &new, &standing, now)?;
    Ok(answers)
}

/// The ids, or (voter, key) pairs, a batch asks about: sorted, without repeats.
fn sorted_unique<T: Ord>(items: impl Iterator<Item = T>) -> Vec<T> {
    let mut items: Vec<T> = items.collect();
    items.sort_unstable();
    items.dedup();
    items
}

/// What `rules::decide` needs to know about a batch, as the reads bring it.
#[derive(Default, Deserialize)]
struct Found {
    /// (round, the round's row).
    rounds: Vec<(i64, RoundRow)>,
    /// (round, nomination, nominee, nomination status) of the entries asked for.
    entries: Vec<(i64, i64, i64, String)>,
    /// (round, voter, votes used, entries voted for) of the batch's voters.
    voters: Vec<(i64, i64, i32, Vec<i64>)>,
    /// (voter, key, round, nomination, receipt, withdrawn) of the keys sent again.
    keys: Vec<(i64, String, i64, i64, String, bool)>,
}

impl Found {
    fn into_standing(self) -> QueryResult<rules::Standing> {
        let mut standing = rules::Standing {
            rounds: self.rounds.into_iter().map(|(id, row)| (id, row.voting())).collect(),
            ..Default::default()
        };
        standing.entries = self
            .entries
            .into_iter()
            .map(|(round, nomination, nominee_id, status)| {
                let still_submitted = status == NominationStatus::Submitted.as_str();
                ((round, nomination), rules::Ballot { nominee_id, still_submitted })
            })
            .collect();
        for (round, voter, used, nominations) in self.voters {
            standing.used.insert((round, voter), used);
            standing.votes.extend(nominations.into_iter().map(|n| (round, voter, n)));
        }
        standing.keys = self
            .keys
            .into_iter()
            .map(|(voter, key, round_id, nomination_id, receipt, withdrawn)| {
                ((voter, key), rules::Earlier { round_id, nomination_id, receipt, withdrawn })
            })
            .collect();
        Ok(standing)
    }
}

/// Reads what `rules::decide` needs about a batch.
fn read_standing(conn: &mut DbConn, casts: &[&Cast]) -> QueryResult<rules::Standing> {
    let round_ids = sorted_unique(casts.iter().map(|c| c.round_id));
    for &round_id in &round_ids {
        // Shared: a close takes it exclusively, so it waits for this batch,
        // and a batch after it finds the round closed (on PostgreSQL; SQLite's
        // write lock already makes them take turns). Its own statement: the
        // reads must see what a close committed while this waited.
        db::lock_resource(conn, db::LockSpace::RoundVotes, round_id, true)?;
    }
    let found = match conn {
        DbConn::Pg(pg) => postgres::read_pg(pg, casts, &round_ids)?,
        DbConn::Sqlite(lite) => sqlite::read_sqlite(lite, casts, &round_ids)?,
    };
    found.into_standing()
}

/// Pairs sorted and without repeats, as two columns: the (round, nomination),
/// (round, voter) or (voter, key) pairs a batch asks about.
fn pairs<A: Ord, B: Ord>(items: impl Iterator<Item = (A, B)>) -> (Vec<A>, Vec<B>) {
    sorted_unique(items).into_iter().unzip()
}

/// Writes a batch's new votes: the votes, the entries' counters, the keys
/// and, on PostgreSQL, the ballots' counts (PostgreSQL: one statement;
/// SQLite: one a row),
/// rows in key order so that racing nodes take their locks in one order.
fn record(
    conn: &mut DbConn,
    new: &[(&Cast, &str)],
    standing: &rules::Standing,
    now: Timestamp,
) -> QueryResult<()> {
    if new.is_empty() {
        return Ok(());
    }
    let minute = rules::minute_of(now);
    let mut takes: BTreeMap<(i64, i64), i32> = BTreeMap::new();
    let mut counts: BTreeMap<(i64, i64), i64> = BTreeMap::new();
    for (cast, _) in new {
        *takes.entry((cast.round_id, cast.voter_id)).or_default() += 1;
        *counts.entry((cast.round_id, cast.nomination_id)).or_default() += 1;
    }
    let takes: Vec<BallotTake> = takes
        .into_iter()
        .map(|((round_id, voter_id), used)| BallotTake {
            round_id,
            voter_id,
            used,
            // `decide` accepts votes only in rounds it knows.
            max_votes: standing.rounds[&round_id].1,
        })
        .collect();
    let mut votes: Vec<NewVote> = new
        .iter()
        .map(|(cast, receipt)| NewVote {
            round_id: cast.round_id,
            nomination_id: cast.nomination_id,
            voter_id: cast.voter_id,
            receipt,
            voter_branch_id: cast.voter_branch_id,
            ip: &cast.ip,
            minute,
            created_at: now,
        })
        .collect();
    votes.sort_unstable_by_key(|v| (v.round_id, v.voter_id, v.nomination_id));
    let mut keys: Vec<NewKey> = new
        .iter()
        .filter_map(|(cast, receipt)| {
            cast.idempotency_key.as_deref().map(|key| NewKey {
                voter_id: cast.voter_id,
                idempotency_key: key,
                round_id: cast.round_id,
                nomination_id: cast.nomination_id,
                receipt,
                created_at: now,
            })
        })
        .collect();
    keys.sort_unstable_by_key(|k| (k.voter_id, k.idempotency_key));
    let rows = Rows { takes, votes, keys, counts };
    match conn {
        DbConn::Pg(pg) => postgres::record_pg(pg, &rows),
        DbConn::Sqlite(lite) => sqlite::record_sqlite(lite, &rows),
    }
}

/// A batch's new votes as the tables take them, each in key order.
struct Rows<'a> {
    takes: Vec<BallotTake>,
    votes: Vec<NewVote<'a>>,
    keys: Vec<NewKey<'a>>,
    /// (round, nomination) → votes to add to the entry's counter.
    counts: BTreeMap<(i64, i64), i64>,
}
