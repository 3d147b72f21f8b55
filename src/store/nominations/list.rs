//! Listing a campaign's nominations (filtered, sorted, paged) and the nominations export.

use diesel::prelude::*;

use super::{joined, Joined, Nomination, NominationRow};
use crate::db::schema::{branches, member_companies, nominations, users};
use crate::db::{self, DbConn};
use crate::domain::campaign::NominationStatus;
use crate::store::campaigns as campaign_store;
use crate::store::{contains_pattern, Page, PageRequest, StoreResult};

#[derive(Debug, Default, Clone)]
pub struct NominationFilter {
    pub branch_id: Option<i64>,
    pub member_company_id: Option<i64>,
    pub status: Option<NominationStatus>,
    pub q: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
pub enum NominationSort {
    #[default]
    #[serde(rename = "id")]
    Id,
    #[serde(rename = "-id")]
    IdDesc,
    #[serde(rename = "submitted_at")]
    SubmittedAt,
    #[serde(rename = "-submitted_at")]
    SubmittedAtDesc,
    #[serde(rename = "title")]
    Title,
    #[serde(rename = "nominee_name")]
    NomineeName,
    #[serde(rename = "branch")]
    Branch,
}

pub fn list(
    conn: &mut DbConn,
    campaign_id: i64,
    filter: &NominationFilter,
    sort: NominationSort,
    page: PageRequest,
) -> StoreResult<Page<Nomination>> {
    campaign_store::get(conn, campaign_id)?;
    let query = || {
        let mut q =
            joined().filter(nominations::campaign_id.eq(campaign_id)).into_boxed::<db::MultiBackend>();
        if let Some(branch) = filter.branch_id {
            q = q.filter(nominations::branch_id.eq(branch));
        }
        if let Some(company) = filter.member_company_id {
            q = q.filter(branches::member_company_id.eq(company));
        }
        if let Some(status) = filter.status {
            q = q.filter(nominations::status.eq(status.as_str()));
        }
        if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
            let pattern = contains_pattern(text);
            q = q.filter(
                nominations::title
                    .like(pattern.clone())
                    .escape('\\')
                    .or(users::name.like(pattern).escape('\\')),
            );
        }
        q
    };
    let total = if filter.q.is_none() && filter.member_company_id.is_none() {
        // Nothing to match in the joined tables: count on nominations' own index.
        let mut q = nominations::table
            .filter(nominations::campaign_id.eq(campaign_id))
            .into_boxed::<db::MultiBackend>();
        if let Some(branch) = filter.branch_id {
            q = q.filter(nominations::branch_id.eq(branch));
        }
        if let Some(status) = filter.status {
            q = q.filter(nominations::status.eq(status.as_str()));
        }
        q.count().get_result(conn)?
    } else {
        query().count().get_result(conn)?
    };
    let ordered = match sort {
        NominationSort::Id => query().order(nominations::id.asc()),
        NominationSort::IdDesc => query().order(nominations::id.desc()),
        NominationSort::SubmittedAt => query().order((
            nominations::submitted_at.is_null().asc(),
            nominations::submitted_at.asc(),
            nominations::id.asc(),
        )),
        // Unsubmitted (NULL) last on both backends, which disagree by default.
        NominationSort::SubmittedAtDesc => query().order((
            nominations::submitted_at.is_null().asc(),
            nominations::submitted_at.desc(),
            nominations::id.desc(),
        )),
        NominationSort::Title => query().order((nominations::title.asc(), nominations::id.asc())),
        NominationSort::NomineeName => query().order((users::name.asc(), nominations::id.asc())),
        NominationSort::Branch => query().order((branches::code.asc(), nominations::id.asc())),
    };
    let items = ordered
        .select((
            NominationRow::as_select(),
            branches::name,
            branches::member_company_id,
            (users::name, users::employee_no),
        ))
        .limit(page.per_page)
        .offset(page.offset())
        .load::<Joined>(conn)?
        .into_iter()
        // Stories stay out of lists: not selected, so sorting never carries them.
        .map(|(row, branch, company, nominee)| Nomination::from_parts(row, branch, company, nominee, None))
        .collect();
    Ok(page.of(items, total))
}

/// Every nomination of a campaign, in id order, for the CSV export.
pub fn all_for_export(
    conn: &mut DbConn,
    campaign_id: i64,
    branch_scope: Option<i64>,
) -> StoreResult<Vec<(Nomination, String)>> {
    campaign_store::get(conn, campaign_id)?;
    let mut q = joined()
        .inner_join(member_companies::table.on(member_companies::id.eq(branches::member_company_id)))
        .filter(nominations::campaign_id.eq(campaign_id))
        .into_boxed::<db::MultiBackend>();
    if let Some(branch) = branch_scope {
        q = q.filter(nominations::branch_id.eq(branch));
    }
    Ok(q.order(nominations::id.asc())
        .select((
            NominationRow::as_select(),
            branches::name,
            branches::member_company_id,
            (users::name, users::employee_no),
            nominations::story,
            member_companies::name,
        ))
        .load::<(NominationRow, String, i64, (String, String), String, String)>(conn)?
        .into_iter()
        .map(|(row, branch, company, nominee, story, company_name)| {
            (Nomination::from_parts(row, branch, company, nominee, Some(story)), company_name)
        })
        .collect())
}
