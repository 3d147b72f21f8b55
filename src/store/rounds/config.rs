//! A round's settings: create, change and delete a pending round.

use diesel::prelude::*;
use serde_json::json;

use super::{campaign_of, get, next_round, Round};
use crate::db::schema::{criteria, rounds};
use crate::db::{self, DbConn};
use crate::domain::campaign as campaign_rules;
use crate::domain::refusal::{check_version, FieldIssue};
use crate::domain::round::{
    self as rules, CriterionSpec, RoundAction, RoundConfig, RoundRefusal, RoundStatus,
};
use crate::domain::time::Timestamp;
use crate::store::campaigns::{self as campaign_store, Campaign};
use crate::store::{audit, StoreResult};

fn invalid(errors: Vec<(String, String)>) -> Vec<FieldIssue> {
    errors.into_iter().map(|(field, message)| FieldIssue::new(field, message)).collect()
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
