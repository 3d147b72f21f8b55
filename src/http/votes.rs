//! Employee voting: ballot, votes with receipts, withdrawal, the public
//! ledger and the anomaly report.

use std::num::NonZeroU32;
use std::time::Duration;

use actix_web::{delete, get, post, web, HttpRequest, HttpResponse};
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{Admin, AuthUser, PageQuery, ValidJson};
use super::AppState;
use crate::config::VoteSettings;
use crate::db;
use crate::domain::vote::valid_idempotency_key;
use crate::http::errors::{AppError, AppResult, Problem};
use crate::store::vote_writer::{Command, VoteWriter};
use crate::store::votes::{self, Anomalies, BallotView, CandidateFilter, Cast, LedgerLine, Receipt};
use crate::store::Page;

/// Where votes go and how fast they may come.
pub struct VoteGate {
    /// The node's group-commit writer: every vote and withdrawal goes through it.
    writer: VoteWriter,
    per_account: DefaultKeyedRateLimiter<i64>,
    per_ip: DefaultKeyedRateLimiter<String>,
    checks: std::sync::atomic::AtomicU64,
    trust_proxy: bool,
}

impl VoteGate {
    pub fn new(settings: &VoteSettings, url: &db::DatabaseUrl) -> anyhow::Result<VoteGate> {
        let writer = VoteWriter::start(
            url,
            settings.vote_queue,
            settings.vote_batch as usize,
            settings.vote_writers as usize,
        )?;
        let per_minute = NonZeroU32::new(settings.vote_rate_account).unwrap_or(NonZeroU32::MIN);
        let per_second = NonZeroU32::new(settings.vote_rate_ip).unwrap_or(NonZeroU32::MIN);
        Ok(VoteGate {
            writer,
            per_account: RateLimiter::keyed(Quota::per_minute(per_minute)),
            per_ip: RateLimiter::keyed(Quota::per_second(per_second)),
            checks: Default::default(),
            trust_proxy: settings.trust_proxy,
        })
    }

    /// 429 with Retry-After when the account or the address is over its rate.
    fn admit(&self, account: i64, ip: &str) -> AppResult<()> {
        // Forget idle keys now and then, so the limiters do not grow forever.
        if self.checks.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % 100_000 == 99_999 {
            self.per_account.retain_recent();
            self.per_ip.retain_recent();
        }
        let now = self.per_account.clock().now();
        let waits = [
            self.per_account.check_key(&account).err().map(|n| n.wait_time_from(now)),
            self.per_ip.check_key(&ip.to_owned()).err().map(|n| n.wait_time_from(now)),
        ];
        match waits.into_iter().flatten().max() {
            Some(wait) => Err(AppError::too_many(
                "rate_limited",
                "too many votes from this account or address; slow down",
                wait.max(Duration::from_secs(1)).as_secs_f64().ceil() as u64,
            )),
            None => Ok(()),
        }
    }

    fn client_ip(&self, req: &HttpRequest) -> String {
        super::client_address(req, self.trust_proxy)
    }

