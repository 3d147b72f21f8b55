//! Nominations: put forward, listed and counted per campaign; one nomination
//! read, edited, submitted, withdrawn, deleted as a draft, ruled out.

use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::{Validate, ValidationError};

use super::extract::{etag, if_match, Admin, AuthUser, PageQuery, ValidJson};
use super::AppState;
use crate::domain::campaign::{check_link, NominationStatus, MAX_LINKS};
use crate::domain::nomination::{STORY_MAX, SUMMARY_MAX, TITLE_MAX};
use crate::http::errors::{AppError, AppResult, Problem};
use crate::store::nominations::{
    self, CampaignCounts, Nomination, NominationFilter, NominationSort, NominationText, OwnNomination,
    TextPatch,
};
use crate::store::Page;

fn validate_links(links: &[String]) -> Result<(), ValidationError> {
    if links.len() > MAX_LINKS {
        return Err(ValidationError::new("links").with_message("at most 5 links".into()));
    }
    for link in links {
        check_link(link)
            .map_err(|m| ValidationError::new("links").with_message(format!("{link:?} {m}").into()))?;
    }
    Ok(())
}

/// One-line text: not blank, no control characters.
fn line_text(text: &str) -> Result<(), ValidationError> {
    text_with(text, &[])
}

/// A story may have line breaks and tabs, but no other control characters.
fn story_text(text: &str) -> Result<(), ValidationError> {
    text_with(text, &['\n', '\r', '\t'])
}

fn text_with(text: &str, allowed: &[char]) -> Result<(), ValidationError> {
    if text.trim().is_empty() {
        return Err(ValidationError::new("blank").with_message("must not be blank".into()));
    }
    if text.chars().any(|c| c.is_control() && !allowed.contains(&c)) {
        return Err(
            ValidationError::new("control").with_message("must not contain control characters".into())
        );
    }
    Ok(())
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewNomination {
    pub nominee_id: i64,
    /// At most 60 characters.
    #[validate(length(min = 1, max = TITLE_MAX), custom(function = "line_text"))]
    pub title: String,
    /// At most 300 characters.
    #[validate(length(min = 1, max = SUMMARY_MAX), custom(function = "line_text"))]
    pub summary: String,
    /// The case story, at most 5,000 characters.
    #[validate(length(min = 1, max = STORY_MAX), custom(function = "story_text"))]
    pub story: String,
    /// Up to 5 http(s) links.
    #[serde(default)]
    #[validate(custom(function = "validate_links"))]
    pub links: Vec<String>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NominationPatch {
    #[validate(length(min = 1, max = TITLE_MAX), custom(function = "line_text"))]
    pub title: Option<String>,
    #[validate(length(min = 1, max = SUMMARY_MAX), custom(function = "line_text"))]
    pub summary: Option<String>,
    #[validate(length(min = 1, max = STORY_MAX), custom(function = "story_text"))]
    pub story: Option<String>,
    #[validate(custom(function = "validate_links"))]
    pub links: Option<Vec<String>>,
    /// The version you read; a mismatch is 412 (as is a stale If-Match).
    pub version: Option<i32>,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NominationQuery {
    pub branch_id: Option<i64>,
    pub member_company_id: Option<i64>,
    #[param(inline)]
    pub status: Option<NominationStatus>,
    /// Free text over title and nominee name.
    pub q: Option<String>,
    /// id, -id, submitted_at, -submitted_at, title, nominee_name, branch
    #[param(inline)]
    pub sort: Option<NominationSort>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ineligible {
    #[validate(length(min = 1, max = 500), custom(function = "line_text"))]
    pub reason: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct OwnNominations {
    pub items: Vec<OwnNomination>,
}

fn answer(nomination: Nomination) -> HttpResponse {
    HttpResponse::Ok().insert_header(etag(nomination.version)).json(nomination)
}

/// Nominate an employee of your branch (managers; admins for any branch). Starts as a draft.
#[utoipa::path(params(("id" = i64, Path)), request_body = NewNomination, responses(
    (status = 201, body = Nomination),
    (status = 403, body = Problem, description = "not a manager, or the nominee is of another branch"),
    (status = 409, body = Problem, description = "already nominated, or outside the nomination window"),
), tag = "nominations", security(("bearer" = [])))]
#[post("/campaigns/{id}/nominations")]
pub async fn nominate(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    body: ValidJson<NewNomination>,
) -> AppResult<HttpResponse> {
    let actor = caller.actor();
    actor.branch_scope().map_err(AppError::forbidden)?;
    let (campaign_id, body) = (id.into_inner(), body.0);
    let text = NominationText {
        title: body.title.trim().to_owned(),
        summary: body.summary.trim().to_owned(),
        story: body.story.trim().to_owned(),
        links: body.links,
    };
    let nomination =
        state.db.run(move |c| nominations::create(c, &actor, campaign_id, body.nominee_id, text)).await?;
    Ok(HttpResponse::Created().insert_header(etag(nomination.version)).json(nomination))
}

/// Nominations of a campaign: admins see all, managers their own branch.
#[utoipa::path(params(("id" = i64, Path), PageQuery, NominationQuery), responses(
    (status = 200, body = Page<Nomination>),
    (status = 403, body = Problem),
), tag = "nominations", security(("bearer" = [])))]
#[get("/campaigns/{id}/nominations")]
pub async fn list_nominations(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
    query: web::Query<NominationQuery>,
) -> AppResult<web::Json<Page<Nomination>>> {
    let scope = caller.actor().branch_scope().map_err(AppError::forbidden)?;
    let (campaign_id, page, query) = (id.into_inner(), page.request()?, query.into_inner());
    if let (Some(own), Some(asked)) = (scope, query.branch_id) {
        if own != asked {
            return Err(AppError::forbidden("managers see their own branch's nominations only"));
        }
    }
    let filter = NominationFilter {
        branch_id: scope.or(query.branch_id),
        member_company_id: query.member_company_id,
        status: query.status,
        q: query.q.map(|q| q.trim().to_owned()),
    };
    let sort = query.sort.unwrap_or_default();
    Ok(web::Json(state.db.run(move |c| nominations::list(c, campaign_id, &filter, sort, page)).await?))
}

