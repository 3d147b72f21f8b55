//! Casting votes on PostgreSQL: one statement to read a batch's standing, one to record it.

use diesel::prelude::*;

use super::{pairs, Found, Rows};
use crate::db;
use crate::store::votes::Cast;

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
pub(super) fn read_pg(
    pg: &mut diesel::PgConnection,
    casts: &[&Cast],
    round_ids: &[i64],
) -> QueryResult<Found> {
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

/// PostgreSQL: the whole batch in one statement of arrays, one round trip
/// whatever the batch's size (`read_pg` has locked the entries' rows).
pub(super) fn record_pg(pg: &mut diesel::PgConnection, rows: &Rows) -> QueryResult<()> {
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
