//! Probes for operators.

use actix_web::{get, web, HttpResponse};
use diesel::RunQueryDsl;
use serde::Serialize;
use utoipa::ToSchema;

use super::AppState;
use crate::http::errors::{AppResult, Problem};

#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    pub status: &'static str,
}

/// Liveness: the process answers.
#[utoipa::path(responses((status = 200, body = Health)), tag = "ops")]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// Readiness: the database answers.
#[utoipa::path(responses((status = 200, body = Health), (status = 503, body = Problem)), tag = "ops")]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> AppResult<HttpResponse> {
    state
        .db
        .run(|conn| {
            diesel::sql_query("SELECT 1").execute(conn).map_err(|e| {
                tracing::warn!(error = %e, "readiness check failed");
                crate::http::errors::AppError::unavailable("the database does not answer", 5)
            })
        })
        .await?;
    Ok(HttpResponse::Ok().json(Health { status: "ready" }))
}
