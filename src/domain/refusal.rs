//! Why the service says no. Every rule refuses with a typed value: one enum
//! per aggregate, gathered in [`Refusal`]. `store` passes them on as they
//! are; `http` turns each into a status, a stable `code` and a message, and
//! the console into a message on its page, each in one place.

use super::account::AccountRefusal;
use super::campaign::{CampaignRefusal, WindowRefusal};
use super::nomination::NominationRefusal;
use super::org::OrgRefusal;
use super::round::{CloseRefusal, OpenRefusal, ReviewRefusal, RoundRefusal};
use super::vote::VoteRefusal;

/// What a "not found" or a "changed meanwhile" is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resource {
    MemberCompany,
    Branch,
    User,
    Campaign,
    Nomination,
    Round,
    /// A nomination in a round.
    Entry,
}

/// One input field a rule refuses, with what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldIssue {
    pub field: String,
    pub message: String,
}

impl FieldIssue {
    pub fn new(field: impl Into<String>, message: impl Into<String>) -> Self {
        FieldIssue { field: field.into(), message: message.into() }
    }
}

/// A unique rule of the stored data, as the database enforces it: the
/// refusal when a write would break it (most often a race the checks before
/// it could not see).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unique {
    MemberCompanyCode,
    BranchCode,
    EmployeeNo,
    /// One nomination per nominee and campaign.
    Nominee,
    /// One round per place in a campaign.
    RoundSequence,
    /// One vote per voter and entry.
    Vote,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    NotFound(Resource),
    /// A request names a resource that does not exist, in one of its fields.
    UnknownReference {
        field: &'static str,
        resource: Resource,
        id: i64,
    },
    /// `If-Match` named a version that is no longer the current one.
    VersionMismatch {
        current: i32,
        sent: i32,
    },
    /// Another change won a race with this one; nothing was written.
    /// `if_match`: the client had named the version it read.
    ChangedMeanwhile {
        resource: Resource,
        if_match: bool,
    },
    /// The input breaks rules field by field.
    Invalid(Vec<FieldIssue>),
    /// A write would break a unique rule of the stored data.
    Duplicate(Unique),
    Org(OrgRefusal),
    Account(AccountRefusal),
    Campaign(CampaignRefusal),
    Window(WindowRefusal),
    Nomination(NominationRefusal),
    Round(RoundRefusal),
    Open(OpenRefusal),
    Close(CloseRefusal),
    Review(ReviewRefusal),
    Vote(VoteRefusal),
}

impl Refusal {
    /// One refused field.
    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Refusal::Invalid(vec![FieldIssue::new(field, message)])
    }
}

/// `expected` (from `If-Match`) must be the current version, if it was sent.
pub fn check_version(current: i32, expected: Option<i32>) -> Result<(), Refusal> {
    match expected {
        Some(sent) if sent != current => Err(Refusal::VersionMismatch { current, sent }),
        _ => Ok(()),
    }
}

macro_rules! from_refusal {
    ($($variant:ident($inner:ty)),+ $(,)?) => {$(
        impl From<$inner> for Refusal {
            fn from(r: $inner) -> Self {
                Refusal::$variant(r)
            }
        }
    )+};
}

from_refusal!(
    Org(OrgRefusal),
    Account(AccountRefusal),
    Campaign(CampaignRefusal),
    Window(WindowRefusal),
    Nomination(NominationRefusal),
    Round(RoundRefusal),
    Open(OpenRefusal),
    Close(CloseRefusal),
    Review(ReviewRefusal),
    Vote(VoteRefusal),
);

impl From<Vec<FieldIssue>> for Refusal {
    fn from(issues: Vec<FieldIssue>) -> Self {
        Refusal::Invalid(issues)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_version_is_checked_only_when_sent() {
        assert_eq!(check_version(3, None), Ok(()));
        assert_eq!(check_version(3, Some(3)), Ok(()));
        assert_eq!(check_version(3, Some(2)), Err(Refusal::VersionMismatch { current: 3, sent: 2 }));
    }
}
