//! What the closed rounds made of one branch's nominations, read from their
//! frozen results (the same rows the results and winners read).

use std::collections::BTreeMap;

use diesel::dsl::max;
use diesel::prelude::*;

use super::results::decided_by_parse;
use crate::db::schema::{entries, rounds};
use crate::db::DbConn;
use crate::domain::round::{self as rules, RoundStatus, Verdict};
use crate::store::{StoreError, StoreResult};

/// One nomination's verdict in one closed round.
#[derive(Debug, Clone, PartialEq)]
pub struct RoundOutcome {
    pub round_id: i64,
    pub round_name: String,
    pub verdict: Verdict,
}

/// A branch's nominations, each with its verdicts in round order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BranchOutcomes(BTreeMap<i64, Vec<RoundOutcome>>);

impl BranchOutcomes {
    /// A nomination's verdicts; none if no closed round had it.
    pub fn of(&self, nomination_id: i64) -> &[RoundOutcome] {
        self.0.get(&nomination_id).map_or(&[], Vec::as_slice)
    }
}

type OutcomeRow = (i64, String, i32, i64, Option<bool>, Option<i32>, Option<String>);

/// The verdicts of a branch's nominations in the campaign's closed rounds.
/// Two queries, however many nominations and rounds.
pub fn branch_outcomes(conn: &mut DbConn, campaign_id: i64, branch_id: i64) -> StoreResult<BranchOutcomes> {
    // The campaign's last round (closed or not): its advanced entries are the winners.
    let last: Option<i32> = rounds::table
        .filter(rounds::campaign_id.eq(campaign_id))
        .select(max(rounds::sequence))
        .first(conn)?;
    let rows: Vec<OutcomeRow> = entries::table
        .inner_join(rounds::table)
        .filter(rounds::campaign_id.eq(campaign_id))
        .filter(rounds::status.eq(RoundStatus::Closed))
        .filter(entries::branch_id.eq(branch_id))
        .order((entries::nomination_id, rounds::sequence))
        .select((
            rounds::id,
            rounds::name,
            rounds::sequence,
            entries::nomination_id,
            entries::advanced,
            entries::rank,
            entries::decided_by,
        ))
        .load(conn)?;
    let mut out: BTreeMap<i64, Vec<RoundOutcome>> = BTreeMap::new();
    for (round_id, round_name, sequence, nomination_id, advanced, rank, decided_by) in rows {
        // A closed round's entry without a result: the freeze left it incomplete.
        let missing =
            || StoreError::corrupt("entries", "result", format!("of nomination {nomination_id}"), "NULL");
        let decided_by = decided_by_parse(decided_by.as_deref().ok_or_else(missing)?, nomination_id)?;
        let rank = usize::try_from(rank.ok_or_else(missing)?).map_err(|_| missing())?;
        let verdict = rules::verdict(advanced.ok_or_else(missing)?, decided_by, rank, Some(sequence) == last);
        out.entry(nomination_id).or_default().push(RoundOutcome { round_id, round_name, verdict });
    }
    Ok(BranchOutcomes(out))
}
