//! Nominations: a branch manager puts an employee forward with a case story.

use crate::domain::time::Timestamp;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::db::schema::{branches, campaigns, member_companies, nomination_counts, nominations, users};
use crate::db::{self, DbConn};
use crate::domain::access::Actor;
use crate::domain::account::UserStatus;
use crate::domain::campaign::{nomination_window, NominationStatus};
use crate::domain::nomination::{self as rules, NominationAction, NominationRefusal, Nominee};
use crate::domain::refusal::check_version;
use crate::domain::round::RoundStatus;
use crate::store::campaigns::{self as campaign_store, Campaign};
use crate::store::{
    audit, contains_pattern, MustExist, Page, PageRequest, Refusal, Resource, StoreError, StoreResult,
};

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

/// Nominations change only while the campaign is nominating and its window open.
fn require_window(campaign: &Campaign) -> StoreResult<()> {
    let opens = campaign.nomination_opens_at;
    Ok(nomination_window(campaign.status, opens, campaign.nomination_closes_at, db::now())?)
}

fn require_branch(actor: &Actor, branch_id: i64) -> StoreResult<()> {
    if actor.manages_branch(branch_id) {
        Ok(())
    } else {
        Err(NominationRefusal::OtherBranch.into())
    }
}

/// The branch of an employee `actor` may nominate, by the rules of `domain`.
fn nominee_branch(conn: &mut DbConn, actor: &Actor, nominee_id: i64) -> StoreResult<i64> {
    let nominee: Option<(Option<i64>, UserStatus)> =
        users::table.find(nominee_id).select((users::branch_id, users::status)).first(conn).optional()?;
    let nominee =
        nominee.map(|(branch_id, status)| Nominee { branch_id, active: status == UserStatus::Active });
    Ok(rules::nominee_branch(actor, nominee_id, nominee)?)
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    campaign_id: i64,
    nominee_id: i64,
    text: NominationText,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        open_campaign(conn, campaign_id)?;
        let branch_id = nominee_branch(conn, actor, nominee_id)?;
        let now = db::now();
        let id: i64 = diesel::insert_into(nominations::table)
            .values((
                nominations::campaign_id.eq(campaign_id),
                nominations::branch_id.eq(branch_id),
                nominations::nominee_id.eq(nominee_id),
                nominations::nominated_by.eq(actor.id),
                nominations::title.eq(&text.title),
                nominations::summary.eq(&text.summary),
                nominations::story.eq(&text.story),
                nominations::links.eq(json!(text.links).to_string()),
                nominations::status.eq(NominationStatus::Draft),
                nominations::created_at.eq(now),
                nominations::updated_at.eq(now),
            ))
            .returning(nominations::id)
            .get_result(conn)
            .map_err(|e| {
                if db::is_unique_violation(&e) {
                    NominationRefusal::AlreadyNominated.into()
                } else {
                    StoreError::from(e)
                }
            })?;
        audit::append(
            conn,
            Some(actor.id),
            "nomination.create",
            &format!("nomination:{id}"),
            json!({"campaign_id": campaign_id, "nominee_id": nominee_id, "branch_id": branch_id, "title": text.title}),
        )?;
        get(conn, id)
    })
}

/// Loads a nomination for a change by `actor`, with its campaign, checking
/// scope, version and window.
fn for_change(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    expected_version: Option<i32>,
) -> StoreResult<(Nomination, Campaign)> {
    let nomination = get(conn, id)?;
    require_branch(actor, nomination.branch_id)?;
    check_version(nomination.version, expected_version)?;
    let campaign = open_campaign(conn, nomination.campaign_id)?;
    Ok((nomination, campaign))
}

/// Reads the campaign under its shared lock and checks the window: a campaign
/// change (status, window, quota) waits for nomination writes in flight and
/// they wait for it, so none acts on a campaign that has moved on.
fn open_campaign(conn: &mut DbConn, campaign_id: i64) -> StoreResult<Campaign> {
    db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, true)?;
    let campaign = campaign_store::get(conn, campaign_id)?;
    require_window(&campaign)?;
    Ok(campaign)
}

/// Losing a race on a nomination's version: 412 if the client named the
/// version it read, 409 if it did not.
fn changed_meanwhile(if_match: bool) -> StoreError {
    Refusal::ChangedMeanwhile { resource: Resource::Nomination, if_match }.into()
}

