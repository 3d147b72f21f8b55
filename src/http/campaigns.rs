//! Campaigns (admin writes, everyone reads) and their CSV exports.

use crate::domain::time::Timestamp;
use actix_web::http::header;
use actix_web::{get, patch, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{etag, if_match, Admin, AuthUser, PageQuery, ValidJson};
use super::AppState;
use crate::domain::campaign::CampaignStatus;
use crate::domain::roles::Role;
use crate::http::errors::{AppError, AppResult, Problem};
use crate::store::campaigns::{self, Campaign, CampaignChanges, NewCampaign};
use crate::store::nominations;
use crate::store::Page;

fn default_winners() -> i32 {
    310
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateCampaign {
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: String,
    pub nomination_opens_at: Timestamp,
    pub nomination_closes_at: Timestamp,
    #[validate(range(min = 1, max = 1000))]
    pub nominations_per_branch: i32,
    /// How many winners are published; 310 unless said otherwise.
    #[serde(default = "default_winners")]
    #[validate(range(min = 1, max = 100000))]
    pub winners_target: i32,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignPatch {
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: Option<String>,
    pub nomination_opens_at: Option<Timestamp>,
    pub nomination_closes_at: Option<Timestamp>,
    #[validate(range(min = 1, max = 1000))]
    pub nominations_per_branch: Option<i32>,
    #[validate(range(min = 1, max = 100000))]
    pub winners_target: Option<i32>,
    pub status: Option<CampaignStatus>,
    /// The version you read; a mismatch is 412 (as is a stale If-Match).
    pub version: Option<i32>,
}

/// Create a campaign (as a draft).
#[utoipa::path(request_body = CreateCampaign, responses(
    (status = 201, body = Campaign),
    (status = 403, body = Problem),
), tag = "campaigns", security(("bearer" = [])))]
#[post("/campaigns")]
pub async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: ValidJson<CreateCampaign>,
) -> AppResult<HttpResponse> {
    let (actor, body) = (admin.id(), body.0);
    let new = NewCampaign {
        name: body.name.trim().to_owned(),
        nomination_opens_at: body.nomination_opens_at,
        nomination_closes_at: body.nomination_closes_at,
        nominations_per_branch: body.nominations_per_branch,
        winners_target: body.winners_target,
    };
    let campaign = state.db.run(move |c| campaigns::create(c, actor, new)).await?;
    Ok(HttpResponse::Created().insert_header(etag(campaign.version)).json(campaign))
}

/// List campaigns, newest first.
#[utoipa::path(params(PageQuery), responses(
    (status = 200, body = Page<Campaign>),
), tag = "campaigns", security(("bearer" = [])))]
#[get("/campaigns")]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<Campaign>>> {
    let page = page.request()?;
    Ok(web::Json(state.db.run(move |c| campaigns::list(c, page)).await?))
}

/// One campaign; the ETag carries its version.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Campaign),
), tag = "campaigns", security(("bearer" = [])))]
#[get("/campaigns/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let campaign = state.db.run(move |c| campaigns::get(c, id)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(campaign.version)).json(campaign))
}

/// Edit settings (while draft or nominating) or move the status
/// (draft → nominating → screening → finished → published; nominating → draft).
#[utoipa::path(params(("id" = i64, Path)), request_body = CampaignPatch, responses(
    (status = 200, body = Campaign), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "a move the lifecycle does not allow, or settings of a campaign past nominating"),
    (status = 412, body = Problem, description = "stale version"),
), tag = "campaigns", security(("bearer" = [])))]
#[patch("/campaigns/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<CampaignPatch>,
) -> AppResult<HttpResponse> {
    let (actor, id, body) = (admin.id(), id.into_inner(), body.0);
    let expected = if_match(&req)?.or(body.version);
    let changes = CampaignChanges {
        name: body.name.map(|n| n.trim().to_owned()),
        nomination_opens_at: body.nomination_opens_at,
        nomination_closes_at: body.nomination_closes_at,
        nominations_per_branch: body.nominations_per_branch,
        winners_target: body.winners_target,
        status: body.status,
    };
    let campaign = state.db.run(move |c| campaigns::update(c, actor, id, changes, expected)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(campaign.version)).json(campaign))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ExportPath {
    pub id: i64,
    /// `nominations` (admins; managers get their branch), `reviews` (admins),
    /// `results` (admins; everyone once the campaign is published).
    #[param(schema_with = export_kinds)]
    pub kind: String,
}

/// Any other kind is a 404, as for any path that names nothing.
fn export_kinds() -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .enum_values(Some(["nominations", "reviews", "results"]))
        .build()
}

/// CSV export (UTF-8 with BOM, opens in Excel): `nominations.csv`, `reviews.csv`, `results.csv`.
#[utoipa::path(params(ExportPath), responses(
    (status = 200, content_type = "text/csv", body = String),
    (status = 403, body = Problem),
), tag = "campaigns", security(("bearer" = [])))]
#[get("/campaigns/{id}/exports/{kind}.csv")]
pub async fn export(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<ExportPath>,
) -> AppResult<HttpResponse> {
    let ExportPath { id, kind } = path.into_inner();
    let body = match kind.as_str() {
        "nominations" => {
            let scope = caller.actor().branch_scope().map_err(AppError::forbidden)?;
            let rows = state.db.run(move |c| nominations::all_for_export(c, id, scope)).await?;
            super::csv_export::nominations(&rows)
        }
        "reviews" => {
            caller.clone().require(Role::Admin)?;
            let rows = state.db.run(move |c| crate::store::reviews::all_for_export(c, id)).await?;
            super::csv_export::reviews(&rows)
        }
        "results" => {
            super::results::require_results_visible(&state, &caller, id).await?;
            let rounds = state.db.run(move |c| crate::store::rounds::all_results(c, id)).await?;
            super::csv_export::results(&rounds)
        }
        _ => return Err(AppError::not_found("export")),
    }
    .map_err(AppError::internal)?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"campaign-{id}-{kind}.csv\""),
        ))
        .body(body))
}
