//! Reviews: a round's panel, the assignments, reviewers' scores and the progress of both.

use std::collections::BTreeMap;

use actix_web::{get, post, put, web};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{Admin, OptionalJson, PageQuery, Reviewer, ValidJson};
use super::AppState;
use crate::http::errors::{AppError, AppResult, Problem};
use crate::store::reviews::{self, AssignmentReport, MyAssignments, PanelMember, Progress, SavedReview};

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PanelBody {
    /// Users with the reviewer role; for member-company rounds, of a member company.
    #[validate(length(max = 2000))]
    pub user_ids: Vec<i64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Panel {
    pub items: Vec<PanelMember>,
}

/// Set the round's panel (admin). Reviewers who leave lose their unreviewed
/// assignments; reviews they gave stay.
#[utoipa::path(params(("id" = i64, Path)), request_body = PanelBody, responses(
    (status = 200, body = Panel), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "the round has closed"),
), tag = "reviews", security(("bearer" = [])))]
#[post("/rounds/{id}/reviewers")]
pub async fn set_panel(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: ValidJson<PanelBody>,
) -> AppResult<web::Json<Panel>> {
    let (actor, id, ids) = (admin.id(), id.into_inner(), body.0.user_ids);
    let items = state.db.run(move |c| reviews::set_panel(c, actor, id, &ids)).await?;
    Ok(web::Json(Panel { items }))
}

/// The round's panel (admin).
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Panel), (status = 403, body = Problem),
), tag = "reviews", security(("bearer" = [])))]
#[get("/rounds/{id}/reviewers")]
pub async fn panel(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
) -> AppResult<web::Json<Panel>> {
    let id = id.into_inner();
    let items = state.db.run(move |c| reviews::panel(c, id)).await?;
    Ok(web::Json(Panel { items }))
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssignBody {
    /// The same seed gives the same assignments; left out, one is drawn and reported.
    #[validate(range(max = 9007199254740991_u64))]
    pub seed: Option<u64>,
}

/// Give every entry its reviewers (admin; the round must be open). Calling it
/// again tops up and keeps what exists. Entries that cannot get enough
/// conflict-free reviewers are listed in `shortfalls`.
#[utoipa::path(params(("id" = i64, Path)), request_body(content = AssignBody, description = "optional"), responses(
    (status = 200, body = AssignmentReport),
    (status = 403, body = Problem),
    (status = 409, body = Problem, description = "the round is not open, or has no reviews"),
), tag = "reviews", security(("bearer" = [])))]
#[post("/rounds/{id}/assignments")]
pub async fn assign(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: OptionalJson<AssignBody>,
) -> AppResult<web::Json<AssignmentReport>> {
    use rand::Rng;
    let (actor, id) = (admin.id(), id.into_inner());
    // Below 2^53 so that JavaScript clients read it back exactly.
    let seed = body.0.seed.unwrap_or_else(|| rand::thread_rng().gen_range(0..1u64 << 53));
    Ok(web::Json(state.db.run(move |c| reviews::generate(c, actor, id, seed)).await?))
}

/// Reviews done and due per reviewer, and the entries still short of reviews (admin).
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Progress), (status = 403, body = Problem),
), tag = "reviews", security(("bearer" = [])))]
#[get("/rounds/{id}/progress")]
pub async fn progress(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
) -> AppResult<web::Json<Progress>> {
    let id = id.into_inner();
    Ok(web::Json(state.db.run(move |c| reviews::progress(c, id)).await?))
}

/// Your assignments in a round, with the case and your own review only.
#[utoipa::path(params(("id" = i64, Path), PageQuery), responses(
    (status = 200, body = MyAssignments),
    (status = 403, body = Problem),
), tag = "reviews", security(("bearer" = [])))]
#[get("/rounds/{id}/assignments/mine")]
pub async fn mine(
    state: web::Data<AppState>,
    reviewer: Reviewer,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<MyAssignments>> {
    let (me, id, page) = (reviewer.id(), id.into_inner(), page.request()?);
    Ok(web::Json(state.db.run(move |c| reviews::mine(c, id, me, page)).await?))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReviewBody {
    /// One score per criterion id, each from 0 to the criterion's max_score.
    pub scores: BTreeMap<String, f64>,
    #[validate(length(max = 2000))]
    pub comment: Option<String>,
}

/// Score an entry assigned to you, or revise your scores while the round is open.
#[utoipa::path(params(("id" = i64, Path), ("nomination_id" = i64, Path)), request_body = ReviewBody, responses(
    (status = 200, body = SavedReview),
    (status = 403, body = Problem, description = "not your assignment, or a conflict of interest"),
    (status = 404, body = Problem, description = "no such round or entry"),
    (status = 409, body = Problem, description = "the round is not open, or outside its window"),
    (status = 422, body = Problem, description = "a score missing, unknown or out of range"),
), tag = "reviews", security(("bearer" = [])))]
#[put("/rounds/{id}/entries/{nomination_id}/review")]
pub async fn review(
    state: web::Data<AppState>,
    reviewer: Reviewer,
    path: web::Path<(i64, i64)>,
    body: ValidJson<ReviewBody>,
) -> AppResult<web::Json<SavedReview>> {
    let ((round_id, nomination_id), body) = (path.into_inner(), body.0);
    let scores = body
        .scores
        .into_iter()
        .map(|(key, score)| match key.parse::<i64>() {
            Ok(id) => Ok((id, score)),
            Err(_) => Err(AppError::invalid_field(&format!("scores.{key}"), "keys are criterion ids")),
        })
        .collect::<AppResult<BTreeMap<i64, f64>>>()?;
    let user = reviewer.0 .0.clone();
    let comment = body.comment.map(|c| c.trim().to_owned()).filter(|c| !c.is_empty());
    let saved =
        state.db.run(move |c| reviews::submit(c, &user, round_id, nomination_id, scores, comment)).await?;
    Ok(web::Json(saved))
}
