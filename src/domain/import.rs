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
    reader: csv::Reader<LineFeeds<R>>,
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

/// What the CSV reader sees of the file, so that it numbers lines as an
/// editor does. The reader splits records on CRLF, LF and a lone CR but
/// counts lines by '\n' only, and a record's position is where the previous
/// one ended, before any blank lines it skips. So without this every row of
/// a CR-only file (classic Mac, "CSV (Macintosh)" from Excel) was on line 1,
/// and every row after a blank line was reported a line early. Here every
/// line break becomes one '\n', and a blank line after the header has begun
/// becomes a line holding one space: a row of whitespace, which the reader
/// keeps in the count and `EmployeeCsv` skips.
struct LineFeeds<R> {
    inner: R,
    chunk: Box<[u8]>,
    start: usize,
    end: usize,
    after_cr: bool,
    at_line_start: bool,
    content_seen: bool,
    pending_lf: bool,
}

impl<R> LineFeeds<R> {
    fn new(inner: R) -> Self {
        LineFeeds {
            inner,
            chunk: vec![0; 8 * 1024].into_boxed_slice(),
            start: 0,
            end: 0,
            after_cr: false,
            at_line_start: true,
            content_seen: false,
            pending_lf: false,
        }
    }
}

impl<R: Read> Read for LineFeeds<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let mut out = 0;
        while out < buf.len() {
            if self.pending_lf {
                (buf[out], out, self.pending_lf) = (b'\n', out + 1, false);
                continue;
            }
            if self.start == self.end {
                if out > 0 {
                    break;
                }
                (self.start, self.end) = (0, self.inner.read(&mut self.chunk)?);
                if self.end == 0 {
                    break;
                }
            }
            let byte = self.chunk[self.start];
            self.start += 1;
            if byte == b'\n' && self.after_cr {
                // The LF of a CRLF: the CR already stood for the break.
                self.after_cr = false;
                continue;
            }
            self.after_cr = byte == b'\r';
            if byte == b'\r' || byte == b'\n' {
                if self.at_line_start && self.content_seen {
                    (buf[out], self.pending_lf) = (b' ', true);
                } else {
                    buf[out] = b'\n';
                }
                self.at_line_start = true;
            } else {
                buf[out] = byte;
                (self.at_line_start, self.content_seen) = (false, true);
            }
            out += 1;
        }
        Ok(out)
    }
}

impl<R: Read> EmployeeCsv<R> {
    pub fn new(input: R) -> Result<Self, HeaderError> {
        let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(LineFeeds::new(input));
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
            return Err(HeaderError(format!(
                "unknown column {:?} in the header line",
                super::excerpt(unknown)
            )));
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
    fn lines_are_counted_with_any_line_break() {
        // Regressions: a CR-only file (classic Mac Excel) had every row on
        // line 1, and a row after a blank line was reported a line early.
        for file in [
            &b"employee_no,name,branch_code\rE1,A,B\r\rE2,,B\rE3,C,B\r"[..],
            b"employee_no,name,branch_code\r\nE1,A,B\r\n\r\nE2,,B\r\nE3,C,B\r\n",
            b"employee_no,name,branch_code\nE1,A,B\n\nE2,,B\nE3,C,B",
            b"employee_no,name,branch_code\nE1,A,B\r\rE2,,B\r\nE3,C,B\n",
        ] {
            let lines: Vec<(u64, bool)> = read(file)
                .iter()
                .map(|r| r.as_ref().map_or_else(|rej| (rej.line, false), |row| (row.line, true)))
                .collect();
            assert_eq!(lines, vec![(2, true), (4, false), (5, true)], "{}", String::from_utf8_lossy(file));
        }
        // Also when a CRLF is split between two reads.
        let rows: Vec<_> = EmployeeCsv::new(std::io::Read::chain(
            &b"employee_no,name,branch_code\r"[..],
            &b"\nE1,A,B\r\n"[..],
        ))
        .unwrap()
        .collect();
        assert_eq!(rows[0].as_ref().unwrap().line, 2);
    }

    #[test]
    fn unknown_roles_are_a_row_error() {
        let rows = read(b"employee_no,name,branch_code,roles\nE1,A,B,king\n");
        assert!(rows[0].as_ref().unwrap_err().message.contains("king"));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use crate::domain::roles::Role;
    use proptest::prelude::*;
    use proptest::sample::subsequence;

    /// The longest message a rejection may carry, whatever the input.
    const MAX_MESSAGE_CHARS: usize = 512;

    #[derive(Debug, Clone)]
    struct Person {
        employee_no: String,
        name: String,
        branch_code: String,
        roles: Vec<Role>,
    }

    /// Employees keyed by their (unique) number: Chinese and Latin names with
    /// commas, quotes and inner spaces; branch codes that need quoting.
    fn people() -> impl Strategy<Value = Vec<Person>> {
        let person = ("\\PC{1,100}", "[A-Za-z0-9 ,\"#-]{1,20}", subsequence(Role::ALL.to_vec(), 0..=4));
        proptest::collection::btree_map("[A-Za-z0-9._-]{1,32}", person, 0..40).prop_map(|people| {
            people
                .into_iter()
                .map(|(employee_no, (name, branch_code, roles))| Person {
                    employee_no,
                    name: name.trim().to_owned(),
                    branch_code: branch_code.trim().to_owned(),
                    roles,
                })
                .filter(|p| !p.name.is_empty() && !p.branch_code.is_empty())
                .collect()
        })
    }

    #[derive(Debug, Clone, Copy)]
    enum Break {
        Crlf,
        Lf,
        Cr,
    }

    impl Break {
        fn bytes(self) -> &'static [u8] {
            match self {
                Break::Crlf => b"\r\n",
                Break::Lf => b"\n",
                Break::Cr => b"\r",
            }
        }
    }

    /// One CSV line, quoted where needed, without its line break.
    fn csv_line(fields: &[String]) -> Vec<u8> {
        let mut writer =
            csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(vec![]);
        writer.write_record(fields).unwrap();
        let mut line = writer.into_inner().unwrap();
        line.pop();
        line
    }

    fn columns() -> impl Strategy<Value = Vec<&'static str>> {
        prop_oneof![
            Just(vec!["employee_no", "name", "branch_code"]),
            Just(vec!["employee_no", "name", "branch_code", "roles"])
        ]
        .prop_shuffle()
    }

