//! Every refusal of the rules as the API answers it: status, stable `code`
//! and message, in this one place (the console maps the same values to its
//! pages).

use actix_web::http::StatusCode;

use super::errors::{AppError, FieldError};
use crate::domain::account::AccountRefusal;
use crate::domain::campaign::{CampaignRefusal, ScreeningGap, WindowRefusal};
use crate::domain::nomination::{NominationAction, NominationRefusal};
use crate::domain::org::OrgRefusal;
use crate::domain::refusal::{Refusal, Resource, Unique};
use crate::domain::round::{CloseRefusal, Conflict, OpenRefusal, ReviewRefusal, RoundAction, RoundRefusal};
use crate::domain::vote::VoteRefusal;

const CONFLICT: StatusCode = StatusCode::CONFLICT;
const FORBIDDEN: StatusCode = StatusCode::FORBIDDEN;
const UNPROCESSABLE: StatusCode = StatusCode::UNPROCESSABLE_ENTITY;

fn resource(r: Resource) -> &'static str {
    match r {
        Resource::MemberCompany => "member company",
        Resource::Branch => "branch",
        Resource::User => "user",
        Resource::Campaign => "campaign",
        Resource::Nomination => "nomination",
        Resource::Round => "round",
        Resource::Entry => "entry in this round",
    }
}

impl From<Refusal> for AppError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::NotFound(r) => AppError::not_found(resource(r)),
            Refusal::UnknownReference { field, resource: r, id } => {
                AppError::invalid_field(field, format!("{} {id} does not exist", resource(r)))
            }
            Refusal::VersionMismatch { current, sent } => AppError::new(
                StatusCode::PRECONDITION_FAILED,
                "stale",
                format!(
                    "the resource changed meanwhile (version {current}, you sent {sent}); reload and retry"
                ),
            ),
            Refusal::ChangedMeanwhile { resource: r, if_match } => AppError::new(
                if if_match { StatusCode::PRECONDITION_FAILED } else { CONFLICT },
                "stale",
                format!("the {} changed meanwhile; reload and retry", resource(r)),
            ),
            Refusal::Invalid(issues) => AppError::invalid(
                issues.into_iter().map(|i| FieldError { field: i.field, message: i.message }).collect(),
            ),
            Refusal::Duplicate(unique) => duplicate(unique),
            Refusal::Org(r) => org(r),
            Refusal::Account(r) => account(r),
            Refusal::Campaign(r) => campaign(r),
            Refusal::Window(r) => window(r),
            Refusal::Nomination(r) => nomination(r),
            Refusal::Round(r) => round(r),
            Refusal::Open(r) => open(r),
            Refusal::Close(r) => close(r),
            Refusal::Review(r) => review(r),
            Refusal::Vote(r) => vote(r),
        }
    }
}

fn duplicate(unique: Unique) -> AppError {
    let (code, detail) = match unique {
        Unique::MemberCompanyCode => ("duplicate", "a member company with this code already exists"),
        Unique::BranchCode => ("duplicate", "a branch with this code already exists"),
        Unique::EmployeeNo => ("duplicate", "this employee_no is already taken"),
        Unique::Nominee => ("already_nominated", "this employee is already nominated in this campaign"),
        Unique::RoundSequence => ("duplicate", "another round took this place in the campaign; retry"),
        Unique::Vote => ("already_voted", "you have already voted for this entry"),
    };
    AppError::new(CONFLICT, code, detail)
}

fn org(r: OrgRefusal) -> AppError {
    match r {
        OrgRefusal::MemberCompanyCodeTaken(code) => {
            AppError::conflict("duplicate", format!("a member company with code {code:?} already exists"))
        }
        OrgRefusal::BranchCodeTaken(code) => {
            AppError::conflict("duplicate", format!("a branch with code {code:?} already exists"))
        }
        OrgRefusal::HasBranches { code, branches } => {
            AppError::conflict("in_use", format!("member company {code} still has {branches} branches"))
        }
        OrgRefusal::HasUsers { code, users } => {
            AppError::conflict("in_use", format!("branch {code} still has {users} users"))
        }
    }
}

fn account(r: AccountRefusal) -> AppError {
    match r {
        AccountRefusal::EmployeeNoTaken(no) => {
            AppError::conflict("duplicate", format!("employee_no {no} is already taken"))
        }
        AccountRefusal::SelfLockout => {
            AppError::conflict("self_lockout", "an admin cannot disable or demote their own account")
        }
        AccountRefusal::SelfReset => AppError::conflict(
            "self_lockout",
            "an admin cannot reset their own account; change the password instead",
        ),
        AccountRefusal::ActivationCodeInvalid => AppError::unauthorized("the activation code is not valid"),
        AccountRefusal::PasswordChangedMeanwhile => {
            AppError::conflict("stale", "the password was changed meanwhile; sign in again")
        }
    }
}

