//! Screening rounds: configuration, opening, closing, and the preview of an open round.

use crate::domain::time::Timestamp;
use actix_web::{delete, get, patch, post, web, HttpRequest, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{etag, if_match, Admin, AuthUser, OptionalJson, PageQuery, ValidJson};
use super::AppState;
use crate::domain::round::{self as rules, ConflictScope, CriterionSpec, RoundConfig, RoundKind, Scope};
use crate::domain::scoring::{Advance, Aggregate, Normalization};
use crate::http::errors::{AppResult, Problem};
use crate::store::rounds::{self, Ranking, Round};

/// A new round. Left out: kind `review`, scope `group`, conflict scope
/// `branch`, normalisation `none`, aggregate `mean`, weights by kind (review
/// 1/0, vote 0/1; combined must say), no votes, no window.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewRound {
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: String,
    pub kind: Option<RoundKind>,
    pub scope: Option<Scope>,
    pub conflict_scope: Option<ConflictScope>,
    pub reviews_per_entry: Option<i32>,
    #[serde(default)]
    pub criteria: Vec<CriterionSpec>,
    pub normalization: Option<Normalization>,
    pub aggregate: Option<Aggregate>,
    pub jury_weight: Option<f64>,
    pub vote_weight: Option<f64>,
    pub votes_per_voter: Option<i32>,
    pub allow_vote_withdrawal: Option<bool>,
    pub opens_at: Option<Timestamp>,
    pub closes_at: Option<Timestamp>,
    pub advance: Advance,
}

impl NewRound {
    fn config(self) -> RoundConfig {
        let kind = self.kind.unwrap_or(RoundKind::Review);
        // A combined round without weights fails validation on the weights.
        let (jury, vote) = rules::default_weights(kind).unwrap_or((0.0, 0.0));
        RoundConfig {
            name: self.name.trim().to_owned(),
            kind,
            scope: self.scope.unwrap_or(Scope::Group),
            conflict_scope: self.conflict_scope.unwrap_or(ConflictScope::Branch),
            reviews_per_entry: self.reviews_per_entry.unwrap_or(0),
            criteria: self.criteria,
            normalization: self.normalization.unwrap_or(Normalization::None),
            aggregate: self.aggregate.unwrap_or(Aggregate::Mean),
            jury_weight: self.jury_weight.unwrap_or(jury),
            vote_weight: self.vote_weight.unwrap_or(vote),
            votes_per_voter: self.votes_per_voter.unwrap_or(0),
            allow_vote_withdrawal: self.allow_vote_withdrawal.unwrap_or(false),
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            advance: self.advance,
        }
    }
}

/// Any settings of a pending round; `criteria`, when given, replaces the list
/// (and gives the criteria new ids).
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoundPatch {
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: Option<String>,
    pub kind: Option<RoundKind>,
    pub scope: Option<Scope>,
    pub conflict_scope: Option<ConflictScope>,
    pub reviews_per_entry: Option<i32>,
    pub criteria: Option<Vec<CriterionSpec>>,
    pub normalization: Option<Normalization>,
    pub aggregate: Option<Aggregate>,
    pub jury_weight: Option<f64>,
    pub vote_weight: Option<f64>,
    pub votes_per_voter: Option<i32>,
    pub allow_vote_withdrawal: Option<bool>,
    /// null clears it.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<Timestamp>)]
    pub opens_at: Option<Option<Timestamp>>,
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<Timestamp>)]
    pub closes_at: Option<Option<Timestamp>>,
    pub advance: Option<Advance>,
    /// The version you read; a mismatch is 412 (as is a stale If-Match).
    pub version: Option<i32>,
}

impl RoundPatch {
    fn apply(self, mut c: RoundConfig) -> RoundConfig {
        macro_rules! set {
            ($($field:ident),+) => { $(if let Some(v) = self.$field { c.$field = v; })+ };
        }
        set!(kind, scope, conflict_scope, reviews_per_entry, criteria, normalization, aggregate);
        set!(jury_weight, vote_weight, votes_per_voter, allow_vote_withdrawal, advance);
        if let Some(name) = self.name {
            c.name = name.trim().to_owned();
        }
        if let Some(opens) = self.opens_at {
            c.opens_at = opens;
        }
        if let Some(closes) = self.closes_at {
            c.closes_at = closes;
        }
        c
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct RoundList {
    pub items: Vec<Round>,
}

/// Add a round after the campaign's existing ones (admin).
#[utoipa::path(params(("id" = i64, Path)), request_body = NewRound, responses(
    (status = 201, body = Round), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "the campaign is finished or published"),
), tag = "rounds", security(("bearer" = [])))]
#[post("/campaigns/{id}/rounds")]
pub async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: ValidJson<NewRound>,
) -> AppResult<HttpResponse> {
    let (actor, campaign_id, config) = (admin.id(), id.into_inner(), body.0.config());
    let round = state.db.run(move |c| rounds::create(c, actor, campaign_id, config)).await?;
    Ok(HttpResponse::Created().insert_header(etag(round.version)).json(round))
}

