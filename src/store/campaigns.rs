//! Campaigns: one year's award, its nomination window, quota and target.

use crate::domain::time::Timestamp;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::db::schema::{campaigns, entries, nomination_counts, rounds};
use crate::db::{self, DbConn};
use crate::domain::campaign::{self as rules, CampaignRefusal, CampaignStatus};
use crate::domain::refusal::check_version;
use crate::domain::round::{self as round_rules, RoundStatus};
use crate::store::{audit, MustExist, Page, PageRequest, Refusal, Resource, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = campaigns)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    pub nomination_opens_at: Timestamp,
    pub nomination_closes_at: Timestamp,
    pub nominations_per_branch: i32,
    pub winners_target: i32,
    /// draft → nominating → screening → finished → published
    pub status: CampaignStatus,
    /// Bumped by every change; send it back as `If-Match` to refuse stale edits.
    pub version: i32,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

pub struct NewCampaign {
    pub name: String,
    pub nomination_opens_at: Timestamp,
    pub nomination_closes_at: Timestamp,
    pub nominations_per_branch: i32,
    pub winners_target: i32,
}

#[derive(Debug, Default, Clone, AsChangeset, Serialize)]
#[diesel(table_name = campaigns)]
pub struct CampaignChanges {
    pub name: Option<String>,
    pub nomination_opens_at: Option<Timestamp>,
    pub nomination_closes_at: Option<Timestamp>,
    pub nominations_per_branch: Option<i32>,
    pub winners_target: Option<i32>,
    pub status: Option<CampaignStatus>,
}

impl CampaignChanges {
    fn touches_settings(&self) -> bool {
        self.name.is_some()
            || self.nomination_opens_at.is_some()
            || self.nomination_closes_at.is_some()
            || self.nominations_per_branch.is_some()
            || self.winners_target.is_some()
    }
}

pub fn create(conn: &mut DbConn, actor: i64, new: NewCampaign) -> StoreResult<Campaign> {
    rules::check_window(new.nomination_opens_at, new.nomination_closes_at)?;
    db::write_tx(conn, |conn| {
        let now = db::now();
        let campaign = diesel::insert_into(campaigns::table)
            .values((
                campaigns::name.eq(&new.name),
                campaigns::nomination_opens_at.eq(new.nomination_opens_at),
                campaigns::nomination_closes_at.eq(new.nomination_closes_at),
                campaigns::nominations_per_branch.eq(new.nominations_per_branch),
                campaigns::winners_target.eq(new.winners_target),
                campaigns::status.eq(CampaignStatus::Draft),
                campaigns::created_at.eq(now),
                campaigns::updated_at.eq(now),
            ))
            .returning(campaigns::all_columns)
            .get_result::<Campaign>(conn)?;
        audit::append(
            conn,
            Some(actor),
            "campaign.create",
            &format!("campaign:{}", campaign.id),
            json!({
                "name": new.name,
                "nomination_opens_at": new.nomination_opens_at,
                "nomination_closes_at": new.nomination_closes_at,
                "nominations_per_branch": new.nominations_per_branch,
                "winners_target": new.winners_target,
            }),
        )?;
        Ok(campaign)
    })
}

pub fn get(conn: &mut DbConn, id: i64) -> StoreResult<Campaign> {
    campaigns::table.find(id).select(Campaign::as_select()).first(conn).optional()?.found(Resource::Campaign)
}

pub fn list(conn: &mut DbConn, page: PageRequest) -> StoreResult<Page<Campaign>> {
    let total = campaigns::table.count().get_result(conn)?;
    let items = campaigns::table
        .select(Campaign::as_select())
        .order(campaigns::id.desc())
        .limit(page.per_page)
        .offset(page.offset())
        .load(conn)?;
    Ok(page.of(items, total))
}

pub fn update(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    changes: CampaignChanges,
    expected_version: Option<i32>,
) -> StoreResult<Campaign> {
    db::write_tx(conn, |conn| {
        // Exclusive: nomination writes in flight finish first, and later ones
        // see this change (status, window, quota) before they act.
        db::lock_resource(conn, db::LockSpace::Campaign, id, false)?;
        let current = get(conn, id)?;
        check_version(current.version, expected_version)?;
        let next = changes.status;
        rules::check_change(current.status, changes.touches_settings(), next)?;
        if next == Some(CampaignStatus::Finished) && current.status == CampaignStatus::Screening {
            let (rounds, advanced) = screening_state(conn, id)?;
            round_rules::winners_decided(&rounds, advanced, current.winners_target as usize)
                .map_err(CampaignRefusal::ScreeningUnfinished)?;
        }
        rules::check_window(
            changes.nomination_opens_at.unwrap_or(current.nomination_opens_at),
            changes.nomination_closes_at.unwrap_or(current.nomination_closes_at),
        )?;
        if let Some(quota) = changes.nominations_per_branch {
            let fullest: Option<i32> = nomination_counts::table
                .filter(nomination_counts::campaign_id.eq(id))
                .select(diesel::dsl::max(nomination_counts::submitted))
                .first(conn)?;
            rules::check_quota(quota.into(), fullest.map(i64::from))?;
        }
        let updated =
            diesel::update(campaigns::table.find(id).filter(campaigns::version.eq(current.version)))
                .set((
                    &changes,
                    campaigns::version.eq(current.version + 1),
                    campaigns::updated_at.eq(db::now()),
                ))
                .execute(conn)?;
        if updated == 0 {
            // Cannot happen under the lock on PostgreSQL nor under SQLite's
            // write lock; kept so that a lost race is never a silent overwrite.
            return Err(Refusal::ChangedMeanwhile { resource: Resource::Campaign, if_match: false }.into());
        }
        audit::append(conn, Some(actor), "campaign.update", &format!("campaign:{id}"), json!(changes))?;
        get(conn, id)
    })
}

/// The statuses of a campaign's rounds in order, and how many entries its
/// last round advanced.
pub fn screening_state(conn: &mut DbConn, campaign_id: i64) -> StoreResult<(Vec<RoundStatus>, usize)> {
    let rows: Vec<(i64, RoundStatus)> = rounds::table
        .filter(rounds::campaign_id.eq(campaign_id))
        .order(rounds::sequence)
        .select((rounds::id, rounds::status))
        .load(conn)?;
    let advanced: i64 = match rows.last() {
        Some((last, _)) => entries::table
            .filter(entries::round_id.eq(last))
            .filter(entries::advanced.eq(true))
            .count()
            .get_result(conn)?,
        None => 0,
    };
    Ok((rows.into_iter().map(|(_, status)| status).collect(), advanced as usize))
}
