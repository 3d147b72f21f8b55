//! A round's lifecycle: when it may open and close, what each status allows,
//! when the campaign's winners are decided, who sees the results, and what
//! a closed round made of each entry.

use super::RoundStatus;
use crate::domain::campaign::ScreeningGap;
use crate::domain::scoring::{Advance, DecidedBy};

/// Why a round cannot open now (each a 409 or 422 to the admin).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpenRefusal {
    NotPending,
    CampaignNotScreening,
    PreviousNotClosed,
    /// The last round must cut to exactly the campaign's winners target.
    FinalRoundRule {
        target: usize,
    },
    TooFewEntries {
        seats: usize,
        entries: usize,
    },
    NoEntries,
}

/// The checks for opening a round that depend on its place in the campaign
/// and on how many entries it would get.
pub fn check_open(
    status: RoundStatus,
    campaign_screening: bool,
    previous: Option<RoundStatus>,
    is_last: bool,
    advance: &Advance,
    winners_target: usize,
    entries: usize,
) -> Result<(), OpenRefusal> {
    if status != RoundStatus::Pending {
        return Err(OpenRefusal::NotPending);
    }
    if !campaign_screening {
        return Err(OpenRefusal::CampaignNotScreening);
    }
    if previous.is_some_and(|p| p != RoundStatus::Closed) {
        return Err(OpenRefusal::PreviousNotClosed);
    }
    if is_last {
        let exact =
            matches!(advance, Advance::TopN { n } | Advance::Proportional { n } if *n == winners_target);
        if !exact {
            return Err(OpenRefusal::FinalRoundRule { target: winners_target });
        }
    }
    if entries == 0 {
        return Err(OpenRefusal::NoEntries);
    }
    match advance {
        Advance::TopN { n } | Advance::Proportional { n } if *n > entries => {
            Err(OpenRefusal::TooFewEntries { seats: *n, entries })
        }
        _ => Ok(()),
    }
}

/// Whether the campaign's screening is over: every round closed and the last
/// one advanced exactly the winners target.
pub fn winners_decided(
    rounds: &[RoundStatus],
    last_round_advanced: usize,
    target: usize,
) -> Result<(), ScreeningGap> {
    if rounds.is_empty() {
        return Err(ScreeningGap::NoRounds);
    }
    if rounds.iter().any(|s| *s != RoundStatus::Closed) {
        return Err(ScreeningGap::RoundsNotClosed);
    }
    check_winners_target(last_round_advanced, target)
        .map_err(|_| ScreeningGap::WinnersTargetMissed { advanced: last_round_advanced, target })
}

/// The campaign's last round advances exactly its winners target.
fn check_winners_target(advanced: usize, target: usize) -> Result<(), CloseRefusal> {
    if advanced != target {
        return Err(CloseRefusal::WinnersTargetMissed { advanced, target });
    }
    Ok(())
}

/// What the round is asked to do when its status is the wrong one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundAction {
    ChangeSettings,
    Delete,
    Preview,
    Close,
    Results,
    Recount,
    AssignReviewers,
    Review,
}

/// Why a round (or its panel, or its ledger) cannot do what was asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundRefusal {
    WrongStatus {
        status: RoundStatus,
        needed: RoundStatus,
        action: RoundAction,
    },
    /// An open round was checked as last or not when it opened: keep that true.
    DeleteWhileOpen,
    DeleteNotLast,
    /// A closed round's panel is final.
    PanelFinal,
    /// A round decided by votes alone has no reviewers.
    NoReviewers,
    /// The ledger is published when the round closes.
    LedgerNotPublished,
    /// The winners are known once the campaign's last round has closed.
    WinnersNotDecided,
}

/// A round does `action` only in the status it needs.
pub fn require_status(
    status: RoundStatus,
    needed: RoundStatus,
    action: RoundAction,
) -> Result<(), RoundRefusal> {
    if status != needed {
        return Err(RoundRefusal::WrongStatus { status, needed, action });
    }
    Ok(())
}

/// Why an open round cannot close now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseRefusal {
    /// `short` entries have fewer than `required` reviews, and the admin did
    /// not say to score them on the reviews they have.
    ReviewsMissing { short: usize, required: i32 },
    /// The last round would advance `advanced` entries, not the winners target.
    WinnersTargetMissed { advanced: usize, target: usize },
}

/// Entries with fewer reviews than each should have (`reviews[i]` is how
/// many entry `i` got).
pub fn short_of_reviews(reviews: impl IntoIterator<Item = usize>, reviews_per_entry: i32) -> usize {
    let wanted = usize::try_from(reviews_per_entry).unwrap_or(0);
    reviews.into_iter().filter(|&got| got < wanted).count()
}

/// The checks before a round's close is written: every entry has its
/// reviews (unless the admin allows fewer), and the campaign's last round
/// advances exactly the winners target (ruling out entries while it ran may
/// have left too few).
pub fn check_close(
    short: usize,
    reviews_per_entry: i32,
    allow_missing_reviews: bool,
    is_last: bool,
    advanced: usize,
    winners_target: usize,
) -> Result<(), CloseRefusal> {
    if short > 0 && !allow_missing_reviews {
        return Err(CloseRefusal::ReviewsMissing { short, required: reviews_per_entry });
    }
    if is_last {
        check_winners_target(advanced, winners_target)?;
    }
    Ok(())
}

