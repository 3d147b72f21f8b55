//! CSV files for people: UTF-8 with a byte-order mark so that Excel reads
//! Chinese text right, and cells that a spreadsheet would run as a formula
//! defused with a leading apostrophe.

use crate::domain::time::Timestamp;
use crate::store::nominations::Nomination;
use crate::store::reviews::ReviewExport;
use crate::store::rounds::{Round, Standing};

const BOM: &[u8] = b"\xEF\xBB\xBF";

fn cell(text: &str) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text.to_owned()
    }
}

fn finish(writer: csv::Writer<Vec<u8>>) -> anyhow::Result<Vec<u8>> {
    let mut bytes = BOM.to_vec();
    bytes.extend(writer.into_inner().map_err(|e| anyhow::anyhow!("csv: {e}"))?);
    Ok(bytes)
}

pub fn nominations(rows: &[(Nomination, String)]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "id",
        "member_company",
        "branch",
        "nominee_employee_no",
        "nominee_name",
        "title",
        "summary",
        "story",
        "links",
        "status",
        "ineligible_reason",
        "submitted_at",
    ])?;
    for (n, company) in rows {
        let submitted = n.submitted_at.map(|t| t.and_utc().to_rfc3339()).unwrap_or_default();
        w.write_record([
            n.id.to_string(),
            cell(company),
            cell(&n.branch_name),
            cell(&n.nominee_employee_no),
            cell(&n.nominee_name),
            cell(&n.title),
            cell(&n.summary),
            cell(n.story.as_deref().unwrap_or("")),
            n.links.join(" "),
            n.status.to_string(),
            cell(n.ineligible_reason.as_deref().unwrap_or("")),
            submitted,
        ])?;
    }
    finish(w)
}

fn time(t: Timestamp) -> String {
    t.and_utc().to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

/// One row per review; one column per criterion name across the campaign's
/// rounds (empty where a round has no such criterion).
pub fn reviews(rows: &[ReviewExport]) -> anyhow::Result<Vec<u8>> {
    let mut criteria: Vec<&str> = Vec::new();
    for r in rows {
        for (name, _) in &r.criteria {
            if !criteria.contains(&name.as_str()) {
                criteria.push(name);
            }
        }
    }
    let mut w = csv::Writer::from_writer(vec![]);
    let mut header: Vec<String> =
        ["round", "round_name", "nomination_id", "title", "reviewer_employee_no", "reviewer_name"]
            .map(String::from)
            .to_vec();
    header.extend(criteria.iter().map(|c| cell(c)));
    header.extend(["total", "comment", "updated_at"].map(String::from));
    w.write_record(&header)?;
    for r in rows {
        let mut record = vec![
            r.round_sequence.to_string(),
            cell(&r.round_name),
            r.nomination_id.to_string(),
            cell(&r.title),
            cell(&r.reviewer_employee_no),
            cell(&r.reviewer_name),
        ];
        record.extend(criteria.iter().map(|name| {
            r.criteria
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, score)| score.map(|s| s.to_string()))
                .unwrap_or_default()
        }));
        record.extend([
            format!("{:.4}", r.total),
            cell(r.comment.as_deref().unwrap_or("")),
            time(r.updated_at),
        ]);
        w.write_record(&record)?;
    }
    finish(w)
}

/// One row per entry of every closed round, in rank order.
pub fn results(rounds: &[(Round, Vec<Standing>)]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(vec![]);
    w.write_record([
        "round",
        "round_name",
        "rank",
        "nomination_id",
        "title",
        "nominee_name",
        "branch",
        "member_company",
        "jury_score",
        "jury_stddev",
        "reviews",
        "vote_count",
        "vote_score",
        "final_score",
        "advanced",
        "decided_by",
    ])?;
    for (round, standings) in rounds {
        for s in standings {
            let decided_by = serde_json::to_value(s.decided_by)?;
            w.write_record([
                round.sequence.to_string(),
                cell(&round.name),
                s.rank.to_string(),
                s.nomination_id.to_string(),
                cell(&s.title),
                cell(&s.nominee_name),
                cell(&s.branch_name),
                cell(&s.member_company_name),
                format!("{:.4}", s.jury_score),
                format!("{:.4}", s.jury_stddev),
                s.reviews.to_string(),
                s.vote_count.to_string(),
                format!("{:.4}", s.vote_score),
                format!("{:.4}", s.final_score),
                if s.advanced { "yes" } else { "no" }.to_owned(),
                decided_by.as_str().unwrap_or_default().to_owned(),
            ])?;
        }
    }
    finish(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused() {
        assert_eq!(cell("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(cell("普通文本"), "普通文本");
    }
}