/// The campaign's rounds, in order.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = RoundList),
), tag = "rounds", security(("bearer" = [])))]
#[get("/campaigns/{id}/rounds")]
pub async fn list(
    state: web::Data<AppState>,
    _caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<web::Json<RoundList>> {
    let campaign_id = id.into_inner();
    let items = state.db.run(move |c| rounds::list(c, campaign_id)).await?;
    Ok(web::Json(RoundList { items }))
}

/// One round; the ETag carries its version.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Round),
), tag = "rounds", security(("bearer" = [])))]
#[get("/rounds/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _caller: AuthUser,
    id: web::Path<i64>,
) -> AppResult<HttpResponse> {
    let id = id.into_inner();
    let round = state.db.run(move |c| rounds::get(c, id)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(round.version)).json(round))
}

/// Change a pending round (admin). Settings are frozen once it opens.
#[utoipa::path(params(("id" = i64, Path)), request_body = RoundPatch, responses(
    (status = 200, body = Round), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "the round has opened"),
    (status = 412, body = Problem, description = "stale version"),
), tag = "rounds", security(("bearer" = [])))]
#[patch("/rounds/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    id: web::Path<i64>,
    body: ValidJson<RoundPatch>,
) -> AppResult<HttpResponse> {
    let (actor, id, body) = (admin.id(), id.into_inner(), body.0);
    let expected = if_match(&req)?.or(body.version);
    let round =
        state.db.run(move |c| rounds::update(c, actor, id, expected, |config| body.apply(config))).await?;
    Ok(HttpResponse::Ok().insert_header(etag(round.version)).json(round))
}

/// Delete the campaign's last round while it is pending (admin).
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 204), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "not pending, or not the last round"),
), tag = "rounds", security(("bearer" = [])))]
#[delete("/rounds/{id}")]
pub async fn remove(state: web::Data<AppState>, admin: Admin, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (actor, id) = (admin.id(), id.into_inner());
    state.db.run(move |c| rounds::delete(c, actor, id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Open a pending round (admin): its entries are fixed now.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = Round), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "not pending, campaign not screening, or the previous round still open"),
    (status = 422, body = Problem, description = "no entries, fewer entries than seats, or a last round that would not yield the winners target"),
), tag = "rounds", security(("bearer" = [])))]
#[post("/rounds/{id}/open")]
pub async fn open(state: web::Data<AppState>, admin: Admin, id: web::Path<i64>) -> AppResult<HttpResponse> {
    let (actor, id) = (admin.id(), id.into_inner());
    let round = state.db.run(move |c| rounds::open(c, actor, id)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(round.version)).json(round))
}

#[derive(Debug, Default, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseBody {
    /// Close although some entries have fewer reviews than the round asks for.
    #[serde(default)]
    pub allow_missing_reviews: bool,
}

/// Close an open round (admin): score, cut and freeze. Closing twice is 409.
#[utoipa::path(params(("id" = i64, Path)), request_body(content = CloseBody, description = "optional"), responses(
    (status = 200, body = Round), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "not open, reviews missing, or the last round would miss the winners target"),
), tag = "rounds", security(("bearer" = [])))]
#[post("/rounds/{id}/close")]
pub async fn close(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: OptionalJson<CloseBody>,
) -> AppResult<HttpResponse> {
    let (actor, id, allow) = (admin.id(), id.into_inner(), body.0.allow_missing_reviews);
    let round = state.db.run(move |c| rounds::close(c, actor, id, allow)).await?;
    Ok(HttpResponse::Ok().insert_header(etag(round.version)).json(round))
}

/// The ranking as it would be if the round closed now (admin; open rounds).
#[utoipa::path(params(("id" = i64, Path), PageQuery), responses(
    (status = 200, body = Ranking), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "the round is not open"),
), tag = "rounds", security(("bearer" = [])))]
#[get("/rounds/{id}/preview")]
pub async fn preview(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Ranking>> {
    let (id, page) = (id.into_inner(), page.request()?);
    Ok(web::Json(state.db.run(move |c| rounds::preview(c, id, page)).await?))
}
