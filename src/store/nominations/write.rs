//! Creating a nomination and every change to it: edit, submit, withdraw,
//! delete a draft, rule out; and the branch's quota places these take and free.

use diesel::prelude::*;
use serde_json::json;

use super::{get, Nomination, NominationText};
use crate::db::schema::{campaigns, nomination_counts, nominations, users};
use crate::db::{self, DbConn};
use crate::domain::access::Actor;
use crate::domain::account::UserStatus;
use crate::domain::campaign::{nomination_window, NominationStatus};
use crate::domain::nomination::{self as rules, NominationAction, NominationRefusal, Nominee};
use crate::domain::refusal::check_version;
use crate::domain::round::RoundStatus;
use crate::store::campaigns::{self as campaign_store, Campaign};
use crate::store::{audit, Refusal, Resource, StoreError, StoreResult};

/// Nominations change only while the campaign is nominating and its window open.
fn require_window(campaign: &Campaign) -> StoreResult<()> {
    let opens = campaign.nomination_opens_at;
    Ok(nomination_window(campaign.status, opens, campaign.nomination_closes_at, db::now())?)
}

fn require_branch(actor: &Actor, branch_id: i64) -> StoreResult<()> {
    if actor.manages_branch(branch_id) {
        Ok(())
    } else {
        Err(NominationRefusal::OtherBranch.into())
    }
}

/// The branch of an employee `actor` may nominate, by the rules of `domain`.
fn nominee_branch(conn: &mut DbConn, actor: &Actor, nominee_id: i64) -> StoreResult<i64> {
    let nominee: Option<(Option<i64>, UserStatus)> =
        users::table.find(nominee_id).select((users::branch_id, users::status)).first(conn).optional()?;
    let nominee =
        nominee.map(|(branch_id, status)| Nominee { branch_id, active: status == UserStatus::Active });
    Ok(rules::nominee_branch(actor, nominee_id, nominee)?)
}

pub fn create(
    conn: &mut DbConn,
    actor: &Actor,
    campaign_id: i64,
    nominee_id: i64,
    text: NominationText,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        open_campaign(conn, campaign_id)?;
        let branch_id = nominee_branch(conn, actor, nominee_id)?;
        let now = db::now();
        let id: i64 = diesel::insert_into(nominations::table)
            .values((
                nominations::campaign_id.eq(campaign_id),
                nominations::branch_id.eq(branch_id),
                nominations::nominee_id.eq(nominee_id),
                nominations::nominated_by.eq(actor.id),
                nominations::title.eq(&text.title),
                nominations::summary.eq(&text.summary),
                nominations::story.eq(&text.story),
                nominations::links.eq(json!(text.links).to_string()),
                nominations::status.eq(NominationStatus::Draft),
                nominations::created_at.eq(now),
                nominations::updated_at.eq(now),
            ))
            .returning(nominations::id)
            .get_result(conn)
            .map_err(|e| {
                if db::is_unique_violation(&e) {
                    NominationRefusal::AlreadyNominated.into()
                } else {
                    StoreError::from(e)
                }
            })?;
        audit::append(
            conn,
            Some(actor.id),
            "nomination.create",
            &format!("nomination:{id}"),
            json!({"campaign_id": campaign_id, "nominee_id": nominee_id, "branch_id": branch_id, "title": text.title}),
        )?;
        get(conn, id)
    })
}

/// Loads a nomination for a change by `actor`, with its campaign, checking
/// scope, version and window.
fn for_change(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    expected_version: Option<i32>,
) -> StoreResult<(Nomination, Campaign)> {
    let nomination = get(conn, id)?;
    require_branch(actor, nomination.branch_id)?;
    check_version(nomination.version, expected_version)?;
    let campaign = open_campaign(conn, nomination.campaign_id)?;
    Ok((nomination, campaign))
}

/// Reads the campaign under its shared lock and checks the window: a campaign
/// change (status, window, quota) waits for nomination writes in flight and
/// they wait for it, so none acts on a campaign that has moved on.
fn open_campaign(conn: &mut DbConn, campaign_id: i64) -> StoreResult<Campaign> {
    db::lock_resource(conn, db::LockSpace::Campaign, campaign_id, true)?;
    let campaign = campaign_store::get(conn, campaign_id)?;
    require_window(&campaign)?;
    Ok(campaign)
}

/// Losing a race on a nomination's version: 412 if the client named the
/// version it read, 409 if it did not.
fn changed_meanwhile(if_match: bool) -> StoreError {
    Refusal::ChangedMeanwhile { resource: Resource::Nomination, if_match }.into()
}

