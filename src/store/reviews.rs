//! Reviewing a round: its panel, who reviews which entry, the reviews
//! themselves and how far along they are.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::time::Timestamp;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::db::schema::{assignments, branches, entries, nominations, reviews, round_reviewers, users};
use crate::db::{self, DbConn};
use crate::domain::assignment::{self, Shortfall};
use crate::domain::refusal::FieldIssue;
use crate::domain::roles::Role;
use crate::domain::round::{
    self as rules, Candidate, Panelist, ReviewRefusal, RoundAction, RoundRefusal, RoundStatus, ScoreRange,
};
use crate::store::rounds::{self as round_store, parse_scores, Round};
use crate::store::users::User;
use crate::store::{audit, MustExist, PageRequest, Resource, StoreError, StoreResult};

#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PanelMember {
    pub user_id: i64,
    pub employee_no: String,
    pub name: String,
    pub branch_id: Option<i64>,
    pub member_company_id: Option<i64>,
}

fn panelists(conn: &mut DbConn, round_id: i64) -> QueryResult<Vec<PanelMember>> {
    Ok(round_reviewers::table
        .inner_join(users::table.left_join(branches::table))
        .filter(round_reviewers::round_id.eq(round_id))
        .order(users::id)
        .select((
            users::id,
            users::employee_no,
            users::name,
            users::branch_id,
            branches::member_company_id.nullable(),
        ))
        .load::<(i64, String, String, Option<i64>, Option<i64>)>(conn)?
        .into_iter()
        .map(|(user_id, employee_no, name, branch_id, member_company_id)| PanelMember {
            user_id,
            employee_no,
            name,
            branch_id,
            member_company_id,
        })
        .collect())
}

pub fn panel(conn: &mut DbConn, round_id: i64) -> StoreResult<Vec<PanelMember>> {
    round_store::campaign_of(conn, round_id)?;
    Ok(panelists(conn, round_id)?)
}

