//! Reviewing a round: its panel, who reviews which entry, the reviews
//! themselves and how far along they are.
//! This module holds the panel member every part shows.

mod assign;
mod export;
mod panel;
mod progress;
mod review;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{branches, round_reviewers, users};
use crate::db::DbConn;

pub use assign::{generate, AssignmentReport};
pub use export::{all_for_export, ReviewExport};
pub use panel::{panel, set_panel};
pub use progress::{progress, EntryProgress, Progress, ReviewerProgress};
pub use review::{mine, one_of_mine, queue, submit, Assignment, MyAssignments, QueueLine, SavedReview};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PanelMember {
    pub user_id: i64,
    pub employee_no: String,
    pub name: String,
    pub branch_id: Option<i64>,
    pub member_company_id: Option<i64>,
}

fn panelists(conn: &mut DbConn, round_id: i64) -> QueryResult<Vec<PanelMember>> {
    Ok(round_reviewers::table
        .inner_join(users::table.left_join(branches::table))
        .filter(round_reviewers::round_id.eq(round_id))
        .order(users::id)
        .select((
            users::id,
            users::employee_no,
            users::name,
            users::branch_id,
            branches::member_company_id.nullable(),
        ))
        .load::<(i64, String, String, Option<i64>, Option<i64>)>(conn)?
        .into_iter()
        .map(|(user_id, employee_no, name, branch_id, member_company_id)| PanelMember {
            user_id,
            employee_no,
            name,
            branch_id,
            member_company_id,
        })
        .collect())
}
