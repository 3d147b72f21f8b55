//! Votes: cast and withdraw (inside a transaction the caller opens), the
//! voter's ballot, the public ledger and the anomaly report.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::{ballots, branches, entries, nominations, rounds, users, vote_requests, votes};
use crate::db::{self, DbConn};
use crate::domain::campaign::NominationStatus;
use crate::domain::round::{RoundKind, RoundStatus};
use crate::domain::vote::{self as rules, Refusal, VotingRound};
use crate::error::{AppError, AppResult};
use crate::store::{Page, PageRequest};

/// One vote as a client asks for it.
#[derive(Debug, Clone)]
pub struct Cast {
    pub round_id: i64,
    pub nomination_id: i64,
    pub voter_id: i64,
    pub voter_branch_id: Option<i64>,
    pub idempotency_key: Option<String>,
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    pub round_id: i64,
    pub nomination_id: i64,
    /// 128 random bits in hex: find it in the ledger once the round has closed.
    pub receipt: String,
    /// Whether this answer repeats an earlier one (same Idempotency-Key).
    pub replayed: bool,
}

/// Why a vote failed: a rule said no, or the database did.
#[derive(Debug)]
pub enum VoteError {
    Refused(Refusal),
    Db(diesel::result::Error),
    /// The batch it was in could not be committed; nothing of it was written.
    NotCommitted,
}

impl From<diesel::result::Error> for VoteError {
    fn from(e: diesel::result::Error) -> Self {
        VoteError::Db(e)
    }
}

impl From<Refusal> for VoteError {
    fn from(r: Refusal) -> Self {
        VoteError::Refused(r)
    }
}

impl From<VoteError> for AppError {
    fn from(e: VoteError) -> Self {
        match e {
            VoteError::Refused(r) => {
                let (status, code, message) = r.describe();
                AppError::new(
                    actix_web::http::StatusCode::from_u16(status)
                        .unwrap_or(actix_web::http::StatusCode::CONFLICT),
                    code,
                    message,
                )
            }
            VoteError::Db(e) => e.into(),
            VoteError::NotCommitted => AppError::unavailable("the vote could not be saved; retry", 1),
        }
    }
}

#[derive(Queryable, Selectable)]
#[diesel(table_name = rounds)]
struct RoundRow {
    kind: String,
    status: String,
    opens_at: Option<NaiveDateTime>,
    closes_at: Option<NaiveDateTime>,
    allow_vote_withdrawal: bool,
    votes_per_voter: i32,
}

impl RoundRow {
    fn voting(&self) -> (VotingRound, i32) {
        let round = VotingRound {
            kind: RoundKind::parse(&self.kind).unwrap_or(RoundKind::Review),
            status: RoundStatus::parse(&self.status).unwrap_or(RoundStatus::Closed),
            opens_at: self.opens_at,
            closes_at: self.closes_at,
            allow_withdrawal: self.allow_vote_withdrawal,
        };
        (round, self.votes_per_voter)
    }
}

