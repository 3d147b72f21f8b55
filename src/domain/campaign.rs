//! Campaign lifecycle and the nomination window.

use super::text::text_enum;
use crate::domain::time::Timestamp;

text_enum!(
    #[derive(PartialOrd, Ord)]
    pub enum CampaignStatus in "campaigns"."status" {
        Draft = "draft",
        Nominating = "nominating",
        Screening = "screening",
        Finished = "finished",
        Published = "published",
    }
);

impl CampaignStatus {
    /// The moves a campaign may make: forward one step at a time, and back
    /// from nominating to draft. Once screening has started there is no way back.
    pub fn can_move_to(self, next: CampaignStatus) -> bool {
        use CampaignStatus::*;
        matches!(
            (self, next),
            (Draft, Nominating)
                | (Nominating, Draft)
                | (Nominating, Screening)
                | (Screening, Finished)
                | (Finished, Published)
        )
    }

    /// Whether the campaign's settings (window, quota, target) may still change.
    pub fn is_editable(self) -> bool {
        matches!(self, CampaignStatus::Draft | CampaignStatus::Nominating)
    }
}

/// Why nominations cannot be created, edited or submitted now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowRefusal {
    NotNominating(CampaignStatus),
    NotYetOpen,
    Closed,
}

/// Why a campaign cannot change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CampaignRefusal {
    /// The nomination window must close after it opens.
    WindowInverted,
    /// Window, quota and target are fixed once screening starts.
    NotEditable(CampaignStatus),
    InvalidTransition {
        from: CampaignStatus,
        to: CampaignStatus,
    },
    /// A campaign finishes only when its screening has decided the winners.
    ScreeningUnfinished(ScreeningGap),
    /// A branch has already submitted more nominations than the new quota.
    QuotaBelowSubmitted {
        fullest: i64,
        quota: i64,
    },
    /// A finished or published campaign's rounds are final.
    RoundsFinal(CampaignStatus),
}

/// What still stands between a campaign's screening and its winners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreeningGap {
    NoRounds,
    RoundsNotClosed,
    WinnersTargetMissed { advanced: usize, target: usize },
}

/// The nomination window: it must close after it opens.
pub fn check_window(opens_at: Timestamp, closes_at: Timestamp) -> Result<(), CampaignRefusal> {
    if closes_at <= opens_at {
        return Err(CampaignRefusal::WindowInverted);
    }
    Ok(())
}

/// A change of settings (`touches_settings`) and of status (`next`, if any)
/// that the campaign's status allows.
pub fn check_change(
    current: CampaignStatus,
    touches_settings: bool,
    next: Option<CampaignStatus>,
) -> Result<(), CampaignRefusal> {
    if touches_settings && !current.is_editable() {
        return Err(CampaignRefusal::NotEditable(current));
    }
    match next {
        Some(next) if next != current && !current.can_move_to(next) => {
            Err(CampaignRefusal::InvalidTransition { from: current, to: next })
        }
        _ => Ok(()),
    }
}

/// A lower quota may not leave a branch with more submitted nominations than it allows.
pub fn check_quota(quota: i64, fullest_branch: Option<i64>) -> Result<(), CampaignRefusal> {
    match fullest_branch {
        Some(fullest) if fullest > quota => Err(CampaignRefusal::QuotaBelowSubmitted { fullest, quota }),
        _ => Ok(()),
    }
}

/// Rounds are added, changed and deleted until the campaign finishes.
pub fn check_rounds_changeable(status: CampaignStatus) -> Result<(), CampaignRefusal> {
    if matches!(status, CampaignStatus::Finished | CampaignStatus::Published) {
        return Err(CampaignRefusal::RoundsFinal(status));
    }
    Ok(())
}

/// Nominations change only while the campaign is nominating and `now` is
/// inside [opens_at, closes_at).
pub fn nomination_window(
    status: CampaignStatus,
    opens_at: Timestamp,
    closes_at: Timestamp,
    now: Timestamp,
) -> Result<(), WindowRefusal> {
    if status != CampaignStatus::Nominating {
        return Err(WindowRefusal::NotNominating(status));
    }
    if now < opens_at {
        return Err(WindowRefusal::NotYetOpen);
    }
    if now >= closes_at {
        return Err(WindowRefusal::Closed);
    }
    Ok(())
}

text_enum!(
    pub enum NominationStatus in "nominations"."status" {
        Draft = "draft",
        Submitted = "submitted",
        Withdrawn = "withdrawn",
        Ineligible = "ineligible",
    }
);

impl NominationStatus {
    /// A manager edits drafts and submitted nominations (within the window).
    pub fn is_editable(self) -> bool {
        matches!(self, NominationStatus::Draft | NominationStatus::Submitted)
    }

