//! Rankings: the preview of an open round, a closed round's frozen results,
//! their recount, the campaign's winners and the results export.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{get, inputs, list, Round};
use crate::db::schema::{branches, entries, member_companies, nominations, rounds, users};
use crate::db::{self, DbConn};
use crate::domain::round::{RoundAction, RoundRefusal, RoundStatus};
use crate::domain::scoring::{self, DecidedBy, Outcome};
use crate::store::campaigns as campaign_store;
use crate::store::{PageRequest, StoreError, StoreResult};

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

pub(super) fn decided_by_parse(text: &str, nomination_id: i64) -> StoreResult<DecidedBy> {
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
