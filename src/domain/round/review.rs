//! Panels and reviews: who may sit on a panel, who may score which entry,
//! the review window and what a review's scores must be.

use std::collections::BTreeMap;

use super::{ConflictScope, Scope};
use crate::domain::time::Timestamp;

/// A user an admin puts on a round's panel, as the panel rules see them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reviewer {
    pub active: bool,
    pub has_role: bool,
    /// Group staff belong to no member company.
    pub in_member_company: bool,
}

/// Whether a user (none: no such user) may sit on a panel of this scope; what
/// is wrong with them otherwise.
pub fn check_reviewer(scope: Scope, reviewer: Option<Reviewer>) -> Result<(), &'static str> {
    match reviewer {
        None => Err("no such user"),
        Some(r) if !r.active => Err("the account is disabled"),
        Some(r) if !r.has_role => Err("needs the reviewer role"),
        Some(r) if scope == Scope::MemberCompany && !r.in_member_company => {
            Err("a member-company round needs reviewers of a member company (this one is group staff)")
        }
        Some(_) => Ok(()),
    }
}

/// Reviews are taken inside the round's window, if it has one: `opens_at ≤ now < closes_at`.
pub fn check_review_window(
    opens_at: Option<Timestamp>,
    closes_at: Option<Timestamp>,
    now: Timestamp,
) -> Result<(), ReviewRefusal> {
    if opens_at.is_some_and(|t| now < t) || closes_at.is_some_and(|t| now >= t) {
        return Err(ReviewRefusal::OutsideWindow);
    }
    Ok(())
}

/// Why a reviewer's panel or review is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReviewRefusal {
    Conflict(Conflict),
    NotAssigned,
    /// The reviewer was taken off the round's panel.
    OffPanel,
    /// The round has a review window and now is outside it.
    OutsideWindow,
}

/// An entry as the conflict rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Candidate {
    pub nomination_id: i64,
    pub member_company_id: i64,
    pub branch_id: i64,
    pub nominee_id: i64,
    pub nominated_by: i64,
}

/// A reviewer as the conflict rules see them (group staff have no branch).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Panelist {
    pub id: i64,
    pub member_company_id: Option<i64>,
    pub branch_id: Option<i64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    /// Member-company rounds: the entry belongs to another company's panel.
    OtherPanel,
    SameBranch,
    SameMemberCompany,
    Nominee,
    Nominator,
}

/// Whether `reviewer` may score `entry` in a round of this scope.
pub fn conflict(
    scope: Scope,
    conflicts: ConflictScope,
    reviewer: &Panelist,
    entry: &Candidate,
) -> Option<Conflict> {
    if reviewer.id == entry.nominee_id {
        return Some(Conflict::Nominee);
    }
    if reviewer.id == entry.nominated_by {
        return Some(Conflict::Nominator);
    }
    if scope == Scope::MemberCompany && reviewer.member_company_id != Some(entry.member_company_id) {
        return Some(Conflict::OtherPanel);
    }
    match conflicts {
        ConflictScope::Branch if reviewer.branch_id == Some(entry.branch_id) => Some(Conflict::SameBranch),
        ConflictScope::MemberCompany if reviewer.member_company_id == Some(entry.member_company_id) => {
            Some(Conflict::SameMemberCompany)
        }
        _ => None,
    }
}

/// One criterion as a review sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreRange {
    pub criterion_id: i64,
    pub max_score: f64,
}