fn campaign(r: CampaignRefusal) -> AppError {
    match r {
        CampaignRefusal::WindowInverted => {
            AppError::invalid_field("nomination_closes_at", "must be after nomination_opens_at")
        }
        CampaignRefusal::NotEditable(status) => AppError::conflict(
            "invalid_state",
            format!("a campaign that is {} can no longer be edited", status.as_str()),
        ),
        CampaignRefusal::InvalidTransition { from, to } => AppError::conflict(
            "invalid_transition",
            format!("a campaign cannot move from {} to {}", from.as_str(), to.as_str()),
        ),
        CampaignRefusal::ScreeningUnfinished(gap) => AppError::conflict(
            "screening_unfinished",
            match gap {
                ScreeningGap::NoRounds => "the campaign has no rounds".to_owned(),
                ScreeningGap::RoundsNotClosed => "every round must be closed first".to_owned(),
                ScreeningGap::WinnersTargetMissed { advanced, target } => {
                    format!("the last round advanced {advanced}, not the winners target {target}")
                }
            },
        ),
        CampaignRefusal::QuotaBelowSubmitted { fullest, quota } => AppError::conflict(
            "quota_below_submitted",
            format!("a branch already has {fullest} submitted nominations, more than {quota}"),
        ),
        CampaignRefusal::RoundsFinal(status) => AppError::conflict(
            "invalid_state",
            format!("the campaign is {}: its rounds can no longer change", status.as_str()),
        ),
    }
}

fn window(r: WindowRefusal) -> AppError {
    match r {
        WindowRefusal::NotNominating(status) => AppError::conflict(
            "not_nominating",
            format!("the campaign is {}, not nominating", status.as_str()),
        ),
        WindowRefusal::NotYetOpen => {
            AppError::conflict("window_closed", "the nomination window has not opened yet")
        }
        WindowRefusal::Closed => AppError::conflict("window_closed", "the nomination window has closed"),
    }
}

fn nomination(r: NominationRefusal) -> AppError {
    match r {
        NominationRefusal::OtherBranch => AppError::forbidden("you manage another branch"),
        NominationRefusal::NomineeNotYours => {
            AppError::forbidden("the nominee is not an employee of your branch")
        }
        NominationRefusal::NomineeUnknown(id) => {
            AppError::invalid_field("nominee_id", format!("{} {id} does not exist", resource(Resource::User)))
        }
        NominationRefusal::NomineeGroupStaff => AppError::invalid_field(
            "nominee_id",
            "group staff belong to no branch and cannot be nominated by one",
        ),
        NominationRefusal::NomineeDisabled => {
            AppError::invalid_field("nominee_id", "the nominee's account is disabled")
        }
        NominationRefusal::NomineeMoved => {
            AppError::invalid_field("nominee_id", "the nominee has moved to another branch")
        }
        NominationRefusal::AlreadyNominated => duplicate(Unique::Nominee),
        NominationRefusal::WrongStatus { status, action } => {
            let status = status.as_str();
            AppError::conflict(
                "invalid_state",
                match action {
                    NominationAction::Edit => format!("a {status} nomination cannot be edited"),
                    NominationAction::Submit => format!("a {status} nomination cannot be submitted"),
                    NominationAction::Withdraw => format!("a {status} nomination cannot be withdrawn"),
                    NominationAction::Delete => {
                        format!("only drafts can be deleted; a {status} nomination is withdrawn instead")
                    }
                    NominationAction::RuleOut => format!("a {status} nomination cannot be ruled out"),
                },
            )
        }
        NominationRefusal::QuotaExhausted { quota } => AppError::conflict(
            "quota_exhausted",
            format!("the branch has already submitted its {quota} nominations"),
        ),
        NominationRefusal::RuleOutCampaign(status) => AppError::conflict(
            "invalid_state",
            format!("nominations of a {} campaign cannot be ruled out", status.as_str()),
        ),
        NominationRefusal::WinnersDecided => AppError::conflict(
            "winners_decided",
            "the campaign's last round has closed: its winners are decided",
        ),
    }
}

