//! The org chart: member companies and their branches.

/// Why a member company or branch cannot change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrgRefusal {
    /// Another member company already has this code.
    MemberCompanyCodeTaken(String),
    /// Another branch already has this code.
    BranchCodeTaken(String),
    /// A member company with branches cannot be deleted.
    HasBranches { code: String, branches: i64 },
    /// A branch with users cannot be deleted.
    HasUsers { code: String, users: i64 },
}

/// A member company leaves the chart only when it has no branches left.
pub fn check_company_removal(code: &str, branches: i64) -> Result<(), OrgRefusal> {
    if branches > 0 {
        return Err(OrgRefusal::HasBranches { code: code.to_owned(), branches });
    }
    Ok(())
}

/// A branch leaves the chart only when nobody belongs to it any more.
pub fn check_branch_removal(code: &str, users: i64) -> Result<(), OrgRefusal> {
    if users > 0 {
        return Err(OrgRefusal::HasUsers { code: code.to_owned(), users });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_empty_units_are_removed() {
        assert_eq!(check_company_removal("PA", 0), Ok(()));
        assert_eq!(
            check_company_removal("PA", 2),
            Err(OrgRefusal::HasBranches { code: "PA".into(), branches: 2 })
        );
        assert_eq!(check_branch_removal("B01", 0), Ok(()));
        assert_eq!(
            check_branch_removal("B01", 1),
            Err(OrgRefusal::HasUsers { code: "B01".into(), users: 1 })
        );
    }
}