    /// A rejection's line and message are sound, whatever came in.
    fn check_message(message: &str) -> Result<(), TestCaseError> {
        prop_assert!(
            message.chars().count() <= MAX_MESSAGE_CHARS,
            "{} chars: {:.80}…",
            message.chars().count(),
            message
        );
        Ok(())
    }

    proptest! {
        #[test]
        fn a_well_formed_file_reads_back_row_for_row(
            people in people(),
            columns in columns(),
            bom in any::<bool>(),
            line_break in prop_oneof![Just(Break::Crlf), Just(Break::Lf), Just(Break::Cr)],
            blank_before in proptest::collection::vec(0usize..3, 40),
            broken in proptest::collection::vec(proptest::bool::weighted(0.2), 40),
            shout in any::<bool>(),
            final_break in any::<bool>(),
        ) {
            let mut file = if bom { "\u{feff}".as_bytes().to_vec() } else { vec![] };
            let header: Vec<String> = columns.iter().map(|c| c.to_string()).collect();
            file.extend(csv_line(&header));
            // What each non-blank line should come back as: Some(person) or a rejection.
            let mut expected: Vec<(u64, Option<&Person>)> = vec![];
            let mut line = 1;
            for (i, p) in people.iter().enumerate() {
                for _ in 0..blank_before[i] {
                    file.extend(line_break.bytes());
                    line += 1;
                }
                file.extend(line_break.bytes());
                line += 1;
                let roles = p.roles.iter().map(|r| if shout { r.as_str().to_uppercase() } else { r.as_str().to_owned() });
                let roles = roles.collect::<Vec<_>>().join(" ; ");
                let fields: Vec<String> = columns
                    .iter()
                    .map(|c| match *c {
                        "employee_no" => p.employee_no.clone(),
                        "name" => p.name.clone(),
                        "branch_code" => p.branch_code.clone(),
                        _ => roles.clone(),
                    })
                    .collect();
                if broken[i] {
                    // A field short: rejected, and it must not stop the rest.
                    file.extend(csv_line(&fields[1..]));
                    expected.push((line, None));
                } else {
                    file.extend(csv_line(&fields));
                    expected.push((line, Some(p)));
                }
            }
            if final_break {
                file.extend(line_break.bytes());
            }
            let rows: Vec<_> = EmployeeCsv::new(&file[..]).unwrap().collect();
            prop_assert_eq!(rows.len(), expected.len());
            let has_roles = columns.contains(&"roles");
            for (row, (line, person)) in rows.into_iter().zip(expected) {
                match (row, person) {
                    (Ok(row), Some(p)) => {
                        prop_assert_eq!(row, EmployeeRow {
                            line,
                            employee_no: p.employee_no.clone(),
                            name: p.name.clone(),
                            branch_code: p.branch_code.clone(),
                            roles: has_roles.then(|| Roles::new(p.roles.iter().copied())),
                        });
                    }
                    (Err(rejection), None) => {
                        prop_assert_eq!(rejection.line, line);
                        check_message(&rejection.message)?;
                    }
                    (got, want) => prop_assert!(false, "line {}: got {:?}, wanted {:?}", line, got, want),
                }
            }
        }

        #[test]
        fn any_bytes_give_rows_or_rejections_in_line_order(
            header in prop_oneof![
                Just(&b""[..]),
                Just(&b"employee_no,name,branch_code\n"[..]),
                Just(&b"\xef\xbb\xbfEMPLOYEE_NO , Name,branch_code,roles\r\n"[..]),
            ],
            body in proptest::collection::vec(
                prop_oneof![
                    4 => any::<u8>(),
                    1 => proptest::sample::select(b",\"\r\n ;".to_vec()),
                ],
                0..600,
            ),
        ) {
            let file = [header, &body[..]].concat();
            let rows = match EmployeeCsv::new(&file[..]) {
                Ok(rows) => rows,
                Err(header) => return check_message(&header.0),
            };
            let lines = 1 + file.iter().filter(|b| **b == b'\n' || **b == b'\r').count() as u64;
            let mut last = 1;
            for item in rows {
                let line = match item {
                    Ok(row) => {
                        prop_assert!(validate_employee_no(&row.employee_no).is_ok());
                        prop_assert!(validate_name(&row.name).is_ok());
                        prop_assert!(!row.branch_code.is_empty());
                        row.line
                    }
                    Err(rejection) => {
                        check_message(&rejection.message)?;
                        rejection.line
                    }
                };
                prop_assert!(line > last && line <= lines, "line {} after {} of {}", line, last, lines);
                last = line;
            }
        }

        #[test]
        fn a_rejection_repeats_only_a_little_of_its_input(
            column in 0usize..4,
            junk in "\\PC{200,3000}",
        ) {
            let mut fields = vec!["E1".to_owned(), "Name".to_owned(), "B01".to_owned(), "employee".to_owned()];
            // Too long, or not a role: every column but branch_code then rejects.
            fields[column] = if column == 0 { format!("!{}", junk) } else { junk };
            let file = [&b"employee_no,name,branch_code,roles\n"[..], &csv_line(&fields)].concat();
            let header_junk = [&b"employee_no,name,branch_code,"[..], &csv_line(&fields[column..=column])].concat();
            let rows: Vec<_> = EmployeeCsv::new(&file[..]).unwrap().collect();
            match &rows[0] {
                Ok(_) => prop_assert_eq!(column, 2, "only a branch code is anything non-empty"),
                Err(rejection) => check_message(&rejection.message)?,
            }
            check_message(&EmployeeCsv::new(&header_junk[..]).err().unwrap().0)?;
        }

        #[test]
        fn employee_numbers_and_names(
            good_no in "[A-Za-z0-9._-]{1,32}",
            long_no in "[A-Za-z0-9._-]{33,60}",
            (bad_no, bad_char) in ("[A-Za-z0-9._-]{0,15}", "[^A-Za-z0-9._-]", "[A-Za-z0-9._-]{0,15}")
                .prop_map(|(a, c, b)| (format!("{}{}{}", a, c, b), c)),
            good_name in "\\PC{0,99}[^\\pC\\s]",
            long_name in "[^\\pC\\s]{101,200}",
            control in "\\pC{1}".prop_filter("a control character", |c| c.chars().all(char::is_control)),
        ) {
            prop_assert!(validate_employee_no(&good_no).is_ok());
            prop_assert!(validate_employee_no(&long_no).is_err());
            prop_assert!(validate_employee_no(&bad_no).is_err(), "{:?} has {:?}", bad_no, bad_char);
            prop_assert!(validate_name(&good_name).is_ok(), "{:?}", good_name);
            prop_assert!(validate_name(&long_name).is_err());
            let with_control = format!("{good_name}{control}x");
            prop_assert!(validate_name(&with_control).is_err(), "{:?}", with_control);
        }

        #[test]
        fn roles_read_back_and_always_include_employee(
            roles in subsequence(Role::ALL.to_vec(), 0..=4),
            text in "\\PC{0,80}",
        ) {
            let parsed = Roles::new(roles.iter().copied());
            prop_assert!(parsed.has(Role::Employee));
            prop_assert_eq!(Roles::parse(&parsed.to_string()).unwrap(), parsed);
            match Roles::parse(&text) {
                Ok(r) => prop_assert!(r.has(Role::Employee)),
                Err(message) => check_message(&message)?,
            }
        }
    }
}