fn round(r: RoundRefusal) -> AppError {
    let detail = match r {
        RoundRefusal::WrongStatus { status, needed, action } => {
            let doing = match action {
                RoundAction::ChangeSettings => "changing its settings",
                RoundAction::Delete => "deleting it",
                RoundAction::Preview => "a preview",
                RoundAction::Close => "closing it",
                RoundAction::Results => "results",
                RoundAction::Recount => "a recount",
                RoundAction::AssignReviewers => "assigning reviewers (its entries are fixed when it opens)",
                RoundAction::Review => "reviewing",
            };
            format!("the round is {}; {doing} needs it {}", status.as_str(), needed.as_str())
        }
        RoundRefusal::DeleteWhileOpen => "rounds cannot be deleted while a round is open".into(),
        RoundRefusal::DeleteNotLast => "only the campaign's last round can be deleted".into(),
        RoundRefusal::PanelFinal => "the round has closed; its panel is final".into(),
        RoundRefusal::NoReviewers => "a vote round has no reviewers".into(),
        RoundRefusal::LedgerNotPublished => "the ledger is published when the round closes".into(),
        RoundRefusal::WinnersNotDecided => {
            return AppError::conflict(
                "not_decided",
                "the winners are known once the campaign's last round has closed",
            )
        }
    };
    AppError::conflict("invalid_state", detail)
}

fn open(r: OpenRefusal) -> AppError {
    match r {
        OpenRefusal::NotPending => AppError::conflict("invalid_state", "only a pending round can open"),
        OpenRefusal::CampaignNotScreening => AppError::conflict(
            "invalid_state",
            "rounds open once the campaign is screening (nominations are then frozen)",
        ),
        OpenRefusal::PreviousNotClosed => {
            AppError::conflict("invalid_state", "the previous round has not closed yet")
        }
        OpenRefusal::FinalRoundRule { target } => AppError::invalid_field(
            "advance",
            format!(
                "this is the campaign's last round: it must advance exactly the winners target, \
                 so its rule must be top_n or proportional with n = {target}"
            ),
        ),
        OpenRefusal::TooFewEntries { seats, entries } => AppError::new(
            UNPROCESSABLE,
            "too_few_entries",
            format!("the rule advances {seats} but the round would have only {entries} entries"),
        ),
        OpenRefusal::NoEntries => {
            AppError::new(UNPROCESSABLE, "no_entries", "the round would have no entries")
        }
    }
}

fn close(r: CloseRefusal) -> AppError {
    match r {
        CloseRefusal::ReviewsMissing { short, required } => AppError::conflict(
            "reviews_missing",
            format!(
                "{short} entries have fewer than {required} reviews; finish them, or close with \
                 {{\"allow_missing_reviews\": true}} to score them on the reviews they have"
            ),
        ),
        CloseRefusal::WinnersTargetMissed { advanced, target } => AppError::conflict(
            "winners_target_missed",
            format!(
                "this last round would advance {advanced}, not the winners target {target}: \
                 too many entries were ruled out while it ran"
            ),
        ),
    }
}

fn review(r: ReviewRefusal) -> AppError {
    match r {
        ReviewRefusal::Conflict(conflict) => AppError::forbidden(match conflict {
            Conflict::OtherPanel => "this entry belongs to another member company's panel",
            Conflict::SameBranch => "reviewers do not score entries from their own branch",
            Conflict::SameMemberCompany => "reviewers do not score entries from their own member company",
            Conflict::Nominee => "nobody reviews their own nomination",
            Conflict::Nominator => "nobody reviews a nomination they made",
        }),
        ReviewRefusal::NotAssigned => AppError::forbidden("this entry is not assigned to you"),
        ReviewRefusal::OffPanel => AppError::forbidden("you are no longer on this round's panel"),
        ReviewRefusal::OutsideWindow => {
            AppError::conflict("window_closed", "the round's review window is not open now")
        }
    }
}

