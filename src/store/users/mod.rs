//! Accounts: people, their roles and credentials, and the employee import.
//! This module holds the account as stored and shown, and its admin's changes.

mod credentials;
mod import;

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::auth;
use crate::db::schema::{branches, users};
use crate::db::{self, DbConn};
use crate::domain::account::{self as rules, AccountRefusal, UserStatus};
use crate::domain::roles::{Role, Roles};
use crate::domain::time::Timestamp;
use crate::store::{
    audit, contains_pattern, MustExist, Page, PageRequest, Refusal, Resource, StoreError, StoreResult,
};

pub use credentials::{
    activate, change_password, clear_failures, credentials, credentials_by_id, record_failure,
    set_pending_passwords, sign_in_record, upsert_admin, Credentials,
};
pub use import::{import, ActivationCode, ImportReport};

/// No Debug: it holds the password hash.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
struct UserRow {
    id: i64,
    employee_no: String,
    name: String,
    branch_id: Option<i64>,
    roles: Roles,
    status: UserStatus,
    password_hash: Option<String>,
    token_version: i32,
    created_at: Timestamp,
    updated_at: Timestamp,
    console_signed_out_at: Option<Timestamp>,
}

/// An account as the API shows it (never with its hashes).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct User {
    pub id: i64,
    pub employee_no: String,
    pub name: String,
    pub branch_id: Option<i64>,
    pub member_company_id: Option<i64>,
    pub roles: Vec<Role>,
    pub status: UserStatus,
    /// Whether the account has set its password.
    pub activated: bool,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    #[serde(skip)]
    pub token_version: i32,
    /// Console sessions begun before this are over (see `console::session`).
    #[serde(skip)]
    pub console_signed_out_at: Option<Timestamp>,
}

impl User {
    pub fn roles(&self) -> Roles {
        Roles::new(self.roles.iter().copied())
    }

    /// The account as the rules see whoever acts: id, roles, branch.
    pub fn actor(&self) -> crate::domain::access::Actor {
        crate::domain::access::Actor { id: self.id, roles: self.roles(), branch_id: self.branch_id }
    }

    pub fn is_active(&self) -> bool {
        self.status == UserStatus::Active
    }

    fn from_row(row: UserRow, member_company_id: Option<i64>) -> User {
        User {
            id: row.id,
            employee_no: row.employee_no,
            name: row.name,
            branch_id: row.branch_id,
            member_company_id,
            roles: row.roles.as_slice().to_vec(),
            status: row.status,
            activated: row.password_hash.is_some(),
            created_at: row.created_at,
            updated_at: row.updated_at,
            token_version: row.token_version,
            console_signed_out_at: row.console_signed_out_at,
        }
    }
}

fn with_company() -> diesel::dsl::LeftJoin<users::table, branches::table> {
    users::table.left_join(branches::table)
}

pub fn get(conn: &mut DbConn, id: i64) -> StoreResult<User> {
    find(conn, id)?.found(Resource::User)
}

pub fn find(conn: &mut DbConn, id: i64) -> QueryResult<Option<User>> {
    Ok(with_company()
        .filter(users::id.eq(id))
        .select((UserRow::as_select(), branches::member_company_id.nullable()))
        .first::<(UserRow, Option<i64>)>(conn)
        .optional()?
        .map(|(row, company)| User::from_row(row, company)))
}

#[derive(Debug, Default, Clone)]
pub struct UserFilter {
    pub branch_id: Option<i64>,
    pub member_company_id: Option<i64>,
    pub role: Option<Role>,
    pub status: Option<String>,
    pub q: Option<String>,
}