/// Writes the new status (and text) if the nomination is still at `version`.
fn bump(
    conn: &mut DbConn,
    precondition: bool,
    nomination: &Nomination,
    set_status: Option<NominationStatus>,
    text: Option<&NominationText>,
) -> StoreResult<()> {
    let now = db::now();
    let target = nominations::table.find(nomination.id).filter(nominations::version.eq(nomination.version));
    let next_version = nominations::version.eq(nomination.version + 1);
    let updated = match (set_status, text) {
        (_, Some(text)) => diesel::update(target)
            .set((
                nominations::title.eq(&text.title),
                nominations::summary.eq(&text.summary),
                nominations::story.eq(&text.story),
                nominations::links.eq(json!(text.links).to_string()),
                next_version,
                nominations::updated_at.eq(now),
            ))
            .execute(conn)?,
        (Some(NominationStatus::Submitted), None) => diesel::update(target)
            .set((
                nominations::status.eq(NominationStatus::Submitted),
                nominations::submitted_at.eq(now),
                next_version,
                nominations::updated_at.eq(now),
            ))
            .execute(conn)?,
        (Some(status), None) => diesel::update(target)
            .set((nominations::status.eq(status.as_str()), next_version, nominations::updated_at.eq(now)))
            .execute(conn)?,
        (None, None) => 1,
    };
    if updated == 0 {
        return Err(changed_meanwhile(precondition));
    }
    Ok(())
}

/// The fields an edit may change; absent ones keep their value.
#[derive(Debug, Default)]
pub struct TextPatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub story: Option<String>,
    pub links: Option<Vec<String>>,
}

pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    patch: TextPatch,
    expected_version: Option<i32>,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        let (nomination, _) = for_change(conn, actor, id, expected_version)?;
        rules::check_status(nomination.status, NominationAction::Edit)?;
        let text = NominationText {
            title: patch.title.unwrap_or_else(|| nomination.title.clone()),
            summary: patch.summary.unwrap_or_else(|| nomination.summary.clone()),
            story: patch.story.or_else(|| nomination.story.clone()).unwrap_or_default(),
            links: patch.links.unwrap_or_else(|| nomination.links.clone()),
        };
        bump(conn, expected_version.is_some(), &nomination, None, Some(&text))?;
        audit::append(
            conn,
            Some(actor.id),
            "nomination.update",
            &format!("nomination:{id}"),
            json!({"title": text.title, "summary": text.summary, "story_chars": text.story.chars().count(), "links": text.links}),
        )?;
        get(conn, id)
    })
}