fn voting_round(conn: &mut DbConn, round_id: i64) -> Result<(VotingRound, i32), VoteError> {
    let row: RoundRow = rounds::table
        .find(round_id)
        .select(RoundRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(Refusal::NoSuchEntry)?;
    Ok(row.voting())
}

/// The answer to a request whose Idempotency-Key was seen before.
fn replayed(
    cast: &Cast,
    round_id: i64,
    nomination_id: i64,
    receipt: String,
    withdrawn: bool,
) -> Result<Receipt, VoteError> {
    if (round_id, nomination_id) != (cast.round_id, cast.nomination_id) {
        return Err(Refusal::KeyReused.into());
    }
    if withdrawn {
        return Err(Refusal::KeyWithdrawn.into());
    }
    Ok(Receipt { round_id, nomination_id, receipt, replayed: true })
}

/// SQLite, on the vote writer's connection (inside its batch transaction and
/// a savepoint per vote): a handful of statements that diesel keeps prepared.
fn cast_sqlite(
    conn: &mut diesel::SqliteConnection,
    cast: &Cast,
    now: NaiveDateTime,
) -> Result<Receipt, VoteError> {
    let row: RoundRow = rounds::table
        .find(cast.round_id)
        .select(RoundRow::as_select())
        .first(conn)
        .optional()?
        .ok_or(Refusal::NoSuchEntry)?;
    let (round, limit) = row.voting();
    if let Some(key) = &cast.idempotency_key {
        let earlier: Option<(i64, i64, String, bool)> = vote_requests::table
            .find((cast.voter_id, key))
            .select((
                vote_requests::round_id,
                vote_requests::nomination_id,
                vote_requests::receipt,
                vote_requests::withdrawn,
            ))
            .first(conn)
            .optional()?;
        if let Some((round_id, nomination_id, receipt, withdrawn)) = earlier {
            return replayed(cast, round_id, nomination_id, receipt, withdrawn);
        }
    }
    rules::check_round(&round, now)?;
    let entry = entries::table
        .inner_join(nominations::table)
        .filter(entries::round_id.eq(cast.round_id))
        .filter(entries::nomination_id.eq(cast.nomination_id))
        .select((nominations::nominee_id, nominations::status))
        .first::<(i64, String)>(conn)
        .optional()?
        .map(|(nominee_id, status)| rules::Ballot {
            nominee_id,
            still_submitted: status == NominationStatus::Submitted.as_str(),
        });
    rules::check_entry(entry, cast.voter_id)?;
    let receipt = rules::new_receipt();
    // The primary key refuses a second vote for the same entry.
    let inserted = diesel::insert_into(votes::table)
        .values((
            votes::round_id.eq(cast.round_id),
            votes::nomination_id.eq(cast.nomination_id),
            votes::voter_id.eq(cast.voter_id),
            votes::receipt.eq(&receipt),
            votes::voter_branch_id.eq(cast.voter_branch_id),
            votes::ip.eq(&cast.ip),
            votes::minute.eq(rules::minute_of(now)),
            votes::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Err(e) if db::is_unique_violation(&e) => return Err(Refusal::AlreadyVoted.into()),
        other => other?,
    };
    // Takes one of the voter's votes; the ballot's CHECK refuses one beyond the limit.
    let took = diesel::insert_into(ballots::table)
        .values((
            ballots::round_id.eq(cast.round_id),
            ballots::voter_id.eq(cast.voter_id),
            ballots::used.eq(1),
            ballots::max_votes.eq(limit),
        ))
        .on_conflict((ballots::round_id, ballots::voter_id))
        .do_update()
        .set(ballots::used.eq(ballots::used + 1))
        .execute(conn);
    match took {
        Err(diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::CheckViolation, _)) => {
            return Err(Refusal::NoVotesLeft.into())
        }
        other => other?,
    };
    diesel::update(entries::table.find((cast.round_id, cast.nomination_id)))
        .set(entries::votes.eq(entries::votes + 1))
        .execute(conn)?;
    if let Some(key) = &cast.idempotency_key {
        diesel::insert_into(vote_requests::table)
            .values((
                vote_requests::voter_id.eq(cast.voter_id),
                vote_requests::idempotency_key.eq(key),
                vote_requests::round_id.eq(cast.round_id),
                vote_requests::nomination_id.eq(cast.nomination_id),
                vote_requests::receipt.eq(&receipt),
                vote_requests::created_at.eq(now),
            ))
            .execute(conn)?;
    }
    Ok(Receipt { round_id: cast.round_id, nomination_id: cast.nomination_id, receipt, replayed: false })
}

/// Records one vote. Call it inside a write transaction (or a savepoint):
/// on an error the caller rolls back, so nothing of a refused vote remains.
/// The database has the last word: one vote per voter and entry is the
/// primary key, and the per-voter limit a conditional update.
///
/// It runs on the backend's own connection type, where diesel keeps every
/// statement prepared: a vote is a handful of cached statements.
pub fn cast(conn: &mut DbConn, cast: &Cast, now: NaiveDateTime) -> Result<Receipt, VoteError> {
    match conn {
        DbConn::Sqlite(c) => cast_sqlite(c, cast, now),
        DbConn::Pg(c) => cast_pg(c, cast, now),
    }
}

#[derive(QueryableByName)]
struct PgTarget {
    #[diesel(sql_type = diesel::sql_types::Text)]
    kind: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    opens_at: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Timestamp>)]
    closes_at: Option<NaiveDateTime>,
    #[diesel(sql_type = diesel::sql_types::Integer)]
    votes_per_voter: i32,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    nominee_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    nomination_status: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    earlier_receipt: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    earlier_round: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    earlier_nomination: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Bool>)]
    earlier_withdrawn: Option<bool>,
}

