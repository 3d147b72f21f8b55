//! Casting votes on SQLite: a few prepared reads a round, one prepared statement a row.

use std::collections::BTreeMap;

use diesel::prelude::*;

use super::{sorted_unique, Found, Rows};
use crate::db;
use crate::db::schema::{rounds, vote_requests, votes};
use crate::store::votes::{Cast, RoundRow};

/// SQLite, in process, where a statement costs no round trip: a few plain
/// reads a round, each of fixed text (the ids travel as one JSON array), so
/// that SQLite parses each once per connection, not once per batch.
pub(super) fn read_sqlite(
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

/// SQLite, in process: one statement a row, each prepared once per
/// connection (diesel caches neither a multi-row insert, nor an upsert, nor
/// an UPDATE; parsing them anew for every batch was a quarter of the writer's
/// time).
pub(super) fn record_sqlite(lite: &mut diesel::SqliteConnection, rows: &Rows) -> QueryResult<()> {
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