/// Sets a round's panel. Reviewers who leave it lose the assignments they
/// have not reviewed yet; reviews already given stay and count.
pub fn set_panel(
    conn: &mut DbConn,
    actor: i64,
    round_id: i64,
    user_ids: &[i64],
) -> StoreResult<Vec<PanelMember>> {
    let wanted: BTreeSet<i64> = user_ids.iter().copied().collect();
    db::write_tx(conn, |conn| {
        let campaign_id = round_store::campaign_of(conn, round_id)?;
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        let round = round_store::get(conn, round_id)?;
        if round.status == RoundStatus::Closed {
            return Err(RoundRefusal::PanelFinal.into());
        }
        let mut errors = Vec::new();
        for (i, id) in wanted.iter().enumerate() {
            let user = crate::store::users::find(conn, *id)?;
            let candidate = user.as_ref().map(|u| rules::Reviewer {
                active: u.is_active(),
                has_role: u.roles().has(Role::Reviewer),
                in_member_company: u.member_company_id.is_some(),
            });
            if let Err(problem) = rules::check_reviewer(round.scope, candidate) {
                errors.push(FieldIssue::new(format!("user_ids[{i}]"), format!("user {id}: {problem}")));
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let current: BTreeSet<i64> = round_reviewers::table
            .filter(round_reviewers::round_id.eq(round_id))
            .select(round_reviewers::user_id)
            .load::<i64>(conn)?
            .into_iter()
            .collect();
        let leaving: Vec<i64> = current.difference(&wanted).copied().collect();
        let joining: Vec<i64> = wanted.difference(&current).copied().collect();
        let reviewed = reviews::table
            .filter(reviews::round_id.eq(round_id))
            .filter(reviews::reviewer_id.eq(assignments::reviewer_id))
            .filter(reviews::nomination_id.eq(assignments::nomination_id));
        let dropped = diesel::delete(
            assignments::table
                .filter(assignments::round_id.eq(round_id))
                .filter(assignments::reviewer_id.eq_any(&leaving))
                .filter(diesel::dsl::not(diesel::dsl::exists(reviewed))),
        )
        .execute(conn)?;
        diesel::delete(
            round_reviewers::table
                .filter(round_reviewers::round_id.eq(round_id))
                .filter(round_reviewers::user_id.eq_any(&leaving)),
        )
        .execute(conn)?;
        for user_id in &joining {
            diesel::insert_into(round_reviewers::table)
                .values((round_reviewers::round_id.eq(round_id), round_reviewers::user_id.eq(user_id)))
                .execute(conn)?;
        }
        audit::append(
            conn,
            Some(actor),
            "round.panel",
            &format!("round:{round_id}"),
            json!({"joined": joining, "left": leaving, "assignments_dropped": dropped}),
        )?;
        Ok(panelists(conn, round_id)?)
    })
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct AssignmentReport {
    pub seed: u64,
    /// Assignments made by this call.
    pub created: usize,
    /// All assignments of the round after it.
    pub total: i64,
    /// Entries that could not get their reviewers, with how many they have.
    pub shortfalls: Vec<Shortfall>,
}

#[derive(Insertable)]
#[diesel(table_name = assignments)]
struct NewAssignment {
    round_id: i64,
    nomination_id: i64,
    reviewer_id: i64,
    created_at: Timestamp,
}

fn candidates(conn: &mut DbConn, round_id: i64) -> QueryResult<Vec<Candidate>> {
    Ok(entries::table
        .inner_join(nominations::table)
        .filter(entries::round_id.eq(round_id))
        .select((
            entries::nomination_id,
            entries::member_company_id,
            entries::branch_id,
            nominations::nominee_id,
            nominations::nominated_by,
        ))
        .load::<(i64, i64, i64, i64, i64)>(conn)?
        .into_iter()
        .map(|(nomination_id, member_company_id, branch_id, nominee_id, nominated_by)| Candidate {
            nomination_id,
            member_company_id,
            branch_id,
            nominee_id,
            nominated_by,
        })
        .collect())
}

/// Gives every entry of an open round its reviewers (see `domain::assignment`);
/// calling it again tops up, keeping every existing assignment.
pub fn generate(conn: &mut DbConn, actor: i64, round_id: i64, seed: u64) -> StoreResult<AssignmentReport> {
    db::write_tx(conn, |conn| {
        let campaign_id = round_store::campaign_of(conn, round_id)?;
        db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, false)?;
        let round = round_store::get(conn, round_id)?;
        if round.reviews_per_entry == 0 {
            return Err(RoundRefusal::NoReviewers.into());
        }
        round.require_status(RoundStatus::Open, RoundAction::AssignReviewers)?;
        let panel: Vec<Panelist> = panelists(conn, round_id)?
            .into_iter()
            .map(|p| Panelist {
                id: p.user_id,
                member_company_id: p.member_company_id,
                branch_id: p.branch_id,
            })
            .collect();
        let existing: Vec<(i64, i64)> = assignments::table
            .filter(assignments::round_id.eq(round_id))
            .select((assignments::nomination_id, assignments::reviewer_id))
            .load(conn)?;
        let entries = candidates(conn, round_id)?;
        let plan = assignment::plan(
            round.reviews_per_entry as usize,
            round.scope,
            round.conflict_scope,
            &entries,
            &panel,
            &existing,
            seed,
        );
        let now = db::now();
        let rows: Vec<NewAssignment> = plan
            .new
            .iter()
            .map(|(nomination_id, reviewer_id)| NewAssignment {
                round_id,
                nomination_id: *nomination_id,
                reviewer_id: *reviewer_id,
                created_at: now,
            })
            .collect();
        crate::insert_batches!(conn, assignments::table, rows, 1000)?;
        let report = AssignmentReport {
            seed,
            created: rows.len(),
            total: (existing.len() + rows.len()) as i64,
            shortfalls: plan.shortfalls,
        };
        audit::append(
            conn,
            Some(actor),
            "round.assign",
            &format!("round:{round_id}"),
            json!({"seed": seed, "created": report.created, "total": report.total,
                   "shortfalls": report.shortfalls.len()}),
        )?;
        Ok(report)
    })
}

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

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ReviewerProgress {
    pub reviewer_id: i64,
    pub name: String,
    pub done: i64,
    pub total: i64,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct EntryProgress {
    pub nomination_id: i64,
    pub assigned: i64,
    pub received: i64,
    /// The round's reviews per entry.
    pub needed: i32,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Progress {
    pub round_id: i64,
    pub status: RoundStatus,
    pub assignments: i64,
    pub reviews: i64,
    /// Entries with fewer reviews than needed.
    pub entries_short: i64,
    pub reviewers: Vec<ReviewerProgress>,
    /// Entries with fewer reviews than needed, first 500 (fewest first).
    pub entries: Vec<EntryProgress>,
}

pub fn progress(conn: &mut DbConn, round_id: i64) -> StoreResult<Progress> {
    let round = round_store::get(conn, round_id)?;
    let mut reviewers: BTreeMap<i64, ReviewerProgress> = panelists(conn, round_id)?
        .into_iter()
        .map(|p| (p.user_id, ReviewerProgress { reviewer_id: p.user_id, name: p.name, done: 0, total: 0 }))
        .collect();
    let pairs: Vec<(i64, i64)> = assignments::table
        .filter(assignments::round_id.eq(round_id))
        .select((assignments::nomination_id, assignments::reviewer_id))
        .load(conn)?;
    let done: Vec<(i64, i64)> = reviews::table
        .filter(reviews::round_id.eq(round_id))
        .select((reviews::nomination_id, reviews::reviewer_id))
        .load(conn)?;
    let entry_ids: Vec<i64> =
        entries::table.filter(entries::round_id.eq(round_id)).select(entries::nomination_id).load(conn)?;
    let mut per_entry: BTreeMap<i64, (i64, i64)> = entry_ids.into_iter().map(|id| (id, (0, 0))).collect();
    for (nomination, reviewer) in &pairs {
        per_entry.entry(*nomination).or_default().0 += 1;
        if let Some(r) = reviewers.get_mut(reviewer) {
            r.total += 1;
        }
    }
    let assigned: BTreeSet<&(i64, i64)> = pairs.iter().collect();
    for (nomination, reviewer) in &done {
        per_entry.entry(*nomination).or_default().1 += 1;
        // A reviewer who left the panel after reviewing still shows.
        let r = reviewers.entry(*reviewer).or_insert_with(|| ReviewerProgress {
            reviewer_id: *reviewer,
            name: String::new(),
            done: 0,
            total: 0,
        });
        r.done += 1;
        if !assigned.contains(&(*nomination, *reviewer)) {
            r.total += 1;
        }
    }
    let needed = round.reviews_per_entry;
    let mut short: Vec<EntryProgress> = per_entry
        .into_iter()
        .filter(|(_, (_, received))| *received < needed as i64)
        .map(|(nomination_id, (assigned, received))| EntryProgress {
            nomination_id,
            assigned,
            received,
            needed,
        })
        .collect();
    short.sort_by_key(|e| (e.received, e.nomination_id));
    let entries_short = short.len() as i64;
    short.truncate(PageRequest::MAX_PER_PAGE as usize);
    Ok(Progress {
        round_id,
        status: round.status,
        assignments: pairs.len() as i64,
        reviews: done.len() as i64,
        entries_short,
        reviewers: reviewers.into_values().collect(),
        entries: short,
    })
}

/// One review for the CSV export.
pub struct ReviewExport {
    pub round_sequence: i32,
    pub round_name: String,
    pub nomination_id: i64,
    pub title: String,
    pub reviewer_employee_no: String,
    pub reviewer_name: String,
    pub criteria: Vec<(String, Option<f64>)>,
    pub total: f64,
    pub comment: Option<String>,
    pub updated_at: Timestamp,
}

/// Every review of a campaign's rounds, round by round.
pub fn all_for_export(conn: &mut DbConn, campaign_id: i64) -> StoreResult<Vec<ReviewExport>> {
    let mut out = Vec::new();
    for round in round_store::list(conn, campaign_id)? {
        let rows = reviews::table
            .inner_join(nominations::table)
            .inner_join(users::table.on(users::id.eq(reviews::reviewer_id)))
            .filter(reviews::round_id.eq(round.id))
            .order((reviews::nomination_id, reviews::reviewer_id))
            .select((
                reviews::nomination_id,
                nominations::title,
                users::employee_no,
                users::name,
                reviews::scores,
                reviews::comment,
                reviews::updated_at,
            ))
            .load::<(i64, String, String, String, String, Option<String>, Timestamp)>(conn)?;
        let rules = round.rules();
        for (nomination_id, title, employee_no, name, scores, comment, updated_at) in rows {
            let scores = parse_scores(&scores, round.id, nomination_id, &employee_no)?;
            out.push(ReviewExport {
                round_sequence: round.sequence,
                round_name: round.name.clone(),
                nomination_id,
                title,
                reviewer_employee_no: employee_no,
                reviewer_name: name,
                criteria: round
                    .criteria
                    .iter()
                    .map(|c| (c.name.clone(), scores.get(&c.id).copied()))
                    .collect(),
                total: crate::domain::scoring::review_total(&rules.criteria, &scores),
                comment,
                updated_at,
            });
        }
    }
    Ok(out)
}
