//! The anomaly report: minutes in which one source cast many votes.

use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{rounds, votes};
use crate::db::DbConn;
use crate::domain::time::Timestamp;
use crate::store::{MustExist, Resource, StoreResult};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Burst {
    /// The source: an IP address, or a branch id as text.
    pub source: String,
    /// The minute, as an RFC 3339 time.
    pub minute: Timestamp,
    pub votes: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Anomalies {
    pub round_id: i64,
    /// A burst is at least this many standing votes from one source within one minute.
    pub threshold: i64,
    pub by_ip: Vec<Burst>,
    pub by_branch: Vec<Burst>,
}

/// Minutes in which one IP address or one branch cast at least `threshold`
/// of the round's standing votes, busiest first (at most 500 of each).
pub fn anomalies(conn: &mut DbConn, round_id: i64, threshold: i64) -> StoreResult<Anomalies> {
    rounds::table.find(round_id).select(rounds::id).first::<i64>(conn).optional()?.found(Resource::Round)?;
    let minute = |m: i64| Timestamp::from_micros(m * 60_000_000).unwrap_or_default();
    let count = diesel::dsl::count_star();
    let by_ip = votes::table
        .filter(votes::round_id.eq(round_id))
        .group_by((votes::ip, votes::minute))
        .having(count.ge(threshold))
        .select((votes::ip, votes::minute, count))
        .order((count.desc(), votes::minute))
        .limit(500)
        .load::<(String, i64, i64)>(conn)?
        .into_iter()
        .map(|(source, m, votes)| Burst { source, minute: minute(m), votes })
        .collect();
    let by_branch = votes::table
        .filter(votes::round_id.eq(round_id))
        .filter(votes::voter_branch_id.is_not_null())
        .group_by((votes::voter_branch_id, votes::minute))
        .having(count.ge(threshold))
        .select((votes::voter_branch_id, votes::minute, count))
        .order((count.desc(), votes::minute))
        .limit(500)
        .load::<(Option<i64>, i64, i64)>(conn)?
        .into_iter()
        .map(|(branch, m, votes)| Burst {
            source: branch.unwrap_or_default().to_string(),
            minute: minute(m),
            votes,
        })
        .collect();
    Ok(Anomalies { round_id, threshold, by_ip, by_branch })
}
