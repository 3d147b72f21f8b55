//! The employee import: rows in batches, each batch one transaction.

use std::collections::HashMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{insert_values, NewUser, UserInsert};
use crate::auth;
use crate::db::schema::users;
use crate::db::{self, DbConn};
use crate::domain::import::{self as import_rules, EmployeeRow, Existing, Rejection, RowPlan};
use crate::domain::roles::Roles;
use crate::store::{audit, Refusal, StoreError, StoreResult};

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