/// Takes one of the branch's quota places. A conditional update on the
/// branch's counter: the database refuses the place when none is left, so
/// parallel submits can never exceed the quota.
fn take_quota_place(conn: &mut DbConn, campaign: &Campaign, branch_id: i64) -> StoreResult<()> {
    let exists: i64 = nomination_counts::table
        .filter(nomination_counts::campaign_id.eq(campaign.id))
        .filter(nomination_counts::branch_id.eq(branch_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        // A savepoint, so that losing the race to create the row only undoes this insert.
        let created = conn.transaction(|conn| {
            diesel::insert_into(nomination_counts::table)
                .values((
                    nomination_counts::campaign_id.eq(campaign.id),
                    nomination_counts::branch_id.eq(branch_id),
                ))
                .execute(conn)
        });
        match created {
            Ok(_) => {}
            Err(e) if db::is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let quota = campaigns::table.find(campaign.id).select(campaigns::nominations_per_branch).single_value();
    let taken = diesel::update(
        nomination_counts::table
            .filter(nomination_counts::campaign_id.eq(campaign.id))
            .filter(nomination_counts::branch_id.eq(branch_id))
            .filter(nomination_counts::submitted.nullable().lt(quota)),
    )
    .set(nomination_counts::submitted.eq(nomination_counts::submitted + 1))
    .execute(conn)?;
    if taken == 0 {
        return Err(
            NominationRefusal::QuotaExhausted { quota: campaign.nominations_per_branch.into() }.into()
        );
    }
    Ok(())
}

fn release_quota_place(conn: &mut DbConn, campaign_id: i64, branch_id: i64) -> StoreResult<()> {
    diesel::update(
        nomination_counts::table
            .filter(nomination_counts::campaign_id.eq(campaign_id))
            .filter(nomination_counts::branch_id.eq(branch_id)),
    )
    .set(nomination_counts::submitted.eq(nomination_counts::submitted - 1))
    .execute(conn)?;
    Ok(())
}

pub fn submit(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    expected_version: Option<i32>,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        let (nomination, campaign) = for_change(conn, actor, id, expected_version)?;
        rules::check_status(nomination.status, NominationAction::Submit)?;
        // The nominee may have left the branch or been disabled since the draft.
        if nominee_branch(conn, actor, nomination.nominee_id)? != nomination.branch_id {
            return Err(NominationRefusal::NomineeMoved.into());
        }
        // The nomination row first, then the counter: one lock order everywhere.
        bump(conn, expected_version.is_some(), &nomination, Some(NominationStatus::Submitted), None)?;
        take_quota_place(conn, &campaign, nomination.branch_id)?;
        audit::append(conn, Some(actor.id), "nomination.submit", &format!("nomination:{id}"), json!({}))?;
        get(conn, id)
    })
}

pub fn withdraw(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    expected_version: Option<i32>,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        let (nomination, _) = for_change(conn, actor, id, expected_version)?;
        rules::check_status(nomination.status, NominationAction::Withdraw)?;
        bump(conn, expected_version.is_some(), &nomination, Some(NominationStatus::Withdrawn), None)?;
        if nomination.status == NominationStatus::Submitted {
            release_quota_place(conn, nomination.campaign_id, nomination.branch_id)?;
        }
        audit::append(conn, Some(actor.id), "nomination.withdraw", &format!("nomination:{id}"), json!({}))?;
        get(conn, id)
    })
}

/// Deletes a draft (a submitted nomination is withdrawn instead, and kept).
pub fn delete_draft(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    expected_version: Option<i32>,
) -> StoreResult<()> {
    db::write_tx(conn, |conn| {
        let (nomination, _) = for_change(conn, actor, id, expected_version)?;
        rules::check_status(nomination.status, NominationAction::Delete)?;
        let deleted =
            diesel::delete(nominations::table.find(id).filter(nominations::version.eq(nomination.version)))
                .execute(conn)?;
        if deleted == 0 {
            return Err(changed_meanwhile(expected_version.is_some()));
        }
        audit::append(
            conn,
            Some(actor.id),
            "nomination.delete",
            &format!("nomination:{id}"),
            json!({"nominee_id": nomination.nominee_id, "title": nomination.title}),
        )?;
        Ok(())
    })
}

/// An admin rules a nomination out, with a reason; its quota place is freed.
pub fn mark_ineligible(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    reason: &str,
    expected_version: Option<i32>,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        let nomination = get(conn, id)?;
        check_version(nomination.version, expected_version)?;
        db::lock_resource(conn, db::LockSpace::Campaign, nomination.campaign_id, true)?;
        let campaign = campaign_store::get(conn, nomination.campaign_id)?;
        let (rounds, _) = campaign_store::screening_state(conn, campaign.id)?;
        let last_round_closed = rounds.last() == Some(&RoundStatus::Closed);
        rules::check_rule_out(campaign.status, last_round_closed, nomination.status)?;
        // Only if it is still what was read: a concurrent withdraw or submit
        // makes this lose, so the quota counter is freed exactly once.
        let updated = diesel::update(
            nominations::table
                .find(id)
                .filter(nominations::version.eq(nomination.version))
                .filter(nominations::status.eq(nomination.status)),
        )
        .set((
            nominations::status.eq(NominationStatus::Ineligible),
            nominations::ineligible_reason.eq(reason),
            nominations::version.eq(nomination.version + 1),
            nominations::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(changed_meanwhile(expected_version.is_some()));
        }
        if nomination.status == NominationStatus::Submitted {
            release_quota_place(conn, nomination.campaign_id, nomination.branch_id)?;
        }
        audit::append(
            conn,
            Some(actor),
            "nomination.ineligible",
            &format!("nomination:{id}"),
            json!({"reason": reason, "was": nomination.status}),
        )?;
        get(conn, id)
    })
}

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
    let by_status: Vec<(i64, String, i64)> = nominations::table
        .filter(nominations::campaign_id.eq(campaign_id))
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
