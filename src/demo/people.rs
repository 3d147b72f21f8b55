//! The demo's organisation and people: member companies, branches, 300,000 employees.

use std::collections::BTreeSet;
use std::time::Duration;

use anyhow::bail;
use indicatif::HumanCount;
use rand_chacha::ChaCha8Rng;

use super::plan::{self, Plan};
use super::text::{self, MEMBER_COMPANIES};
use super::{fail, Org, People, Phase};
use crate::db::DbConn;
use crate::domain::import::EmployeeRow;
use crate::domain::roles::{Role, Roles};
use crate::store;

pub(super) fn organisation(
    conn: &mut DbConn,
    admin: i64,
    plan: &Plan,
    phases: &mut Vec<(&'static str, Duration, String)>,
) -> anyhow::Result<Org> {
    let phase = Phase::start("organisation", (MEMBER_COMPANIES.len() + plan.branches.len()) as u64);
    let mut companies = Vec::new();
    for (code, name, _) in MEMBER_COMPANIES {
        let company =
            store::org::create_member_company(conn, admin, code, name).map_err(fail("creating a company"))?;
        companies.push(company.id);
        phase.bar.inc(1);
    }
    let mut branches = Vec::new();
    for b in &plan.branches {
        let name = text::branch_name(MEMBER_COMPANIES[b.company].1, b.company, b.index);
        let branch = store::org::create_branch(conn, admin, &branch_code(b), &name, companies[b.company])
            .map_err(fail("creating a branch"))?;
        branches.push((branch.id, name));
        phase.bar.inc(1);
    }
    phase.finish(phases, format!("{} member companies, {} branches", companies.len(), branches.len()));
    Ok(Org { branches })
}

fn employee_no(index: usize) -> String {
    format!("E{:07}", index + 1)
}

pub(super) fn employees(
    conn: &mut DbConn,
    admin: i64,
    plan: &Plan,
    password_hash: &str,
    rng: &mut ChaCha8Rng,
    phases: &mut Vec<(&'static str, Duration, String)>,
) -> anyhow::Result<People> {
    let phase = Phase::start("employees", plan.employees as u64);
    let reviewers: BTreeSet<usize> = (0..MEMBER_COMPANIES.len())
        .flat_map(|c| plan.company_reviewers(c))
        .chain(plan.group_panel())
        .collect();
    let names: Vec<String> = (0..plan.employees).map(|_| text::person_name(rng)).collect();
    let (reviewers_ref, names_ref) = (&reviewers, &names);
    let rows = plan.branches.iter().flat_map(|branch| {
        let code = branch_code(branch);
        (branch.first..branch.first + branch.size).map(move |i| {
            let mut roles = vec![Role::Employee];
            if i == branch.first {
                roles.push(Role::Manager);
            }
            if reviewers_ref.contains(&i) {
                roles.push(Role::Reviewer);
            }
            Ok(EmployeeRow {
                line: i as u64 + 2,
                employee_no: employee_no(i),
                name: names_ref[i].clone(),
                branch_code: code.clone(),
                roles: Some(Roles::new(roles)),
            })
        })
    });
    let report = store::users::import(conn, Some(admin), rows.inspect(|_| phase.bar.inc(1)))
        .map_err(fail("importing the employees"))?;
    if report.created as usize != plan.employees || !report.rejected.is_empty() {
        bail!(
            "the import created {} of {} accounts: {:?}",
            report.created,
            plan.employees,
            report.rejected.first()
        );
    }
    store::users::set_pending_passwords(conn, admin, password_hash)
        .map_err(fail("setting the demo password"))?;
    let by_number = store::users::ids_by_employee_no(conn)?;
    let ids = (0..plan.employees).map(|i| by_number[&employee_no(i)]).collect();
    let managers = plan.branches.len();
    phase.finish(
        phases,
        format!(
            "{} accounts: {managers} managers, {} reviewers",
            HumanCount(plan.employees as u64),
            reviewers.len()
        ),
    );
    Ok(People { ids, names })
}

fn branch_code(branch: &plan::Branch) -> String {
    format!("{}-{:03}", MEMBER_COMPANIES[branch.company].0, branch.index + 1)
}