/// PostgreSQL, one transaction per vote in two round trips: one read that
/// also locks the round row shared (a close locks it exclusively, so it waits
/// for votes in flight and later votes find it closed), and one statement
/// that writes the vote, the voter's ballot, the key and the entry's counter.
/// The database refuses what breaks a rule: the primary key a second vote
/// for an entry, the ballot's CHECK a vote beyond the limit.
fn cast_pg(conn: &mut diesel::PgConnection, cast: &Cast, now: NaiveDateTime) -> Result<Receipt, VoteError> {
    use diesel::result::{DatabaseErrorKind, Error};
    use diesel::sql_types::{BigInt, Integer, Nullable, Text, Timestamp};
    let target: PgTarget = diesel::sql_query(
        "SELECT r.kind, r.status, r.opens_at, r.closes_at, r.votes_per_voter, n.nominee_id, \
         n.status AS nomination_status, q.receipt AS earlier_receipt, q.round_id AS earlier_round, \
         q.nomination_id AS earlier_nomination, q.withdrawn AS earlier_withdrawn \
         FROM rounds r \
         LEFT JOIN entries e ON e.round_id = r.id AND e.nomination_id = $2 \
         LEFT JOIN nominations n ON n.id = e.nomination_id \
         LEFT JOIN vote_requests q ON q.voter_id = $3 AND q.idempotency_key = $4 \
         WHERE r.id = $1 FOR SHARE OF r",
    )
    .bind::<BigInt, _>(cast.round_id)
    .bind::<BigInt, _>(cast.nomination_id)
    .bind::<BigInt, _>(cast.voter_id)
    .bind::<Nullable<Text>, _>(&cast.idempotency_key)
    .get_result(conn)
    .optional()?
    .ok_or(Refusal::NoSuchEntry)?;
    if let (Some(receipt), Some(round_id), Some(nomination_id)) =
        (target.earlier_receipt, target.earlier_round, target.earlier_nomination)
    {
        return replayed(cast, round_id, nomination_id, receipt, target.earlier_withdrawn.unwrap_or(false));
    }
    let round = VotingRound {
        kind: RoundKind::parse(&target.kind).unwrap_or(RoundKind::Review),
        status: RoundStatus::parse(&target.status).unwrap_or(RoundStatus::Closed),
        opens_at: target.opens_at,
        closes_at: target.closes_at,
        allow_withdrawal: false,
    };
    rules::check_round(&round, now)?;
    let entry = target.nominee_id.map(|nominee_id| rules::Ballot {
        nominee_id,
        still_submitted: target.nomination_status.as_deref() == Some(NominationStatus::Submitted.as_str()),
    });
    rules::check_entry(entry, cast.voter_id)?;
    let receipt = rules::new_receipt();
    let written = diesel::sql_query(
        "WITH ballot AS ( \
           INSERT INTO ballots (round_id, voter_id, used, max_votes) VALUES ($1, $2, 1, $3) \
           ON CONFLICT (round_id, voter_id) DO UPDATE SET used = ballots.used + 1 RETURNING used \
         ), vote AS ( \
           INSERT INTO votes (round_id, nomination_id, voter_id, receipt, voter_branch_id, ip, minute, created_at) \
           VALUES ($1, $4, $2, $5, $6, $7, $8, $9) RETURNING 1 \
         ), request AS ( \
           INSERT INTO vote_requests (voter_id, idempotency_key, round_id, nomination_id, receipt, created_at) \
           SELECT $2, $10, $1, $4, $5, $9 WHERE $10 IS NOT NULL RETURNING 1 \
         ) \
         UPDATE entries SET votes = votes + 1 WHERE round_id = $1 AND nomination_id = $4",
    )
    .bind::<BigInt, _>(cast.round_id)
    .bind::<BigInt, _>(cast.voter_id)
    .bind::<Integer, _>(target.votes_per_voter)
    .bind::<BigInt, _>(cast.nomination_id)
    .bind::<Text, _>(&receipt)
    .bind::<Nullable<BigInt>, _>(cast.voter_branch_id)
    .bind::<Text, _>(&cast.ip)
    .bind::<BigInt, _>(rules::minute_of(now))
    .bind::<Timestamp, _>(now)
    .bind::<Nullable<Text>, _>(&cast.idempotency_key)
    .execute(conn);
    match written {
        Ok(_) => Ok(Receipt {
            round_id: cast.round_id,
            nomination_id: cast.nomination_id,
            receipt,
            replayed: false,
        }),
        // A second vote for the entry, or the same key committed by a racing retry
        // (the caller then answers with that request's receipt).
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Err(Refusal::AlreadyVoted.into()),
        Err(Error::DatabaseError(DatabaseErrorKind::CheckViolation, _)) => Err(Refusal::NoVotesLeft.into()),
        Err(e) => Err(e.into()),
    }
}