/// Results and winners: admins see them as soon as a round closes, everyone
/// else once the campaign is published.
pub fn results_visible(is_admin: bool, campaign_published: bool) -> bool {
    is_admin || campaign_published
}

/// What a closed round made of one entry, as its branch is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Advanced,
    NotAdvanced,
    /// Ruled out (or withdrawn) while the round ran.
    RuledOut,
    /// Advanced by the campaign's last round: a winner, at this rank.
    Won {
        rank: usize,
    },
}

/// The verdict of an entry's frozen result; `last_round`: the round is the
/// campaign's last, whose advanced entries are the winners.
pub fn verdict(advanced: bool, decided_by: DecidedBy, rank: usize, last_round: bool) -> Verdict {
    match (decided_by, advanced) {
        (DecidedBy::RuledOut, _) => Verdict::RuledOut,
        (_, true) if last_round => Verdict::Won { rank },
        (_, true) => Verdict::Advanced,
        (_, false) => Verdict::NotAdvanced,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_needs_the_reviews_and_the_last_round_the_exact_target() {
        assert_eq!(short_of_reviews([3, 2, 0, 4], 3), 2);
        assert_eq!(short_of_reviews([0, 0], 0), 0, "a vote round wants no reviews");
        assert_eq!(check_close(0, 3, false, true, 310, 310), Ok(()));
        assert_eq!(
            check_close(2, 3, false, false, 5, 310),
            Err(CloseRefusal::ReviewsMissing { short: 2, required: 3 })
        );
        assert_eq!(check_close(2, 3, true, false, 5, 310), Ok(()), "the admin allowed missing reviews");
        assert_eq!(
            check_close(0, 3, false, true, 309, 310),
            Err(CloseRefusal::WinnersTargetMissed { advanced: 309, target: 310 })
        );
        assert_eq!(
            check_close(0, 3, false, false, 309, 310),
            Ok(()),
            "only the last round must hit the target"
        );
    }
    #[test]
    fn screening_is_decided_by_the_same_target_rule() {
        use RoundStatus::*;
        assert_eq!(winners_decided(&[], 0, 310), Err(ScreeningGap::NoRounds));
        assert_eq!(winners_decided(&[Closed, Open], 310, 310), Err(ScreeningGap::RoundsNotClosed));
        assert_eq!(
            winners_decided(&[Closed], 309, 310),
            Err(ScreeningGap::WinnersTargetMissed { advanced: 309, target: 310 })
        );
        assert_eq!(require_status(Open, Open, RoundAction::Close), Ok(()));
        assert_eq!(
            require_status(Pending, Open, RoundAction::Close),
            Err(RoundRefusal::WrongStatus { status: Pending, needed: Open, action: RoundAction::Close })
        );
    }
    #[test]
    fn the_last_round_must_cut_to_the_target() {
        let open = |is_last, advance: Advance, entries| {
            check_open(RoundStatus::Pending, true, Some(RoundStatus::Closed), is_last, &advance, 310, entries)
        };
        assert_eq!(open(true, Advance::TopN { n: 310 }, 620), Ok(()));
        assert_eq!(open(true, Advance::Proportional { n: 310 }, 620), Ok(()));
        assert_eq!(
            open(true, Advance::TopN { n: 300 }, 620),
            Err(OpenRefusal::FinalRoundRule { target: 310 })
        );
        assert_eq!(
            open(true, Advance::Threshold { threshold: 50.0 }, 620),
            Err(OpenRefusal::FinalRoundRule { target: 310 })
        );
        assert_eq!(
            open(true, Advance::TopN { n: 310 }, 300),
            Err(OpenRefusal::TooFewEntries { seats: 310, entries: 300 })
        );
        assert_eq!(open(false, Advance::Threshold { threshold: 50.0 }, 10), Ok(()));
        assert_eq!(open(false, Advance::TopN { n: 5 }, 0), Err(OpenRefusal::NoEntries));
        let previous_open = check_open(
            RoundStatus::Pending,
            true,
            Some(RoundStatus::Open),
            false,
            &Advance::TopN { n: 1 },
            310,
            5,
        );
        assert_eq!(previous_open, Err(OpenRefusal::PreviousNotClosed));
        let twice = check_open(RoundStatus::Open, true, None, false, &Advance::TopN { n: 1 }, 310, 5);
        assert_eq!(twice, Err(OpenRefusal::NotPending));
    }
    #[test]
    fn the_last_round_advances_winners_and_a_ruled_out_entry_never_advances() {
        assert_eq!(verdict(true, DecidedBy::FinalScore, 3, false), Verdict::Advanced);
        assert_eq!(verdict(true, DecidedBy::AllAdvance, 3, true), Verdict::Won { rank: 3 });
        assert_eq!(verdict(false, DecidedBy::JuryScore, 4, true), Verdict::NotAdvanced);
        assert_eq!(verdict(false, DecidedBy::Threshold, 9, false), Verdict::NotAdvanced);
        assert_eq!(verdict(false, DecidedBy::RuledOut, 5, true), Verdict::RuledOut);
    }
    #[test]
    fn screening_ends_with_the_target_exactly() {
        use RoundStatus::*;
        assert!(winners_decided(&[Closed, Closed], 310, 310).is_ok());
        assert!(winners_decided(&[Closed, Open], 310, 310).is_err());
        assert!(winners_decided(&[Closed], 309, 310).is_err());
        assert!(winners_decided(&[], 0, 310).is_err());
    }
}
