//! The audit log (admin).

use actix_web::{get, web};
use serde::Deserialize;
use utoipa::IntoParams;

use super::extract::{Admin, PageQuery};
use super::AppState;
use crate::http::errors::{AppResult, Problem};
use crate::store::audit::{self, AuditEvent, AuditFilter, Verification};
use crate::store::Page;

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    pub actor_id: Option<i64>,
    /// e.g. `user.create`
    pub action: Option<String>,
    /// e.g. `user:42`
    pub subject: Option<String>,
}

/// Audit events, newest first.
#[utoipa::path(params(PageQuery, AuditQuery), responses(
    (status = 200, body = Page<AuditEvent>), (status = 403, body = Problem),
), tag = "audit", security(("bearer" = [])))]
#[get("/audit")]
pub async fn list(
    state: web::Data<AppState>,
    _admin: Admin,
    page: web::Query<PageQuery>,
    query: web::Query<AuditQuery>,
) -> AppResult<web::Json<Page<AuditEvent>>> {
    let page = page.request()?;
    let query = query.into_inner();
    let filter = AuditFilter { actor_id: query.actor_id, action: query.action, subject: query.subject };
    Ok(web::Json(state.db.run(move |c| audit::list(c, &filter, page)).await?))
}

/// Recompute the hash chain and name the first broken event.
#[utoipa::path(responses(
    (status = 200, body = Verification), (status = 403, body = Problem),
), tag = "audit", security(("bearer" = [])))]
#[get("/audit/verify")]
pub async fn verify(state: web::Data<AppState>, _admin: Admin) -> AppResult<web::Json<Verification>> {
    Ok(web::Json(state.db.run(audit::verify).await?))
}
