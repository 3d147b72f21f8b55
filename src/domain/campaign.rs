//! Campaign lifecycle and the nomination window.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CampaignStatus {
    Draft,
    Nominating,
    Screening,
    Finished,
    Published,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 5] = [
        CampaignStatus::Draft,
        CampaignStatus::Nominating,
        CampaignStatus::Screening,
        CampaignStatus::Finished,
        CampaignStatus::Published,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Draft => "draft",
            CampaignStatus::Nominating => "nominating",
            CampaignStatus::Screening => "screening",
            CampaignStatus::Finished => "finished",
            CampaignStatus::Published => "published",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

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

impl WindowRefusal {
    pub fn message(self) -> String {
        match self {
            WindowRefusal::NotNominating(status) => {
                format!("the campaign is {}, not nominating", status.as_str())
            }
            WindowRefusal::NotYetOpen => "the nomination window has not opened yet".into(),
            WindowRefusal::Closed => "the nomination window has closed".into(),
        }
    }
}

/// Nominations change only while the campaign is nominating and `now` is
/// inside [opens_at, closes_at).
pub fn nomination_window(
    status: CampaignStatus,
    opens_at: NaiveDateTime,
    closes_at: NaiveDateTime,
    now: NaiveDateTime,
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum NominationStatus {
    Draft,
    Submitted,
    Withdrawn,
    Ineligible,
}

impl NominationStatus {
    pub const ALL: [NominationStatus; 4] = [
        NominationStatus::Draft,
        NominationStatus::Submitted,
        NominationStatus::Withdrawn,
        NominationStatus::Ineligible,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NominationStatus::Draft => "draft",
            NominationStatus::Submitted => "submitted",
            NominationStatus::Withdrawn => "withdrawn",
            NominationStatus::Ineligible => "ineligible",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

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

    fn at(hour: u32) -> NaiveDateTime {
        chrono::NaiveDate::from_ymd_opt(2026, 3, 1).unwrap().and_hms_opt(hour, 0, 0).unwrap()
    }

    #[test]
    fn campaigns_move_forward_and_back_only_before_screening() {
        let allowed: Vec<(CampaignStatus, CampaignStatus)> = CampaignStatus::ALL
            .into_iter()
            .flat_map(|a| CampaignStatus::ALL.into_iter().map(move |b| (a, b)))
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
