//! Property tests of the CSV reader: any file's rows and rejections, line for line.

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
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(vec![]);
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
