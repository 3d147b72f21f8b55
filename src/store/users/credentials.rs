//! Credentials: sign-in records, failed attempts, activation, passwords and admins.

use diesel::prelude::*;
use serde_json::json;

use super::{get, insert_values, with_company, NewUser, User, UserRow};
use crate::db::schema::{branches, users};
use crate::db::{self, DbConn};
use crate::domain::account::{AccountRefusal, Failures, UserStatus};
use crate::domain::roles::{Role, Roles};
use crate::domain::time::Timestamp;
use crate::store::{audit, StoreResult};

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
