//! Who may be nominated, by whom, and what may happen to a nomination.

use super::access::Actor;
use super::campaign::{CampaignStatus, NominationStatus};

/// The longest title, summary and story, in characters.
pub const TITLE_MAX: u64 = 60;
pub const SUMMARY_MAX: u64 = 300;
pub const STORY_MAX: u64 = 5000;

/// What is wrong with one text of a nomination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    Blank,
    TooLong {
        max: u64,
    },
    /// A control character: in a title or summary any, in a story any but
    /// line breaks and tabs.
    ControlCharacter,
}

/// A title or a summary: one line of at most `max` characters.
pub fn check_line(text: &str, max: u64) -> Result<(), TextProblem> {
    check_text(text, max, &[])
}

/// A case story: lines, at most [`STORY_MAX`] characters.
pub fn check_story(text: &str) -> Result<(), TextProblem> {
    check_text(text, STORY_MAX, &['\n', '\r', '\t'])
}

fn check_text(text: &str, max: u64, allowed: &[char]) -> Result<(), TextProblem> {
    if text.trim().is_empty() {
        return Err(TextProblem::Blank);
    }
    if text.chars().count() as u64 > max {
        return Err(TextProblem::TooLong { max });
    }
    if text.chars().any(|c| c.is_control() && !allowed.contains(&c)) {
        return Err(TextProblem::ControlCharacter);
    }
    Ok(())
}

/// What a manager (or admin) tried to do to a nomination.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NominationAction {
    Edit,
    Submit,
    Withdraw,
    Delete,
    RuleOut,
}

/// Why a nomination cannot be made or changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NominationRefusal {
    /// The nomination belongs to a branch the caller does not manage.
    OtherBranch,
    /// The nominee is not (or not visibly) an employee of the caller's branch.
    NomineeNotYours,
    /// No user has this id.
    NomineeUnknown(i64),
    /// Group staff belong to no branch, so no branch can nominate them.
    NomineeGroupStaff,
    NomineeDisabled,
    /// The nominee left the nomination's branch after the draft was made.
    NomineeMoved,
    AlreadyNominated,
    WrongStatus {
        status: NominationStatus,
        action: NominationAction,
    },
    /// The branch has submitted as many as the campaign's quota allows.
    QuotaExhausted {
        quota: i64,
    },
    /// Nominations are ruled out only while nominating or screening.
    RuleOutCampaign(CampaignStatus),
    /// The last round has closed: its winners are decided.
    WinnersDecided,
}

/// The nominee as eligibility sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Nominee {
    pub branch_id: Option<i64>,
    pub active: bool,
}

/// The branch of the employee `actor` may nominate (`nominee` as read, or
/// none if no such user exists). A manager learns nothing of people outside
/// their branch: all of them are simply not theirs.
pub fn nominee_branch(
    actor: &Actor,
    nominee_id: i64,
    nominee: Option<Nominee>,
) -> Result<i64, NominationRefusal> {
    let theirs = nominee.and_then(|n| n.branch_id).is_some_and(|b| actor.manages_branch(b));
    if !actor.is_admin() && !theirs {
        return Err(NominationRefusal::NomineeNotYours);
    }
    match nominee {
        None => Err(NominationRefusal::NomineeUnknown(nominee_id)),
        Some(Nominee { branch_id: None, .. }) => Err(NominationRefusal::NomineeGroupStaff),
        Some(Nominee { active: false, .. }) => Err(NominationRefusal::NomineeDisabled),
        Some(Nominee { branch_id: Some(branch), .. }) => Ok(branch),
    }
}

/// Whether `status` allows `action` (editing, submitting, …) at all.
pub fn check_status(status: NominationStatus, action: NominationAction) -> Result<(), NominationRefusal> {
    let allowed = match action {
        NominationAction::Edit => status.is_editable(),
        NominationAction::Submit => status.can_submit(),
        NominationAction::Withdraw => status.can_withdraw(),
        NominationAction::Delete => status == NominationStatus::Draft,
        NominationAction::RuleOut => status.can_rule_out(),
    };
    if allowed {
        Ok(())
    } else {
        Err(NominationRefusal::WrongStatus { status, action })
    }
}

