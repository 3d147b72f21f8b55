//! Nominated, submitted and quota left per branch and member company.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{branches, member_companies, nominations};
use crate::db::{self, DbConn};
use crate::domain::campaign::NominationStatus;
use crate::store::campaigns as campaign_store;
use crate::store::StoreResult;

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CountRow {
    pub id: i64,
    pub code: String,
    pub name: String,
    /// Nominations that are not withdrawn (drafts, submitted, ineligible).
    pub nominated: i64,
    pub submitted: i64,
    pub drafts: i64,
    pub quota: i64,
    pub quota_left: i64,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct CampaignCounts {
    pub campaign_id: i64,
    pub nominations_per_branch: i32,
    pub branches: Vec<CountRow>,
    pub member_companies: Vec<CountRow>,
    pub total: CountRow,
}

/// Nominated, submitted and quota left per branch and per member company, in one call.
pub fn counts(conn: &mut DbConn, campaign_id: i64, branch_scope: Option<i64>) -> StoreResult<CampaignCounts> {
    let campaign = campaign_store::get(conn, campaign_id)?;
    let quota = campaign.nominations_per_branch as i64;
    // One branch's page counts that branch's nominations only.
    let (first, last) = branch_scope.map_or((i64::MIN, i64::MAX), |b| (b, b));
    let by_status: Vec<(i64, String, i64)> = nominations::table
        .filter(nominations::campaign_id.eq(campaign_id))
        .filter(nominations::branch_id.between(first, last))
        .group_by((nominations::branch_id, nominations::status))
        .select((nominations::branch_id, nominations::status, diesel::dsl::count_star()))
        .load(conn)?;
    let mut all_branches = branches::table.into_boxed::<db::MultiBackend>();
    if let Some(branch) = branch_scope {
        all_branches = all_branches.filter(branches::id.eq(branch));
    }
    let all_branches: Vec<(i64, String, String, i64)> = all_branches
        .select((branches::id, branches::code, branches::name, branches::member_company_id))
        .order(branches::code.asc())
        .load(conn)?;
    let companies: Vec<(i64, String, String)> = member_companies::table
        .select((member_companies::id, member_companies::code, member_companies::name))
        .order(member_companies::code.asc())
        .load(conn)?;
    let empty = |id, code: &str, name: &str| CountRow {
        id,
        code: code.to_owned(),
        name: name.to_owned(),
        nominated: 0,
        submitted: 0,
        drafts: 0,
        quota: 0,
        quota_left: 0,
    };
    let mut total = empty(0, "", "total");
    let mut company_rows: Vec<CountRow> = vec![];
    let mut branch_rows = vec![];
    for (id, code, name, company_id) in all_branches {
        let mut row = empty(id, &code, &name);
        for (_, status, n) in by_status.iter().filter(|(b, _, _)| *b == id) {
            match NominationStatus::parse(status) {
                Some(NominationStatus::Submitted) => row.submitted += n,
                Some(NominationStatus::Draft) => row.drafts += n,
                _ => {}
            }
            if status != NominationStatus::Withdrawn.as_str() {
                row.nominated += n;
            }
        }
        row.quota = quota;
        row.quota_left = (quota - row.submitted).max(0);
        let Some((_, company_code, company_name)) = companies.iter().find(|(c, _, _)| *c == company_id)
        else {
            continue;
        };
        let position = match company_rows.iter().position(|c| c.id == company_id) {
            Some(p) => p,
            None => {
                company_rows.push(empty(company_id, company_code, company_name));
                company_rows.len() - 1
            }
        };
        for acc in [&mut company_rows[position], &mut total] {
            acc.nominated += row.nominated;
            acc.submitted += row.submitted;
            acc.drafts += row.drafts;
            acc.quota += row.quota;
            acc.quota_left += row.quota_left;
        }
        branch_rows.push(row);
    }
    company_rows.sort_by(|a, b| a.code.cmp(&b.code));
    Ok(CampaignCounts {
        campaign_id,
        nominations_per_branch: campaign.nominations_per_branch,
        branches: branch_rows,
        member_companies: company_rows,
        total,
    })
}