    async fn run(&self, command: Command) -> AppResult<Option<Receipt>> {
        Ok(self.writer.submit(command).await?)
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct BallotQuery {
    pub member_company_id: Option<i64>,
    pub branch_id: Option<i64>,
}

/// Your ballot: the candidates (paged, filterable), your votes with their
/// receipts, and how many votes you have left. No tallies.
#[utoipa::path(params(("id" = i64, Path), PageQuery, BallotQuery), responses(
    (status = 200, body = BallotView),
    (status = 409, body = Problem, description = "not a voting round"),
), tag = "votes", security(("bearer" = [])))]
#[get("/rounds/{id}/ballot")]
pub async fn ballot(
    state: web::Data<AppState>,
    voter: AuthUser,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
    query: web::Query<BallotQuery>,
) -> AppResult<web::Json<BallotView>> {
    let (me, id, page) = (voter.id(), id.into_inner(), page.request()?);
    let filter = CandidateFilter { member_company_id: query.member_company_id, branch_id: query.branch_id };
    let shared = state.clone();
    Ok(web::Json(
        state
            .db
            .run(move |c| {
                let field = shared.fields.get(c, id)?;
                votes::ballot(c, id, me, &field, &filter, page)
            })
            .await?,
    ))
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VoteBody {
    pub nomination_id: i64,
}

fn idempotency_key(req: &HttpRequest) -> AppResult<Option<String>> {
    let Some(value) = req.headers().get("idempotency-key") else {
        return Ok(None);
    };
    match value.to_str() {
        Ok(key) if valid_idempotency_key(key) => Ok(Some(key.to_owned())),
        _ => Err(AppError::bad_request("Idempotency-Key must be 1 to 100 visible ASCII characters")),
    }
}

/// Vote for an entry. The receipt (128 random bits) lets you find your vote
/// in the ledger after the round closes. Send an `Idempotency-Key` to retry
/// safely: the same key and body give the same receipt and count once.
#[utoipa::path(params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "1 to 100 visible ASCII characters")),
    request_body = VoteBody, responses(
    (status = 201, body = Receipt),
    (status = 403, body = Problem, description = "your own nomination"), (status = 404, body = Problem, description = "no such round or entry"),
    (status = 409, body = Problem, description = "not open, outside the window, already voted, no votes left, ruled out, or the key was used for another vote"),
    (status = 429, body = Problem, description = "rate limited; see Retry-After"),
    (status = 503, body = Problem, description = "too busy; retry with the same Idempotency-Key"),
), tag = "votes", security(("bearer" = [])))]
#[post("/rounds/{id}/votes")]
pub async fn vote(
    state: web::Data<AppState>,
    req: HttpRequest,
    voter: AuthUser,
    id: web::Path<i64>,
    body: ValidJson<VoteBody>,
) -> AppResult<HttpResponse> {
    let key = idempotency_key(&req)?;
    let ip = state.votes.client_ip(&req);
    state.votes.admit(voter.id(), &ip)?;
    let cast = Cast {
        round_id: id.into_inner(),
        nomination_id: body.nomination_id,
        voter_id: voter.id(),
        voter_branch_id: voter.0.branch_id,
        idempotency_key: key,
        ip,
    };
    let receipt = state.votes.run(Command::Cast(cast)).await?;
    Ok(HttpResponse::Created().json(receipt))
}

/// Withdraw your vote for an entry, when the round allows it: the vote and
/// its receipt leave the ledger and the vote can be used again.
#[utoipa::path(params(("id" = i64, Path), ("nomination_id" = i64, Path)), responses(
    (status = 204),
    (status = 404, body = Problem, description = "no such round, or no vote of yours for this entry"),
    (status = 409, body = Problem, description = "withdrawal not allowed, or the round is not open"),
    (status = 429, body = Problem),
), tag = "votes", security(("bearer" = [])))]
#[delete("/rounds/{id}/votes/{nomination_id}")]
pub async fn withdraw(
    state: web::Data<AppState>,
    req: HttpRequest,
    voter: AuthUser,
    path: web::Path<(i64, i64)>,
) -> AppResult<HttpResponse> {
    let (round_id, nomination_id) = path.into_inner();
    let ip = state.votes.client_ip(&req);
    state.votes.admit(voter.id(), &ip)?;
    state.votes.run(Command::Withdraw { round_id, voter_id: voter.id(), nomination_id }).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Every counted vote of a closed round as (receipt, nomination_id), with no
/// voter identity, ordered by receipt: recount it, find your receipts. Open
/// to every signed-in account once the round has closed.
#[utoipa::path(params(("id" = i64, Path), PageQuery), responses(
    (status = 200, body = Page<LedgerLine>),
    (status = 409, body = Problem, description = "the round has not closed"),
), tag = "votes", security(("bearer" = [])))]
#[get("/rounds/{id}/ledger")]
pub async fn ledger(
    state: web::Data<AppState>,
    _caller: AuthUser,
    id: web::Path<i64>,
    page: web::Query<PageQuery>,
) -> AppResult<web::Json<Page<LedgerLine>>> {
    let (id, page) = (id.into_inner(), page.request()?);
    Ok(web::Json(state.db.run(move |c| votes::ledger(c, id, page)).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AnomalyQuery {
    /// Standing votes from one source within one minute that count as a burst (default 30).
    pub threshold: Option<u32>,
}

/// Minutes in which one IP address or one branch cast unusually many votes (admin).
#[utoipa::path(params(("id" = i64, Path), AnomalyQuery), responses(
    (status = 200, body = Anomalies),
    (status = 403, body = Problem),
), tag = "votes", security(("bearer" = [])))]
#[get("/rounds/{id}/anomalies")]
pub async fn anomalies(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
    query: web::Query<AnomalyQuery>,
) -> AppResult<web::Json<Anomalies>> {
    let id = id.into_inner();
    let threshold = i64::from(query.threshold.unwrap_or(30).max(1));
    Ok(web::Json(state.db.run(move |c| votes::anomalies(c, id, threshold)).await?))
}
