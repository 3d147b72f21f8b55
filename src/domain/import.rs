//! Reading the employee CSV: `employee_no,name,branch_code[,roles]`.
//! Every row is checked whole before anything is written; a bad row becomes a
//! rejection with its line number and never stops the good ones.

use std::collections::HashSet;
use std::io::Read;

use super::roles::Roles;

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

struct Columns {
    employee_no: usize,
    name: usize,
    branch_code: usize,
    roles: Option<usize>,
    count: usize,
}

/// Streams rows from a CSV reader, checking each one.
pub struct EmployeeCsv<R: Read> {
    reader: csv::Reader<R>,
    columns: Columns,
    seen: HashSet<String>,
    record: csv::ByteRecord,
}

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

impl<R: Read> EmployeeCsv<R> {
    pub fn new(input: R) -> Result<Self, HeaderError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
        let header = reader
            .byte_headers()
            .map_err(|e| HeaderError(format!("cannot read the header line: {e}")))?
            .clone();
        let names: Vec<String> = header
            .iter()
            .map(|h| String::from_utf8_lossy(h).trim().trim_start_matches('\u{feff}').to_ascii_lowercase())
            .collect();
        let find = |wanted: &str| names.iter().position(|n| n == wanted);
        let mut missing = vec![];
        for required in ["employee_no", "name", "branch_code"] {
            if find(required).is_none() {
                missing.push(required);
            }
        }
        if !missing.is_empty() {
            return Err(HeaderError(format!(
                "the header line lacks {}; expected employee_no,name,branch_code[,roles]",
                missing.join(", ")
            )));
        }
        if let Some(unknown) =
            names.iter().find(|n| !["employee_no", "name", "branch_code", "roles"].contains(&n.as_str()))
        {
            return Err(HeaderError(format!("unknown column {unknown:?} in the header line")));
        }
        let columns = Columns {
            employee_no: find("employee_no").unwrap_or_default(),
            name: find("name").unwrap_or_default(),
            branch_code: find("branch_code").unwrap_or_default(),
            roles: find("roles"),
            count: names.len(),
        };
        Ok(EmployeeCsv { reader, columns, seen: HashSet::new(), record: csv::ByteRecord::new() })
    }

    fn check(&mut self, line: u64) -> Result<EmployeeRow, String> {
        let record = &self.record;
        if record.len() != self.columns.count {
            return Err(format!("expected {} fields, found {}", self.columns.count, record.len()));
        }
        let field = |i: usize| -> Result<String, String> {
            std::str::from_utf8(&record[i])
                .map(|s| s.trim().to_owned())
                .map_err(|_| "not valid UTF-8 (save the file as UTF-8)".to_owned())
        };
        let employee_no = field(self.columns.employee_no)?;
        let name = field(self.columns.name)?;
        let branch_code = field(self.columns.branch_code)?;
        let roles = self.columns.roles.map(field).transpose()?;
        validate_employee_no(&employee_no)?;
        validate_name(&name)?;
        if branch_code.is_empty() {
            return Err("branch_code is empty".into());
        }
        let roles = roles.map(|r| Roles::parse(&r)).transpose()?;
        if !self.seen.insert(employee_no.clone()) {
            return Err(format!("employee_no {employee_no} appears more than once in this file"));
        }
        Ok(EmployeeRow { line, employee_no, name, branch_code, roles })
    }
}

impl<R: Read> Iterator for EmployeeCsv<R> {
    type Item = Result<EmployeeRow, Rejection>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let line = self.reader.position().line();
            match self.reader.read_byte_record(&mut self.record) {
                Ok(false) => return None,
                // Blank lines carry nothing to import or reject.
                Ok(true) if self.record.iter().all(|f| f.iter().all(u8::is_ascii_whitespace)) => continue,
                Ok(true) => {
                    let line = self.record.position().map_or(line, |p| p.line());
                    return Some(self.check(line).map_err(|message| Rejection { line, message }));
                }
                Err(e) => {
                    let line = e.position().map_or(line, |p| p.line());
                    if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                        return Some(Err(Rejection { line, message: format!("cannot read the file: {e}") }));
                    }
                    return Some(Err(Rejection { line, message: format!("malformed CSV: {e}") }));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &[u8]) -> Vec<Result<EmployeeRow, Rejection>> {
        EmployeeCsv::new(text).unwrap().collect()
    }

    #[test]
    fn good_rows_pass_with_line_numbers() {
        let rows = read("employee_no,name,branch_code,roles\nE1,张三,B01,manager\nE2,李四,B01,\n".as_bytes());
        let first = rows[0].as_ref().unwrap();
        assert_eq!((first.line, first.name.as_str()), (2, "张三"));
        assert_eq!(first.roles.as_ref().unwrap().to_string(), "manager;employee");
        assert_eq!(rows[1].as_ref().unwrap().line, 3);
    }

    #[test]
    fn a_bom_and_column_order_do_not_matter() {
        let rows = read("\u{feff}branch_code,employee_no,name\nB01,E1,王五\n".as_bytes());
        let row = rows[0].as_ref().unwrap();
        assert_eq!((row.employee_no.as_str(), row.branch_code.as_str()), ("E1", "B01"));
        assert_eq!(row.roles, None);
    }

    #[test]
    fn bad_rows_are_rejected_and_good_ones_kept() {
        let mut text = b"employee_no,name,branch_code\nE1,A,B\n,NoNumber,B\nE1,Again,B\nE3,\xff\xfe,B\nE4,Short\nE5,Name,B,extra\nE6,Ok,B\n".to_vec();
        text.extend_from_slice("E7,".as_bytes());
        text.extend_from_slice("名".repeat(101).as_bytes());
        text.extend_from_slice(b",B\n");
        let rows = read(&text);
        let lines: Vec<(u64, bool)> = rows
            .iter()
            .map(|r| match r {
                Ok(row) => (row.line, true),
                Err(rej) => (rej.line, false),
            })
            .collect();
        assert_eq!(
            lines,
            vec![
                (2, true),
                (3, false),
                (4, false),
                (5, false),
                (6, false),
                (7, false),
                (8, true),
                (9, false)
            ]
        );
        let messages: Vec<String> = rows.into_iter().filter_map(Result::err).map(|r| r.message).collect();
        assert!(messages[1].contains("more than once"));
        assert!(messages[2].contains("UTF-8"));
        assert!(messages[5].contains("longer than 100"));
    }

    #[test]
    fn a_header_without_required_columns_refuses_the_file() {
        let err = EmployeeCsv::new("id,name\n1,x\n".as_bytes()).err().unwrap();
        assert!(err.0.contains("employee_no") && err.0.contains("branch_code"));
        assert!(EmployeeCsv::new(&b"\x00\x01junk\xff"[..]).is_err());
        assert!(EmployeeCsv::new(&b""[..]).is_err());
    }

    #[test]
    fn unknown_roles_are_a_row_error() {
        let rows = read(b"employee_no,name,branch_code,roles\nE1,A,B,king\n");
        assert!(rows[0].as_ref().unwrap_err().message.contains("king"));
    }
}
