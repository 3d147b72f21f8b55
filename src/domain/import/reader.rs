//! The CSV reader: it streams checked rows, numbering lines as an editor does.

use std::collections::HashSet;
use std::io::Read;

use super::{validate_employee_no, validate_name, EmployeeRow, HeaderError, Rejection};
use crate::domain::roles::Roles;

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
                crate::domain::excerpt(unknown)
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
