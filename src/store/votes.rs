//! Votes: cast and withdraw (inside a transaction the caller opens), the
//! voter's ballot, the public ledger and the anomaly report.

use std::collections::BTreeMap;

use crate::domain::time::Timestamp;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use crate::db::schema::{
    ballots, branches, entries, ledger, nominations, rounds, users, vote_requests, votes,
};
use crate::db::{self, DbConn};
use crate::domain::campaign::NominationStatus;
use crate::domain::round::RoundRefusal;
use crate::domain::round::{RoundKind, RoundStatus};
use crate::domain::vote::{self as rules, VoteRefusal, VotingRound};
use crate::store::{MustExist, Page, PageRequest, Resource, StoreResult};

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
        DbConn::Pg(pg) => read_pg(pg, casts, &round_ids)?,
        DbConn::Sqlite(lite) => read_sqlite(lite, casts, &round_ids)?,
    };
    found.into_standing()
}

/// Pairs sorted and without repeats, as two columns: the (round, nomination),
/// (round, voter) or (voter, key) pairs a batch asks about.
fn pairs<A: Ord, B: Ord>(items: impl Iterator<Item = (A, B)>) -> (Vec<A>, Vec<B>) {
    sorted_unique(items).into_iter().unzip()
}

#[derive(QueryableByName)]
struct FoundJson {
    #[diesel(sql_type = diesel::sql_types::Text)]
    found: String,
}

/// PostgreSQL: one statement, one round trip, whatever the batch. It locks
/// the entries asked for in key order (the batch adds to their counters; one
/// order means nodes writing at once cannot deadlock on these hot rows) and
/// looks each voter up by primary key whatever the planner's statistics say
/// (they lag far behind a table that grows by thousands of rows a second;
/// OFFSET 0 keeps the lookup from being flattened into a join planned as a
/// scan).
fn read_pg(pg: &mut diesel::PgConnection, casts: &[&Cast], round_ids: &[i64]) -> QueryResult<Found> {
    use db::prepared::{Column, Prepared};
    let (entry_rounds, entry_nominations) = pairs(casts.iter().map(|c| (c.round_id, c.nomination_id)));
    let (voter_rounds, voters) = pairs(casts.iter().map(|c| (c.round_id, c.voter_id)));
    let (key_voters, keys) =
        pairs(casts.iter().filter_map(|c| c.idempotency_key.clone().map(|key| (c.voter_id, key))));
    let found = Prepared::new(
        "WITH locked AS ( \
           SELECT e.round_id, e.nomination_id FROM entries AS e \
           JOIN unnest(?, ?) AS w(round_id, nomination_id) \
             ON e.round_id = w.round_id AND e.nomination_id = w.nomination_id \
           ORDER BY e.round_id, e.nomination_id FOR NO KEY UPDATE OF e \
         ) SELECT json_build_object( \
           'rounds', COALESCE((SELECT json_agg(json_build_array(r.id, json_build_array( \
               r.kind, r.status, (extract(epoch FROM r.opens_at) * 1000000)::bigint, \
               (extract(epoch FROM r.closes_at) * 1000000)::bigint, r.allow_vote_withdrawal, r.votes_per_voter))) \
             FROM rounds AS r WHERE r.id = ANY(?)), '[]'), \
           'entries', COALESCE((SELECT json_agg(json_build_array( \
               l.round_id, l.nomination_id, n.nominee_id, n.status)) \
             FROM locked AS l JOIN nominations AS n ON n.id = l.nomination_id), '[]'), \
           'voters', COALESCE((SELECT json_agg(json_build_array( \
               q.round_id, q.voter_id, COALESCE(b.used, 0), COALESCE(v.nominations, '{}'))) \
             FROM unnest(?, ?) AS q(round_id, voter_id) \
             LEFT JOIN LATERAL (SELECT used FROM ballots \
               WHERE round_id = q.round_id AND voter_id = q.voter_id OFFSET 0) AS b ON true \
             LEFT JOIN LATERAL (SELECT array_agg(nomination_id) AS nominations FROM votes \
               WHERE round_id = q.round_id AND voter_id = q.voter_id) AS v ON true), '[]'), \
           'keys', COALESCE((SELECT json_agg(json_build_array( \
               k.voter_id, k.idempotency_key, k.round_id, k.nomination_id, k.receipt, k.withdrawn)) \
             FROM unnest(?, ?) AS w(voter_id, idempotency_key) \
             JOIN vote_requests AS k \
               ON k.voter_id = w.voter_id AND k.idempotency_key = w.idempotency_key), '[]') \
         )::text AS found",
        vec![
            Column::BigInt(entry_rounds),
            Column::BigInt(entry_nominations),
            Column::BigInt(round_ids.to_vec()),
            Column::BigInt(voter_rounds),
            Column::BigInt(voters),
            Column::BigInt(key_voters),
            Column::Text(keys),
        ],
    )
    .get_result::<FoundJson>(pg)?;
    serde_json::from_str(&found.found).map_err(|e| diesel::result::Error::DeserializationError(Box::new(e)))
}

