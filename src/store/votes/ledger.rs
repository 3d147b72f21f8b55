//! The public ledger of a closed round: published at the close, then read and recounted.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;

use super::voting_round;
use crate::db::schema::{ledger, votes};
use crate::db::DbConn;
use crate::domain::round::{RoundRefusal, RoundStatus};
use crate::store::{MustExist, Page, PageRequest, Resource, StoreResult};

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
