//! Accounts: people, their roles and credentials, and the employee import.

use std::collections::HashMap;

use crate::domain::time::Timestamp;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::auth;
use crate::db::schema::{branches, users};
use crate::db::{self, DbConn};
use crate::domain::account::{self as rules, AccountRefusal, Failures, UserStatus};
use crate::domain::import::{self as import_rules, EmployeeRow, Existing, Rejection, RowPlan};
use crate::domain::roles::{Role, Roles};
use crate::store::{
    audit, contains_pattern, MustExist, Page, PageRequest, Refusal, Resource, StoreError, StoreResult,
};

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
}

impl User {
    pub fn roles(&self) -> Roles {
        Roles::new(self.roles.iter().copied())
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

/// What sign-in and activation need to know about an account. No Debug: it
/// holds the hashes.
#[derive(Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct Credentials {
    pub id: i64,
    pub employee_no: String,
    pub status: UserStatus,
    pub password_hash: Option<String>,
    pub activation_code_hash: Option<String>,
    pub token_version: i32,
    pub failed_logins: i32,
    pub failed_window_started_at: Option<Timestamp>,
    pub locked_until: Option<Timestamp>,
}

impl Credentials {
    pub fn failures(&self) -> Failures {
        Failures {
            count: self.failed_logins,
            window_started_at: self.failed_window_started_at,
            locked_until: self.locked_until,
        }
    }
}

pub fn credentials(conn: &mut DbConn, employee_no: &str) -> QueryResult<Option<Credentials>> {
    users::table
        .filter(users::employee_no.eq(employee_no))
        .select(Credentials::as_select())
        .first(conn)
        .optional()
}

/// Credentials and the account itself in one query: sign-in needs both.
pub fn sign_in_record(conn: &mut DbConn, employee_no: &str) -> QueryResult<Option<(Credentials, User)>> {
    Ok(with_company()
        .filter(users::employee_no.eq(employee_no))
        .select((Credentials::as_select(), UserRow::as_select(), branches::member_company_id.nullable()))
        .first::<(Credentials, UserRow, Option<i64>)>(conn)
        .optional()?
        .map(|(credentials, row, company)| (credentials, User::from_row(row, company))))
}

pub fn credentials_by_id(conn: &mut DbConn, id: i64) -> QueryResult<Option<Credentials>> {
    users::table.find(id).select(Credentials::as_select()).first(conn).optional()
}

/// Counts one failed attempt. A conditional update on the count read, retried
/// on a lost race, so parallel failures are all counted on both backends.
pub fn record_failure(conn: &mut DbConn, id: i64, now: Timestamp) -> QueryResult<Failures> {
    loop {
        let Some(current) = credentials_by_id(conn, id)? else {
            return Ok(Failures { count: 0, window_started_at: None, locked_until: None });
        };
        let next = current.failures().after_failure(now);
        let updated =
            diesel::update(users::table.find(id).filter(users::failed_logins.eq(current.failed_logins)))
                .set((
                    users::failed_logins.eq(next.count),
                    users::failed_window_started_at.eq(next.window_started_at),
                    users::locked_until.eq(next.locked_until),
                ))
                .execute(conn)?;
        if updated == 1 {
            return Ok(next);
        }
    }
}

pub fn clear_failures(conn: &mut DbConn, id: i64) -> QueryResult<()> {
    diesel::update(users::table.find(id))
        .set((
            users::failed_logins.eq(0),
            users::failed_window_started_at.eq(None::<Timestamp>),
            users::locked_until.eq(None::<Timestamp>),
        ))
        .execute(conn)?;
    Ok(())
}

/// Sets the first password with a one-time code. The update only applies while
/// the code is still the stored one, so a code works once even under a race.
pub fn activate(conn: &mut DbConn, id: i64, code_hash: &str, password_hash: &str) -> StoreResult<User> {
    db::write_tx(conn, |conn| {
        let updated = diesel::update(
            users::table
                .find(id)
                .filter(users::activation_code_hash.eq(code_hash))
                .filter(users::status.eq(UserStatus::Active)),
        )
        .set((
            users::password_hash.eq(password_hash),
            users::activation_code_hash.eq(None::<String>),
            users::token_version.eq(users::token_version + 1),
            users::failed_logins.eq(0),
            users::failed_window_started_at.eq(None::<Timestamp>),
            users::locked_until.eq(None::<Timestamp>),
            users::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(AccountRefusal::ActivationCodeInvalid.into());
        }
        audit::append(conn, Some(id), "user.activate", &format!("user:{id}"), json!({}))?;
        get(conn, id)
    })
}

/// Replaces the password if it is still the one that was checked, and bumps the
/// token version so that every token issued before stops working.
pub fn change_password(conn: &mut DbConn, id: i64, old_hash: &str, new_hash: &str) -> StoreResult<User> {
    db::write_tx(conn, |conn| {
        let updated = diesel::update(users::table.find(id).filter(users::password_hash.eq(old_hash)))
            .set((
                users::password_hash.eq(new_hash),
                users::token_version.eq(users::token_version + 1),
                users::updated_at.eq(db::now()),
            ))
            .execute(conn)?;
        if updated == 0 {
            return Err(AccountRefusal::PasswordChangedMeanwhile.into());
        }
        audit::append(conn, Some(id), "user.change_password", &format!("user:{id}"), json!({}))?;
        get(conn, id)
    })
}

/// Creates an admin, or makes an existing account an admin with this password.
pub fn upsert_admin(
    conn: &mut DbConn,
    employee_no: &str,
    name: &str,
    password_hash: &str,
) -> StoreResult<User> {
    db::write_tx(conn, |conn| {
        let existing = credentials(conn, employee_no)?;
        let id = match existing {
            Some(account) => {
                let current = get(conn, account.id)?;
                let roles = Roles::new(current.roles.iter().copied().chain([Role::Admin]));
                diesel::update(users::table.find(account.id))
                    .set((
                        users::name.eq(name),
                        users::roles.eq(roles),
                        users::status.eq(UserStatus::Active),
                        users::password_hash.eq(password_hash),
                        users::activation_code_hash.eq(None::<String>),
                        users::token_version.eq(users::token_version + 1),
                        users::updated_at.eq(db::now()),
                    ))
                    .execute(conn)?;
                clear_failures(conn, account.id)?;
                account.id
            }
            None => {
                let user = NewUser {
                    employee_no: employee_no.to_owned(),
                    name: name.to_owned(),
                    branch_id: None,
                    roles: Roles::new([Role::Admin]),
                };
                diesel::insert_into(users::table)
                    .values(insert_values(&user, None, Some(password_hash.to_owned()), db::now()))
                    .returning(users::id)
                    .get_result(conn)?
            }
        };
        audit::append(
            conn,
            None,
            "user.create_admin",
            &format!("user:{id}"),
            json!({"employee_no": employee_no}),
        )?;
        get(conn, id)
    })
}

/// Every account by employee number.
pub fn ids_by_employee_no(conn: &mut DbConn) -> QueryResult<HashMap<String, i64>> {
    Ok(users::table
        .select((users::employee_no, users::id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

/// Gives every account that has not chosen a password yet this password
/// hash, in place of its activation code. For the demo, whose accounts share
/// one password so that the API can be tried at once; returns how many.
pub fn set_pending_passwords(conn: &mut DbConn, actor: i64, password_hash: &str) -> StoreResult<usize> {
    db::write_tx(conn, |conn| {
        let updated = diesel::update(users::table.filter(users::password_hash.is_null()))
            .set((
                users::password_hash.eq(password_hash),
                users::activation_code_hash.eq(None::<String>),
                users::token_version.eq(users::token_version + 1),
                users::updated_at.eq(db::now()),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            Some(actor),
            "user.set_pending_passwords",
            "users",
            json!({"accounts": updated}),
        )?;
        Ok(updated)
    })
}

pub fn count(conn: &mut DbConn) -> QueryResult<i64> {
    users::table.count().get_result(conn)
}

/// 9 values a row: 500 rows stay well under SQLite's bound-parameter limit.
fn insert_many(conn: &mut DbConn, rows: &[UserInsert]) -> QueryResult<()> {
    crate::insert_batches!(conn, users::table, rows, 500)
}

#[derive(Debug, Default, Serialize, utoipa::ToSchema)]
pub struct ImportReport {
    pub created: u64,
    pub updated: u64,
    /// Rows whose content was already up to date.
    pub unchanged: u64,
    pub rejected: Vec<Rejection>,
    /// One-time codes for the accounts this import created; shown once, stored hashed.
    pub activation_codes: Vec<ActivationCode>,
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivationCode {
    pub employee_no: String,
    pub code: String,
}

const IMPORT_BATCH: usize = 1_000;

/// Imports rows in batches of 1,000, each batch one transaction with one audit
/// event listing whom it created and updated. A row is written whole or not at all.
pub fn import(
    conn: &mut DbConn,
    actor: Option<i64>,
    rows: impl Iterator<Item = Result<EmployeeRow, Rejection>>,
) -> StoreResult<ImportReport> {
    let branch_ids = crate::store::org::branch_ids_by_code(conn)?;
    let mut report = ImportReport::default();
    let mut batch = Vec::with_capacity(IMPORT_BATCH);
    for row in rows {
        match row {
            Ok(row) => match import_rules::branch_of(&row, &branch_ids) {
                Ok(branch_id) => batch.push((row, branch_id)),
                Err(rejection) => report.rejected.push(rejection),
            },
            Err(rejection) => report.rejected.push(rejection),
        }
        if batch.len() == IMPORT_BATCH {
            import_batch(conn, actor, &batch, &mut report)?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        import_batch(conn, actor, &batch, &mut report)?;
    }
    report.rejected.sort_by_key(|r| r.line);
    Ok(report)
}

fn import_batch(
    conn: &mut DbConn,
    actor: Option<i64>,
    batch: &[(EmployeeRow, i64)],
    report: &mut ImportReport,
) -> StoreResult<()> {
    // A concurrent import may create the same people between our read and our
    // insert; the unique index refuses it and the retry sees them as updates.
    let mut attempts = 0;
    loop {
        attempts += 1;
        match db::write_tx(conn, |conn| import_batch_once(conn, actor, batch)) {
            Ok(outcome) => {
                report.created += outcome.codes.len() as u64;
                report.updated += outcome.updated;
                report.unchanged += outcome.unchanged;
                report.activation_codes.extend(outcome.codes);
                report.rejected.extend(outcome.rejected);
                return Ok(());
            }
            Err(StoreError::Refused(Refusal::Duplicate(_))) if attempts < 3 => continue,
            // What the rows' data broke is reported against them, so the
            // report still accounts for every line and the codes of the
            // batches already written are not lost.
            Err(e) => match unwritable(&e) {
                Some(why) => {
                    report.rejected.extend(batch.iter().map(|(row, _)| Rejection {
                        line: row.line,
                        message: format!("not written: {why}"),
                    }));
                    return Ok(());
                }
                None => return Err(e),
            },
        }
    }
}

/// Why a batch's rows could not be written, when it was their data.
fn unwritable(e: &StoreError) -> Option<&'static str> {
    use diesel::result::{DatabaseErrorKind as Kind, Error};
    match e {
        StoreError::Refused(Refusal::Duplicate(_)) => Some("another import wrote the same people meanwhile"),
        StoreError::Db(Error::DatabaseError(Kind::ForeignKeyViolation, _)) => {
            Some("its branch was deleted meanwhile")
        }
        StoreError::Db(Error::DatabaseError(Kind::CheckViolation, _)) => {
            Some("a value is outside what the stored data allows")
        }
        StoreError::Db(Error::DatabaseError(_, info)) if info.message().contains("0x00") => {
            Some("text must not contain NUL characters")
        }
        _ => None,
    }
}

struct BatchOutcome {
    codes: Vec<ActivationCode>,
    updated: u64,
    unchanged: u64,
    rejected: Vec<Rejection>,
}

fn import_batch_once(
    conn: &mut DbConn,
    actor: Option<i64>,
    batch: &[(EmployeeRow, i64)],
) -> StoreResult<BatchOutcome> {
    let numbers: Vec<&str> = batch.iter().map(|(row, _)| row.employee_no.as_str()).collect();
    let existing: HashMap<String, Existing> = users::table
        .filter(users::employee_no.eq_any(&numbers))
        .select((users::employee_no, (users::id, users::name, users::branch_id, users::roles)))
        .load::<(String, (i64, String, Option<i64>, String))>(conn)?
        .into_iter()
        .map(|(no, (id, name, branch_id, roles))| (no, Existing { id, name, branch_id, roles }))
        .collect();
    let now = db::now();
    let mut outcome = BatchOutcome { codes: vec![], updated: 0, unchanged: 0, rejected: vec![] };
    let mut updated_numbers = vec![];
    let mut new_rows = vec![];
    for (row, branch_id) in batch {
        match import_rules::plan_row(row, *branch_id, existing.get(&row.employee_no), actor) {
            RowPlan::Reject(rejection) => outcome.rejected.push(rejection),
            RowPlan::Unchanged => outcome.unchanged += 1,
            RowPlan::Update { id, roles } => {
                diesel::update(users::table.find(id))
                    .set((
                        users::name.eq(&row.name),
                        users::branch_id.eq(branch_id),
                        users::roles.eq(roles),
                        users::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                outcome.updated += 1;
                updated_numbers.push(row.employee_no.as_str());
            }
            RowPlan::Create => {
                let code = auth::new_activation_code();
                let user = NewUser {
                    employee_no: row.employee_no.clone(),
                    name: row.name.clone(),
                    branch_id: Some(*branch_id),
                    roles: row.roles.clone().unwrap_or_else(Roles::employee),
                };
                new_rows.push(insert_values(&user, Some(auth::hash_activation_code(&code)), None, now));
                outcome.codes.push(ActivationCode { employee_no: row.employee_no.clone(), code });
            }
        }
    }
    insert_many(conn, &new_rows)?;
    if !outcome.codes.is_empty() || !updated_numbers.is_empty() {
        let created: Vec<&str> = outcome.codes.iter().map(|c| c.employee_no.as_str()).collect();
        audit::append(
            conn,
            actor,
            "user.import",
            "users",
            json!({"created": created, "updated": updated_numbers}),
        )?;
    }
    Ok(outcome)
}