/// An admin rules a nomination out while the campaign is nominating or
/// screening, until its last round has closed (the winners are then decided).
pub fn check_rule_out(
    campaign: CampaignStatus,
    last_round_closed: bool,
    status: NominationStatus,
) -> Result<(), NominationRefusal> {
    if !matches!(campaign, CampaignStatus::Nominating | CampaignStatus::Screening) {
        return Err(NominationRefusal::RuleOutCampaign(campaign));
    }
    if last_round_closed {
        return Err(NominationRefusal::WinnersDecided);
    }
    check_status(status, NominationAction::RuleOut)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_counted_in_characters_and_kept_printable() {
        assert_eq!(check_line("最美消保人", 5), Ok(()));
        assert_eq!(check_line("最美消保人!", 5), Err(TextProblem::TooLong { max: 5 }));
        assert_eq!(check_line("  ", TITLE_MAX), Err(TextProblem::Blank));
        assert_eq!(check_line("a\nb", TITLE_MAX), Err(TextProblem::ControlCharacter));
        assert_eq!(check_story("第一段\n\n第二段\t"), Ok(()));
        assert_eq!(check_story("bell\u{7}"), Err(TextProblem::ControlCharacter));
        assert_eq!(
            check_story(&"字".repeat(STORY_MAX as usize + 1)),
            Err(TextProblem::TooLong { max: STORY_MAX })
        );
    }
    use crate::domain::roles::{Role, Roles};

    fn actor(roles: &[Role], branch: Option<i64>) -> Actor {
        Actor { id: 1, roles: Roles::new(roles.iter().copied()), branch_id: branch }
    }

    const ACTIVE_IN_7: Option<Nominee> = Some(Nominee { branch_id: Some(7), active: true });

    #[test]
    fn a_manager_nominates_active_staff_of_their_own_branch() {
        let manager = actor(&[Role::Manager], Some(7));
        assert_eq!(nominee_branch(&manager, 5, ACTIVE_IN_7), Ok(7));
        let elsewhere = Some(Nominee { branch_id: Some(8), active: true });
        assert_eq!(nominee_branch(&manager, 5, elsewhere), Err(NominationRefusal::NomineeNotYours));
        let disabled = Some(Nominee { branch_id: Some(7), active: false });
        assert_eq!(nominee_branch(&manager, 5, disabled), Err(NominationRefusal::NomineeDisabled));
    }

    #[test]
    fn a_manager_cannot_tell_a_missing_user_from_someone_elses() {
        let manager = actor(&[Role::Manager], Some(7));
        assert_eq!(nominee_branch(&manager, 5, None), Err(NominationRefusal::NomineeNotYours));
        let group_staff = Some(Nominee { branch_id: None, active: true });
        assert_eq!(nominee_branch(&manager, 5, group_staff), Err(NominationRefusal::NomineeNotYours));
    }

    #[test]
    fn an_admin_learns_why() {
        let admin = actor(&[Role::Admin], None);
        assert_eq!(nominee_branch(&admin, 5, None), Err(NominationRefusal::NomineeUnknown(5)));
        let group_staff = Some(Nominee { branch_id: None, active: true });
        assert_eq!(nominee_branch(&admin, 5, group_staff), Err(NominationRefusal::NomineeGroupStaff));
        assert_eq!(nominee_branch(&admin, 5, ACTIVE_IN_7), Ok(7));
    }

    #[test]
    fn statuses_allow_their_actions() {
        use NominationAction::*;
        use NominationStatus::*;
        assert_eq!(check_status(Draft, Delete), Ok(()));
        assert_eq!(
            check_status(Submitted, Delete),
            Err(NominationRefusal::WrongStatus { status: Submitted, action: Delete })
        );
        assert!(check_status(Withdrawn, Submit).is_ok());
        assert!(check_status(Submitted, Submit).is_err());
        assert!(check_status(Ineligible, Edit).is_err());
        assert!(check_status(Withdrawn, RuleOut).is_err());
        assert!(check_status(Draft, RuleOut).is_ok());
    }

    #[test]
    fn ruling_out_stops_when_the_winners_are_decided() {
        use CampaignStatus::{Finished, Nominating, Screening};
        use NominationStatus::*;
        assert_eq!(check_rule_out(Screening, false, Submitted), Ok(()));
        assert_eq!(check_rule_out(Nominating, false, Draft), Ok(()));
        assert_eq!(
            check_rule_out(Finished, false, Submitted),
            Err(NominationRefusal::RuleOutCampaign(Finished))
        );
        assert_eq!(check_rule_out(Screening, true, Submitted), Err(NominationRefusal::WinnersDecided));
        assert!(check_rule_out(Screening, false, Withdrawn).is_err());
    }
}