pub fn list(conn: &mut DbConn, filter: &UserFilter, page: PageRequest) -> StoreResult<Page<User>> {
    let query = || {
        let mut q = with_company().into_boxed::<db::MultiBackend>();
        if let Some(branch) = filter.branch_id {
            q = q.filter(users::branch_id.eq(branch));
        }
        if let Some(company) = filter.member_company_id {
            q = q.filter(branches::member_company_id.eq(company));
        }
        if let Some(role) = filter.role {
            q = q.filter(users::roles.like(format!("%{}%", role.as_str())));
        }
        if let Some(status) = &filter.status {
            q = q.filter(users::status.eq(status.clone()));
        }
        if let Some(text) = filter.q.as_deref().filter(|t| !t.is_empty()) {
            let pattern = contains_pattern(text);
            q = q.filter(
                users::name
                    .like(pattern.clone())
                    .escape('\\')
                    .or(users::employee_no.like(pattern).escape('\\')),
            );
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .select((UserRow::as_select(), branches::member_company_id.nullable()))
        .order(users::id.asc())
        .limit(page.per_page)
        .offset(page.offset())
        .load::<(UserRow, Option<i64>)>(conn)?
        .into_iter()
        .map(|(row, company)| User::from_row(row, company))
        .collect();
    Ok(page.of(items, total))
}

/// Someone to pick by name: who they are to a reader.
#[derive(Debug, Clone)]
pub struct Pick {
    pub id: i64,
    pub name: String,
    pub employee_no: String,
}

/// Up to `limit` active people of one branch whose name or employee number
/// holds `text`, by employee number: a picker needs no total and no company.
pub fn branch_staff_matching(
    conn: &mut DbConn,
    branch_id: i64,
    text: &str,
    limit: i64,
) -> StoreResult<Vec<Pick>> {
    let pattern = contains_pattern(text);
    let rows = users::table
        .filter(users::branch_id.eq(branch_id))
        .filter(users::status.eq(UserStatus::Active))
        .filter(
            users::name.like(pattern.clone()).escape('\\').or(users::employee_no.like(pattern).escape('\\')),
        )
        .order(users::employee_no.asc())
        .limit(limit)
        .select((users::id, users::name, users::employee_no))
        .load::<(i64, String, String)>(conn)?;
    Ok(rows.into_iter().map(|(id, name, employee_no)| Pick { id, name, employee_no }).collect())
}

fn require_branch(conn: &mut DbConn, branch_id: Option<i64>) -> StoreResult<()> {
    if let Some(id) = branch_id {
        let exists: i64 = branches::table.filter(branches::id.eq(id)).count().get_result(conn)?;
        if exists == 0 {
            return Err(
                Refusal::UnknownReference { field: "branch_id", resource: Resource::Branch, id }.into()
            );
        }
    }
    Ok(())
}

pub struct NewUser {
    pub employee_no: String,
    pub name: String,
    pub branch_id: Option<i64>,
    pub roles: Roles,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
struct UserInsert {
    employee_no: String,
    name: String,
    branch_id: Option<i64>,
    roles: Roles,
    status: UserStatus,
    password_hash: Option<String>,
    activation_code_hash: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

fn insert_values(
    user: &NewUser,
    code_hash: Option<String>,
    password_hash: Option<String>,
    now: Timestamp,
) -> UserInsert {
    UserInsert {
        employee_no: user.employee_no.clone(),
        name: user.name.clone(),
        branch_id: user.branch_id,
        roles: user.roles.clone(),
        status: UserStatus::Active,
        password_hash,
        activation_code_hash: code_hash,
        created_at: now,
        updated_at: now,
    }
}

fn duplicate_employee(e: diesel::result::Error, employee_no: &str) -> StoreError {
    if db::is_unique_violation(&e) {
        AccountRefusal::EmployeeNoTaken(employee_no.to_owned()).into()
    } else {
        e.into()
    }
}

/// Creates an account and returns it with its one-time activation code.
pub fn create(conn: &mut DbConn, actor: i64, user: NewUser) -> StoreResult<(User, String)> {
    let code = auth::new_activation_code();
    let created = db::write_tx(conn, |conn| {
        require_branch(conn, user.branch_id)?;
        let id: i64 = diesel::insert_into(users::table)
            .values(insert_values(&user, Some(auth::hash_activation_code(&code)), None, db::now()))
            .returning(users::id)
            .get_result(conn)
            .map_err(|e| duplicate_employee(e, &user.employee_no))?;
        audit::append(
            conn,
            Some(actor),
            "user.create",
            &format!("user:{id}"),
            json!({"employee_no": user.employee_no, "name": user.name, "branch_id": user.branch_id, "roles": user.roles.as_str()}),
        )?;
        get(conn, id)
    })?;
    Ok((created, code))
}

#[derive(Debug, Default, AsChangeset, Serialize)]
#[diesel(table_name = users)]
pub struct UserChanges {
    pub name: Option<String>,
    #[diesel(treat_none_as_null = false)]
    pub branch_id: Option<Option<i64>>,
    pub roles: Option<Roles>,
    pub status: Option<UserStatus>,
}

pub fn update(conn: &mut DbConn, actor: i64, id: i64, changes: UserChanges) -> StoreResult<User> {
    db::write_tx(conn, |conn| {
        let current = get(conn, id)?;
        if changes.name.is_none()
            && changes.branch_id.is_none()
            && changes.roles.is_none()
            && changes.status.is_none()
        {
            return Ok(current);
        }
        if let Some(branch) = changes.branch_id {
            require_branch(conn, branch)?;
        }
        rules::check_self_change(
            actor == id,
            current.roles().has(Role::Admin),
            changes.status == Some(UserStatus::Disabled),
            changes.roles.as_ref().is_none_or(|r| r.has(Role::Admin)),
        )?;
        diesel::update(users::table.find(id))
            .set((&changes, users::updated_at.eq(db::now())))
            .execute(conn)?;
        if changes.status == Some(UserStatus::Active) {
            // Re-enabling an account also lifts a sign-in lock.
            clear_failures(conn, id)?;
        }
        audit::append(conn, Some(actor), "user.update", &format!("user:{id}"), json!(changes))?;
        get(conn, id)
    })
}

/// Clears the password and issues a new activation code (for a forgotten password).
pub fn reset_activation(conn: &mut DbConn, actor: i64, id: i64) -> StoreResult<(User, String)> {
    if actor == id {
        // It would sign the admin out with no password: /auth/password is the way.
        return Err(AccountRefusal::SelfReset.into());
    }
    let code = auth::new_activation_code();
    let user = db::write_tx(conn, |conn| {
        get(conn, id)?;
        diesel::update(users::table.find(id))
            .set((
                users::password_hash.eq(None::<String>),
                users::activation_code_hash.eq(auth::hash_activation_code(&code)),
                users::token_version.eq(users::token_version + 1),
                users::updated_at.eq(db::now()),
            ))
            .execute(conn)?;
        // A new code is how an admin helps a locked-out person: the lock goes too.
        clear_failures(conn, id)?;
        audit::append(conn, Some(actor), "user.reset_activation", &format!("user:{id}"), json!({}))?;
        get(conn, id)
    })?;
    Ok((user, code))
}

/// Every account by employee number.
pub fn ids_by_employee_no(conn: &mut DbConn) -> QueryResult<HashMap<String, i64>> {
    Ok(users::table
        .select((users::employee_no, users::id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}
