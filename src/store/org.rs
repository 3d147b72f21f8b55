//! The org chart: member companies and their branches.

use crate::domain::time::Timestamp;
use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use crate::db::schema::{branches, member_companies, users};
use crate::db::{self, DbConn};
use crate::domain::org::{self as rules, OrgRefusal};
use crate::store::{audit, MustExist, Page, PageRequest, Refusal, Resource, StoreError, StoreResult};

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = member_companies)]
pub struct MemberCompany {
    pub id: i64,
    pub code: String,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone, Queryable, Selectable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = branches)]
pub struct Branch {
    pub id: i64,
    pub member_company_id: i64,
    pub code: String,
    pub name: String,
    pub created_at: Timestamp,
}

#[derive(Debug, Default, AsChangeset, Serialize)]
#[diesel(table_name = member_companies)]
pub struct MemberCompanyChanges {
    pub code: Option<String>,
    pub name: Option<String>,
}

#[derive(Debug, Default, AsChangeset, Serialize)]
#[diesel(table_name = branches)]
pub struct BranchChanges {
    pub code: Option<String>,
    pub name: Option<String>,
    pub member_company_id: Option<i64>,
}

/// A code another unit already has, named in the refusal.
fn duplicate_code(e: diesel::result::Error, taken: fn(String) -> OrgRefusal, code: &str) -> StoreError {
    if db::is_unique_violation(&e) {
        taken(code.to_owned()).into()
    } else {
        e.into()
    }
}

pub fn create_member_company(
    conn: &mut DbConn,
    actor: i64,
    code: &str,
    name: &str,
) -> StoreResult<MemberCompany> {
    db::write_tx(conn, |conn| {
        let company = diesel::insert_into(member_companies::table)
            .values((
                member_companies::code.eq(code),
                member_companies::name.eq(name),
                member_companies::created_at.eq(db::now()),
            ))
            .returning(member_companies::all_columns)
            .get_result::<MemberCompany>(conn)
            .map_err(|e| duplicate_code(e, OrgRefusal::MemberCompanyCodeTaken, code))?;
        audit::append(
            conn,
            Some(actor),
            "member_company.create",
            &format!("member_company:{}", company.id),
            json!({"code": code, "name": name}),
        )?;
        Ok(company)
    })
}

pub fn get_member_company(conn: &mut DbConn, id: i64) -> StoreResult<MemberCompany> {
    member_companies::table
        .find(id)
        .select(MemberCompany::as_select())
        .first(conn)
        .optional()?
        .found(Resource::MemberCompany)
}

pub fn list_member_companies(conn: &mut DbConn, page: PageRequest) -> StoreResult<Page<MemberCompany>> {
    let total = member_companies::table.count().get_result(conn)?;
    let items = member_companies::table
        .select(MemberCompany::as_select())
        .order(member_companies::code.asc())
        .limit(page.per_page)
        .offset(page.offset())
        .load(conn)?;
    Ok(page.of(items, total))
}

pub fn update_member_company(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    changes: MemberCompanyChanges,
) -> StoreResult<MemberCompany> {
    db::write_tx(conn, |conn| {
        let current = get_member_company(conn, id)?;
        if changes.code.is_none() && changes.name.is_none() {
            return Ok(current);
        }
        let code = changes.code.clone().unwrap_or(current.code);
        let updated = diesel::update(member_companies::table.find(id))
            .set(&changes)
            .returning(member_companies::all_columns)
            .get_result::<MemberCompany>(conn)
            .map_err(|e| duplicate_code(e, OrgRefusal::MemberCompanyCodeTaken, &code))?;
        audit::append(
            conn,
            Some(actor),
            "member_company.update",
            &format!("member_company:{id}"),
            json!(changes),
        )?;
        Ok(updated)
    })
}

pub fn delete_member_company(conn: &mut DbConn, actor: i64, id: i64) -> StoreResult<()> {
    db::write_tx(conn, |conn| {
        let company = get_member_company(conn, id)?;
        let branch_count: i64 =
            branches::table.filter(branches::member_company_id.eq(id)).count().get_result(conn)?;
        rules::check_company_removal(&company.code, branch_count)?;
        diesel::delete(member_companies::table.find(id)).execute(conn)?;
        audit::append(
            conn,
            Some(actor),
            "member_company.delete",
            &format!("member_company:{id}"),
            json!({"code": company.code}),
        )?;
        Ok(())
    })
}

