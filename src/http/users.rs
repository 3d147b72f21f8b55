//! Accounts (admin): create, list, read, change, disable, reset activation.

use actix_web::{delete, get, patch, post, web, HttpResponse};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::extract::{Admin, AuthUser, PageQuery, ValidJson};
use super::AppState;
use crate::domain::account::UserStatus;
use crate::domain::roles::{Role, Roles};
use crate::http::errors::{AppError, AppResult, Problem};
use crate::store::users::{self, NewUser, User, UserChanges, UserFilter};
use crate::store::Page;

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    #[validate(custom(function = "super::validate_employee_no"))]
    pub employee_no: String,
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: String,
    pub branch_id: Option<i64>,
    /// Defaults to `[employee]`; everyone is an employee.
    #[serde(default)]
    pub roles: Vec<Role>,
}

#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    #[validate(length(min = 1, max = 100), custom(function = "super::validate_name"))]
    pub name: Option<String>,
    /// A branch id, or null for group staff.
    #[serde(default, deserialize_with = "super::double_option")]
    #[schema(value_type = Option<i64>)]
    pub branch_id: Option<Option<i64>>,
    pub roles: Option<Vec<Role>>,
    pub status: Option<UserStatus>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedUser {
    #[serde(flatten)]
    pub user: User,
    /// The one-time activation code; shown only here.
    pub activation_code: String,
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserQuery {
    pub branch_id: Option<i64>,
    pub member_company_id: Option<i64>,
    pub role: Option<Role>,
    pub status: Option<UserStatus>,
    /// Free text over name and employee number.
    pub q: Option<String>,
}

/// Create one account; the answer carries its activation code.
#[utoipa::path(request_body = CreateUser, responses(
    (status = 201, body = CreatedUser), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "employee number taken"),
), tag = "users", security(("bearer" = [])))]
#[post("/users")]
pub async fn create(
    state: web::Data<AppState>,
    admin: Admin,
    body: ValidJson<CreateUser>,
) -> AppResult<HttpResponse> {
    let (actor, body) = (admin.id(), body.0);
    let user = NewUser {
        employee_no: body.employee_no.trim().to_owned(),
        name: body.name.trim().to_owned(),
        branch_id: body.branch_id,
        roles: Roles::new(body.roles),
    };
    let (user, activation_code) = state.db.run(move |c| users::create(c, actor, user)).await?;
    Ok(HttpResponse::Created().json(CreatedUser { user, activation_code }))
}

/// List accounts with filters. Admins see everyone; a branch manager sees
/// their own branch (to find the ids of the people they nominate), whatever
/// branch or company filter they send.
#[utoipa::path(params(PageQuery, UserQuery), responses(
    (status = 200, body = Page<User>), (status = 403, body = Problem),
), tag = "users", security(("bearer" = [])))]
#[get("/users")]
pub async fn list(
    state: web::Data<AppState>,
    caller: AuthUser,
    page: web::Query<PageQuery>,
    query: web::Query<UserQuery>,
) -> AppResult<web::Json<Page<User>>> {
    let scope = caller.actor().branch_scope().map_err(AppError::forbidden)?;
    let page = page.request()?;
    let query = query.into_inner();
    let filter = UserFilter {
        branch_id: scope.or(query.branch_id),
        member_company_id: query.member_company_id,
        role: query.role,
        status: query.status.map(|s| s.as_str().to_owned()),
        q: query.q.map(|q| q.trim().to_owned()),
    };
    Ok(web::Json(state.db.run(move |c| users::list(c, &filter, page)).await?))
}

/// One account.
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = User), (status = 403, body = Problem),
), tag = "users", security(("bearer" = [])))]
#[get("/users/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _admin: Admin,
    id: web::Path<i64>,
) -> AppResult<web::Json<User>> {
    let id = id.into_inner();
    Ok(web::Json(state.db.run(move |c| users::get(c, id)).await?))
}

/// Edit name, branch, roles or status.
#[utoipa::path(params(("id" = i64, Path)), request_body = UserPatch, responses(
    (status = 200, body = User), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "an admin may not lock themselves out"),
), tag = "users", security(("bearer" = [])))]
#[patch("/users/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
    body: ValidJson<UserPatch>,
) -> AppResult<web::Json<User>> {
    let (actor, id, body) = (admin.id(), id.into_inner(), body.0);
    let changes = UserChanges {
        name: body.name.map(|n| n.trim().to_owned()),
        branch_id: body.branch_id,
        roles: body.roles.map(Roles::new),
        status: body.status,
    };
    let user = state.db.run(move |c| users::update(c, actor, id, changes)).await?;
    state.accounts.forget(id);
    Ok(web::Json(user))
}

/// Disable an account (it is kept for the record; PATCH status to re-enable).
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = User), (status = 403, body = Problem),
    (status = 409, body = Problem),
), tag = "users", security(("bearer" = [])))]
#[delete("/users/{id}")]
pub async fn disable(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> AppResult<web::Json<User>> {
    let (actor, id) = (admin.id(), id.into_inner());
    let changes = UserChanges { status: Some(UserStatus::Disabled), ..Default::default() };
    let user = state.db.run(move |c| users::update(c, actor, id, changes)).await?;
    state.accounts.forget(id);
    Ok(web::Json(user))
}

/// Clear the password and issue a new activation code (forgotten password).
#[utoipa::path(params(("id" = i64, Path)), responses(
    (status = 200, body = CreatedUser), (status = 403, body = Problem),
    (status = 409, body = Problem, description = "your own account (self_lockout): change your password instead"),
), tag = "users", security(("bearer" = [])))]
#[post("/users/{id}/activation-code")]
pub async fn reset_activation(
    state: web::Data<AppState>,
    admin: Admin,
    id: web::Path<i64>,
) -> AppResult<web::Json<CreatedUser>> {
    let (actor, id) = (admin.id(), id.into_inner());
    let (user, activation_code) = state.db.run(move |c| users::reset_activation(c, actor, id)).await?;
    state.accounts.forget(id);
    Ok(web::Json(CreatedUser { user, activation_code }))
}
