//! Sign-in, activation, password change and the caller's own account.

use actix_web::{get, post, web, HttpResponse};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use super::extract::{AuthUser, ValidJson};
use super::AppState;
use crate::auth::{hash_activation_code, same_hash};
use crate::db;
use crate::domain::account::{check_password, retry_after_secs, UserStatus};
use crate::http::errors::{AppError, AppResult, Problem};
use crate::store::users::{self, Credentials, User};

// The bodies that carry a password or a code have no Debug, so that no log
// line can print one.
#[derive(Deserialize, Validate, ToSchema)]
pub struct LoginRequest {
    #[validate(length(min = 1, max = 32))]
    pub employee_no: String,
    #[validate(length(min = 1, max = 256))]
    pub password: String,
}

#[derive(Deserialize, Validate, ToSchema)]
pub struct ActivateRequest {
    #[validate(length(min = 1, max = 32))]
    pub employee_no: String,
    #[validate(length(min = 1, max = 64))]
    pub activation_code: String,
    pub new_password: String,
}

#[derive(Deserialize, Validate, ToSchema)]
pub struct PasswordChange {
    #[validate(length(min = 1, max = 256))]
    pub current_password: String,
    pub new_password: String,
}

/// No Debug: it holds the access token.
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the token expires.
    pub expires_in: u64,
    pub user: User,
}

fn invalid_credentials() -> AppError {
    AppError::unauthorized("the employee number or password is wrong")
}

fn issue(state: &AppState, user: User) -> TokenResponse {
    let token = state.tokens.issue(user.id, user.roles.clone(), user.branch_id, user.token_version);
    TokenResponse { access_token: token, token_type: "Bearer", expires_in: state.tokens.ttl_secs, user }
}

/// Refuses a locked account before any password is checked, right or wrong.
fn refuse_if_locked(account: Option<&Credentials>) -> AppResult<()> {
    if let Some(wait) = account.and_then(|a| a.failures().locked_for(db::now())) {
        return Err(AppError::too_many(
            "account_locked",
            "too many failed attempts; the account is locked for a while",
            retry_after_secs(wait),
        ));
    }
    Ok(())
}

async fn record_failure(state: &AppState, id: i64) -> AppResult<()> {
    state.db.run(move |conn| users::record_failure(conn, id, db::now())).await?;
    Ok(())
}

async fn credentials(state: &AppState, employee_no: &str) -> AppResult<Option<Credentials>> {
    let employee_no = employee_no.trim().to_owned();
    state.db.run(move |conn| users::credentials(conn, &employee_no)).await
}

/// Sign in with employee number and password.
#[utoipa::path(
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, description = "wrong employee number or password"),
        (status = 403, body = Problem, description = "account disabled"),
        (status = 429, body = Problem, description = "account locked after 5 failures in 15 minutes"),
        (status = 503, body = Problem, description = "too many sign-ins at once"),
    ),
    tag = "auth"
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    body: ValidJson<LoginRequest>,
) -> AppResult<web::Json<TokenResponse>> {
    let body = body.0;
    let user = sign_in(&state, &body.employee_no, body.password).await?;
    Ok(web::Json(issue(&state, user)))
}

/// Checks an employee number and password as every sign-in does (the API's
/// and the console's): a locked account is refused before any hash, a wrong
/// password counts towards the lock, a right one clears it.
pub async fn sign_in(state: &AppState, employee_no: &str, password: String) -> AppResult<User> {
    let employee_no = employee_no.trim().to_owned();
    let record = state.db.run(move |conn| users::sign_in_record(conn, &employee_no)).await?;
    refuse_if_locked(record.as_ref().map(|(account, _)| account))?;
    let hash = record.as_ref().and_then(|(account, _)| account.password_hash.clone());
    let matches = state.hasher.verify(SecretString::from(password), hash).await?;
    let Some((account, user)) = record else {
        return Err(invalid_credentials());
    };
    if !matches {
        record_failure(state, account.id).await?;
        return Err(invalid_credentials());
    }
    if account.status != UserStatus::Active {
        return Err(AppError::new(
            actix_web::http::StatusCode::FORBIDDEN,
            "account_disabled",
            "the account is disabled",
        ));
    }
    if !account.failures().is_clear() {
        let id = account.id;
        state.db.run(move |conn| users::clear_failures(conn, id)).await?;
    }
    // Signed in from the database's view; the node's cache must agree.
    state.accounts.put(user.clone());
    Ok(user)
}