/// Writes the new status (and text) if the nomination is still at `version`.
fn bump(
    conn: &mut DbConn,
    precondition: bool,
    nomination: &Nomination,
    set_status: Option<NominationStatus>,
    text: Option<&NominationText>,
) -> StoreResult<()> {
    let now = db::now();
    let target = nominations::table.find(nomination.id).filter(nominations::version.eq(nomination.version));
    let next_version = nominations::version.eq(nomination.version + 1);
    let updated = match (set_status, text) {
        (_, Some(text)) => diesel::update(target)
            .set((
                nominations::title.eq(&text.title),
                nominations::summary.eq(&text.summary),
                nominations::story.eq(&text.story),
                nominations::links.eq(json!(text.links).to_string()),
                next_version,
                nominations::updated_at.eq(now),
            ))
            .execute(conn)?,
        (Some(NominationStatus::Submitted), None) => diesel::update(target)
            .set((
                nominations::status.eq(NominationStatus::Submitted),
                nominations::submitted_at.eq(now),
                next_version,
                nominations::updated_at.eq(now),
            ))
            .execute(conn)?,
        (Some(status), None) => diesel::update(target)
            .set((nominations::status.eq(status.as_str()), next_version, nominations::updated_at.eq(now)))
            .execute(conn)?,
        (None, None) => 1,
    };
    if updated == 0 {
        return Err(changed_meanwhile(precondition));
    }
    Ok(())
}

/// The fields an edit may change; absent ones keep their value.
#[derive(Debug, Default)]
pub struct TextPatch {
    pub title: Option<String>,
    pub summary: Option<String>,
    pub story: Option<String>,
    pub links: Option<Vec<String>>,
}

pub fn update(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    patch: TextPatch,
    expected_version: Option<i32>,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        let (nomination, _) = for_change(conn, actor, id, expected_version)?;
        rules::check_status(nomination.status, NominationAction::Edit)?;
        let text = NominationText {
            title: patch.title.unwrap_or_else(|| nomination.title.clone()),
            summary: patch.summary.unwrap_or_else(|| nomination.summary.clone()),
            story: patch.story.or_else(|| nomination.story.clone()).unwrap_or_default(),
            links: patch.links.unwrap_or_else(|| nomination.links.clone()),
        };
        bump(conn, expected_version.is_some(), &nomination, None, Some(&text))?;
        audit::append(
            conn,
            Some(actor.id),
            "nomination.update",
            &format!("nomination:{id}"),
            json!({"title": text.title, "summary": text.summary, "story_chars": text.story.chars().count(), "links": text.links}),
        )?;
        get(conn, id)
    })
}

/// Takes one of the branch's quota places. A conditional update on the
/// branch's counter: the database refuses the place when none is left, so
/// parallel submits can never exceed the quota.
fn take_quota_place(conn: &mut DbConn, campaign: &Campaign, branch_id: i64) -> StoreResult<()> {
    let exists: i64 = nomination_counts::table
        .filter(nomination_counts::campaign_id.eq(campaign.id))
        .filter(nomination_counts::branch_id.eq(branch_id))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        // A savepoint, so that losing the race to create the row only undoes this insert.
        let created = conn.transaction(|conn| {
            diesel::insert_into(nomination_counts::table)
                .values((
                    nomination_counts::campaign_id.eq(campaign.id),
                    nomination_counts::branch_id.eq(branch_id),
                ))
                .execute(conn)
        });
        match created {
            Ok(_) => {}
            Err(e) if db::is_unique_violation(&e) => {}
            Err(e) => return Err(e.into()),
        }
    }
    let quota = campaigns::table.find(campaign.id).select(campaigns::nominations_per_branch).single_value();
    let taken = diesel::update(
        nomination_counts::table
            .filter(nomination_counts::campaign_id.eq(campaign.id))
            .filter(nomination_counts::branch_id.eq(branch_id))
            .filter(nomination_counts::submitted.nullable().lt(quota)),
    )
    .set(nomination_counts::submitted.eq(nomination_counts::submitted + 1))
    .execute(conn)?;
    if taken == 0 {
        return Err(
            NominationRefusal::QuotaExhausted { quota: campaign.nominations_per_branch.into() }.into()
        );
    }
    Ok(())
}