/// SQLite, in process, where a statement costs no round trip: a few plain
/// reads a round, each of fixed text (the ids travel as one JSON array), so
/// that SQLite parses each once per connection, not once per batch.
fn read_sqlite(
    lite: &mut diesel::SqliteConnection,
    casts: &[&Cast],
    round_ids: &[i64],
) -> QueryResult<Found> {
    use db::prepared::{Prepared, Value};
    let ids = |ids: Vec<i64>| Value::Text(serde_json::Value::from(ids).to_string());
    let mut found = Found::default();
    for &round_id in round_ids {
        let of_round = || casts.iter().filter(move |c| c.round_id == round_id);
        if let Some(row) =
            rounds::table.find(round_id).select(RoundRow::as_select()).first(lite).optional()?
        {
            found.rounds.push((round_id, row));
        }
        let entries: Vec<EntryFound> = Prepared::new(
            "SELECT e.nomination_id, n.nominee_id, n.status FROM entries AS e \
             JOIN nominations AS n ON n.id = e.nomination_id \
             WHERE e.round_id = ? AND e.nomination_id IN (SELECT value FROM json_each(?))",
            vec![Value::BigInt(round_id), ids(sorted_unique(of_round().map(|c| c.nomination_id)))],
        )
        .load(lite)?;
        found
            .entries
            .extend(entries.into_iter().map(|e| (round_id, e.nomination_id, e.nominee_id, e.status)));
        // A voter's votes used are their vote rows (the `votes_within_limit` trigger counts the same).
        let voters = sorted_unique(of_round().map(|c| c.voter_id));
        let voted: Vec<VoteFound> = Prepared::new(
            "SELECT voter_id, nomination_id FROM votes \
             WHERE round_id = ? AND voter_id IN (SELECT value FROM json_each(?))",
            vec![Value::BigInt(round_id), ids(voters)],
        )
        .load(lite)?;
        let mut standing: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
        for vote in voted {
            standing.entry(vote.voter_id).or_default().push(vote.nomination_id);
        }
        found
            .voters
            .extend(standing.into_iter().map(|(voter, voted)| (round_id, voter, voted.len() as i32, voted)));
    }
    let keyed =
        sorted_unique(casts.iter().filter_map(|c| c.idempotency_key.as_deref().map(|key| (c.voter_id, key))));
    if !keyed.is_empty() {
        // The (voter, key) pairs themselves: one primary-key lookup each.
        let pairs = serde_json::to_string(&keyed)
            .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
        let keys: Vec<KeyFound> = Prepared::new(
            "SELECT k.voter_id, k.idempotency_key, k.round_id, k.nomination_id, k.receipt, k.withdrawn \
             FROM json_each(?) AS w JOIN vote_requests AS k \
               ON k.voter_id = w.value ->> 0 AND k.idempotency_key = w.value ->> 1",
            vec![Value::Text(pairs)],
        )
        .load(lite)?;
        found.keys = keys
            .into_iter()
            .map(|k| (k.voter_id, k.idempotency_key, k.round_id, k.nomination_id, k.receipt, k.withdrawn))
            .collect();
    }
    Ok(found)
}

#[derive(QueryableByName)]
struct EntryFound {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    nomination_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    nominee_id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
}

#[derive(QueryableByName)]
struct VoteFound {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    voter_id: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    nomination_id: i64,
}

