//! Screening rounds: configuration, opening (which fixes the entries),
//! closing (which scores, cuts and freezes), results, winners and each
//! branch's outcomes.
//! This module holds the round as stored and shown; each operation has a file.

mod close;
mod config;
mod inputs;
mod open;
mod outcomes;
mod results;

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{criteria, entries, rounds};
use crate::db::DbConn;
use crate::domain::round::{
    self as rules, ConflictScope, CriterionSpec, RoundAction, RoundConfig, RoundKind, RoundRefusal,
    RoundStatus, Scope,
};
use crate::domain::scoring::{self, Advance, Aggregate, Algorithm, Normalization, RoundRules};
use crate::domain::text::UnknownText;
use crate::domain::time::Timestamp;
use crate::store::campaigns as campaign_store;
use crate::store::{MustExist, Resource, StoreResult};

pub use close::close;
pub use config::{create, delete, update};
pub(crate) use inputs::parse_scores;
pub use inputs::{inputs, short_of_reviews, Inputs};
pub use open::open;
pub use outcomes::{branch_outcomes, BranchOutcomes, RoundOutcome};
pub use results::{all_results, preview, recount, results, winners, Ranking, Recount, Standing, Winners};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rounds)]
struct RoundRow {
    id: i64,
    campaign_id: i64,
    sequence: i32,
    name: String,
    kind: RoundKind,
    scope: Scope,
    conflict_scope: ConflictScope,
    reviews_per_entry: i32,
    normalization: Normalization,
    aggregate: Aggregate,
    jury_weight: f64,
    vote_weight: f64,
    votes_per_voter: i32,
    allow_vote_withdrawal: bool,
    opens_at: Option<Timestamp>,
    closes_at: Option<Timestamp>,
    advance_rule: String,
    advance_n: Option<i32>,
    advance_threshold: Option<f64>,
    status: RoundStatus,
    version: i32,
    algorithm_version: Option<String>,
    result_hash: Option<String>,
    allowed_missing_reviews: bool,
    opened_at: Option<Timestamp>,
    closed_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = criteria)]
pub struct Criterion {
    pub id: i64,
    #[serde(skip)]
    pub round_id: i64,
    #[serde(skip)]
    pub position: i32,
    pub name: String,
    pub weight: f64,
    pub max_score: f64,
}

/// A round as the API shows it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Round {
    pub id: i64,
    pub campaign_id: i64,
    /// 1 for the first round; rounds run in this order.
    pub sequence: i32,
    pub name: String,
    pub kind: RoundKind,
    pub scope: Scope,
    pub conflict_scope: ConflictScope,
    pub reviews_per_entry: i32,
    pub criteria: Vec<Criterion>,
    pub normalization: Normalization,
    pub aggregate: Aggregate,
    pub jury_weight: f64,
    pub vote_weight: f64,
    pub votes_per_voter: i32,
    pub allow_vote_withdrawal: bool,
    pub opens_at: Option<Timestamp>,
    pub closes_at: Option<Timestamp>,
    pub advance: Advance,
    pub status: RoundStatus,
    /// Bumped by every change; send it back as `If-Match` to refuse stale edits.
    pub version: i32,
    /// How many entries the round has (0 until it opens).
    pub entries: i64,
    /// Set on close: the scoring algorithm and the SHA-256 of all inputs and outputs.
    pub algorithm_version: Option<String>,
    pub result_hash: Option<String>,
    /// Whether the round was closed although some entries lacked reviews.
    pub allowed_missing_reviews: bool,
    pub opened_at: Option<Timestamp>,
    pub closed_at: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
}

