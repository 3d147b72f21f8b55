//! How far a round's reviews are: per reviewer, and the entries still short.

use std::collections::{BTreeMap, BTreeSet};

use diesel::prelude::*;
use serde::Serialize;

use super::panelists;
use crate::db::schema::{assignments, entries, reviews};
use crate::db::DbConn;
use crate::domain::round::RoundStatus;
use crate::store::rounds as round_store;
use crate::store::{PageRequest, StoreResult};

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
