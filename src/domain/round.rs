//! Screening rounds: their configuration, lifecycle, who may review which
//! entry, and what a review must contain.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

use super::campaign::ScreeningGap;
use super::scoring::{Advance, Aggregate, Normalization};
use super::text::text_enum;

text_enum!(
    /// What decides a round: reviewers, employees' votes, or both.
    pub enum RoundKind in "rounds"."kind" { Review = "review", Vote = "vote", Combined = "combined" }
);
text_enum!(
    /// `member_company`: each member company's panel sees only its own entries.
    pub enum Scope in "rounds"."scope" { Group = "group", MemberCompany = "member_company" }
);
text_enum!(
    /// Where a reviewer may not score entries from: their own branch or their
    /// whole member company.
    pub enum ConflictScope in "rounds"."conflict_scope" { Branch = "branch", MemberCompany = "member_company" }
);
text_enum!(
    pub enum RoundStatus in "rounds"."status" { Pending = "pending", Open = "open", Closed = "closed" }
);

impl Advance {
    pub fn rule(&self) -> &'static str {
        match self {
            Advance::TopN { .. } => "top_n",
            Advance::TopNPerMemberCompany { .. } => "top_n_per_member_company",
            Advance::Proportional { .. } => "proportional",
            Advance::Threshold { .. } => "threshold",
        }
    }

    pub fn seats(&self) -> Option<usize> {
        match *self {
            Advance::TopN { n } | Advance::TopNPerMemberCompany { n } | Advance::Proportional { n } => {
                Some(n)
            }
            Advance::Threshold { .. } => None,
        }
    }

    pub fn threshold(&self) -> Option<f64> {
        match *self {
            Advance::Threshold { threshold } => Some(threshold),
            _ => None,
        }
    }

    /// The stored words of `rule`.
    pub const RULES: &'static [&'static str] =
        &["top_n", "top_n_per_member_company", "proportional", "threshold"];

    /// From the stored columns; `None` if they do not make a rule.
    pub fn from_parts(rule: &str, n: Option<i32>, threshold: Option<f64>) -> Option<Self> {
        let n = n.and_then(|n| usize::try_from(n).ok());
        Some(match rule {
            "top_n" => Advance::TopN { n: n? },
            "top_n_per_member_company" => Advance::TopNPerMemberCompany { n: n? },
            "proportional" => Advance::Proportional { n: n? },
            "threshold" => Advance::Threshold { threshold: threshold? },
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriterionSpec {
    pub name: String,
    pub weight: f64,
    pub max_score: f64,
}

/// A round's configuration, as an admin sets it while the round is pending.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundConfig {
    pub name: String,
    pub kind: RoundKind,
    pub scope: Scope,
    pub conflict_scope: ConflictScope,
    pub reviews_per_entry: i32,
    pub criteria: Vec<CriterionSpec>,
    pub normalization: Normalization,
    pub aggregate: Aggregate,
    pub jury_weight: f64,
    pub vote_weight: f64,
    pub votes_per_voter: i32,
    pub allow_vote_withdrawal: bool,
    pub opens_at: Option<Timestamp>,
    pub closes_at: Option<Timestamp>,
    pub advance: Advance,
}

pub const MAX_CRITERIA: usize = 20;
pub const MAX_REVIEWS_PER_ENTRY: i32 = 50;
pub const MAX_VOTES_PER_VOTER: i32 = 100;
pub const MAX_SCORE: f64 = 1000.0;
/// Weights are relative; the cap keeps every sum of them finite.
pub const MAX_WEIGHT: f64 = 1000.0;

/// The weights a kind implies when the admin leaves them out: a review round
/// is all jury, a vote round all votes; a combined round must say.
pub fn default_weights(kind: RoundKind) -> Option<(f64, f64)> {
    match kind {
        RoundKind::Review => Some((1.0, 0.0)),
        RoundKind::Vote => Some((0.0, 1.0)),
        RoundKind::Combined => None,
    }
}

/// Every rule a configuration must meet on its own, as (field, message).
pub fn validate(config: &RoundConfig) -> Result<(), Vec<(String, String)>> {
    let mut errors: Vec<(String, String)> = Vec::new();
    let mut fail = |field: &str, message: &str| errors.push((field.to_owned(), message.to_owned()));
    let jury = matches!(config.kind, RoundKind::Review | RoundKind::Combined);
    let votes = matches!(config.kind, RoundKind::Vote | RoundKind::Combined);

    if jury && config.criteria.is_empty() {
        fail("criteria", "a review or combined round needs at least one criterion");
    }
    if !jury && !config.criteria.is_empty() {
        fail("criteria", "a vote round has no criteria");
    }
    if config.criteria.len() > MAX_CRITERIA {
        fail("criteria", "at most 20 criteria");
    }
    let mut names = BTreeSet::new();
    for (i, c) in config.criteria.iter().enumerate() {
        let name = c.name.trim();
        if name.is_empty() || name.chars().count() > 60 {
            fail(&format!("criteria[{i}].name"), "1 to 60 characters");
        } else if !names.insert(name.to_owned()) {
            fail(&format!("criteria[{i}].name"), "criterion names must differ");
        }
        if !(c.weight.is_finite() && c.weight > 0.0 && c.weight <= MAX_WEIGHT) {
            fail(&format!("criteria[{i}].weight"), "must be greater than 0 and at most 1000");
        }
        if !(c.max_score.is_finite() && c.max_score > 0.0 && c.max_score <= MAX_SCORE) {
            fail(&format!("criteria[{i}].max_score"), "must be greater than 0 and at most 1000");
        }
    }
    if jury && !(1..=MAX_REVIEWS_PER_ENTRY).contains(&config.reviews_per_entry) {
        fail("reviews_per_entry", "a review or combined round needs 1 to 50 reviews per entry");
    }
    if !jury && config.reviews_per_entry != 0 {
        fail("reviews_per_entry", "a vote round has no reviews");
    }
    if config.scope == Scope::MemberCompany && config.conflict_scope == ConflictScope::MemberCompany {
        fail(
            "conflict_scope",
            "a member company's own panel reviews its own entries: use conflict scope branch",
        );
    }
    let (jw, vw) = (config.jury_weight, config.vote_weight);
    if !(jw.is_finite() && vw.is_finite() && jw >= 0.0 && vw >= 0.0 && ((jw + vw) - 1.0).abs() < 1e-9) {
        fail(
            "jury_weight",
            "jury_weight and vote_weight are shares: each 0 to 1, adding up to 1 (e.g. 0.7 and 0.3)",
        );
    } else {
        match config.kind {
            RoundKind::Review if vw != 0.0 => fail("vote_weight", "a review round has no votes"),
            RoundKind::Vote if jw != 0.0 => fail("jury_weight", "a vote round has no jury"),
            RoundKind::Combined if jw == 0.0 || vw == 0.0 => {
                fail("jury_weight", "a combined round weighs both jury and votes above 0")
            }
            _ => {}
        }
    }
    if votes && !(1..=MAX_VOTES_PER_VOTER).contains(&config.votes_per_voter) {
        fail("votes_per_voter", "a vote or combined round allows 1 to 100 votes per voter");
    }
    if !votes && config.votes_per_voter != 0 {
        fail("votes_per_voter", "a review round has no votes");
    }
    if let (Some(opens), Some(closes)) = (config.opens_at, config.closes_at) {
        if closes <= opens {
            fail("closes_at", "must be after opens_at");
        }
    }
    match config.advance {
        Advance::TopN { n } | Advance::TopNPerMemberCompany { n } | Advance::Proportional { n } => {
            if n == 0 || n > 1_000_000 {
                fail("advance.n", "must be at least 1");
            }
        }
        Advance::Threshold { threshold } => {
            if !(threshold.is_finite() && (0.0..=100.0).contains(&threshold)) {
                fail("advance.threshold", "a final score from 0 to 100");
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(errors)
    }
}

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

/// Results and winners: admins see them as soon as a round closes, everyone
/// else once the campaign is published.
pub fn results_visible(is_admin: bool, campaign_published: bool) -> bool {
    is_admin || campaign_published
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

    fn config() -> RoundConfig {
        RoundConfig {
            name: "初评".into(),
            kind: RoundKind::Review,
            scope: Scope::MemberCompany,
            conflict_scope: ConflictScope::Branch,
            reviews_per_entry: 3,
            criteria: vec![
                CriterionSpec { name: "事迹".into(), weight: 0.6, max_score: 10.0 },
                CriterionSpec { name: "影响".into(), weight: 0.4, max_score: 10.0 },
            ],
            normalization: Normalization::Zscore,
            aggregate: Aggregate::Mean,
            jury_weight: 1.0,
            vote_weight: 0.0,
            votes_per_voter: 0,
            allow_vote_withdrawal: false,
            opens_at: None,
            closes_at: None,
            advance: Advance::Proportional { n: 620 },
        }
    }

    fn fields(config: &RoundConfig) -> Vec<String> {
        validate(config).err().unwrap_or_default().into_iter().map(|(f, _)| f).collect()
    }

    #[test]
    fn a_sound_configuration_passes() {
        assert_eq!(validate(&config()), Ok(()));
        let mut combined = config();
        (combined.kind, combined.jury_weight, combined.vote_weight, combined.votes_per_voter) =
            (RoundKind::Combined, 0.7, 0.3, 10);
        assert_eq!(validate(&combined), Ok(()));
    }

    #[test]
    fn each_broken_rule_names_its_field() {
        let mut c = config();
        c.criteria[1].weight = 0.0;
        c.criteria[0].max_score = -1.0;
        assert_eq!(fields(&c), ["criteria[0].max_score", "criteria[1].weight"]);
        let mut c = config();
        c.criteria[0].weight = 1e308;
        assert_eq!(fields(&c), ["criteria[0].weight"]);
        let mut c = config();
        c.criteria[1].name = " 事迹 ".into();
        assert_eq!(fields(&c), ["criteria[1].name"]);
        let mut c = config();
        c.conflict_scope = ConflictScope::MemberCompany;
        assert_eq!(fields(&c), ["conflict_scope"]);
        let mut c = config();
        (c.jury_weight, c.vote_weight) = (70.0, 30.0);
        assert_eq!(fields(&c), ["jury_weight"]);
        let mut c = config();
        c.kind = RoundKind::Combined;
        assert_eq!(fields(&c), ["jury_weight", "votes_per_voter"]);
        let mut c = config();
        c.reviews_per_entry = 0;
        c.advance = Advance::TopN { n: 0 };
        assert_eq!(fields(&c), ["reviews_per_entry", "advance.n"]);
        let mut c = config();
        c.advance = Advance::Threshold { threshold: 101.0 };
        assert_eq!(fields(&c), ["advance.threshold"]);
        let mut vote = config();
        (vote.kind, vote.jury_weight, vote.vote_weight, vote.votes_per_voter) =
            (RoundKind::Vote, 0.0, 1.0, 5);
        assert_eq!(fields(&vote), ["criteria", "reviews_per_entry"]);
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

    #[test]
    fn screening_ends_with_the_target_exactly() {
        use RoundStatus::*;
        assert!(winners_decided(&[Closed, Closed], 310, 310).is_ok());
        assert!(winners_decided(&[Closed, Open], 310, 310).is_err());
        assert!(winners_decided(&[Closed], 309, 310).is_err());
        assert!(winners_decided(&[], 0, 310).is_err());
    }
}
