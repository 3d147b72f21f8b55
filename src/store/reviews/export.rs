//! Every review of a campaign, for the CSV export.

use diesel::prelude::*;

use crate::db::schema::{nominations, reviews, users};
use crate::db::DbConn;
use crate::domain::time::Timestamp;
use crate::store::rounds::{self as round_store, parse_scores};
use crate::store::StoreResult;

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