#[derive(QueryableByName)]
#[diesel(table_name = vote_requests)]
struct KeyFound {
    voter_id: i64,
    idempotency_key: String,
    round_id: i64,
    nomination_id: i64,
    receipt: String,
    withdrawn: bool,
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
        DbConn::Pg(pg) => record_pg(pg, &rows),
        DbConn::Sqlite(lite) => record_sqlite(lite, &rows),
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

/// PostgreSQL: the whole batch in one statement of arrays, one round trip
/// whatever the batch's size (`read_pg` has locked the entries' rows).
fn record_pg(pg: &mut diesel::PgConnection, rows: &Rows) -> QueryResult<()> {
    let Rows { takes, votes, keys, counts } = rows;
    use db::prepared::{Column, Prepared};
    fn column<T, U>(rows: &[T], f: impl Fn(&T) -> U) -> Vec<U> {
        rows.iter().map(f).collect()
    }
    let entry_rounds: Vec<i64> = counts.keys().map(|(round, _)| *round).collect();
    let entry_nominations: Vec<i64> = counts.keys().map(|(_, nomination)| *nomination).collect();
    Prepared::new(
        "WITH ballot AS ( \
           INSERT INTO ballots (round_id, voter_id, used, max_votes) \
           SELECT * FROM unnest(?, ?, ?, ?) \
           ON CONFLICT (round_id, voter_id) DO UPDATE SET used = ballots.used + excluded.used \
         ), vote AS ( \
           INSERT INTO votes (round_id, nomination_id, voter_id, receipt, voter_branch_id, ip, minute, created_at) \
           SELECT * FROM unnest(?, ?, ?, ?, ?, ?, ?, ?) \
         ), request AS ( \
           INSERT INTO vote_requests (voter_id, idempotency_key, round_id, nomination_id, receipt, created_at) \
           SELECT * FROM unnest(?, ?, ?, ?, ?, ?) \
         ) \
         UPDATE entries AS e SET votes = e.votes + v.added \
         FROM unnest(?, ?, ?) AS v(round_id, nomination_id, added) \
         WHERE e.round_id = v.round_id AND e.nomination_id = v.nomination_id",
        vec![
            Column::BigInt(column(takes, |t| t.round_id)),
            Column::BigInt(column(takes, |t| t.voter_id)),
            Column::Integer(column(takes, |t| t.used)),
            Column::Integer(column(takes, |t| t.max_votes)),
            Column::BigInt(column(votes, |v| v.round_id)),
            Column::BigInt(column(votes, |v| v.nomination_id)),
            Column::BigInt(column(votes, |v| v.voter_id)),
            Column::Text(column(votes, |v| v.receipt.to_owned())),
            Column::NullableBigInt(column(votes, |v| v.voter_branch_id)),
            Column::Text(column(votes, |v| v.ip.to_owned())),
            Column::BigInt(column(votes, |v| v.minute)),
            Column::Timestamp(column(votes, |v| v.created_at)),
            Column::BigInt(column(keys, |k| k.voter_id)),
            Column::Text(column(keys, |k| k.idempotency_key.to_owned())),
            Column::BigInt(column(keys, |k| k.round_id)),
            Column::BigInt(column(keys, |k| k.nomination_id)),
            Column::Text(column(keys, |k| k.receipt.to_owned())),
            Column::Timestamp(column(keys, |k| k.created_at)),
            Column::BigInt(entry_rounds),
            Column::BigInt(entry_nominations),
            Column::BigInt(counts.values().copied().collect()),
        ],
    )
    .execute(pg)?;
    Ok(())
}

/// SQLite, in process: one statement a row, each prepared once per
/// connection (diesel caches neither a multi-row insert, nor an upsert, nor
/// an UPDATE; parsing them anew for every batch was a quarter of the writer's
/// time).
fn record_sqlite(lite: &mut diesel::SqliteConnection, rows: &Rows) -> QueryResult<()> {
    use db::prepared::{Prepared, Value};
    // No ballots' counters: the votes_within_limit trigger counts the voter's rows.
    let Rows { votes, keys, counts, .. } = rows;
    for vote in votes {
        diesel::insert_into(votes::table).values(vote).execute(lite)?;
    }
    for key in keys {
        diesel::insert_into(vote_requests::table).values(key).execute(lite)?;
    }
    for (&(round_id, nomination_id), &added) in counts {
        Prepared::new(
            "UPDATE entries SET votes = votes + ? WHERE round_id = ? AND nomination_id = ?",
            vec![Value::BigInt(added), Value::BigInt(round_id), Value::BigInt(nomination_id)],
        )
        .execute(lite)?;
    }
    Ok(())
}

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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyVote {
    pub nomination_id: i64,
    pub receipt: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub nomination_id: i64,
    pub title: String,
    pub summary: String,
    pub nominee_name: String,
    pub branch_id: i64,
    pub branch_name: String,
    pub member_company_id: i64,
    /// Whether you have voted for it.
    pub voted: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BallotView {
    pub round_id: i64,
    pub status: RoundStatus,
    pub votes_per_voter: i32,
    pub votes_left: i32,
    pub allow_vote_withdrawal: bool,
    pub my_votes: Vec<MyVote>,
    pub candidates: Page<Candidate>,
}

#[derive(Debug, Default, Clone)]
pub struct CandidateFilter {
    pub member_company_id: Option<i64>,
    pub branch_id: Option<i64>,
}

/// A candidate as every voter sees it; each voter's ballot adds `voted` and
/// leaves out their own nomination. Fields in `candidates`' select order.
#[derive(Debug, Clone, Queryable)]
pub struct Listed {
    pub nomination_id: i64,
    pub title: String,
    pub summary: String,
    pub nominee_id: i64,
    pub nominee_name: String,
    pub branch_id: i64,
    pub branch_name: String,
    pub member_company_id: i64,
}

/// Everyone standing in a voting round (entries whose nomination is still
/// submitted), in ballot order: one query, the same for every voter, so
/// that a node can share it among all the ballots it serves.
pub fn candidates(conn: &mut DbConn, round_id: i64) -> StoreResult<Vec<Listed>> {
    let (round, _) = voting_round(conn, round_id)?.found(Resource::Round)?;
    if round.kind == RoundKind::Review {
        return Err(VoteRefusal::NotAVotingRound.into());
    }
    Ok(entries::table
        .inner_join(nominations::table)
        .inner_join(users::table.on(users::id.eq(nominations::nominee_id)))
        .inner_join(branches::table.on(branches::id.eq(entries::branch_id)))
        .filter(entries::round_id.eq(round_id))
        .filter(nominations::status.eq(NominationStatus::Submitted))
        .order(entries::nomination_id)
        .select((
            entries::nomination_id,
            nominations::title,
            nominations::summary,
            nominations::nominee_id,
            users::name,
            entries::branch_id,
            branches::name,
            entries::member_company_id,
        ))
        .load::<Listed>(conn)?)
}

/// A voter's ballot: the candidates (paged, filtered, without their own
/// nomination), their own votes and votes left. No tallies. `field` is what
/// `candidates` read, possibly a few seconds ago.
pub fn ballot(
    conn: &mut DbConn,
    round_id: i64,
    voter_id: i64,
    field: &[Listed],
    filter: &CandidateFilter,
    page: PageRequest,
) -> StoreResult<BallotView> {
    let (round, limit) = voting_round(conn, round_id)?.found(Resource::Round)?;
    if round.kind == RoundKind::Review {
        return Err(VoteRefusal::NotAVotingRound.into());
    }
    let my_votes: Vec<MyVote> = votes::table
        .filter(votes::round_id.eq(round_id))
        .filter(votes::voter_id.eq(voter_id))
        .order(votes::created_at)
        .select((votes::nomination_id, votes::receipt, votes::created_at))
        .load::<(i64, String, Timestamp)>(conn)?
        .into_iter()
        .map(|(nomination_id, receipt, created_at)| MyVote { nomination_id, receipt, created_at })
        .collect();
    let shown: Vec<&Listed> = field
        .iter()
        .filter(|c| c.nominee_id != voter_id)
        .filter(|c| filter.member_company_id.is_none_or(|m| c.member_company_id == m))
        .filter(|c| filter.branch_id.is_none_or(|b| c.branch_id == b))
        .collect();
    let total = shown.len() as i64;
    let items = shown
        .into_iter()
        .skip(page.offset().try_into().unwrap_or(usize::MAX))
        .take(page.per_page.try_into().unwrap_or(0))
        .map(|c| Candidate {
            nomination_id: c.nomination_id,
            title: c.title.clone(),
            summary: c.summary.clone(),
            nominee_name: c.nominee_name.clone(),
            branch_id: c.branch_id,
            branch_name: c.branch_name.clone(),
            member_company_id: c.member_company_id,
            voted: my_votes.iter().any(|v| v.nomination_id == c.nomination_id),
        })
        .collect();
    Ok(BallotView {
        round_id,
        status: round.status,
        votes_per_voter: limit,
        votes_left: (limit - my_votes.len() as i32).max(0),
        allow_vote_withdrawal: round.allow_withdrawal,
        my_votes,
        candidates: page.of(items, total),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerLine {
    pub receipt: String,
    pub nomination_id: i64,
}

/// Publishes a closing round's ledger (inside the close's transaction, once
/// the last vote is in): every counted vote as (receipt, nomination), stored
/// in receipt order, so that voting never pays for that order.
pub fn publish_ledger(conn: &mut DbConn, round_id: i64) -> QueryResult<usize> {
    let counted = votes::table.filter(votes::round_id.eq(round_id)).order(votes::receipt).select((
        votes::round_id,
        votes::receipt,
        votes::nomination_id,
    ));
    diesel::insert_into(ledger::table)
        .values(counted)
        .into_columns((ledger::round_id, ledger::receipt, ledger::nomination_id))
        .execute(conn)
}

/// A closed round's published ledger, answering `Conflict` before the close.
fn published(conn: &mut DbConn, round_id: i64) -> StoreResult<()> {
    let (round, _) = voting_round(conn, round_id)?.found(Resource::Round)?;
    if round.status != RoundStatus::Closed {
        return Err(RoundRefusal::LedgerNotPublished.into());
    }
    Ok(())
}

/// Every counted vote of a closed round as (receipt, nomination), ordered by
/// receipt (random, so the order says nothing of who voted when).
pub fn ledger(conn: &mut DbConn, round_id: i64, page: PageRequest) -> StoreResult<Page<LedgerLine>> {
    published(conn, round_id)?;
    let total = ledger::table.filter(ledger::round_id.eq(round_id)).count().get_result(conn)?;
    let items = ledger::table
        .filter(ledger::round_id.eq(round_id))
        .order(ledger::receipt)
        .limit(page.per_page)
        .offset(page.offset())
        .select((ledger::receipt, ledger::nomination_id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .map(|(receipt, nomination_id)| LedgerLine { receipt, nomination_id })
        .collect();
    Ok(page.of(items, total))
}

/// A closed round's published ledger counted afresh, by entry: what anyone
/// can do with its lines, rather than the counters the writer kept.
pub fn ledger_counts(conn: &mut DbConn, round_id: i64) -> StoreResult<BTreeMap<i64, i64>> {
    published(conn, round_id)?;
    Ok(ledger::table
        .filter(ledger::round_id.eq(round_id))
        .group_by(ledger::nomination_id)
        .select((ledger::nomination_id, diesel::dsl::count_star()))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Burst {
    /// The source: an IP address, or a branch id as text.
    pub source: String,
    /// The minute, as an RFC 3339 time.
    pub minute: Timestamp,
    pub votes: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Anomalies {
    pub round_id: i64,
    /// A burst is at least this many standing votes from one source within one minute.
    pub threshold: i64,
    pub by_ip: Vec<Burst>,
    pub by_branch: Vec<Burst>,
}

/// Minutes in which one IP address or one branch cast at least `threshold`
/// of the round's standing votes, busiest first (at most 500 of each).
pub fn anomalies(conn: &mut DbConn, round_id: i64, threshold: i64) -> StoreResult<Anomalies> {
    rounds::table.find(round_id).select(rounds::id).first::<i64>(conn).optional()?.found(Resource::Round)?;
    let minute = |m: i64| Timestamp::from_micros(m * 60_000_000).unwrap_or_default();
    let count = diesel::dsl::count_star();
    let by_ip = votes::table
        .filter(votes::round_id.eq(round_id))
        .group_by((votes::ip, votes::minute))
        .having(count.ge(threshold))
        .select((votes::ip, votes::minute, count))
        .order((count.desc(), votes::minute))
        .limit(500)
        .load::<(String, i64, i64)>(conn)?
        .into_iter()
        .map(|(source, m, votes)| Burst { source, minute: minute(m), votes })
        .collect();
    let by_branch = votes::table
        .filter(votes::round_id.eq(round_id))
        .filter(votes::voter_branch_id.is_not_null())
        .group_by((votes::voter_branch_id, votes::minute))
        .having(count.ge(threshold))
        .select((votes::voter_branch_id, votes::minute, count))
        .order((count.desc(), votes::minute))
        .limit(500)
        .load::<(Option<i64>, i64, i64)>(conn)?
        .into_iter()
        .map(|(branch, m, votes)| Burst {
            source: branch.unwrap_or_default().to_string(),
            minute: minute(m),
            votes,
        })
        .collect();
    Ok(Anomalies { round_id, threshold, by_ip, by_branch })
}