impl Round {
    fn from_row(row: RoundRow, criteria: Vec<Criterion>, entries: i64) -> StoreResult<Round> {
        let advance = Advance::from_parts(&row.advance_rule, row.advance_n, row.advance_threshold)
            .ok_or_else(|| UnknownText {
                table: "rounds",
                column: "advance_rule",
                value: row.advance_rule.clone(),
                allowed: Advance::RULES,
            })?;
        Ok(Round {
            id: row.id,
            campaign_id: row.campaign_id,
            sequence: row.sequence,
            name: row.name,
            kind: row.kind,
            scope: row.scope,
            conflict_scope: row.conflict_scope,
            reviews_per_entry: row.reviews_per_entry,
            criteria,
            normalization: row.normalization,
            aggregate: row.aggregate,
            jury_weight: row.jury_weight,
            vote_weight: row.vote_weight,
            votes_per_voter: row.votes_per_voter,
            allow_vote_withdrawal: row.allow_vote_withdrawal,
            opens_at: row.opens_at,
            closes_at: row.closes_at,
            advance,
            status: row.status,
            version: row.version,
            entries,
            algorithm_version: row.algorithm_version,
            result_hash: row.result_hash,
            allowed_missing_reviews: row.allowed_missing_reviews,
            opened_at: row.opened_at,
            closed_at: row.closed_at,
            created_at: row.created_at,
            updated_at: row.updated_at,
        })
    }

    pub fn config(&self) -> RoundConfig {
        RoundConfig {
            name: self.name.clone(),
            kind: self.kind,
            scope: self.scope,
            conflict_scope: self.conflict_scope,
            reviews_per_entry: self.reviews_per_entry,
            criteria: self
                .criteria
                .iter()
                .map(|c| CriterionSpec { name: c.name.clone(), weight: c.weight, max_score: c.max_score })
                .collect(),
            normalization: self.normalization,
            aggregate: self.aggregate,
            jury_weight: self.jury_weight,
            vote_weight: self.vote_weight,
            votes_per_voter: self.votes_per_voter,
            allow_vote_withdrawal: self.allow_vote_withdrawal,
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            advance: self.advance,
        }
    }

    /// The rules the scoring engine applies: a closed round's are those of
    /// the algorithm version that closed it.
    pub fn rules(&self) -> RoundRules {
        RoundRules {
            algorithm: self
                .algorithm_version
                .as_deref()
                .and_then(Algorithm::parse)
                .unwrap_or(Algorithm::CURRENT),
            criteria: self
                .criteria
                .iter()
                .map(|c| scoring::Criterion { id: c.id, weight: c.weight, max_score: c.max_score })
                .collect(),
            normalization: self.normalization,
            aggregate: self.aggregate,
            jury_weight: self.jury_weight,
            vote_weight: self.vote_weight,
            advance: self.advance,
        }
    }

    pub fn require_status(&self, needed: RoundStatus, action: RoundAction) -> Result<(), RoundRefusal> {
        rules::require_status(self.status, needed, action)
    }
}

pub fn get(conn: &mut DbConn, id: i64) -> StoreResult<Round> {
    let row = rounds::table
        .find(id)
        .select(RoundRow::as_select())
        .first(conn)
        .optional()?
        .found(Resource::Round)?;
    let criteria = criteria::table
        .filter(criteria::round_id.eq(id))
        .order(criteria::position)
        .select(Criterion::as_select())
        .load(conn)?;
    let count = entries::table.filter(entries::round_id.eq(id)).count().get_result(conn)?;
    Round::from_row(row, criteria, count)
}

/// The rounds of a campaign, in order.
pub fn list(conn: &mut DbConn, campaign_id: i64) -> StoreResult<Vec<Round>> {
    campaign_store::get(conn, campaign_id)?;
    let ids: Vec<i64> = rounds::table
        .filter(rounds::campaign_id.eq(campaign_id))
        .order(rounds::sequence)
        .select(rounds::id)
        .load(conn)?;
    ids.into_iter().map(|id| get(conn, id)).collect()
}

pub fn campaign_of(conn: &mut DbConn, round_id: i64) -> StoreResult<i64> {
    rounds::table.find(round_id).select(rounds::campaign_id).first(conn).optional()?.found(Resource::Round)
}

fn next_round(conn: &mut DbConn, round: &Round) -> QueryResult<Option<i64>> {
    rounds::table
        .filter(rounds::campaign_id.eq(round.campaign_id))
        .filter(rounds::sequence.gt(round.sequence))
        .select(rounds::id)
        .first(conn)
        .optional()
}
