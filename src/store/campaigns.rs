//! Campaigns: one year's award, its nomination window, quota and target.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::db::schema::{campaigns, nomination_counts};
use crate::db::{self, DbConn};
use crate::domain::campaign::CampaignStatus;
use crate::error::{AppError, AppResult};
use crate::store::{audit, Page, PageRequest};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = campaigns)]
pub struct Campaign {
    pub id: i64,
    pub name: String,
    #[serde(with = "crate::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub nomination_opens_at: NaiveDateTime,
    #[serde(with = "crate::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub nomination_closes_at: NaiveDateTime,
    pub nominations_per_branch: i32,
    pub winners_target: i32,
    /// draft → nominating → screening → finished → published
    pub status: String,
    /// Bumped by every change; send it back as `If-Match` to refuse stale edits.
    pub version: i32,
    #[serde(with = "crate::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
    #[serde(with = "crate::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub updated_at: NaiveDateTime,
}

impl Campaign {
    pub fn status(&self) -> CampaignStatus {
        CampaignStatus::parse(&self.status).unwrap_or(CampaignStatus::Draft)
    }
}

pub struct NewCampaign {
    pub name: String,
    pub nomination_opens_at: NaiveDateTime,
    pub nomination_closes_at: NaiveDateTime,
    pub nominations_per_branch: i32,
    pub winners_target: i32,
}

#[derive(Debug, Default, Clone, AsChangeset, Serialize)]
#[diesel(table_name = campaigns)]
pub struct CampaignChanges {
    pub name: Option<String>,
    pub nomination_opens_at: Option<NaiveDateTime>,
    pub nomination_closes_at: Option<NaiveDateTime>,
    pub nominations_per_branch: Option<i32>,
    pub winners_target: Option<i32>,
    pub status: Option<String>,
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

fn window_error() -> AppError {
    AppError::invalid_field("nomination_closes_at", "must be after nomination_opens_at")
}

pub fn create(conn: &mut DbConn, actor: i64, new: NewCampaign) -> AppResult<Campaign> {
    if new.nomination_closes_at <= new.nomination_opens_at {
        return Err(window_error());
    }
    db::write_tx(conn, |conn| {
        let now = db::now();
        let campaign = diesel::insert_into(campaigns::table)
            .values((
                campaigns::name.eq(&new.name),
                campaigns::nomination_opens_at.eq(new.nomination_opens_at),
                campaigns::nomination_closes_at.eq(new.nomination_closes_at),
                campaigns::nominations_per_branch.eq(new.nominations_per_branch),
                campaigns::winners_target.eq(new.winners_target),
                campaigns::status.eq(CampaignStatus::Draft.as_str()),
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

pub fn get(conn: &mut DbConn, id: i64) -> AppResult<Campaign> {
    campaigns::table
        .find(id)
        .select(Campaign::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("campaign"))
}

pub fn list(conn: &mut DbConn, page: PageRequest) -> AppResult<Page<Campaign>> {
    let total = campaigns::table.count().get_result(conn)?;
    let items = campaigns::table
        .select(Campaign::as_select())
        .order(campaigns::id.desc())
        .limit(page.per_page)
        .offset(page.offset())
        .load(conn)?;
    Ok(page.of(items, total))
}

/// Refuses a change made against an older version (412 for If-Match).
pub fn check_version(current: i32, expected: Option<i32>) -> AppResult<()> {
    match expected {
        Some(v) if v != current => Err(AppError::new(
            actix_web::http::StatusCode::PRECONDITION_FAILED,
            "stale",
            format!("the resource changed meanwhile (version {current}, you sent {v}); reload and retry"),
        )),
        _ => Ok(()),
    }
}

pub fn update(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    changes: CampaignChanges,
    expected_version: Option<i32>,
) -> AppResult<Campaign> {
    db::write_tx(conn, |conn| {
        // Exclusive: nomination writes in flight finish first, and later ones
        // see this change (status, window, quota) before they act.
        db::lock_resource(conn, db::LockSpace::Campaign, id, false)?;
        let current = get(conn, id)?;
        check_version(current.version, expected_version)?;
        if changes.touches_settings() && !current.status().is_editable() {
            return Err(AppError::conflict(
                "invalid_state",
                format!("a campaign that is {} can no longer be edited", current.status),
            ));
        }
        if let Some(next) = changes.status.as_deref().and_then(CampaignStatus::parse) {
            if next != current.status() && !current.status().can_move_to(next) {
                return Err(AppError::conflict(
                    "invalid_transition",
                    format!("a campaign cannot move from {} to {}", current.status, next.as_str()),
                ));
            }
        }
        if changes.status.as_deref() == Some(CampaignStatus::Finished.as_str())
            && current.status() == CampaignStatus::Screening
        {
            let (rounds, advanced) = crate::store::rounds::screening_state(conn, id)?;
            crate::domain::round::winners_decided(&rounds, advanced, current.winners_target as usize)
                .map_err(|why| AppError::conflict("screening_unfinished", why))?;
        }
        let opens = changes.nomination_opens_at.unwrap_or(current.nomination_opens_at);
        let closes = changes.nomination_closes_at.unwrap_or(current.nomination_closes_at);
        if closes <= opens {
            return Err(window_error());
        }
        if let Some(quota) = changes.nominations_per_branch {
            let fullest: Option<i32> = nomination_counts::table
                .filter(nomination_counts::campaign_id.eq(id))
                .select(diesel::dsl::max(nomination_counts::submitted))
                .first(conn)?;
            if let Some(fullest) = fullest.filter(|f| *f > quota) {
                return Err(AppError::conflict(
                    "quota_below_submitted",
                    format!("a branch already has {fullest} submitted nominations, more than {quota}"),
                ));
            }
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
            return Err(AppError::conflict("stale", "the campaign changed meanwhile; reload and retry"));
        }
        audit::append(conn, Some(actor), "campaign.update", &format!("campaign:{id}"), json!(changes))?;
        get(conn, id)
    })
}
