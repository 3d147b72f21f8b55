//! The employee import: a CSV of staff, written row by row.

use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{post, web, HttpRequest};

use super::extract::{declared_length, read_body, Admin, CSV_BODY_TIMEOUT};
use super::AppState;
use crate::domain::import::EmployeeCsv;
use crate::http::errors::{AppError, AppResult, Problem};
use crate::store::users::{self, ImportReport};
use crate::store::Refusal;

/// Import employees from CSV (`employee_no,name,branch_code[,roles]`, UTF-8).
/// Good rows are written, bad rows reported by line; a re-import updates.
#[utoipa::path(
    request_body(content = String, content_type = "text/csv", description = "employee_no,name,branch_code[,roles]",
        example = "employee_no,name,branch_code,roles\nE2001,李四,SZ01,\nE2002,王五,SZ01,reviewer;manager\n"),
    responses(
        (status = 200, body = ImportReport), (status = 403, body = Problem),
        (status = 422, body = Problem, description = "the header line is unusable"),
    ),
    tag = "users", security(("bearer" = []))
)]
#[post("/imports/employees")]
pub async fn import_employees(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    payload: web::Payload,
) -> AppResult<web::Json<ImportReport>> {
    let content_type = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !(content_type.starts_with("text/csv") || content_type.starts_with("application/csv")) {
        return Err(AppError::new(
            actix_web::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the file as text/csv",
        ));
    }
    let mut payload: Payload = payload.into_inner();
    let declared = declared_length(&req);
    let body = read_body(&mut payload, declared, state.settings.csv_limit, CSV_BODY_TIMEOUT).await?.freeze();
    let actor = admin.id();
    let report = state
        .db
        .run(move |conn| {
            let rows = EmployeeCsv::new(&body[..]).map_err(|e| Refusal::field("header", e.0))?;
            users::import(conn, Some(actor), rows)
        })
        .await?;
    state.accounts.forget_all();
    Ok(web::Json(report))
}