fn vote(r: VoteRefusal) -> AppError {
    let (status, code, detail) = match r {
        VoteRefusal::NotAVotingRound => {
            (CONFLICT, "not_a_voting_round", "this round is decided by reviewers, not votes")
        }
        VoteRefusal::NotOpen => (CONFLICT, "invalid_state", "the round is not open for voting"),
        VoteRefusal::OutsideWindow => (CONFLICT, "window_closed", "voting is outside the round's window"),
        VoteRefusal::NoSuchEntry => (StatusCode::NOT_FOUND, "not_found", "no such entry in this round"),
        VoteRefusal::RuledOut => (CONFLICT, "ruled_out", "this nomination has been ruled out"),
        VoteRefusal::OwnNomination => (FORBIDDEN, "own_nomination", "nobody votes for their own nomination"),
        VoteRefusal::AlreadyVoted => (CONFLICT, "already_voted", "you have already voted for this entry"),
        VoteRefusal::NoVotesLeft => (CONFLICT, "no_votes_left", "you have used all your votes in this round"),
        VoteRefusal::WithdrawalNotAllowed => {
            (CONFLICT, "withdrawal_not_allowed", "votes in this round cannot be withdrawn")
        }
        VoteRefusal::NoSuchVote => (StatusCode::NOT_FOUND, "not_found", "you have no vote for this entry"),
        VoteRefusal::KeyReused => {
            (CONFLICT, "idempotency_key_reused", "this Idempotency-Key was used for another vote")
        }
        VoteRefusal::KeyWithdrawn => {
            (CONFLICT, "vote_withdrawn", "the vote made with this Idempotency-Key has been withdrawn")
        }
    };
    AppError::new(status, code, detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::campaign::{CampaignStatus, NominationStatus};
    use crate::domain::refusal::FieldIssue;
    use crate::domain::round::RoundStatus;

    /// Each refusal with the status and code the API promises for it.
    fn promised() -> Vec<(Refusal, u16, &'static str)> {
        use Refusal as R;
        vec![
            (R::NotFound(Resource::Round), 404, "not_found"),
            (
                R::UnknownReference { field: "branch_id", resource: Resource::Branch, id: 9 },
                422,
                "validation_failed",
            ),
            (R::VersionMismatch { current: 2, sent: 1 }, 412, "stale"),
            (R::ChangedMeanwhile { resource: Resource::Nomination, if_match: true }, 412, "stale"),
            (R::ChangedMeanwhile { resource: Resource::Campaign, if_match: false }, 409, "stale"),
            (R::Invalid(vec![FieldIssue::new("name", "is empty")]), 422, "validation_failed"),
            (R::Duplicate(Unique::MemberCompanyCode), 409, "duplicate"),
            (R::Duplicate(Unique::BranchCode), 409, "duplicate"),
            (R::Duplicate(Unique::EmployeeNo), 409, "duplicate"),
            (R::Duplicate(Unique::Nominee), 409, "already_nominated"),
            (R::Duplicate(Unique::RoundSequence), 409, "duplicate"),
            (R::Duplicate(Unique::Vote), 409, "already_voted"),
            (OrgRefusal::MemberCompanyCodeTaken("PA".into()).into(), 409, "duplicate"),
            (OrgRefusal::BranchCodeTaken("B1".into()).into(), 409, "duplicate"),
            (OrgRefusal::HasBranches { code: "PA".into(), branches: 2 }.into(), 409, "in_use"),
            (OrgRefusal::HasUsers { code: "B1".into(), users: 2 }.into(), 409, "in_use"),
            (AccountRefusal::EmployeeNoTaken("E1".into()).into(), 409, "duplicate"),
            (AccountRefusal::SelfLockout.into(), 409, "self_lockout"),
            (AccountRefusal::SelfReset.into(), 409, "self_lockout"),
            (AccountRefusal::ActivationCodeInvalid.into(), 401, "unauthorized"),
            (AccountRefusal::PasswordChangedMeanwhile.into(), 409, "stale"),
            (CampaignRefusal::WindowInverted.into(), 422, "validation_failed"),
            (CampaignRefusal::NotEditable(CampaignStatus::Screening).into(), 409, "invalid_state"),
            (
                CampaignRefusal::InvalidTransition {
                    from: CampaignStatus::Draft,
                    to: CampaignStatus::Published,
                }
                .into(),
                409,
                "invalid_transition",
            ),
            (
                CampaignRefusal::ScreeningUnfinished(ScreeningGap::NoRounds).into(),
                409,
                "screening_unfinished",
            ),
            (
                CampaignRefusal::QuotaBelowSubmitted { fullest: 3, quota: 2 }.into(),
                409,
                "quota_below_submitted",
            ),
            (CampaignRefusal::RoundsFinal(CampaignStatus::Finished).into(), 409, "invalid_state"),
            (WindowRefusal::NotNominating(CampaignStatus::Draft).into(), 409, "not_nominating"),
            (WindowRefusal::NotYetOpen.into(), 409, "window_closed"),
            (WindowRefusal::Closed.into(), 409, "window_closed"),
            (NominationRefusal::OtherBranch.into(), 403, "forbidden"),
            (NominationRefusal::NomineeNotYours.into(), 403, "forbidden"),
            (NominationRefusal::NomineeUnknown(5).into(), 422, "validation_failed"),
            (NominationRefusal::NomineeGroupStaff.into(), 422, "validation_failed"),
            (NominationRefusal::NomineeDisabled.into(), 422, "validation_failed"),
            (NominationRefusal::NomineeMoved.into(), 422, "validation_failed"),
            (NominationRefusal::AlreadyNominated.into(), 409, "already_nominated"),
            (
                NominationRefusal::WrongStatus {
                    status: NominationStatus::Submitted,
                    action: NominationAction::Delete,
                }
                .into(),
                409,
                "invalid_state",
            ),
            (NominationRefusal::QuotaExhausted { quota: 3 }.into(), 409, "quota_exhausted"),
            (NominationRefusal::RuleOutCampaign(CampaignStatus::Draft).into(), 409, "invalid_state"),
            (NominationRefusal::WinnersDecided.into(), 409, "winners_decided"),
            (
                RoundRefusal::WrongStatus {
                    status: RoundStatus::Pending,
                    needed: RoundStatus::Open,
                    action: RoundAction::Close,
                }
                .into(),
                409,
                "invalid_state",
            ),
            (RoundRefusal::DeleteWhileOpen.into(), 409, "invalid_state"),
            (RoundRefusal::DeleteNotLast.into(), 409, "invalid_state"),
            (RoundRefusal::PanelFinal.into(), 409, "invalid_state"),
            (RoundRefusal::NoReviewers.into(), 409, "invalid_state"),
            (RoundRefusal::LedgerNotPublished.into(), 409, "invalid_state"),
            (RoundRefusal::WinnersNotDecided.into(), 409, "not_decided"),
            (OpenRefusal::NotPending.into(), 409, "invalid_state"),
            (OpenRefusal::CampaignNotScreening.into(), 409, "invalid_state"),
            (OpenRefusal::PreviousNotClosed.into(), 409, "invalid_state"),
            (OpenRefusal::FinalRoundRule { target: 310 }.into(), 422, "validation_failed"),
            (OpenRefusal::TooFewEntries { seats: 5, entries: 3 }.into(), 422, "too_few_entries"),
            (OpenRefusal::NoEntries.into(), 422, "no_entries"),
            (CloseRefusal::ReviewsMissing { short: 1, required: 3 }.into(), 409, "reviews_missing"),
            (
                CloseRefusal::WinnersTargetMissed { advanced: 1, target: 3 }.into(),
                409,
                "winners_target_missed",
            ),
            (ReviewRefusal::Conflict(Conflict::SameBranch).into(), 403, "forbidden"),
            (ReviewRefusal::NotAssigned.into(), 403, "forbidden"),
            (ReviewRefusal::OffPanel.into(), 403, "forbidden"),
            (ReviewRefusal::OutsideWindow.into(), 409, "window_closed"),
            (VoteRefusal::NotAVotingRound.into(), 409, "not_a_voting_round"),
            (VoteRefusal::NotOpen.into(), 409, "invalid_state"),
            (VoteRefusal::OutsideWindow.into(), 409, "window_closed"),
            (VoteRefusal::NoSuchEntry.into(), 404, "not_found"),
            (VoteRefusal::RuledOut.into(), 409, "ruled_out"),
            (VoteRefusal::OwnNomination.into(), 403, "own_nomination"),
            (VoteRefusal::AlreadyVoted.into(), 409, "already_voted"),
            (VoteRefusal::NoVotesLeft.into(), 409, "no_votes_left"),
            (VoteRefusal::WithdrawalNotAllowed.into(), 409, "withdrawal_not_allowed"),
            (VoteRefusal::NoSuchVote.into(), 404, "not_found"),
            (VoteRefusal::KeyReused.into(), 409, "idempotency_key_reused"),
            (VoteRefusal::KeyWithdrawn.into(), 409, "vote_withdrawn"),
        ]
    }

    #[test]
    fn every_refusal_has_its_status_code_and_a_message() {
        for (refusal, status, code) in promised() {
            let shown = format!("{refusal:?}");
            let answer = AppError::from(refusal);
            assert_eq!((answer.status.as_u16(), answer.code), (status, code), "{shown}");
            assert!(!answer.detail.is_empty(), "{shown} has no message");
        }
    }

    #[test]
    fn field_refusals_name_their_field() {
        let answer = AppError::from(Refusal::from(NominationRefusal::NomineeMoved));
        assert_eq!(answer.errors[0].field, "nominee_id");
        let answer = AppError::from(Refusal::UnknownReference {
            field: "branch_id",
            resource: Resource::Branch,
            id: 9,
        });
        assert_eq!(answer.errors[0].message, "branch 9 does not exist");
    }
}
