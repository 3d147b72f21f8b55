//! Opening a round, which fixes its entries.

use diesel::prelude::*;
use serde_json::json;

use super::{campaign_of, get, next_round, Round};
use crate::db::schema::{branches, entries, nominations, rounds};
use crate::db::{self, DbConn};
use crate::domain::campaign::{CampaignStatus, NominationStatus};
use crate::domain::round::{self as rules, RoundStatus};
use crate::store::campaigns as campaign_store;
use crate::store::{audit, StoreResult};

fn previous_round(conn: &mut DbConn, round: &Round) -> QueryResult<Option<(i64, String)>> {
    rounds::table
        .filter(rounds::campaign_id.eq(round.campaign_id))
        .filter(rounds::sequence.lt(round.sequence))
        .order(rounds::sequence.desc())
        .select((rounds::id, rounds::status))
        .first(conn)
        .optional()
}

/// Opens a pending round. Its entries are fixed now: the submitted
/// nominations for the first round, the entries the previous round advanced
/// otherwise; their member company and branch are copied so that a later
/// change of the org chart cannot move a frozen entry.
pub fn open(conn: &mut DbConn, actor: i64, id: i64) -> StoreResult<Round> {
    db::write_tx(conn, |conn| {
        let campaign_id = campaign_of(conn, id)?;
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        let campaign = campaign_store::get(conn, campaign_id)?;
        let round = get(conn, id)?;
        let previous = previous_round(conn, &round)?;
        let is_last = next_round(conn, &round)?.is_none();
        let candidates: i64 = match &previous {
            None => nominations::table
                .filter(nominations::campaign_id.eq(campaign_id))
                .filter(nominations::status.eq(NominationStatus::Submitted))
                .count()
                .get_result(conn)?,
            Some((previous_id, _)) => entries::table
                .inner_join(nominations::table)
                .filter(entries::round_id.eq(previous_id))
                .filter(entries::advanced.eq(true))
                .filter(nominations::status.eq(NominationStatus::Submitted))
                .count()
                .get_result(conn)?,
        };
        rules::check_open(
            round.status,
            campaign.status == CampaignStatus::Screening,
            previous.as_ref().and_then(|(_, s)| RoundStatus::parse(s)),
            is_last,
            &round.advance,
            campaign.winners_target as usize,
            candidates as usize,
        )?;
        match previous {
            None => {
                let source = nominations::table
                    .inner_join(branches::table)
                    .filter(nominations::campaign_id.eq(campaign_id))
                    .filter(nominations::status.eq(NominationStatus::Submitted))
                    .select((
                        id.into_sql::<diesel::sql_types::BigInt>(),
                        nominations::id,
                        branches::member_company_id,
                        nominations::branch_id,
                        nominations::submitted_at.assume_not_null(),
                    ));
                diesel::insert_into(entries::table)
                    .values(source)
                    .into_columns((
                        entries::round_id,
                        entries::nomination_id,
                        entries::member_company_id,
                        entries::branch_id,
                        entries::submitted_at,
                    ))
                    .execute(conn)?;
            }
            Some((previous_id, _)) => {
                // Advanced, and not ruled out since.
                let source = entries::table
                    .inner_join(nominations::table)
                    .filter(entries::round_id.eq(previous_id))
                    .filter(entries::advanced.eq(true))
                    .filter(nominations::status.eq(NominationStatus::Submitted))
                    .select((
                        id.into_sql::<diesel::sql_types::BigInt>(),
                        entries::nomination_id,
                        entries::member_company_id,
                        entries::branch_id,
                        entries::submitted_at,
                    ));
                diesel::insert_into(entries::table)
                    .values(source)
                    .into_columns((
                        entries::round_id,
                        entries::nomination_id,
                        entries::member_company_id,
                        entries::branch_id,
                        entries::submitted_at,
                    ))
                    .execute(conn)?;
            }
        }
        let now = db::now();
        diesel::update(rounds::table.find(id))
            .set((
                rounds::status.eq(RoundStatus::Open),
                rounds::opened_at.eq(now),
                rounds::version.eq(round.version + 1),
                rounds::updated_at.eq(now),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            Some(actor),
            "round.open",
            &format!("round:{id}"),
            json!({"entries": candidates}),
        )?;
        get(conn, id)
    })
}