/// The receipt an Idempotency-Key already got for this same vote, if any.
pub fn replay(conn: &mut DbConn, cast: &Cast) -> QueryResult<Option<Receipt>> {
    let Some(key) = &cast.idempotency_key else { return Ok(None) };
    Ok(vote_requests::table
        .find((cast.voter_id, key))
        .filter(vote_requests::round_id.eq(cast.round_id))
        .filter(vote_requests::nomination_id.eq(cast.nomination_id))
        .select(vote_requests::receipt)
        .first::<String>(conn)
        .optional()?
        .map(|receipt| Receipt {
            round_id: cast.round_id,
            nomination_id: cast.nomination_id,
            receipt,
            replayed: true,
        }))
}

/// Withdraws a voter's vote for an entry (inside a write transaction): the
/// vote and its receipt leave the ledger, and the vote can be used again.
pub fn withdraw(
    conn: &mut DbConn,
    round_id: i64,
    voter_id: i64,
    nomination_id: i64,
    now: NaiveDateTime,
) -> Result<(), VoteError> {
    if let DbConn::Pg(pg) = conn {
        // As a vote does: a close waits for this, and this sees a close.
        diesel::sql_query("SELECT 1 FROM rounds WHERE id = $1 FOR SHARE")
            .bind::<diesel::sql_types::BigInt, _>(round_id)
            .execute(pg)?;
    }
    let (round, _) = voting_round(conn, round_id)?;
    rules::check_withdrawal(&round, now)?;
    // The voter's ballot row first, as a vote takes it: one lock order, no deadlock.
    let held = diesel::update(ballots::table.find((round_id, voter_id)).filter(ballots::used.gt(0)))
        .set(ballots::used.eq(ballots::used - 1))
        .execute(conn)?;
    if held == 0 {
        return Err(Refusal::NoSuchVote.into());
    }
    let receipt: Option<String> = diesel::delete(votes::table.find((round_id, voter_id, nomination_id)))
        .returning(votes::receipt)
        .get_result(conn)
        .optional()?;
    let receipt = receipt.ok_or(Refusal::NoSuchVote)?;
    diesel::update(entries::table.find((round_id, nomination_id)))
        .set(entries::votes.eq(entries::votes - 1))
        .execute(conn)?;
    // A late retry of the request that made the vote must not bring it back.
    diesel::update(vote_requests::table.filter(vote_requests::receipt.eq(receipt)))
        .set(vote_requests::withdrawn.eq(true))
        .execute(conn)?;
    Ok(())
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyVote {
    pub nomination_id: i64,
    pub receipt: String,
    #[serde(with = "crate::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub created_at: NaiveDateTime,
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

/// A voter's ballot: the candidates (paged, filtered), their own votes and
/// votes left. No tallies.
pub fn ballot(
    conn: &mut DbConn,
    round_id: i64,
    voter_id: i64,
    filter: &CandidateFilter,
    page: PageRequest,
) -> AppResult<BallotView> {
    let (round, limit) = voting_round(conn, round_id).map_err(|_| AppError::not_found("round"))?;
    if round.kind == RoundKind::Review {
        return Err(Refusal::NotAVotingRound.into_app());
    }
    let used: i32 =
        ballots::table.find((round_id, voter_id)).select(ballots::used).first(conn).optional()?.unwrap_or(0);
    let my_votes: Vec<MyVote> = votes::table
        .filter(votes::round_id.eq(round_id))
        .filter(votes::voter_id.eq(voter_id))
        .order(votes::created_at)
        .select((votes::nomination_id, votes::receipt, votes::created_at))
        .load::<(i64, String, NaiveDateTime)>(conn)?
        .into_iter()
        .map(|(nomination_id, receipt, created_at)| MyVote { nomination_id, receipt, created_at })
        .collect();
    let query = || {
        let mut q = entries::table
            .inner_join(nominations::table)
            .filter(entries::round_id.eq(round_id))
            .filter(nominations::status.eq(NominationStatus::Submitted.as_str()))
            .filter(nominations::nominee_id.ne(voter_id))
            .into_boxed::<db::MultiBackend>();
        if let Some(company) = filter.member_company_id {
            q = q.filter(entries::member_company_id.eq(company));
        }
        if let Some(branch) = filter.branch_id {
            q = q.filter(entries::branch_id.eq(branch));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let rows = query()
        .order(entries::nomination_id)
        .limit(page.per_page)
        .offset(page.offset())
        .select((
            entries::nomination_id,
            nominations::title,
            nominations::summary,
            nominations::nominee_id,
            entries::branch_id,
            entries::member_company_id,
        ))
        .load::<(i64, String, String, i64, i64, i64)>(conn)?;
    let nominees: Vec<i64> = rows.iter().map(|r| r.3).collect();
    let names: std::collections::BTreeMap<i64, String> = users::table
        .filter(users::id.eq_any(&nominees))
        .select((users::id, users::name))
        .load(conn)?
        .into_iter()
        .collect();
    let branch_ids: Vec<i64> = rows.iter().map(|r| r.4).collect();
    let branch_names: std::collections::BTreeMap<i64, String> = branches::table
        .filter(branches::id.eq_any(&branch_ids))
        .select((branches::id, branches::name))
        .load(conn)?
        .into_iter()
        .collect();
    let items = rows
        .into_iter()
        .map(|(nomination_id, title, summary, nominee, branch_id, member_company_id)| Candidate {
            nomination_id,
            title,
            summary,
            nominee_name: names.get(&nominee).cloned().unwrap_or_default(),
            branch_id,
            branch_name: branch_names.get(&branch_id).cloned().unwrap_or_default(),
            member_company_id,
            voted: my_votes.iter().any(|v| v.nomination_id == nomination_id),
        })
        .collect();
    Ok(BallotView {
        round_id,
        status: round.status,
        votes_per_voter: limit,
        votes_left: (limit - used).max(0),
        allow_vote_withdrawal: round.allow_withdrawal,
        my_votes,
        candidates: page.of(items, total),
    })
}

impl Refusal {
    pub fn into_app(self) -> AppError {
        VoteError::Refused(self).into()
    }
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct LedgerLine {
    pub receipt: String,
    pub nomination_id: i64,
}

/// Every counted vote of a closed round as (receipt, nomination), ordered by
/// receipt (random, so the order says nothing of who voted when).
pub fn ledger(conn: &mut DbConn, round_id: i64, page: PageRequest) -> AppResult<Page<LedgerLine>> {
    let (round, _) = voting_round(conn, round_id).map_err(|_| AppError::not_found("round"))?;
    if round.status != RoundStatus::Closed {
        return Err(AppError::conflict("invalid_state", "the ledger is published when the round closes"));
    }
    let total = votes::table.filter(votes::round_id.eq(round_id)).count().get_result(conn)?;
    let items = votes::table
        .filter(votes::round_id.eq(round_id))
        .order(votes::receipt)
        .limit(page.per_page)
        .offset(page.offset())
        .select((votes::receipt, votes::nomination_id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .map(|(receipt, nomination_id)| LedgerLine { receipt, nomination_id })
        .collect();
    Ok(page.of(items, total))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Burst {
    /// The source: an IP address, or a branch id as text.
    pub source: String,
    /// The minute, as an RFC 3339 time.
    #[serde(with = "crate::utc")]
    #[schema(value_type = String, format = DateTime)]
    pub minute: NaiveDateTime,
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
pub fn anomalies(conn: &mut DbConn, round_id: i64, threshold: i64) -> AppResult<Anomalies> {
    crate::store::rounds::campaign_of(conn, round_id)?;
    let minute =
        |m: i64| chrono::DateTime::from_timestamp(m * 60, 0).map(|t| t.naive_utc()).unwrap_or_default();
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
