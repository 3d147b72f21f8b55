//! A voter's ballot: the candidates of a voting round and the voter's own votes.

use diesel::prelude::*;
use serde::Serialize;

use super::voting_round;
use crate::db::schema::{branches, entries, nominations, users, votes};
use crate::db::DbConn;
use crate::domain::campaign::NominationStatus;
use crate::domain::round::{RoundKind, RoundStatus};
use crate::domain::time::Timestamp;
use crate::domain::vote::VoteRefusal;
use crate::store::{MustExist, Page, PageRequest, Resource, StoreResult};

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyVote {
    pub nomination_id: i64,
    pub receipt: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Candidate {
    pub nomination_id: i64,
    pub title: String,
    pub summary: String,
    pub nominee_name: String,
    pub branch_id: i64,
    pub branch_name: String,
    pub member_company_id: i64,
    /// Whether you have voted for it.
    pub voted: bool,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BallotView {
    pub round_id: i64,
    pub status: RoundStatus,
    pub votes_per_voter: i32,
    pub votes_left: i32,
    pub allow_vote_withdrawal: bool,
    pub my_votes: Vec<MyVote>,
    pub candidates: Page<Candidate>,
}

#[derive(Debug, Default, Clone)]
pub struct CandidateFilter {
    pub member_company_id: Option<i64>,
    pub branch_id: Option<i64>,
}

/// A candidate as every voter sees it; each voter's ballot adds `voted` and
/// leaves out their own nomination. Fields in `candidates`' select order.
#[derive(Debug, Clone, Queryable)]
pub struct Listed {
    pub nomination_id: i64,
    pub title: String,
    pub summary: String,
    pub nominee_id: i64,
    pub nominee_name: String,
    pub branch_id: i64,
    pub branch_name: String,
    pub member_company_id: i64,
}

/// Everyone standing in a voting round (entries whose nomination is still
/// submitted), in ballot order: one query, the same for every voter, so
/// that a node can share it among all the ballots it serves.
pub fn candidates(conn: &mut DbConn, round_id: i64) -> StoreResult<Vec<Listed>> {
    let (round, _) = voting_round(conn, round_id)?.found(Resource::Round)?;
    if round.kind == RoundKind::Review {
        return Err(VoteRefusal::NotAVotingRound.into());
    }
    Ok(entries::table
        .inner_join(nominations::table)
        .inner_join(users::table.on(users::id.eq(nominations::nominee_id)))
        .inner_join(branches::table.on(branches::id.eq(entries::branch_id)))
        .filter(entries::round_id.eq(round_id))
        .filter(nominations::status.eq(NominationStatus::Submitted))
        .order(entries::nomination_id)
        .select((
            entries::nomination_id,
            nominations::title,
            nominations::summary,
            nominations::nominee_id,
            users::name,
            entries::branch_id,
            branches::name,
            entries::member_company_id,
        ))
        .load::<Listed>(conn)?)
}

/// A voter's ballot: the candidates (paged, filtered, without their own
/// nomination), their own votes and votes left. No tallies. `field` is what
/// `candidates` read, possibly a few seconds ago.
pub fn ballot(
    conn: &mut DbConn,
    round_id: i64,
    voter_id: i64,
    field: &[Listed],
    filter: &CandidateFilter,
    page: PageRequest,
) -> StoreResult<BallotView> {
    let (round, limit) = voting_round(conn, round_id)?.found(Resource::Round)?;
    if round.kind == RoundKind::Review {
        return Err(VoteRefusal::NotAVotingRound.into());
    }
    let my_votes: Vec<MyVote> = votes::table
        .filter(votes::round_id.eq(round_id))
        .filter(votes::voter_id.eq(voter_id))
        .order(votes::created_at)
        .select((votes::nomination_id, votes::receipt, votes::created_at))
        .load::<(i64, String, Timestamp)>(conn)?
        .into_iter()
        .map(|(nomination_id, receipt, created_at)| MyVote { nomination_id, receipt, created_at })
        .collect();
    let shown: Vec<&Listed> = field
        .iter()
        .filter(|c| c.nominee_id != voter_id)
        .filter(|c| filter.member_company_id.is_none_or(|m| c.member_company_id == m))
        .filter(|c| filter.branch_id.is_none_or(|b| c.branch_id == b))
        .collect();
    let total = shown.len() as i64;
    let items = shown
        .into_iter()
        .skip(page.offset().try_into().unwrap_or(usize::MAX))
        .take(page.per_page.try_into().unwrap_or(0))
        .map(|c| Candidate {
            nomination_id: c.nomination_id,
            title: c.title.clone(),
            summary: c.summary.clone(),
            nominee_name: c.nominee_name.clone(),
            branch_id: c.branch_id,
            branch_name: c.branch_name.clone(),
            member_company_id: c.member_company_id,
            voted: my_votes.iter().any(|v| v.nomination_id == c.nomination_id),
        })
        .collect();
    Ok(BallotView {
        round_id,
        status: round.status,
        votes_per_voter: limit,
        votes_left: (limit - my_votes.len() as i32).max(0),
        allow_vote_withdrawal: round.allow_withdrawal,
        my_votes,
        candidates: page.of(items, total),
    })
}