/// A review's scores: exactly one per criterion, each within [0, max].
pub fn check_scores(
    criteria: &[ScoreRange],
    scores: &BTreeMap<i64, f64>,
) -> Result<(), Vec<(String, String)>> {
    let mut errors = Vec::new();
    for c in criteria {
        match scores.get(&c.criterion_id) {
            None => errors.push((format!("scores.{}", c.criterion_id), "missing".to_owned())),
            Some(v) if !(v.is_finite() && *v >= 0.0 && *v <= c.max_score) => errors
                .push((format!("scores.{}", c.criterion_id), format!("must be from 0 to {}", c.max_score))),
            Some(_) => {}
        }
    }
    for id in scores.keys() {
        if !criteria.iter().any(|c| c.criterion_id == *id) {
            errors.push((format!("scores.{id}"), "no such criterion in this round".to_owned()));
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panels_take_active_reviewers_and_member_company_rounds_their_own_staff() {
        let ok = Reviewer { active: true, has_role: true, in_member_company: true };
        assert_eq!(check_reviewer(Scope::MemberCompany, Some(ok)), Ok(()));
        assert!(check_reviewer(Scope::Group, None).is_err());
        assert!(check_reviewer(Scope::Group, Some(Reviewer { active: false, ..ok })).is_err());
        assert!(check_reviewer(Scope::Group, Some(Reviewer { has_role: false, ..ok })).is_err());
        let group_staff = Reviewer { in_member_company: false, ..ok };
        assert_eq!(check_reviewer(Scope::Group, Some(group_staff)), Ok(()));
        assert!(check_reviewer(Scope::MemberCompany, Some(group_staff)).is_err());
    }
    #[test]
    fn reviews_are_taken_inside_the_window() {
        let t = |h| {
            Timestamp::from(
                chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_opt(h, 0, 0).unwrap(),
            )
        };
        assert_eq!(check_review_window(None, None, t(3)), Ok(()));
        assert_eq!(check_review_window(Some(t(8)), Some(t(18)), t(8)), Ok(()));
        assert_eq!(check_review_window(Some(t(8)), Some(t(18)), t(18)), Err(ReviewRefusal::OutsideWindow));
        assert_eq!(check_review_window(Some(t(8)), None, t(7)), Err(ReviewRefusal::OutsideWindow));
    }
    #[test]
    fn conflicts_by_scope() {
        let entry = Candidate {
            nomination_id: 1,
            member_company_id: 10,
            branch_id: 100,
            nominee_id: 5,
            nominated_by: 6,
        };
        let at = |id, company, branch| Panelist { id, member_company_id: company, branch_id: branch };
        let (mc, group) = (Scope::MemberCompany, Scope::Group);
        let (branch, company) = (ConflictScope::Branch, ConflictScope::MemberCompany);
        assert_eq!(conflict(mc, branch, &at(7, Some(10), Some(101)), &entry), None);
        assert_eq!(conflict(mc, branch, &at(7, Some(10), Some(100)), &entry), Some(Conflict::SameBranch));
        assert_eq!(conflict(mc, branch, &at(7, Some(11), Some(110)), &entry), Some(Conflict::OtherPanel));
        assert_eq!(conflict(mc, branch, &at(7, None, None), &entry), Some(Conflict::OtherPanel));
        assert_eq!(
            conflict(group, company, &at(7, Some(10), Some(101)), &entry),
            Some(Conflict::SameMemberCompany)
        );
        assert_eq!(conflict(group, company, &at(7, None, None), &entry), None);
        assert_eq!(conflict(group, branch, &at(5, Some(11), None), &entry), Some(Conflict::Nominee));
        assert_eq!(conflict(group, branch, &at(6, Some(11), None), &entry), Some(Conflict::Nominator));
    }
    #[test]
    fn scores_must_cover_every_criterion_within_range() {
        let criteria =
            [ScoreRange { criterion_id: 1, max_score: 10.0 }, ScoreRange { criterion_id: 2, max_score: 5.0 }];
        assert_eq!(check_scores(&criteria, &BTreeMap::from([(1, 10.0), (2, 0.0)])), Ok(()));
        let errors = check_scores(&criteria, &BTreeMap::from([(1, 10.5), (3, 1.0)])).unwrap_err();
        let fields: Vec<&str> = errors.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(fields, ["scores.1", "scores.2", "scores.3"]);
        assert!(check_scores(&criteria, &BTreeMap::from([(1, -0.5), (2, 1.0)])).is_err());
    }
}