pub fn create_branch(
    conn: &mut DbConn,
    actor: i64,
    code: &str,
    name: &str,
    member_company_id: i64,
) -> StoreResult<Branch> {
    db::write_tx(conn, |conn| {
        require_member_company(conn, member_company_id)?;
        let branch = diesel::insert_into(branches::table)
            .values((
                branches::code.eq(code),
                branches::name.eq(name),
                branches::member_company_id.eq(member_company_id),
                branches::created_at.eq(db::now()),
            ))
            .returning(branches::all_columns)
            .get_result::<Branch>(conn)
            .map_err(|e| duplicate_code(e, OrgRefusal::BranchCodeTaken, code))?;
        audit::append(
            conn,
            Some(actor),
            "branch.create",
            &format!("branch:{}", branch.id),
            json!({"code": code, "name": name, "member_company_id": member_company_id}),
        )?;
        Ok(branch)
    })
}

/// A referenced member company that does not exist is the client's mistake: 422.
fn require_member_company(conn: &mut DbConn, id: i64) -> StoreResult<()> {
    let exists: i64 = member_companies::table.filter(member_companies::id.eq(id)).count().get_result(conn)?;
    if exists == 0 {
        return Err(Refusal::UnknownReference {
            field: "member_company_id",
            resource: Resource::MemberCompany,
            id,
        }
        .into());
    }
    Ok(())
}

pub fn get_branch(conn: &mut DbConn, id: i64) -> StoreResult<Branch> {
    branches::table.find(id).select(Branch::as_select()).first(conn).optional()?.found(Resource::Branch)
}

pub fn list_branches(
    conn: &mut DbConn,
    member_company_id: Option<i64>,
    page: PageRequest,
) -> StoreResult<Page<Branch>> {
    let query = || {
        let mut q = branches::table.into_boxed::<db::MultiBackend>();
        if let Some(company) = member_company_id {
            q = q.filter(branches::member_company_id.eq(company));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .select(Branch::as_select())
        .order(branches::code.asc())
        .limit(page.per_page)
        .offset(page.offset())
        .load(conn)?;
    Ok(page.of(items, total))
}

pub fn update_branch(conn: &mut DbConn, actor: i64, id: i64, changes: BranchChanges) -> StoreResult<Branch> {
    db::write_tx(conn, |conn| {
        let current = get_branch(conn, id)?;
        if changes.code.is_none() && changes.name.is_none() && changes.member_company_id.is_none() {
            return Ok(current);
        }
        if let Some(company) = changes.member_company_id {
            require_member_company(conn, company)?;
        }
        let code = changes.code.clone().unwrap_or(current.code);
        let updated = diesel::update(branches::table.find(id))
            .set(&changes)
            .returning(branches::all_columns)
            .get_result::<Branch>(conn)
            .map_err(|e| duplicate_code(e, OrgRefusal::BranchCodeTaken, &code))?;
        audit::append(conn, Some(actor), "branch.update", &format!("branch:{id}"), json!(changes))?;
        Ok(updated)
    })
}

pub fn delete_branch(conn: &mut DbConn, actor: i64, id: i64) -> StoreResult<()> {
    db::write_tx(conn, |conn| {
        let branch = get_branch(conn, id)?;
        let members: i64 = users::table.filter(users::branch_id.eq(id)).count().get_result(conn)?;
        rules::check_branch_removal(&branch.code, members)?;
        diesel::delete(branches::table.find(id)).execute(conn)?;
        audit::append(
            conn,
            Some(actor),
            "branch.delete",
            &format!("branch:{id}"),
            json!({"code": branch.code}),
        )?;
        Ok(())
    })
}

/// Every branch by code, for imports.
pub fn branch_ids_by_code(conn: &mut DbConn) -> QueryResult<std::collections::HashMap<String, i64>> {
    Ok(branches::table
        .select((branches::code, branches::id))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}
