//! Member companies and branches (admin; anyone signed in may read).

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{Admin, AuthUser, PageQuery, ValidJson};
use super::AppState;
use crate::http::errors::{AppResult, Problem};
use crate::store::org::{self, Branch, BranchChanges, MemberCompany, MemberCompanyChanges};
use crate::store::Page;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewMemberCompany {
    #[validate(length(min = 1, max = 32), custom(function = "super::validate_code"))]
    pub code: String,
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: String,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberCompanyPatch {
    #[validate(length(min = 1, max = 32), custom(function = "super::validate_code"))]
    pub code: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: Option<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBranch {
    #[validate(length(min = 1, max = 32), custom(function = "super::validate_code"))]
    pub code: String,
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: String,
    pub member_company_id: i64,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BranchPatch {
    #[validate(length(min = 1, max = 32), custom(function = "super::validate_code"))]
    pub code: Option<String>,
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: Option<String>,
    pub member_company_id: Option<i64>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BranchFilter {
    pub member_company_id: Option<i64>,
}

/// Create a member company.
#[utoipa::path(request_body = NewMemberCompany, responses(
    (status = 201, body = MemberCompany),
    (status = 403, body = Problem), (status = 409, body = Problem, description = "code taken"),
), tag = "org", security(("bearer" = [])))]
#[post("/member-companies")]
pub async fn create_member_company(
    state: web::Data<AppState>,
    admin: Admin,
    body: ValidJson<NewMemberCompany>,
) -> AppResult<HttpResponse> {
    let (actor, body) = (admin.id(), body.0);
    let company = state
        .db
        .run(move |c| org::create_member_company(c, actor, body.code.trim(), body.name.trim()))
        .await?;
    Ok(HttpResponse::Created().json(company))
}

/// List member companies.
#[utoipa::path(params(PageQuery), responses(
    (status = 200, body = Page<MemberCompany>),
), tag = "org", security(("bearer" = [])))]
#[get("/member-companies")]
pub async fn list_member_companies(
    state: web::Data<AppState>,
    _caller: AuthUser,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<MemberCompany>>> {
    let page = page.request()?;
    Ok(web::Json(state.db.run(move |c| org::list_member_companies(c, page)).await?))
}

/// One member company.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = MemberCompany),
), tag = "org", security(("bearer" = [])))]
#[get("/member-companies/{id}")]
pub async fn get_member_company(
    state: web::Data<AppState>,
    _caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<MemberCompany>> {
    let id = id.into_inner();
    Ok(web::Json(state.db.run(move |c| org::get_member_company(c, id)).await?))
}

/// Rename or recode a member company.
#[utoipa::path(params(("id" = i64, Path)), request_body = MemberCompanyPatch, responses(
    (status = 200, body = MemberCompany), (status = 403, body = Problem),
    (status = 409, body = Problem),
), tag = "org", security(("bearer" = [])))]
#[patch("/member-companies/{id}")]
pub async fn update_member_company(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: ValidJson<MemberCompanyPatch>,
) -> AppResult<web::Json<MemberCompany>> {
    let (actor, id, body) = (admin.id(), id.into_inner(), body.0);
    let changes = MemberCompanyChanges {
        code: body.code.map(|s| s.trim().to_owned()),
        name: body.name.map(|s| s.trim().to_owned()),
    };
    Ok(web::Json(state.db.run(move |c| org::update_member_company(c, actor, id, changes)).await?))
}

/// Delete a member company that has no branches.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 204), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "it still has branches"),
), tag = "org", security(("bearer" = [])))]
#[delete("/member-companies/{id}")]
pub async fn delete_member_company(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (actor, id) = (admin.id(), id.into_inner());
    state.db.run(move |c| org::delete_member_company(c, actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Create a branch of a member company.
#[utoipa::path(request_body = NewBranch, responses(
    (status = 201, body = Branch), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "code taken"), (status = 422, body = Problem, description = "invalid or unknown member company"),
), tag = "org", security(("bearer" = [])))]
#[post("/branches")]
pub async fn create_branch(
    state: web::Data<AppState>,
    admin: Admin,
    body: ValidJson<NewBranch>,
) -> AppResult<HttpResponse> {
    let (actor, body) = (admin.id(), body.0);
    let branch = state
        .db
        .run(move |c| {
            org::create_branch(c, actor, body.code.trim(), body.name.trim(), body.member_company_id)
        })
        .await?;
    Ok(HttpResponse::Created().json(branch))
}

/// List branches, optionally of one member company.
#[utoipa::path(params(PageQuery, BranchFilter), responses(
    (status = 200, body = Page<Branch>),
), tag = "org", security(("bearer" = [])))]
#[get("/branches")]
pub async fn list_branches(
    state: web::Data<AppState>,
    _caller: AuthUser,
    page: web::Query<PageQuery>,
    filter: web::Query<BranchFilter>,
) -> AppResult<web::Json<Page<Branch>>> {
    let (page, company) = (page.request()?, filter.member_company_id);
    Ok(web::Json(state.db.run(move |c| org::list_branches(c, company, page)).await?))
}

/// One branch.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Branch),
), tag = "org", security(("bearer" = [])))]
#[get("/branches/{id}")]
pub async fn get_branch(
    state: web::Data<AppState>,
    _caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<Branch>> {
    let id = id.into_inner();
    Ok(web::Json(state.db.run(move |c| org::get_branch(c, id)).await?))
}

/// Rename, recode or move a branch.
#[utoipa::path(params(("id" = i64, Path)), request_body = BranchPatch, responses(
    (status = 200, body = Branch), (status = 403, body = Problem),
    (status = 409, body = Problem),
), tag = "org", security(("bearer" = [])))]
#[patch("/branches/{id}")]
pub async fn update_branch(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: ValidJson<BranchPatch>,
) -> AppResult<web::Json<Branch>> {
    let (actor, id, body) = (admin.id(), id.into_inner(), body.0);
    let changes = BranchChanges {
        code: body.code.map(|s| s.trim().to_owned()),
        name: body.name.map(|s| s.trim().to_owned()),
        member_company_id: body.member_company_id,
    };
    Ok(web::Json(state.db.run(move |c| org::update_branch(c, actor, id, changes)).await?))
}

/// Delete a branch that has no users.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 204), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "it still has users"),
), tag = "org", security(("bearer" = [])))]
#[delete("/branches/{id}")]
pub async fn delete_branch(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (actor, id) = (admin.id(), id.into_inner());
    state.db.run(move |c| org::delete_branch(c, actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