/// Nominated, submitted and quota left per branch and member company (managers: own branch).
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = CampaignCounts),
    (status = 403, body = Problem),
), tag = "nominations", security(("bearer" = [])))]
#[get("/campaigns/{id}/nomination-counts")]
pub async fn counts(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<CampaignCounts>> {
    let scope = caller.actor().branch_scope().map_err(AppError::forbidden)?;
    let campaign_id = id.into_inner();
    Ok(web::Json(state.db.run(move |c| nominations::counts(c, campaign_id, scope)).await?))
}

/// One nomination: for admins and the branch's manager (nominees: GET /me/nominations).
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Nomination),
), tag = "nominations", security(("bearer" = [])))]
#[get("/nominations/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let nomination = state.db.run(move |c| nominations::get(c, id)).await?;
    // Nominees see theirs through GET /me/nominations: that they were
    // nominated, and the status; the file itself is the branch's.
    if !caller.actor().manages_branch(nomination.branch_id) {
        return Err(AppError::not_found("nomination"));
    }
    Ok(answer(nomination))
}

/// Edit while draft or submitted and the window is open. Send If-Match (or version).
#[utoipa::path(params(("id" = i64, Path)), request_body = NominationPatch, responses(
    (status = 200, body = Nomination), (status = 403, body = Problem),
    (status = 409, body = Problem), (status = 412, body = Problem),
), tag = "nominations", security(("bearer" = [])))]
#[patch("/nominations/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<NominationPatch>,
) -> AppResult<HttpResponse> {
    let (actor, id, body) = (caller.actor(), id.into_inner(), body.0);
    let expected = if_match(&req)?.or(body.version);
    let patch = TextPatch {
        title: body.title.map(|t| t.trim().to_owned()),
        summary: body.summary.map(|t| t.trim().to_owned()),
        story: body.story.map(|t| t.trim().to_owned()),
        links: body.links,
    };
    Ok(answer(state.db.run(move |c| nominations::update(c, &actor, id, patch, expected)).await?))
}

/// Delete a draft.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 204), (status = 403, body = Problem),
    (status = 409, body = Problem), (status = 412, body = Problem),
), tag = "nominations", security(("bearer" = [])))]
#[delete("/nominations/{id}")]
pub async fn delete_draft(
    state: web::Data<AppState>,
    caller: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (actor, id, expected) = (caller.actor(), id.into_inner(), if_match(&req)?);
    state.db.run(move |c| nominations::delete_draft(c, &actor, id, expected)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Submit: takes one of the branch's quota places (409 quota_exhausted when none is left).
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Nomination), (status = 403, body = Problem),
    (status = 409, body = Problem), (status = 412, body = Problem),
    (status = 422, body = Problem, description = "the nominee can no longer be nominated: disabled, or group staff now"),
), tag = "nominations", security(("bearer" = [])))]
#[post("/nominations/{id}/submit")]
pub async fn submit(
    state: web::Data<AppState>,
    caller: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (actor, id, expected) = (caller.actor(), id.into_inner(), if_match(&req)?);
    Ok(answer(state.db.run(move |c| nominations::submit(c, &actor, id, expected)).await?))
}

/// Withdraw (frees its quota place if it was submitted).
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Nomination), (status = 403, body = Problem),
    (status = 409, body = Problem), (status = 412, body = Problem),
), tag = "nominations", security(("bearer" = [])))]
#[post("/nominations/{id}/withdraw")]
pub async fn withdraw(
    state: web::Data<AppState>,
    caller: AuthUser,
    req: HttpRequest,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let (actor, id, expected) = (caller.actor(), id.into_inner(), if_match(&req)?);
    let withdrawn = state.db.run(move |c| nominations::withdraw(c, &actor, id, expected)).await?;
    state.fields.forget_all();
    Ok(answer(withdrawn))
}

/// Rule a nomination out, with a reason (admin).
#[utoipa::path(params(("id" = i64, Path)), request_body = Ineligible, responses(
    (status = 200, body = Nomination), (status = 403, body = Problem),
    (status = 409, body = Problem),
), tag = "nominations", security(("bearer" = [])))]
#[post("/nominations/{id}/ineligible")]
pub async fn ineligible(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<Ineligible>,
) -> AppResult<HttpResponse> {
    let (actor, id, reason) = (admin.id(), id.into_inner(), body.0.reason.trim().to_owned());
    let expected = if_match(&req)?;
    let ruled_out =
        state.db.run(move |c| nominations::mark_ineligible(c, actor, id, &reason, expected)).await?;
    // This node's ballots drop it at once; other nodes' within Fields::TTL.
    state.fields.forget_all();
    Ok(answer(ruled_out))
}

/// Nominations of yourself (not drafts): that you were nominated, and the status.
#[utoipa::path(responses((status = 200, body = OwnNominations)), tag = "nominations", security(("bearer" = [])))]
#[get("/me/nominations")]
pub async fn mine(state: web::Data<AppState>, caller: AuthUser) -> AppResult<web::Json<OwnNominations>> {
    let id = caller.id();
    let items = state.db.run(move |c| nominations::of_nominee(c, id)).await?;
    Ok(web::Json(OwnNominations { items }))
}
