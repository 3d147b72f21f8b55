//! A reviewer's side: their assignments, and saving or revising a review.

use std::collections::BTreeMap;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::db::schema::{assignments, branches, entries, nominations, reviews, round_reviewers, users};
use crate::db::{self, DbConn};
use crate::domain::refusal::FieldIssue;
use crate::domain::round::{
    self as rules, Candidate, Panelist, ReviewRefusal, RoundAction, RoundStatus, ScoreRange,
};
use crate::store::rounds::{self as round_store, parse_scores, Round};
use crate::store::users::User;
use crate::store::{audit, MustExist, PageRequest, Resource, StoreError, StoreResult};

/// One assignment as its reviewer sees it: the case, and their own review only.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Assignment {
    pub nomination_id: i64,
    pub title: String,
    pub summary: String,
    pub story: String,
    pub links: Vec<String>,
    pub nominee_name: String,
    pub branch_id: i64,
    pub branch_name: String,
    pub member_company_id: i64,
    pub reviewed: bool,
    /// Your scores by criterion id, once you have reviewed.
    #[schema(value_type = Option<std::collections::BTreeMap<String, f64>>)]
    pub my_scores: Option<BTreeMap<i64, f64>>,
    pub my_comment: Option<String>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct MyAssignments {
    pub round_id: i64,
    pub round_status: RoundStatus,
    pub done: i64,
    pub items: Vec<Assignment>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

type AssignmentRow = (i64, String, String, String, String, String, i64, String, i64);

pub fn mine(
    conn: &mut DbConn,
    round_id: i64,
    reviewer: i64,
    page: PageRequest,
) -> StoreResult<MyAssignments> {
    let round = round_store::get(conn, round_id)?;
    assignments_of(conn, &round, reviewer, None, page)
}

/// One of the reviewer's assignments in a round already read (an empty
/// `items` if it is not theirs), with the queue's counts: what one entry's
/// page needs, without the rest.
pub fn one_of_mine(
    conn: &mut DbConn,
    round: &Round,
    reviewer: i64,
    nomination_id: i64,
) -> StoreResult<MyAssignments> {
    assignments_of(conn, round, reviewer, Some(nomination_id), PageRequest { page: 1, per_page: 1 })
}

/// One line of a reviewer's queue: what the list shows, not the dossier.
#[derive(Debug, Clone)]
pub struct QueueLine {
    pub nomination_id: i64,
    pub title: String,
    pub nominee_name: String,
    pub branch_name: String,
    pub reviewed: bool,
}

/// The reviewer's whole queue in order, in one query: each entry's title,
/// nominee and branch, and whether this reviewer has reviewed it.
pub fn queue(conn: &mut DbConn, round_id: i64, reviewer: i64) -> StoreResult<Vec<QueueLine>> {
    let rows = assignments::table
        .inner_join(nominations::table.on(nominations::id.eq(assignments::nomination_id)))
        .inner_join(users::table.on(users::id.eq(nominations::nominee_id)))
        .inner_join(
            entries::table.on(entries::round_id
                .eq(assignments::round_id)
                .and(entries::nomination_id.eq(assignments::nomination_id))),
        )
        .inner_join(branches::table.on(branches::id.eq(entries::branch_id)))
        .left_join(
            reviews::table.on(reviews::round_id
                .eq(assignments::round_id)
                .and(reviews::nomination_id.eq(assignments::nomination_id))
                .and(reviews::reviewer_id.eq(assignments::reviewer_id))),
        )
        .filter(assignments::round_id.eq(round_id))
        .filter(assignments::reviewer_id.eq(reviewer))
        .order(assignments::nomination_id)
        .select((
            assignments::nomination_id,
            nominations::title,
            users::name,
            branches::name,
            reviews::nomination_id.nullable(),
        ))
        .load::<(i64, String, String, String, Option<i64>)>(conn)?;
    Ok(rows
        .into_iter()
        .map(|(nomination_id, title, nominee_name, branch_name, review)| QueueLine {
            nomination_id,
            title,
            nominee_name,
            branch_name,
            reviewed: review.is_some(),
        })
        .collect())
}

fn assignments_of(
    conn: &mut DbConn,
    round: &Round,
    reviewer: i64,
    only: Option<i64>,
    page: PageRequest,
) -> StoreResult<MyAssignments> {
    let (first, last) = only.map_or((i64::MIN, i64::MAX), |id| (id, id));
    let round_id = round.id;
    let total = assignments::table
        .filter(assignments::round_id.eq(round_id))
        .filter(assignments::reviewer_id.eq(reviewer))
        .count()
        .get_result(conn)?;
    let done = reviews::table
        .filter(reviews::round_id.eq(round_id))
        .filter(reviews::reviewer_id.eq(reviewer))
        .count()
        .get_result(conn)?;
    let rows = assignments::table
        .inner_join(
            entries::table.on(entries::round_id
                .eq(assignments::round_id)
                .and(entries::nomination_id.eq(assignments::nomination_id))),
        )
        .inner_join(nominations::table.on(nominations::id.eq(assignments::nomination_id)))
        .inner_join(users::table.on(users::id.eq(nominations::nominee_id)))
        .inner_join(branches::table.on(branches::id.eq(entries::branch_id)))
        .filter(assignments::round_id.eq(round_id))
        .filter(assignments::reviewer_id.eq(reviewer))
        .filter(assignments::nomination_id.between(first, last))
        .order(assignments::nomination_id)
        .limit(page.per_page)
        .offset(page.offset())
        .select((
            assignments::nomination_id,
            nominations::title,
            nominations::summary,
            nominations::story,
            nominations::links,
            users::name,
            entries::branch_id,
            branches::name,
            entries::member_company_id,
        ))
        .load::<AssignmentRow>(conn)?;
    let ids: Vec<i64> = rows.iter().map(|r| r.0).collect();
    let mut own: BTreeMap<i64, (String, Option<String>)> = reviews::table
        .filter(reviews::round_id.eq(round_id))
        .filter(reviews::reviewer_id.eq(reviewer))
        .filter(reviews::nomination_id.eq_any(&ids))
        .select((reviews::nomination_id, reviews::scores, reviews::comment))
        .load::<(i64, String, Option<String>)>(conn)?
        .into_iter()
        .map(|(id, scores, comment)| (id, (scores, comment)))
        .collect();
    let items = rows
        .into_iter()
        .map(
            |(
                nomination_id,
                title,
                summary,
                story,
                links,
                nominee_name,
                branch_id,
                branch_name,
                member_company_id,
            )| {
                let review = own.remove(&nomination_id);
                let my_scores = review
                    .as_ref()
                    .map(|(s, _)| parse_scores(s, round_id, nomination_id, reviewer))
                    .transpose()?;
                Ok(Assignment {
                    nomination_id,
                    title,
                    summary,
                    story,
                    links: serde_json::from_str(&links).unwrap_or_default(),
                    nominee_name,
                    branch_id,
                    branch_name,
                    member_company_id,
                    reviewed: review.is_some(),
                    my_scores,
                    my_comment: review.and_then(|(_, c)| c),
                })
            },
        )
        .collect::<StoreResult<Vec<_>>>()?;
    Ok(MyAssignments {
        round_id,
        round_status: round.status,
        done,
        items,
        page: page.page,
        per_page: page.per_page,
        total,
    })
}

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SavedReview {
    pub round_id: i64,
    pub nomination_id: i64,
    pub reviewer_id: i64,
    #[schema(value_type = std::collections::BTreeMap<String, f64>)]
    pub scores: BTreeMap<i64, f64>,
    pub comment: Option<String>,
    /// 0–100: the weighted share of the maximum this review gives.
    pub total: f64,
    /// 1 for the first submission, then one more per revision.
    pub version: i32,
}

/// Why a reviewer may not review an entry: 404 when the round has no such
/// entry, 403 when it does but it is not theirs.
fn check_assignment(
    conn: &mut DbConn,
    round: &Round,
    reviewer: &User,
    nomination_id: i64,
) -> StoreResult<()> {
    let candidate = entries::table
        .inner_join(nominations::table)
        .filter(entries::round_id.eq(round.id))
        .filter(entries::nomination_id.eq(nomination_id))
        .select((
            entries::nomination_id,
            entries::member_company_id,
            entries::branch_id,
            nominations::nominee_id,
            nominations::nominated_by,
        ))
        .first::<(i64, i64, i64, i64, i64)>(conn)
        .optional()?
        .map(|(nomination_id, member_company_id, branch_id, nominee_id, nominated_by)| Candidate {
            nomination_id,
            member_company_id,
            branch_id,
            nominee_id,
            nominated_by,
        })
        .found(Resource::Entry)?;
    let me = Panelist {
        id: reviewer.id,
        member_company_id: reviewer.member_company_id,
        branch_id: reviewer.branch_id,
    };
    // Checked again here: the reviewer may have moved branch since the assignment.
    if let Some(conflict) = rules::conflict(round.scope, round.conflict_scope, &me, &candidate) {
        return Err(ReviewRefusal::Conflict(conflict).into());
    }
    let assigned: i64 = assignments::table
        .filter(assignments::round_id.eq(round.id))
        .filter(assignments::nomination_id.eq(nomination_id))
        .filter(assignments::reviewer_id.eq(reviewer.id))
        .count()
        .get_result(conn)?;
    if assigned == 0 {
        return Err(ReviewRefusal::NotAssigned.into());
    }
    let on_panel: i64 = round_reviewers::table
        .filter(round_reviewers::round_id.eq(round.id))
        .filter(round_reviewers::user_id.eq(reviewer.id))
        .count()
        .get_result(conn)?;
    if on_panel == 0 {
        return Err(ReviewRefusal::OffPanel.into());
    }
    // PostgreSQL: one writer per assignment at a time, so that two first
    // submissions of the same review do not both insert, nor two revisions
    // both take the same version. (SQLite's write lock already does this.)
    if let DbConn::Pg(pg) = conn {
        diesel::sql_query(
            "SELECT 1 FROM assignments WHERE round_id = $1 AND nomination_id = $2 AND reviewer_id = $3 FOR UPDATE",
        )
        .bind::<diesel::sql_types::BigInt, _>(round.id)
        .bind::<diesel::sql_types::BigInt, _>(nomination_id)
        .bind::<diesel::sql_types::BigInt, _>(reviewer.id)
        .execute(pg)?;
    }
    Ok(())
}

/// Saves (or revises) a reviewer's scores for an entry of an open round.
pub fn submit(
    conn: &mut DbConn,
    reviewer: &User,
    round_id: i64,
    nomination_id: i64,
    scores: BTreeMap<i64, f64>,
    comment: Option<String>,
) -> StoreResult<SavedReview> {
    db::write_tx(conn, |conn| {
        let campaign_id = round_store::campaign_of(conn, round_id)?;
        // Shared: reviews run side by side; a close waits for them and then refuses later ones.
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, true)?;
        let round = round_store::get(conn, round_id)?;
        round.require_status(RoundStatus::Open, RoundAction::Review)?;
        check_assignment(conn, &round, reviewer, nomination_id)?;
        let now = db::now();
        rules::check_review_window(round.opens_at, round.closes_at, now)?;
        let ranges: Vec<ScoreRange> = round
            .criteria
            .iter()
            .map(|c| ScoreRange { criterion_id: c.id, max_score: c.max_score })
            .collect();
        rules::check_scores(&ranges, &scores).map_err(|errors| {
            errors.into_iter().map(|(field, message)| FieldIssue::new(field, message)).collect::<Vec<_>>()
        })?;
        let text = serde_json::to_string(&scores)
            .map_err(|e| StoreError::Db(diesel::result::Error::SerializationError(Box::new(e))))?;
        let key = (round_id, nomination_id, reviewer.id);
        let previous: Option<i32> =
            reviews::table.find(key).select(reviews::version).first(conn).optional()?;
        let version = match previous {
            Some(v) => {
                diesel::update(reviews::table.find(key))
                    .set((
                        reviews::scores.eq(&text),
                        reviews::comment.eq(&comment),
                        reviews::version.eq(v + 1),
                        reviews::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                v + 1
            }
            None => {
                diesel::insert_into(reviews::table)
                    .values((
                        reviews::round_id.eq(round_id),
                        reviews::nomination_id.eq(nomination_id),
                        reviews::reviewer_id.eq(reviewer.id),
                        reviews::scores.eq(&text),
                        reviews::comment.eq(&comment),
                        reviews::created_at.eq(now),
                        reviews::updated_at.eq(now),
                    ))
                    .execute(conn)?;
                1
            }
        };
        audit::append(
            conn,
            Some(reviewer.id),
            if version == 1 { "review.submit" } else { "review.revise" },
            &format!("round:{round_id}/nomination:{nomination_id}"),
            json!({"scores": scores, "version": version}),
        )?;
        let total = crate::domain::scoring::review_total(&round.rules().criteria, &scores);
        Ok(SavedReview { round_id, nomination_id, reviewer_id: reviewer.id, scores, comment, total, version })
    })
}
