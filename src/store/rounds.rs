//! Screening rounds: configuration, opening (which fixes the entries),
//! closing (which scores, cuts and freezes), results and winners.

use std::collections::BTreeMap;

use crate::domain::time::Timestamp;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::db::schema::{branches, criteria, entries, member_companies, nominations, reviews, rounds, users};
use crate::db::{self, DbConn};
use crate::domain::campaign::{self as campaign_rules, CampaignStatus, NominationStatus};
use crate::domain::refusal::{check_version, FieldIssue};
use crate::domain::round::{
    self as rules, ConflictScope, CriterionSpec, RoundAction, RoundConfig, RoundKind, RoundRefusal,
    RoundStatus, Scope,
};
use crate::domain::scoring::{
    self, Advance, Aggregate, Algorithm, DecidedBy, Normalization, Outcome, RoundRules,
};
use crate::domain::text::UnknownText;
use crate::store::campaigns::{self as campaign_store, Campaign};
use crate::store::{audit, MustExist, PageRequest, Resource, StoreError, StoreResult};

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

fn invalid(errors: Vec<(String, String)>) -> Vec<FieldIssue> {
    errors.into_iter().map(|(field, message)| FieldIssue::new(field, message)).collect()
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

fn write_criteria(conn: &mut DbConn, round_id: i64, specs: &[CriterionSpec]) -> QueryResult<()> {
    diesel::delete(criteria::table.filter(criteria::round_id.eq(round_id))).execute(conn)?;
    for (position, c) in specs.iter().enumerate() {
        diesel::insert_into(criteria::table)
            .values((
                criteria::round_id.eq(round_id),
                criteria::position.eq(position as i32),
                criteria::name.eq(c.name.trim()),
                criteria::weight.eq(c.weight),
                criteria::max_score.eq(c.max_score),
            ))
            .execute(conn)?;
    }
    Ok(())
}

type ConfigColumns = (
    diesel::dsl::Eq<rounds::name, String>,
    diesel::dsl::Eq<rounds::kind, &'static str>,
    diesel::dsl::Eq<rounds::scope, &'static str>,
    diesel::dsl::Eq<rounds::conflict_scope, &'static str>,
    diesel::dsl::Eq<rounds::reviews_per_entry, i32>,
    diesel::dsl::Eq<rounds::normalization, &'static str>,
    diesel::dsl::Eq<rounds::aggregate, &'static str>,
    diesel::dsl::Eq<rounds::jury_weight, f64>,
    diesel::dsl::Eq<rounds::vote_weight, f64>,
    diesel::dsl::Eq<rounds::votes_per_voter, i32>,
    diesel::dsl::Eq<rounds::allow_vote_withdrawal, bool>,
    (
        diesel::dsl::Eq<rounds::opens_at, Option<Timestamp>>,
        diesel::dsl::Eq<rounds::closes_at, Option<Timestamp>>,
        diesel::dsl::Eq<rounds::advance_rule, &'static str>,
        diesel::dsl::Eq<rounds::advance_n, Option<i32>>,
        diesel::dsl::Eq<rounds::advance_threshold, Option<f64>>,
    ),
);

fn config_columns(c: &RoundConfig) -> ConfigColumns {
    (
        rounds::name.eq(c.name.trim().to_owned()),
        rounds::kind.eq(c.kind.as_str()),
        rounds::scope.eq(c.scope.as_str()),
        rounds::conflict_scope.eq(c.conflict_scope.as_str()),
        rounds::reviews_per_entry.eq(c.reviews_per_entry),
        rounds::normalization.eq(c.normalization.as_str()),
        rounds::aggregate.eq(c.aggregate.as_str()),
        rounds::jury_weight.eq(c.jury_weight),
        rounds::vote_weight.eq(c.vote_weight),
        rounds::votes_per_voter.eq(c.votes_per_voter),
        rounds::allow_vote_withdrawal.eq(c.allow_vote_withdrawal),
        (
            rounds::opens_at.eq(c.opens_at),
            rounds::closes_at.eq(c.closes_at),
            rounds::advance_rule.eq(c.advance.rule()),
            rounds::advance_n.eq(c.advance.seats().map(|n| n as i32)),
            rounds::advance_threshold.eq(c.advance.threshold()),
        ),
    )
}

fn config_json(c: &RoundConfig) -> serde_json::Value {
    json!({
        "name": c.name, "kind": c.kind, "scope": c.scope, "conflict_scope": c.conflict_scope,
        "reviews_per_entry": c.reviews_per_entry, "criteria": c.criteria,
        "normalization": c.normalization, "aggregate": c.aggregate,
        "jury_weight": c.jury_weight, "vote_weight": c.vote_weight,
        "votes_per_voter": c.votes_per_voter, "allow_vote_withdrawal": c.allow_vote_withdrawal,
        "opens_at": c.opens_at, "closes_at": c.closes_at, "advance": c.advance,
    })
}

fn campaign_for_rounds(conn: &mut DbConn, campaign_id: i64) -> StoreResult<Campaign> {
    let campaign = campaign_store::get(conn, campaign_id)?;
    campaign_rules::check_rounds_changeable(campaign.status)?;
    Ok(campaign)
}

/// Adds a round after the campaign's existing ones.
pub fn create(conn: &mut DbConn, actor: i64, campaign_id: i64, config: RoundConfig) -> StoreResult<Round> {
    rules::validate(&config).map_err(invalid)?;
    db::write_tx(conn, |conn| {
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        campaign_for_rounds(conn, campaign_id)?;
        let last: Option<i32> = rounds::table
            .filter(rounds::campaign_id.eq(campaign_id))
            .select(diesel::dsl::max(rounds::sequence))
            .first(conn)?;
        let now = db::now();
        let id: i64 = diesel::insert_into(rounds::table)
            .values((
                rounds::campaign_id.eq(campaign_id),
                rounds::sequence.eq(last.unwrap_or(0) + 1),
                config_columns(&config),
                rounds::status.eq(RoundStatus::Pending),
                rounds::created_at.eq(now),
                rounds::updated_at.eq(now),
            ))
            .returning(rounds::id)
            .get_result(conn)?;
        write_criteria(conn, id, &config.criteria)?;
        audit::append(conn, Some(actor), "round.create", &format!("round:{id}"), config_json(&config))?;
        get(conn, id)
    })
}

/// Changes a pending round: `change` gets the current configuration and
/// returns the new one, which must pass the same checks as a new round.
pub fn update(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    expected_version: Option<i32>,
    change: impl FnOnce(RoundConfig) -> RoundConfig,
) -> StoreResult<Round> {
    db::write_tx(conn, |conn| {
        let campaign_id = campaign_of(conn, id)?;
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        campaign_for_rounds(conn, campaign_id)?;
        let round = get(conn, id)?;
        check_version(round.version, expected_version)?;
        round.require_status(RoundStatus::Pending, RoundAction::ChangeSettings)?;
        let config = change(round.config());
        rules::validate(&config).map_err(invalid)?;
        diesel::update(rounds::table.find(id))
            .set((
                config_columns(&config),
                rounds::version.eq(round.version + 1),
                rounds::updated_at.eq(db::now()),
            ))
            .execute(conn)?;
        if config.criteria != round.config().criteria {
            write_criteria(conn, id, &config.criteria)?;
        }
        audit::append(conn, Some(actor), "round.update", &format!("round:{id}"), config_json(&config))?;
        get(conn, id)
    })
}

/// Deletes a pending round that is the campaign's last.
pub fn delete(conn: &mut DbConn, actor: i64, id: i64) -> StoreResult<()> {
    db::write_tx(conn, |conn| {
        let campaign_id = campaign_of(conn, id)?;
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        let round = get(conn, id)?;
        round.require_status(RoundStatus::Pending, RoundAction::Delete)?;
        let open: i64 = rounds::table
            .filter(rounds::campaign_id.eq(campaign_id))
            .filter(rounds::status.eq(RoundStatus::Open))
            .count()
            .get_result(conn)?;
        if open > 0 {
            // An open round was checked as the last round or not when it opened: keep that true.
            return Err(RoundRefusal::DeleteWhileOpen.into());
        }
        if next_round(conn, &round)?.is_some() {
            return Err(RoundRefusal::DeleteNotLast.into());
        }
        diesel::delete(rounds::table.find(id)).execute(conn)?;
        audit::append(
            conn,
            Some(actor),
            "round.delete",
            &format!("round:{id}"),
            json!({"name": round.name}),
        )?;
        Ok(())
    })
}

pub fn campaign_of(conn: &mut DbConn, round_id: i64) -> StoreResult<i64> {
    rounds::table.find(round_id).select(rounds::campaign_id).first(conn).optional()?.found(Resource::Round)
}

fn previous_round(conn: &mut DbConn, round: &Round) -> QueryResult<Option<(i64, String)>> {
    rounds::table
        .filter(rounds::campaign_id.eq(round.campaign_id))
        .filter(rounds::sequence.lt(round.sequence))
        .order(rounds::sequence.desc())
        .select((rounds::id, rounds::status))
        .first(conn)
        .optional()
}

fn next_round(conn: &mut DbConn, round: &Round) -> QueryResult<Option<i64>> {
    rounds::table
        .filter(rounds::campaign_id.eq(round.campaign_id))
        .filter(rounds::sequence.gt(round.sequence))
        .select(rounds::id)
        .first(conn)
        .optional()
}

/// Opens a pending round. Its entries are fixed now: the submitted
/// nominations for the first round, the entries the previous round advanced
/// otherwise; their member company and branch are copied so that a later
/// change of the org chart cannot move a frozen entry.
pub fn open(conn: &mut DbConn, actor: i64, id: i64) -> StoreResult<Round> {
    db::write_tx(conn, |conn| {
        let campaign_id = campaign_of(conn, id)?;
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        let campaign = campaign_store::get(conn, campaign_id)?;
        let round = get(conn, id)?;
        let previous = previous_round(conn, &round)?;
        let is_last = next_round(conn, &round)?.is_none();
        let candidates: i64 = match &previous {
            None => nominations::table
                .filter(nominations::campaign_id.eq(campaign_id))
                .filter(nominations::status.eq(NominationStatus::Submitted))
                .count()
                .get_result(conn)?,
            Some((previous_id, _)) => entries::table
                .inner_join(nominations::table)
                .filter(entries::round_id.eq(previous_id))
                .filter(entries::advanced.eq(true))
                .filter(nominations::status.eq(NominationStatus::Submitted))
                .count()
                .get_result(conn)?,
        };
        rules::check_open(
            round.status,
            campaign.status == CampaignStatus::Screening,
            previous.as_ref().and_then(|(_, s)| RoundStatus::parse(s)),
            is_last,
            &round.advance,
            campaign.winners_target as usize,
            candidates as usize,
        )?;
        match previous {
            None => {
                let source = nominations::table
                    .inner_join(branches::table)
                    .filter(nominations::campaign_id.eq(campaign_id))
                    .filter(nominations::status.eq(NominationStatus::Submitted))
                    .select((
                        id.into_sql::<diesel::sql_types::BigInt>(),
                        nominations::id,
                        branches::member_company_id,
                        nominations::branch_id,
                        nominations::submitted_at.assume_not_null(),
                    ));
                diesel::insert_into(entries::table)
                    .values(source)
                    .into_columns((
                        entries::round_id,
                        entries::nomination_id,
                        entries::member_company_id,
                        entries::branch_id,
                        entries::submitted_at,
                    ))
                    .execute(conn)?;
            }
            Some((previous_id, _)) => {
                // Advanced, and not ruled out since.
                let source = entries::table
                    .inner_join(nominations::table)
                    .filter(entries::round_id.eq(previous_id))
                    .filter(entries::advanced.eq(true))
                    .filter(nominations::status.eq(NominationStatus::Submitted))
                    .select((
                        id.into_sql::<diesel::sql_types::BigInt>(),
                        entries::nomination_id,
                        entries::member_company_id,
                        entries::branch_id,
                        entries::submitted_at,
                    ));
                diesel::insert_into(entries::table)
                    .values(source)
                    .into_columns((
                        entries::round_id,
                        entries::nomination_id,
                        entries::member_company_id,
                        entries::branch_id,
                        entries::submitted_at,
                    ))
                    .execute(conn)?;
            }
        }
        let now = db::now();
        diesel::update(rounds::table.find(id))
            .set((
                rounds::status.eq(RoundStatus::Open),
                rounds::opened_at.eq(now),
                rounds::version.eq(round.version + 1),
                rounds::updated_at.eq(now),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            Some(actor),
            "round.open",
            &format!("round:{id}"),
            json!({"entries": candidates}),
        )?;
        get(conn, id)
    })
}

/// Everything the scoring engine needs, read from the database.
pub struct Inputs {
    pub rules: RoundRules,
    pub entries: Vec<scoring::Entry>,
    pub reviews: Vec<scoring::Review>,
}

#[derive(Queryable)]
struct ReviewRow {
    nomination_id: i64,
    reviewer_id: i64,
    scores: String,
}

/// A review's stored scores; the review (round, entry, reviewer) is named
/// only if they cannot be read.
pub(crate) fn parse_scores(
    text: &str,
    round_id: i64,
    nomination_id: i64,
    reviewer: impl std::fmt::Display,
) -> StoreResult<BTreeMap<i64, f64>> {
    serde_json::from_str(text).map_err(|_| {
        StoreError::corrupt("reviews", "scores", format!("{round_id}/{nomination_id}/{reviewer}"), text)
    })
}

pub fn inputs(conn: &mut DbConn, round: &Round) -> StoreResult<Inputs> {
    let entries = entries::table
        .inner_join(nominations::table)
        .filter(entries::round_id.eq(round.id))
        .order(entries::nomination_id)
        .select((
            entries::nomination_id,
            entries::member_company_id,
            entries::submitted_at,
            entries::votes,
            entries::ruled_out,
            nominations::status,
        ))
        .load::<(i64, i64, Timestamp, i64, Option<bool>, String)>(conn)?
        .into_iter()
        .map(|(nomination_id, member_company_id, submitted_at, votes, frozen, status)| scoring::Entry {
            nomination_id,
            member_company_id,
            submitted_at,
            votes,
            // As frozen at close; while the round runs, as the nomination is now.
            ruled_out: frozen.unwrap_or(status != NominationStatus::Submitted.as_str()),
        })
        .collect();
    let reviews = reviews::table
        .filter(reviews::round_id.eq(round.id))
        .order((reviews::nomination_id, reviews::reviewer_id))
        .select((reviews::nomination_id, reviews::reviewer_id, reviews::scores))
        .load::<ReviewRow>(conn)?
        .into_iter()
        .map(|r| {
            Ok(scoring::Review {
                reviewer_id: r.reviewer_id,
                nomination_id: r.nomination_id,
                scores: parse_scores(&r.scores, round.id, r.nomination_id, r.reviewer_id)?,
            })
        })
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(Inputs { rules: round.rules(), entries, reviews })
}

/// Entries with fewer reviews than the round asks for.
/// How many of a round's entries have fewer reviews than each should get.
pub fn short_of_reviews(inputs: &Inputs, per_entry: i32) -> usize {
    let mut received: BTreeMap<i64, usize> = BTreeMap::new();
    for r in &inputs.reviews {
        *received.entry(r.nomination_id).or_default() += 1;
    }
    let counts = inputs.entries.iter().map(|e| received.get(&e.nomination_id).copied().unwrap_or(0));
    rules::short_of_reviews(counts, per_entry)
}

/// One line of a ranking, with what a reader needs beside the numbers.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Standing {
    pub nomination_id: i64,
    pub title: String,
    pub nominee_id: i64,
    pub nominee_name: String,
    pub branch_id: i64,
    pub branch_name: String,
    pub member_company_id: i64,
    pub member_company_name: String,
    pub jury_score: f64,
    /// Spread (population standard deviation) of the entry's review scores.
    pub jury_stddev: f64,
    pub reviews: i32,
    pub vote_count: i64,
    pub vote_score: f64,
    pub final_score: f64,
    pub rank: i32,
    pub advanced: bool,
    /// The tie-break step that separated this entry from the other side of its cut.
    pub decided_by: DecidedBy,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Ranking {
    pub round_id: i64,
    pub status: RoundStatus,
    pub algorithm_version: String,
    /// Set once the round has closed.
    pub result_hash: Option<String>,
    pub advanced: i64,
    pub items: Vec<Standing>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

type Labels = (String, i64, String, String, String);

/// Titles and names for a set of nominations.
fn labels(conn: &mut DbConn, ids: &[i64]) -> QueryResult<BTreeMap<i64, Labels>> {
    let mut out = BTreeMap::new();
    for chunk in ids.chunks(500) {
        let rows = nominations::table
            .inner_join(branches::table.inner_join(member_companies::table))
            .inner_join(users::table.on(users::id.eq(nominations::nominee_id)))
            .filter(nominations::id.eq_any(chunk))
            .select((
                nominations::id,
                nominations::title,
                nominations::nominee_id,
                users::name,
                branches::name,
                member_companies::name,
            ))
            .load::<(i64, String, i64, String, String, String)>(conn)?;
        out.extend(rows.into_iter().map(|(id, title, nominee, name, branch, company)| {
            (id, (title, nominee, name, branch, company))
        }));
    }
    Ok(out)
}

fn standings(conn: &mut DbConn, outcomes: Vec<(Outcome, i64)>) -> QueryResult<Vec<Standing>> {
    let ids: Vec<i64> = outcomes.iter().map(|(o, _)| o.nomination_id).collect();
    let mut labels = labels(conn, &ids)?;
    Ok(outcomes
        .into_iter()
        .map(|(o, branch_id)| {
            let (title, nominee_id, nominee_name, branch_name, member_company_name) =
                labels.remove(&o.nomination_id).unwrap_or_default();
            Standing {
                nomination_id: o.nomination_id,
                title,
                nominee_id,
                nominee_name,
                branch_id,
                branch_name,
                member_company_id: o.member_company_id,
                member_company_name,
                jury_score: o.jury_score,
                jury_stddev: o.jury_stddev,
                reviews: o.reviews as i32,
                vote_count: o.vote_count,
                vote_score: o.vote_score,
                final_score: o.final_score,
                rank: o.rank as i32,
                advanced: o.advanced,
                decided_by: o.decided_by,
            }
        })
        .collect())
}

fn branch_ids(conn: &mut DbConn, round_id: i64) -> QueryResult<BTreeMap<i64, i64>> {
    Ok(entries::table
        .filter(entries::round_id.eq(round_id))
        .select((entries::nomination_id, entries::branch_id))
        .load::<(i64, i64)>(conn)?
        .into_iter()
        .collect())
}

/// The ranking as it would be if the round closed now (open rounds only).
pub fn preview(conn: &mut DbConn, id: i64, page: PageRequest) -> StoreResult<Ranking> {
    let round = get(conn, id)?;
    round.require_status(RoundStatus::Open, RoundAction::Preview)?;
    let inputs = inputs(conn, &round)?;
    let outcomes = scoring::close(&inputs.rules, &inputs.entries, &inputs.reviews);
    let advanced = outcomes.iter().filter(|o| o.advanced).count() as i64;
    let total = outcomes.len() as i64;
    let branches = branch_ids(conn, id)?;
    let page_of: Vec<(Outcome, i64)> = outcomes
        .into_iter()
        .skip(page.offset() as usize)
        .take(page.per_page as usize)
        .map(|o| {
            let branch = branches.get(&o.nomination_id).copied().unwrap_or_default();
            (o, branch)
        })
        .collect();
    let items = standings(conn, page_of)?;
    Ok(Ranking {
        round_id: id,
        status: round.status,
        algorithm_version: scoring::ALGORITHM_VERSION.to_owned(),
        result_hash: None,
        advanced,
        items,
        page: page.page,
        per_page: page.per_page,
        total,
    })
}

/// Closes an open round: scores, cuts and freezes every entry's result and
/// the round's fingerprint. Refused while entries lack reviews unless the
/// admin says so; the last round must yield exactly the winners target.
pub fn close(conn: &mut DbConn, actor: i64, id: i64, allow_missing_reviews: bool) -> StoreResult<Round> {
    db::write_tx(conn, |conn| {
        let campaign_id = campaign_of(conn, id)?;
        // Exclusive: reviews and votes in flight land before the count, later ones are refused.
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        // Votes hold it shared until they commit: wait for those in flight.
        db::lock_resource(conn, db::LockSpace::RoundVotes, id, false)?;
        let campaign = campaign_store::get(conn, campaign_id)?;
        let round = get(conn, id)?;
        round.require_status(RoundStatus::Open, RoundAction::Close)?;
        let inputs = inputs(conn, &round)?;
        let short = short_of_reviews(&inputs, round.reviews_per_entry);
        let outcomes = scoring::close(&inputs.rules, &inputs.entries, &inputs.reviews);
        let advanced = outcomes.iter().filter(|o| o.advanced).count();
        let is_last = next_round(conn, &round)?.is_none();
        let target = campaign.winners_target as usize;
        rules::check_close(short, round.reviews_per_entry, allow_missing_reviews, is_last, advanced, target)?;
        let hash = scoring::fingerprint(&inputs.rules, &inputs.entries, &inputs.reviews, &outcomes);
        freeze(conn, id, &outcomes)?;
        crate::store::votes::publish_ledger(conn, id)?;
        let now = db::now();
        diesel::update(rounds::table.find(id))
            .set((
                rounds::status.eq(RoundStatus::Closed),
                rounds::algorithm_version.eq(scoring::ALGORITHM_VERSION),
                rounds::result_hash.eq(&hash),
                rounds::allowed_missing_reviews.eq(short > 0),
                rounds::closed_at.eq(now),
                rounds::version.eq(round.version + 1),
                rounds::updated_at.eq(now),
            ))
            .execute(conn)?;
        audit::append(
            conn,
            Some(actor),
            "round.close",
            &format!("round:{id}"),
            json!({
                "entries": outcomes.len(), "advanced": advanced, "reviews": inputs.reviews.len(),
                "short_of_reviews": short, "algorithm_version": scoring::ALGORITHM_VERSION, "result_hash": hash,
            }),
        )?;
        get(conn, id)
    })
}

/// Writes each entry's outcome. PostgreSQL gets them in one statement (one
/// round trip instead of thousands); SQLite, in process, row by row.
fn freeze(conn: &mut DbConn, round_id: i64, outcomes: &[Outcome]) -> QueryResult<()> {
    use diesel::sql_types::{Array, BigInt, Bool, Double, Integer, Text};
    match conn {
        DbConn::Pg(pg) => {
            let column = |f: &dyn Fn(&Outcome) -> f64| outcomes.iter().map(f).collect::<Vec<f64>>();
            diesel::sql_query(
                "UPDATE entries AS e SET ruled_out = v.ruled_out, jury_score = v.jury_score, \
                 jury_stddev = v.jury_stddev, reviews = v.reviews, vote_score = v.vote_score, \
                 final_score = v.final_score, rank = v.rank, advanced = v.advanced, decided_by = v.decided_by \
                 FROM unnest($2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
                 AS v(nomination_id, ruled_out, jury_score, jury_stddev, reviews, vote_score, final_score, rank, advanced, decided_by) \
                 WHERE e.round_id = $1 AND e.nomination_id = v.nomination_id",
            )
            .bind::<BigInt, _>(round_id)
            .bind::<Array<BigInt>, _>(outcomes.iter().map(|o| o.nomination_id).collect::<Vec<_>>())
            .bind::<Array<Bool>, _>(outcomes.iter().map(|o| o.decided_by == DecidedBy::RuledOut).collect::<Vec<_>>())
            .bind::<Array<Double>, _>(column(&|o| o.jury_score))
            .bind::<Array<Double>, _>(column(&|o| o.jury_stddev))
            .bind::<Array<Integer>, _>(outcomes.iter().map(|o| o.reviews as i32).collect::<Vec<_>>())
            .bind::<Array<Double>, _>(column(&|o| o.vote_score))
            .bind::<Array<Double>, _>(column(&|o| o.final_score))
            .bind::<Array<Integer>, _>(outcomes.iter().map(|o| o.rank as i32).collect::<Vec<_>>())
            .bind::<Array<Bool>, _>(outcomes.iter().map(|o| o.advanced).collect::<Vec<_>>())
            .bind::<Array<Text>, _>(outcomes.iter().map(|o| decided_by_text(o.decided_by)).collect::<Vec<_>>())
            .execute(pg)?;
        }
        DbConn::Sqlite(_) => {
            for o in outcomes {
                diesel::update(entries::table.find((round_id, o.nomination_id)))
                    .set((
                        entries::ruled_out.eq(o.decided_by == DecidedBy::RuledOut),
                        entries::jury_score.eq(o.jury_score),
                        entries::jury_stddev.eq(o.jury_stddev),
                        entries::reviews.eq(o.reviews as i32),
                        entries::vote_score.eq(o.vote_score),
                        entries::final_score.eq(o.final_score),
                        entries::rank.eq(o.rank as i32),
                        entries::advanced.eq(o.advanced),
                        entries::decided_by.eq(decided_by_text(o.decided_by)),
                    ))
                    .execute(conn)?;
            }
        }
    }
    Ok(())
}

fn decided_by_text(d: DecidedBy) -> String {
    serde_json::to_value(d).ok().and_then(|v| v.as_str().map(str::to_owned)).unwrap_or_default()
}

fn decided_by_parse(text: &str, nomination_id: i64) -> StoreResult<DecidedBy> {
    serde_json::from_value(json!(text)).map_err(|_| {
        StoreError::corrupt("entries", "decided_by", format!("of nomination {nomination_id}"), text)
    })
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = entries)]
struct FrozenRow {
    nomination_id: i64,
    member_company_id: i64,
    branch_id: i64,
    votes: i64,
    jury_score: Option<f64>,
    jury_stddev: Option<f64>,
    reviews: Option<i32>,
    vote_score: Option<f64>,
    final_score: Option<f64>,
    rank: Option<i32>,
    advanced: Option<bool>,
    decided_by: Option<String>,
}

impl FrozenRow {
    fn outcome(self) -> StoreResult<(Outcome, i64)> {
        // A closed round's entry without a result: the freeze left it incomplete.
        let id = self.nomination_id;
        let missing = || StoreError::corrupt("entries", "result", format!("of nomination {id}"), "NULL");
        Ok((
            Outcome {
                nomination_id: self.nomination_id,
                member_company_id: self.member_company_id,
                jury_score: self.jury_score.ok_or_else(missing)?,
                jury_stddev: self.jury_stddev.ok_or_else(missing)?,
                reviews: self.reviews.ok_or_else(missing)? as usize,
                vote_count: self.votes,
                vote_score: self.vote_score.ok_or_else(missing)?,
                final_score: self.final_score.ok_or_else(missing)?,
                rank: self.rank.ok_or_else(missing)? as usize,
                advanced: self.advanced.ok_or_else(missing)?,
                decided_by: decided_by_parse(self.decided_by.as_deref().ok_or_else(missing)?, id)?,
            },
            self.branch_id,
        ))
    }
}

/// The frozen outcomes of a closed round, in rank order.
fn frozen(
    conn: &mut DbConn,
    id: i64,
    advanced_only: bool,
    page: Option<PageRequest>,
) -> StoreResult<Vec<(Outcome, i64)>> {
    let mut query = entries::table
        .filter(entries::round_id.eq(id))
        .order(entries::rank)
        .select(FrozenRow::as_select())
        .into_boxed::<db::MultiBackend>();
    if advanced_only {
        query = query.filter(entries::advanced.eq(true));
    }
    if let Some(page) = page {
        query = query.limit(page.per_page).offset(page.offset());
    }
    query.load::<FrozenRow>(conn)?.into_iter().map(FrozenRow::outcome).collect()
}

/// The frozen ranking of a closed round.
pub fn results(conn: &mut DbConn, id: i64, page: PageRequest) -> StoreResult<Ranking> {
    let round = get(conn, id)?;
    round.require_status(RoundStatus::Closed, RoundAction::Results)?;
    let outcomes = frozen(conn, id, false, Some(page))?;
    let advanced = entries::table
        .filter(entries::round_id.eq(id))
        .filter(entries::advanced.eq(true))
        .count()
        .get_result(conn)?;
    let items = standings(conn, outcomes)?;
    Ok(Ranking {
        round_id: id,
        status: round.status,
        algorithm_version: round.algorithm_version.unwrap_or_default(),
        result_hash: round.result_hash,
        advanced,
        items,
        page: page.page,
        per_page: page.per_page,
        total: round.entries,
    })
}

/// Whether a closed round's stored result is what the rules make of its
/// stored inputs.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Recount {
    pub round_id: i64,
    /// True when the recomputed outcomes equal the stored ones and the
    /// fingerprint matches.
    pub ok: bool,
    pub outcomes_match: bool,
    pub stored_hash: String,
    pub recomputed_hash: String,
    pub algorithm_version: String,
}

pub fn recount(conn: &mut DbConn, id: i64) -> StoreResult<Recount> {
    let round = get(conn, id)?;
    round.require_status(RoundStatus::Closed, RoundAction::Recount)?;
    let inputs = inputs(conn, &round)?;
    let stored: Vec<Outcome> = frozen(conn, id, false, None)?.into_iter().map(|(o, _)| o).collect();
    let recomputed = scoring::close(&inputs.rules, &inputs.entries, &inputs.reviews);
    let recomputed_hash = scoring::fingerprint(&inputs.rules, &inputs.entries, &inputs.reviews, &recomputed);
    let stored_hash = round.result_hash.unwrap_or_default();
    let outcomes_match = stored == recomputed;
    Ok(Recount {
        round_id: id,
        ok: outcomes_match && recomputed_hash == stored_hash,
        outcomes_match,
        stored_hash,
        recomputed_hash,
        algorithm_version: round.algorithm_version.unwrap_or_default(),
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Winners {
    pub campaign_id: i64,
    pub round_id: i64,
    pub winners_target: i32,
    pub result_hash: String,
    pub items: Vec<Standing>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// The campaign's winners: the entries its last round advanced, once that
/// round has closed.
pub fn winners(conn: &mut DbConn, campaign_id: i64, page: PageRequest) -> StoreResult<Winners> {
    let campaign = campaign_store::get(conn, campaign_id)?;
    let last: Option<(i64, String, Option<String>)> = rounds::table
        .filter(rounds::campaign_id.eq(campaign_id))
        .order(rounds::sequence.desc())
        .select((rounds::id, rounds::status, rounds::result_hash))
        .first(conn)
        .optional()?;
    let Some((round_id, _, result_hash)) = last.filter(|(_, s, _)| s == RoundStatus::Closed.as_str()) else {
        return Err(RoundRefusal::WinnersNotDecided.into());
    };
    let total = entries::table
        .filter(entries::round_id.eq(round_id))
        .filter(entries::advanced.eq(true))
        .count()
        .get_result(conn)?;
    let outcomes = frozen(conn, round_id, true, Some(page))?;
    let items = standings(conn, outcomes)?;
    Ok(Winners {
        campaign_id,
        round_id,
        winners_target: campaign.winners_target,
        result_hash: result_hash.unwrap_or_default(),
        items,
        page: page.page,
        per_page: page.per_page,
        total,
    })
}

/// Every closed round of a campaign with its frozen ranking, for the CSV export.
pub fn all_results(conn: &mut DbConn, campaign_id: i64) -> StoreResult<Vec<(Round, Vec<Standing>)>> {
    let mut out = Vec::new();
    for round in list(conn, campaign_id)? {
        if round.status == RoundStatus::Closed {
            let outcomes = frozen(conn, round.id, false, None)?;
            let items = standings(conn, outcomes)?;
            out.push((round, items));
        }
    }
    Ok(out)
}
