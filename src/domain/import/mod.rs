//! Reading the employee CSV: `employee_no,name,branch_code[,roles]`.
//! Every row is checked whole before anything is written; a bad row becomes a
//! rejection with its line number and never stops the good ones.
//! This module holds the rows, their checks and what the import does with each.

#[cfg(test)]
mod properties;
mod reader;

use super::roles::Roles;

pub use reader::EmployeeCsv;

pub const MAX_EMPLOYEE_NO_CHARS: usize = 32;
pub const MAX_NAME_CHARS: usize = 100;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployeeRow {
    pub line: u64,
    pub employee_no: String,
    pub name: String,
    pub branch_code: String,
    /// None when the file has no roles column: existing accounts keep theirs.
    pub roles: Option<Roles>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct Rejection {
    pub line: u64,
    pub message: String,
}

/// A header that cannot be read: the whole file is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct HeaderError(pub String);

pub fn validate_employee_no(no: &str) -> Result<(), String> {
    if no.is_empty() {
        return Err("employee_no is empty".into());
    }
    if no.chars().count() > MAX_EMPLOYEE_NO_CHARS {
        return Err(format!("employee_no is longer than {MAX_EMPLOYEE_NO_CHARS} characters"));
    }
    if !no.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.') {
        return Err("employee_no may hold only letters, digits, '-', '_' and '.'".into());
    }
    Ok(())
}

pub fn validate_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("name is empty".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!("name is longer than {MAX_NAME_CHARS} characters"));
    }
    if name.chars().any(char::is_control) {
        return Err("name contains control characters".into());
    }
    Ok(())
}

/// An account the file names that exists already, as the import sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Existing {
    pub id: i64,
    pub name: String,
    pub branch_id: Option<i64>,
    /// As stored: roles joined by `;`.
    pub roles: String,
}

/// What the import does with one good row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RowPlan {
    Create,
    /// Name, branch and roles (`roles` as they will be stored).
    Update {
        id: i64,
        roles: String,
    },
    Unchanged,
    Reject(Rejection),
}

/// The branch a row names, by its code.
pub fn branch_of(
    row: &EmployeeRow,
    branch_ids: &std::collections::HashMap<String, i64>,
) -> Result<i64, Rejection> {
    branch_ids.get(&row.branch_code).copied().ok_or_else(|| Rejection {
        line: row.line,
        message: format!("unknown branch_code {:?}", super::excerpt(&row.branch_code)),
    })
}

/// Whether a row creates, updates or leaves an account. An admin cannot
/// change their own account by import (and so cannot demote themself by
/// accident); a file without a roles column leaves roles as they are.
pub fn plan_row(
    row: &EmployeeRow,
    branch_id: i64,
    existing: Option<&Existing>,
    actor: Option<i64>,
) -> RowPlan {
    let Some(current) = existing else { return RowPlan::Create };
    if Some(current.id) == actor {
        return RowPlan::Reject(Rejection {
            line: row.line,
            message: "this is your own account; change it through the API instead".into(),
        });
    }
    let roles = row.roles.as_ref().map(|r| r.to_string()).unwrap_or_else(|| current.roles.clone());
    if current.name == row.name && current.branch_id == Some(branch_id) && roles == current.roles {
        RowPlan::Unchanged
    } else {
        RowPlan::Update { id: current.id, roles }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good_row(roles: Option<&str>) -> EmployeeRow {
        EmployeeRow {
            line: 2,
            employee_no: "E1".into(),
            name: "黄".into(),
            branch_code: "B01".into(),
            roles: roles.map(|r| Roles::parse(r).unwrap()),
        }
    }

    fn existing(roles: &str) -> Existing {
        Existing { id: 9, name: "黄".into(), branch_id: Some(3), roles: roles.into() }
    }

    #[test]
    fn rows_create_update_or_leave_accounts() {
        let row = good_row(None);
        assert_eq!(plan_row(&row, 3, None, Some(1)), RowPlan::Create);
        assert_eq!(plan_row(&row, 3, Some(&existing("employee")), Some(1)), RowPlan::Unchanged);
        assert_eq!(
            plan_row(&row, 4, Some(&existing("employee")), Some(1)),
            RowPlan::Update { id: 9, roles: "employee".into() },
            "a move keeps the roles when the file has none"
        );
        let manager = good_row(Some("manager"));
        assert!(matches!(plan_row(&manager, 3, Some(&existing("employee")), None), RowPlan::Update { .. }));
    }

    #[test]
    fn an_admin_cannot_import_over_their_own_account() {
        let plan = plan_row(&good_row(None), 4, Some(&existing("admin")), Some(9));
        assert!(matches!(plan, RowPlan::Reject(Rejection { line: 2, .. })), "{plan:?}");
    }

    #[test]
    fn an_unknown_branch_code_rejects_the_row() {
        let ids = std::collections::HashMap::from([("B01".to_owned(), 3)]);
        assert_eq!(branch_of(&good_row(None), &ids), Ok(3));
        let elsewhere = EmployeeRow { branch_code: "B99".into(), ..good_row(None) };
        assert_eq!(branch_of(&elsewhere, &ids).unwrap_err().message, "unknown branch_code \"B99\"");
    }
}
