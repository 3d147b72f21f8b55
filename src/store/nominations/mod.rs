//! Nominations: a branch manager puts an employee forward with a case story.
//! This module holds the nomination as stored and shown, and reading one.

mod counts;
mod list;
mod write;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{branches, campaigns, nominations, users};
use crate::db::DbConn;
use crate::domain::campaign::NominationStatus;
use crate::domain::time::Timestamp;
use crate::store::{MustExist, Resource, StoreResult};

pub use counts::{counts, CampaignCounts, CountRow};
pub use list::{all_for_export, list, NominationFilter, NominationSort};
pub use write::{create, delete_draft, mark_ineligible, submit, update, withdraw, TextPatch};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = nominations)]
struct NominationRow {
    id: i64,
    campaign_id: i64,
    branch_id: i64,
    nominee_id: i64,
    nominated_by: i64,
    title: String,
    summary: String,
    links: String,
    status: NominationStatus,
    ineligible_reason: Option<String>,
    version: i32,
    submitted_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

/// A nomination with the names a reader needs beside the ids.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Nomination {
    pub id: i64,
    pub campaign_id: i64,
    pub branch_id: i64,
    pub branch_name: String,
    pub member_company_id: i64,
    pub nominee_id: i64,
    pub nominee_name: String,
    pub nominee_employee_no: String,
    pub nominated_by: i64,
    pub title: String,
    pub summary: String,
    /// The case story; left out of lists (read one nomination for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub story: Option<String>,
    pub links: Vec<String>,
    pub status: NominationStatus,
    pub ineligible_reason: Option<String>,
    /// Bumped by every change; send it back as `If-Match` to refuse stale edits.
    pub version: i32,
    pub submitted_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Nomination {
    fn from_parts(
        row: NominationRow,
        branch_name: String,
        member_company_id: i64,
        nominee: (String, String),
        story: Option<String>,
    ) -> Self {
        Nomination {
            id: row.id,
            campaign_id: row.campaign_id,
            branch_id: row.branch_id,
            branch_name,
            member_company_id,
            nominee_id: row.nominee_id,
            nominee_name: nominee.0,
            nominee_employee_no: nominee.1,
            nominated_by: row.nominated_by,
            title: row.title,
            summary: row.summary,
            story,
            links: serde_json::from_str(&row.links).unwrap_or_default(),
            status: row.status,
            ineligible_reason: row.ineligible_reason,
            version: row.version,
            submitted_at: row.submitted_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        }
    }
}

type Joined = (NominationRow, String, i64, (String, String));

#[diesel::dsl::auto_type]
fn joined() -> _ {
    let nominee: diesel::dsl::Eq<users::id, nominations::nominee_id> = users::id.eq(nominations::nominee_id);
    nominations::table.inner_join(branches::table).inner_join(users::table.on(nominee))
}

pub fn get(conn: &mut DbConn, id: i64) -> StoreResult<Nomination> {
    let (row, branch, company, nominee, story) = joined()
        .filter(nominations::id.eq(id))
        .select((
            NominationRow::as_select(),
            branches::name,
            branches::member_company_id,
            (users::name, users::employee_no),
            nominations::story,
        ))
        .first::<(NominationRow, String, i64, (String, String), String)>(conn)
        .optional()?
        .found(Resource::Nomination)?;
    Ok(Nomination::from_parts(row, branch, company, nominee, Some(story)))
}

/// What a nominee may see of nominations of themselves.
#[derive(Debug, Clone, Serialize, Queryable, utoipa::ToSchema)]
pub struct OwnNomination {
    pub id: i64,
    pub campaign_id: i64,
    pub campaign_name: String,
    pub title: String,
    pub status: NominationStatus,
}

pub fn of_nominee(conn: &mut DbConn, nominee_id: i64) -> StoreResult<Vec<OwnNomination>> {
    Ok(nominations::table
        .inner_join(campaigns::table)
        .filter(nominations::nominee_id.eq(nominee_id))
        .filter(nominations::status.ne(NominationStatus::Draft))
        .select((
            nominations::id,
            nominations::campaign_id,
            campaigns::name,
            nominations::title,
            nominations::status,
        ))
        .order(nominations::id.desc())
        .load(conn)?)
}

pub struct NominationText {
    pub title: String,
    pub summary: String,
    pub story: String,
    pub links: Vec<String>,
}
