//! The one error type. Every failure becomes an RFC 7807 problem; a client's
//! mistake is a 4xx with a stable `code`, and a 5xx body says nothing of its cause
//! (which is logged with its full chain instead).

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::store::{StoreError, Unavailable};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

/// The body of every error response (`application/problem+json`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `/problems/{code}`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// A stable, machine-readable code, e.g. `duplicate`, `invalid_state`.
    pub code: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

#[derive(Debug)]
pub struct AppError {
    pub status: StatusCode,
    pub code: &'static str,
    pub detail: String,
    pub errors: Vec<FieldError>,
    pub retry_after: Option<u64>,
    source: Option<anyhow::Error>,
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(status: StatusCode, code: &'static str, detail: impl Into<String>) -> Self {
        AppError { status, code, detail: detail.into(), errors: vec![], retry_after: None, source: None }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    pub fn unprocessable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail)
    }

    /// 422 with one error per offending field.
    pub fn invalid(errors: Vec<FieldError>) -> Self {
        let detail = match errors.as_slice() {
            [one] => format!("{}: {}", one.field, one.message),
            _ => format!("{} problems with the input", errors.len()),
        };
        AppError { errors, ..Self::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", detail) }
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::invalid(vec![FieldError { field: field.to_owned(), message: message.into() }])
    }

    pub fn too_many(code: &'static str, detail: impl Into<String>, retry_after: u64) -> Self {
        AppError { retry_after: Some(retry_after), ..Self::new(StatusCode::TOO_MANY_REQUESTS, code, detail) }
    }

    pub fn unavailable(detail: impl Into<String>, retry_after: u64) -> Self {
        AppError {
            retry_after: Some(retry_after),
            ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail)
        }
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        AppError {
            source: Some(source.into()),
            ..Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error")
        }
    }

    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("/problems/{}", self.code),
            title: self.status.canonical_reason().unwrap_or("Error").to_owned(),
            status: self.status.as_u16(),
            detail: self.detail.clone(),
            code: self.code.to_owned(),
            errors: self.errors.clone(),
        }
    }
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status.as_u16(), self.code, self.detail)?;
        if let Some(source) = &self.source {
            write!(f, ": {source:#}")?;
        }
        Ok(())
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        if self.status.is_server_error() {
            tracing::error!(error = %self, "request failed");
        }
        let mut response = HttpResponse::build(self.status);
        response.insert_header((header::CONTENT_TYPE, "application/problem+json"));
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.body(serde_json::to_string(&self.problem()).unwrap_or_default())
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(refusal) => refusal.into(),
            StoreError::Db(e) => database(e),
            StoreError::Unavailable(why) => AppError::unavailable(
                match why {
                    Unavailable::ShuttingDown => "shutting down",
                    Unavailable::VoteQueueFull => "too many votes waiting; retry shortly",
                    Unavailable::VoteWriterStopped => "the vote writer has stopped",
                    Unavailable::VoteNotSaved => "the vote was not saved; retry",
                },
                1,
            ),
            corrupt @ (StoreError::Corrupt { .. } | StoreError::UnknownWord(_)) => {
                AppError::internal(corrupt)
            }
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        StoreError::from(e).into()
    }
}

/// A database error no rule foresaw. The client hears what kind of problem
/// it is, never the database's own words (constraint names, CHECK text).
fn database(e: diesel::result::Error) -> AppError {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match &e {
        Error::NotFound => AppError::not_found("resource"),
        Error::DatabaseError(Kind::UniqueViolation, _) => {
            AppError::conflict("duplicate", "this already exists")
        }
        Error::DatabaseError(Kind::ForeignKeyViolation, _) => AppError::conflict(
            "in_use",
            "the resource is referenced by others or refers to one that does not exist",
        ),
        // PostgreSQL refuses NUL in text; the input was the client's.
        Error::DatabaseError(_, info) if info.message().contains("0x00") => {
            AppError::bad_request("text must not contain NUL (\\u0000) characters")
        }
        Error::DatabaseError(Kind::CheckViolation, _) => {
            AppError::unprocessable("constraint", "a value is outside what the stored data allows")
        }
        // Two transactions crossed; nothing was written: the client retries.
        Error::DatabaseError(Kind::SerializationFailure, _) => {
            AppError::unavailable("a concurrent change got in the way; retry", 1)
        }
        Error::DatabaseError(_, info) if info.message().contains("deadlock detected") => {
            AppError::unavailable("a concurrent change got in the way; retry", 1)
        }
        _ => AppError::internal(e),
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::error!(error = %e, "database pool exhausted or unreachable");
        AppError::unavailable("the database is busy or unreachable", 1)
    }
}

impl From<actix_web::error::BlockingError> for AppError {
    fn from(e: actix_web::error::BlockingError) -> Self {
        AppError::internal(anyhow::anyhow!("blocking task failed: {e}"))
    }
}

impl From<crate::auth::HasherError> for AppError {
    fn from(e: crate::auth::HasherError) -> Self {
        match e {
            crate::auth::HasherError::Busy => {
                AppError::unavailable("too many sign-ins at once; try again shortly", 1)
            }
            other => AppError::internal(other),
        }
    }
}

impl From<validator::ValidationErrors> for AppError {
    fn from(errors: validator::ValidationErrors) -> Self {
        let mut fields = vec![];
        collect_validation(&errors, "", &mut fields);
        fields.sort_by(|a, b| a.field.cmp(&b.field));
        AppError::invalid(fields)
    }
}

fn collect_validation(errors: &validator::ValidationErrors, prefix: &str, out: &mut Vec<FieldError>) {
    use validator::ValidationErrorsKind as K;
    for (field, kind) in errors.errors() {
        let path = if prefix.is_empty() { field.to_string() } else { format!("{prefix}.{field}") };
        match kind {
            K::Field(list) => out.extend(list.iter().map(|e| FieldError {
                field: path.clone(),
                message: e.message.as_ref().map(|m| m.to_string()).unwrap_or_else(|| describe(e)),
            })),
            K::Struct(inner) => collect_validation(inner, &path, out),
            K::List(items) => {
                for (i, inner) in items {
                    collect_validation(inner, &format!("{path}[{i}]"), out);
                }
            }
        }
    }
}

fn describe(e: &validator::ValidationError) -> String {
    let param = |name: &str| e.params.get(name).map(|v| v.to_string());
    match e.code.as_ref() {
        "length" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be {min} to {max} characters long"),
            (Some(min), None) => format!("must be at least {min} characters long"),
            (None, Some(max)) => format!("must be at most {max} characters long"),
            _ => "has the wrong length".into(),
        },
        "range" => match (param("min"), param("max")) {
            (Some(min), Some(max)) => format!("must be between {min} and {max}"),
            (Some(min), None) => format!("must be at least {min}"),
            (None, Some(max)) => format!("must be at most {max}"),
            _ => "is out of range".into(),
        },
        code => format!("is invalid ({code})"),
    }
}
