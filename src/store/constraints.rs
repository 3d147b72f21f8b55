//! The database's own rules, recognised by name: a write that breaks one
//! becomes a typed refusal, so no constraint name or database message ever
//! reaches a client. PostgreSQL names a constraint; SQLite names the
//! columns ("UNIQUE constraint failed: users.employee_no").

use diesel::result::{DatabaseErrorKind, Error};

use crate::domain::refusal::Unique;

/// Each unique rule under its PostgreSQL name and SQLite's column list.
const UNIQUE: &[(&str, &str, Unique)] = &[
    ("member_companies_code_key", "member_companies.code", Unique::MemberCompanyCode),
    ("branches_code_key", "branches.code", Unique::BranchCode),
    ("users_employee_no_key", "users.employee_no", Unique::EmployeeNo),
    (
        "nominations_campaign_id_nominee_id_key",
        "nominations.campaign_id, nominations.nominee_id",
        Unique::Nominee,
    ),
    ("rounds_campaign_id_sequence_key", "rounds.campaign_id, rounds.sequence", Unique::RoundSequence),
    ("votes_pkey", "votes.round_id, votes.voter_id, votes.nomination_id", Unique::Vote),
];

/// The unique rule `e` broke, if it is one a client can break.
pub fn unique_broken(e: &Error) -> Option<Unique> {
    let Error::DatabaseError(DatabaseErrorKind::UniqueViolation, info) = e else { return None };
    let sqlite_columns = info.message().strip_prefix("UNIQUE constraint failed: ");
    UNIQUE
        .iter()
        .find(|(name, columns, _)| info.constraint_name() == Some(*name) || sqlite_columns == Some(*columns))
        .map(|(.., unique)| *unique)
}

#[cfg(test)]
mod tests {
    use super::*;
    use diesel::result::DatabaseErrorInformation;

    struct Info(&'static str, Option<&'static str>);

    impl DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            self.1
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn unique(message: &'static str, constraint: Option<&'static str>) -> Error {
        Error::DatabaseError(DatabaseErrorKind::UniqueViolation, Box::new(Info(message, constraint)))
    }

    #[test]
    fn both_backends_name_the_same_rule() {
        let pg = unique("duplicate key value violates unique constraint", Some("users_employee_no_key"));
        let lite = unique("UNIQUE constraint failed: users.employee_no", None);
        assert_eq!(unique_broken(&pg), Some(Unique::EmployeeNo));
        assert_eq!(unique_broken(&lite), Some(Unique::EmployeeNo));
        let pair = unique("UNIQUE constraint failed: nominations.campaign_id, nominations.nominee_id", None);
        assert_eq!(unique_broken(&pair), Some(Unique::Nominee));
    }

    #[test]
    fn unknown_rules_and_other_errors_are_not_guessed() {
        assert_eq!(unique_broken(&unique("UNIQUE constraint failed: audit_events.hash", None)), None);
        assert_eq!(unique_broken(&Error::NotFound), None);
        let check =
            Error::DatabaseError(DatabaseErrorKind::CheckViolation, Box::new(Info("x", Some("votes_pkey"))));
        assert_eq!(unique_broken(&check), None);
    }
}