fn release_quota_place(conn: &mut DbConn, campaign_id: i64, branch_id: i64) -> StoreResult<()> {
    diesel::update(
        nomination_counts::table
            .filter(nomination_counts::campaign_id.eq(campaign_id))
            .filter(nomination_counts::branch_id.eq(branch_id)),
    )
    .set(nomination_counts::submitted.eq(nomination_counts::submitted - 1))
    .execute(conn)?;
    Ok(())
}

pub fn submit(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    expected_version: Option<i32>,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        let (nomination, campaign) = for_change(conn, actor, id, expected_version)?;
        rules::check_status(nomination.status, NominationAction::Submit)?;
        // The nominee may have left the branch or been disabled since the draft.
        if nominee_branch(conn, actor, nomination.nominee_id)? != nomination.branch_id {
            return Err(NominationRefusal::NomineeMoved.into());
        }
        // The nomination row first, then the counter: one lock order everywhere.
        bump(conn, expected_version.is_some(), &nomination, Some(NominationStatus::Submitted), None)?;
        take_quota_place(conn, &campaign, nomination.branch_id)?;
        audit::append(conn, Some(actor.id), "nomination.submit", &format!("nomination:{id}"), json!({}))?;
        get(conn, id)
    })
}

pub fn withdraw(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    expected_version: Option<i32>,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        let (nomination, _) = for_change(conn, actor, id, expected_version)?;
        rules::check_status(nomination.status, NominationAction::Withdraw)?;
        bump(conn, expected_version.is_some(), &nomination, Some(NominationStatus::Withdrawn), None)?;
        if nomination.status == NominationStatus::Submitted {
            release_quota_place(conn, nomination.campaign_id, nomination.branch_id)?;
        }
        audit::append(conn, Some(actor.id), "nomination.withdraw", &format!("nomination:{id}"), json!({}))?;
        get(conn, id)
    })
}

/// Deletes a draft (a submitted nomination is withdrawn instead, and kept).
pub fn delete_draft(
    conn: &mut DbConn,
    actor: &Actor,
    id: i64,
    expected_version: Option<i32>,
) -> StoreResult<()> {
    db::write_tx(conn, |conn| {
        let (nomination, _) = for_change(conn, actor, id, expected_version)?;
        rules::check_status(nomination.status, NominationAction::Delete)?;
        let deleted =
            diesel::delete(nominations::table.find(id).filter(nominations::version.eq(nomination.version)))
                .execute(conn)?;
        if deleted == 0 {
            return Err(changed_meanwhile(expected_version.is_some()));
        }
        audit::append(
            conn,
            Some(actor.id),
            "nomination.delete",
            &format!("nomination:{id}"),
            json!({"nominee_id": nomination.nominee_id, "title": nomination.title}),
        )?;
        Ok(())
    })
}

/// An admin rules a nomination out, with a reason; its quota place is freed.
pub fn mark_ineligible(
    conn: &mut DbConn,
    actor: i64,
    id: i64,
    reason: &str,
    expected_version: Option<i32>,
) -> StoreResult<Nomination> {
    db::write_tx(conn, |conn| {
        let nomination = get(conn, id)?;
        check_version(nomination.version, expected_version)?;
        db::lock_resource(conn, db::LockSpace::Campaign, nomination.campaign_id, true)?;
        let campaign = campaign_store::get(conn, nomination.campaign_id)?;
        let (rounds, _) = campaign_store::screening_state(conn, campaign.id)?;
        let last_round_closed = rounds.last() == Some(&RoundStatus::Closed);
        rules::check_rule_out(campaign.status, last_round_closed, nomination.status)?;
        // Only if it is still what was read: a concurrent withdraw or submit
        // makes this lose, so the quota counter is freed exactly once.
        let updated = diesel::update(
            nominations::table
                .find(id)
                .filter(nominations::version.eq(nomination.version))
                .filter(nominations::status.eq(nomination.status)),
        )
        .set((
            nominations::status.eq(NominationStatus::Ineligible),
            nominations::ineligible_reason.eq(reason),
            nominations::version.eq(nomination.version + 1),
            nominations::updated_at.eq(db::now()),
        ))
        .execute(conn)?;
        if updated == 0 {
            return Err(changed_meanwhile(expected_version.is_some()));
        }
        if nomination.status == NominationStatus::Submitted {
            release_quota_place(conn, nomination.campaign_id, nomination.branch_id)?;
        }
        audit::append(
            conn,
            Some(actor),
            "nomination.ineligible",
            &format!("nomination:{id}"),
            json!({"reason": reason, "was": nomination.status}),
        )?;
        get(conn, id)
    })
}