/// Set the first password with the one-time activation code; signs in.
#[utoipa::path(
    request_body = ActivateRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, body = Problem, description = "unknown employee or invalid or used code"),
        (status = 422, body = Problem, description = "the new password breaks the policy"),
        (status = 429, body = Problem),
    ),
    tag = "auth"
)]
#[post("/auth/activate")]
pub async fn activate(
    state: web::Data<AppState>,
    body: ValidJson<ActivateRequest>,
) -> AppResult<web::Json<TokenResponse>> {
    let body = body.0;
    let user = activate_account(&state, &body.employee_no, &body.activation_code, body.new_password).await?;
    Ok(web::Json(issue(&state, user)))
}

/// Sets the first password with the one-time code (the API's and the console's way).
pub async fn activate_account(
    state: &AppState,
    employee_no: &str,
    activation_code: &str,
    new_password: String,
) -> AppResult<User> {
    check_password(&new_password, employee_no).map_err(|m| AppError::invalid_field("new_password", m))?;
    let account = credentials(state, employee_no).await?;
    refuse_if_locked(account.as_ref())?;
    let offered = hash_activation_code(activation_code);
    let wrong_code =
        || AppError::unauthorized("the employee number or activation code is wrong, or the code was used");
    let account = match account {
        Some(a) if a.activation_code_hash.as_deref().is_some_and(|stored| same_hash(stored, &offered)) => a,
        Some(a) => {
            record_failure(state, a.id).await?;
            return Err(wrong_code());
        }
        None => return Err(wrong_code()),
    };
    let password_hash = state.hasher.hash(SecretString::from(new_password)).await?;
    let id = account.id;
    let user = state.db.run(move |conn| users::activate(conn, id, &offered, &password_hash)).await?;
    state.accounts.forget(id);
    Ok(user)
}

/// Change your password. Every token issued before stops working; the answer
/// carries a fresh one.
#[utoipa::path(
    request_body = PasswordChange,
    responses(
        (status = 200, body = TokenResponse),
        (status = 409, body = Problem, description = "changed meanwhile by another request"),
        (status = 422, body = Problem, description = "current password wrong or new one breaks the policy"),
        (status = 429, body = Problem),
    ),
    tag = "auth", security(("bearer" = []))
)]
#[post("/auth/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: ValidJson<PasswordChange>,
) -> AppResult<web::Json<TokenResponse>> {
    let body = body.0;
    check_password(&body.new_password, &caller.employee_no)
        .map_err(|m| AppError::invalid_field("new_password", m))?;
    let id = caller.id();
    let account = state
        .db
        .run(move |conn| users::credentials_by_id(conn, id)?.ok_or_else(|| AppError::not_found("user")))
        .await?;
    refuse_if_locked(Some(&account))?;
    let old_hash = account.password_hash.clone();
    if !state.hasher.verify(SecretString::from(body.current_password), old_hash.clone()).await? {
        record_failure(&state, id).await?;
        return Err(AppError::invalid_field("current_password", "is not your current password"));
    }
    let old_hash = old_hash.unwrap_or_default();
    let new_hash = state.hasher.hash(SecretString::from(body.new_password)).await?;
    let user = state.db.run(move |conn| users::change_password(conn, id, &old_hash, &new_hash)).await?;
    state.accounts.forget(id);
    Ok(web::Json(issue(&state, user)))
}

/// The signed-in account.
#[utoipa::path(
    responses((status = 200, body = User)),
    tag = "auth", security(("bearer" = []))
)]
#[get("/me")]
pub async fn me(caller: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(&*caller.0)
}
