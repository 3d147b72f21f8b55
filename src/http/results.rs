//! Results: a closed round's frozen ranking, its recount, and the campaign's winners.

use actix_web::{get, web};

use super::extract::{AuthUser, PageQuery};
use super::AppState;
use crate::domain::campaign::CampaignStatus;
use crate::domain::round as rules;
use crate::http::errors::{AppError, AppResult, Problem};
use crate::store::rounds::{self, Ranking, Recount, Winners};

/// Refuses results to non-admins until the campaign is published.
pub(super) async fn require_results_visible(
    state: &AppState,
    caller: &AuthUser,
    campaign_id: i64,
) -> AppResult<()> {
    let is_admin = caller.has(crate::domain::roles::Role::Admin);
    if is_admin {
        return Ok(());
    }
    let campaign = state.db.run(move |c| crate::store::campaigns::get(c, campaign_id)).await?;
    if rules::results_visible(is_admin, campaign.status == CampaignStatus::Published) {
        Ok(())
    } else {
        Err(AppError::forbidden("results are published with the campaign"))
    }
}

async fn round_campaign(state: &AppState, round_id: i64) -> AppResult<i64> {
    state.db.run(move |c| rounds::campaign_of(c, round_id)).await
}

/// The frozen ranking of a closed round (admins at once; everyone once the campaign is published).
#[utoipa::path(params(("id" = i64, Path), PageQuery), responses(
    (status = 200, body = Ranking),
    (status = 403, body = Problem, description = "not published yet"),
    (status = 409, body = Problem, description = "the round has not closed"),
), tag = "rounds", security(("bearer" = [])))]
#[get("/rounds/{id}/results")]
pub async fn results(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Ranking>> {
    let (id, page) = (id.into_inner(), page.request()?);
    require_results_visible(&state, &caller, round_campaign(&state, id).await?).await?;
    Ok(web::Json(state.db.run(move |c| rounds::results(c, id, page)).await?))
}

/// Recompute a closed round from its stored inputs and compare with what was frozen.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Recount),
    (status = 403, body = Problem, description = "not published yet"),
    (status = 409, body = Problem, description = "the round has not closed"),
), tag = "rounds", security(("bearer" = [])))]
#[get("/rounds/{id}/recount")]
pub async fn recount(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<Recount>> {
    let id = id.into_inner();
    require_results_visible(&state, &caller, round_campaign(&state, id).await?).await?;
    Ok(web::Json(state.db.run(move |c| rounds::recount(c, id)).await?))
}

/// The winners with their score breakdown (admins once the last round has
/// closed; everyone once the campaign is published).
#[utoipa::path(params(("id" = i64, Path), PageQuery), responses(
    (status = 200, body = Winners),
    (status = 403, body = Problem, description = "not published yet"),
    (status = 409, body = Problem, description = "the last round has not closed"),
), tag = "rounds", security(("bearer" = [])))]
#[get("/campaigns/{id}/winners")]
pub async fn winners(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Winners>> {
    let (id, page) = (id.into_inner(), page.request()?);
    require_results_visible(&state, &caller, id).await?;
    Ok(web::Json(state.db.run(move |c| rounds::winners(c, id, page)).await?))
}