    /// Drafts and withdrawn nominations may be submitted (again).
    pub fn can_submit(self) -> bool {
        matches!(self, NominationStatus::Draft | NominationStatus::Withdrawn)
    }

    pub fn can_withdraw(self) -> bool {
        matches!(self, NominationStatus::Draft | NominationStatus::Submitted)
    }

    /// Only nominations still in the running (drafts and submitted ones) are ruled out.
    pub fn can_rule_out(self) -> bool {
        matches!(self, NominationStatus::Draft | NominationStatus::Submitted)
    }
}

pub const MAX_TITLE_CHARS: u64 = 60;
pub const MAX_SUMMARY_CHARS: u64 = 300;
pub const MAX_STORY_CHARS: u64 = 5_000;
pub const MAX_LINKS: usize = 5;

/// A supporting link must be an absolute http(s) URL.
pub fn check_link(link: &str) -> Result<(), &'static str> {
    let rest = link
        .strip_prefix("https://")
        .or_else(|| link.strip_prefix("http://"))
        .ok_or("must start with http:// or https://")?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    if host.is_empty() || link.chars().any(|c| c.is_whitespace() || c.is_control()) || link.len() > 2_000 {
        return Err("is not a valid link");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignStatus::*;

    fn at(hour: u32) -> Timestamp {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_opt(hour, 0, 0).unwrap().into()
    }

    #[test]
    fn campaigns_move_forward_and_back_only_before_screening() {
        let allowed: Vec<(CampaignStatus, CampaignStatus)> = CampaignStatus::ALL
            .iter()
            .copied()
            .flat_map(|a| CampaignStatus::ALL.iter().copied().map(move |b| (a, b)))
            .filter(|(a, b)| a.can_move_to(*b))
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Draft, Nominating),
                (Nominating, Draft),
                (Nominating, Screening),
                (Screening, Finished),
                (Finished, Published)
            ]
        );
    }

    #[test]
    fn the_window_is_half_open() {
        assert_eq!(nomination_window(Nominating, at(8), at(18), at(7)), Err(WindowRefusal::NotYetOpen));
        assert_eq!(nomination_window(Nominating, at(8), at(18), at(8)), Ok(()));
        assert_eq!(nomination_window(Nominating, at(8), at(18), at(18)), Err(WindowRefusal::Closed));
        assert_eq!(nomination_window(Draft, at(8), at(18), at(9)), Err(WindowRefusal::NotNominating(Draft)));
    }

    #[test]
    fn settings_change_until_screening_and_status_moves_by_the_rules() {
        assert_eq!(check_change(Nominating, true, None), Ok(()));
        assert_eq!(check_change(Screening, true, None), Err(CampaignRefusal::NotEditable(Screening)));
        assert_eq!(check_change(Screening, false, Some(Screening)), Ok(()), "staying put is no move");
        assert_eq!(
            check_change(Draft, false, Some(Published)),
            Err(CampaignRefusal::InvalidTransition { from: Draft, to: Published })
        );
        assert_eq!(check_window(at(8), at(8)), Err(CampaignRefusal::WindowInverted));
        assert_eq!(check_window(at(8), at(9)), Ok(()));
    }

    #[test]
    fn a_quota_cannot_fall_below_what_a_branch_submitted() {
        assert_eq!(check_quota(3, None), Ok(()));
        assert_eq!(check_quota(3, Some(3)), Ok(()));
        assert_eq!(
            check_quota(2, Some(3)),
            Err(CampaignRefusal::QuotaBelowSubmitted { fullest: 3, quota: 2 })
        );
    }

    #[test]
    fn rounds_are_final_once_the_campaign_finishes() {
        assert_eq!(check_rounds_changeable(Screening), Ok(()));
        assert_eq!(check_rounds_changeable(Finished), Err(CampaignRefusal::RoundsFinal(Finished)));
        assert_eq!(check_rounds_changeable(Published), Err(CampaignRefusal::RoundsFinal(Published)));
    }

    #[test]
    fn links_are_http_or_https() {
        assert!(check_link("https://example.com/case/1").is_ok());
        assert!(check_link("http://intranet/x").is_ok());
        for bad in ["javascript:alert(1)", "ftp://x", "https://", "https:// x", "data:text/html,hi"] {
            assert!(check_link(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn nomination_moves() {
        assert!(NominationStatus::Withdrawn.can_submit());
        assert!(!NominationStatus::Submitted.can_submit());
        assert!(!NominationStatus::Ineligible.is_editable());
        assert!(!NominationStatus::Withdrawn.can_withdraw());
    }
}
