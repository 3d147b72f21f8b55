//! Arbitrary bytes into the employee CSV reader, drained to the end: it must
//! never panic, every rejection carries a line number, line numbers never go
//! back, and no message repeats more than a bounded part of the input.
#![no_main]

use awards::domain::import::EmployeeCsv;
use libfuzzer_sys::fuzz_target;

/// The longest rejection or header message the reader may produce.
const MAX_MESSAGE_CHARS: usize = 512;

fuzz_target!(|data: &[u8]| {
    let rows = match EmployeeCsv::new(data) {
        Ok(rows) => rows,
        Err(header) => {
            assert!(header.0.chars().count() <= MAX_MESSAGE_CHARS, "header message too long");
            return;
        }
    };
    let lines = 1 + data.iter().filter(|b| **b == b'\n' || **b == b'\r').count() as u64;
    let mut last = 1;
    for item in rows {
        let line = match item {
            Ok(row) => row.line,
            Err(rejection) => {
                assert!(rejection.message.chars().count() <= MAX_MESSAGE_CHARS, "rejection message too long");
                rejection.line
            }
        };
        assert!(line > last && line <= lines, "line {line} after {last} of {lines}");
        last = line;
    }
});
