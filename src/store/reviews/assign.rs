//! Assigning reviewers to every entry of an open round.

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::panelists;
use crate::db::schema::{assignments, entries, nominations};
use crate::db::{self, DbConn};
use crate::domain::assignment::{self, Shortfall};
use crate::domain::round::{Candidate, Panelist, RoundAction, RoundRefusal, RoundStatus};
use crate::domain::time::Timestamp;
use crate::store::rounds as round_store;
use crate::store::{audit, StoreResult};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssignmentReport {
    pub seed: u64,
    /// Assignments made by this call.
    pub created: usize,
    /// All assignments of the round after it.
    pub total: i64,
    /// Entries that could not get their reviewers, with how many they have.
    pub shortfalls: Vec<Shortfall>,
}

#[derive(Insertable)]
#[diesel(table_name = assignments)]
struct NewAssignment {
    round_id: i64,
    nomination_id: i64,
    reviewer_id: i64,
    created_at: Timestamp,
}

fn candidates(conn: &mut DbConn, round_id: i64) -> QueryResult<Vec<Candidate>> {
    Ok(entries::table
        .inner_join(nominations::table)
        .filter(entries::round_id.eq(round_id))
        .select((
            entries::nomination_id,
            entries::member_company_id,
            entries::branch_id,
            nominations::nominee_id,
            nominations::nominated_by,
        ))
        .load::<(i64, i64, i64, i64, i64)>(conn)?
        .into_iter()
        .map(|(nomination_id, member_company_id, branch_id, nominee_id, nominated_by)| Candidate {
            nomination_id,
            member_company_id,
            branch_id,
            nominee_id,
            nominated_by,
        })
        .collect())
}

/// Gives every entry of an open round its reviewers (see `domain::assignment`);
/// calling it again tops up, keeping every existing assignment.
pub fn generate(conn: &mut DbConn, actor: i64, round_id: i64, seed: u64) -> StoreResult<AssignmentReport> {
    db::write_tx(conn, |conn| {
        let campaign_id = round_store::campaign_of(conn, round_id)?;
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        let round = round_store::get(conn, round_id)?;
        if round.reviews_per_entry == 0 {
            return Err(RoundRefusal::NoReviewers.into());
        }
        round.require_status(RoundStatus::Open, RoundAction::AssignReviewers)?;
        let panel: Vec<Panelist> = panelists(conn, round_id)?
            .into_iter()
            .map(|p| Panelist {
                id: p.user_id,
                member_company_id: p.member_company_id,
                branch_id: p.branch_id,
            })
            .collect();
        let existing: Vec<(i64, i64)> = assignments::table
            .filter(assignments::round_id.eq(round_id))
            .select((assignments::nomination_id, assignments::reviewer_id))
            .load(conn)?;
        let entries = candidates(conn, round_id)?;
        let plan = assignment::plan(
            round.reviews_per_entry as usize,
            round.scope,
            round.conflict_scope,
            &entries,
            &panel,
            &existing,
            seed,
        );
        let now = db::now();
        let rows: Vec<NewAssignment> = plan
            .new
            .iter()
            .map(|(nomination_id, reviewer_id)| NewAssignment {
                round_id,
                nomination_id: *nomination_id,
                reviewer_id: *reviewer_id,
                created_at: now,
            })
            .collect();
        crate::insert_batches!(conn, assignments::table, rows, 1000)?;
        let report = AssignmentReport {
            seed,
            created: rows.len(),
            total: (existing.len() + rows.len()) as i64,
            shortfalls: plan.shortfalls,
        };
        audit::append(
            conn,
            Some(actor),
            "round.assign",
            &format!("round:{round_id}"),
            json!({"seed": seed, "created": report.created, "total": report.total,
                   "shortfalls": report.shortfalls.len()}),
        )?;
        Ok(report)
    })
}
