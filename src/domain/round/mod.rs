//! Screening rounds: their configuration, lifecycle, who may review which
//! entry, and what a review must contain.
//! This module holds the configuration and its checks.

mod lifecycle;
mod review;

use std::collections::BTreeSet;

use crate::domain::time::Timestamp;
use serde::{Deserialize, Serialize};

use super::scoring::{Advance, Aggregate, Normalization};
use super::text::text_enum;

pub use lifecycle::{
    check_close, check_open, require_status, results_visible, short_of_reviews, verdict, winners_decided,
    CloseRefusal, OpenRefusal, RoundAction, RoundRefusal, Verdict,
};
pub use review::{
    check_review_window, check_reviewer, check_scores, conflict, Candidate, Conflict, Panelist,
    ReviewRefusal, Reviewer, ScoreRange,
};

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
