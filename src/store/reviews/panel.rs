//! A round's panel: read it, set it.

use std::collections::BTreeSet;

use diesel::prelude::*;
use serde_json::json;

use super::{panelists, PanelMember};
use crate::db::schema::{assignments, reviews, round_reviewers};
use crate::db::{self, DbConn};
use crate::domain::refusal::FieldIssue;
use crate::domain::roles::Role;
use crate::domain::round::{self as rules, RoundRefusal, RoundStatus};
use crate::store::rounds as round_store;
use crate::store::{audit, StoreResult};

pub fn panel(conn: &mut DbConn, round_id: i64) -> StoreResult<Vec<PanelMember>> {
    round_store::campaign_of(conn, round_id)?;
    Ok(panelists(conn, round_id)?)
}

/// Sets a round's panel. Reviewers who leave it lose the assignments they
/// have not reviewed yet; reviews already given stay and count.
pub fn set_panel(
    conn: &mut DbConn,
    actor: i64,
    round_id: i64,
    user_ids: &[i64],
) -> StoreResult<Vec<PanelMember>> {
    let wanted: BTreeSet<i64> = user_ids.iter().copied().collect();
    db::write_tx(conn, |conn| {
        let campaign_id = round_store::campaign_of(conn, round_id)?;
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        let round = round_store::get(conn, round_id)?;
        if round.status == RoundStatus::Closed {
            return Err(RoundRefusal::PanelFinal.into());
        }
        let mut errors = Vec::new();
        for (i, id) in wanted.iter().enumerate() {
            let user = crate::store::users::find(conn, *id)?;
            let candidate = user.as_ref().map(|u| rules::Reviewer {
                active: u.is_active(),
                has_role: u.roles().has(Role::Reviewer),
                in_member_company: u.member_company_id.is_some(),
            });
            if let Err(problem) = rules::check_reviewer(round.scope, candidate) {
                errors.push(FieldIssue::new(format!("user_ids[{i}]"), format!("user {id}: {problem}")));
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let current: BTreeSet<i64> = round_reviewers::table
            .filter(round_reviewers::round_id.eq(round_id))
            .select(round_reviewers::user_id)
            .load::<i64>(conn)?
            .into_iter()
            .collect();
        let leaving: Vec<i64> = current.difference(&wanted).copied().collect();
        let joining: Vec<i64> = wanted.difference(&current).copied().collect();
        let reviewed = reviews::table
            .filter(reviews::round_id.eq(round_id))
            .filter(reviews::reviewer_id.eq(assignments::reviewer_id))
            .filter(reviews::nomination_id.eq(assignments::nomination_id));
        let dropped = diesel::delete(
            assignments::table
                .filter(assignments::round_id.eq(round_id))
                .filter(assignments::reviewer_id.eq_any(&leaving))
                .filter(diesel::dsl::not(diesel::dsl::exists(reviewed))),
        )
        .execute(conn)?;
        diesel::delete(
            round_reviewers::table
                .filter(round_reviewers::round_id.eq(round_id))
                .filter(round_reviewers::user_id.eq_any(&leaving)),
        )
        .execute(conn)?;
        for user_id in &joining {
            diesel::insert_into(round_reviewers::table)
                .values((round_reviewers::round_id.eq(round_id), round_reviewers::user_id.eq(user_id)))
                .execute(conn)?;
        }
        audit::append(
            conn,
            Some(actor),
            "round.panel",
            &format!("round:{round_id}"),
            json!({"joined": joining, "left": leaving, "assignments_dropped": dropped}),
        )?;
        Ok(panelists(conn, round_id)?)
    })
}
