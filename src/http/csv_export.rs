//! CSV files for people: UTF-8 with a byte-order mark so that Excel reads
//! Chinese text right, and cells that a spreadsheet would run as a formula
//! defused with a leading apostrophe.

use crate::store::nominations::Nomination;

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
            n.status.clone(),
            cell(n.ineligible_reason.as_deref().unwrap_or("")),
            submitted,
        ])?;
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
