//! The append-only, hash-chained audit log.

use crate::domain::time::Timestamp;
use diesel::prelude::*;
use serde::Serialize;

use crate::db::schema::audit_events;
use crate::db::{self, DbConn};
use crate::domain::audit::{Break, EventContent, Verifier, GENESIS};

#[derive(Debug, Clone, Queryable, Selectable, Insertable, Serialize, utoipa::ToSchema)]
#[diesel(table_name = audit_events)]
pub struct AuditEvent {
    pub id: i64,
    pub actor_id: Option<i64>,
    pub action: String,
    /// What was changed, as `kind:id` (e.g. `user:42`).
    pub subject: String,
    /// What changed, as a JSON object.
    #[serde(serialize_with = "as_json")]
    #[schema(value_type = Object)]
    pub details: String,
    pub created_at: Timestamp,
    pub prev_hash: String,
    pub hash: String,
}

/// Stored as text (it is what the hash covers), shown as the JSON it holds.
fn as_json<S: serde::Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(value) => serde::Serialize::serialize(&value, s),
        Err(_) => s.serialize_str(text),
    }
}

impl AuditEvent {
    fn content(&self) -> EventContent<'_> {
        EventContent {
            id: self.id,
            actor_id: self.actor_id,
            action: &self.action,
            subject: &self.subject,
            details: &self.details,
            created_at: self.created_at,
            prev_hash: &self.prev_hash,
        }
    }
}

/// Appends one event inside the caller's write transaction, so the event
/// exists exactly when the change it records does. Call it last in the
/// transaction: on PostgreSQL it takes the chain's lock until commit.
pub fn append(
    conn: &mut DbConn,
    actor_id: Option<i64>,
    action: &str,
    subject: &str,
    details: serde_json::Value,
) -> QueryResult<AuditEvent> {
    db::lock_resource(conn, db::LockSpace::AuditChain, 0, false)?;
    let last: Option<(i64, String)> = audit_events::table
        .select((audit_events::id, audit_events::hash))
        .order(audit_events::id.desc())
        .first(conn)
        .optional()?;
    let (last_id, prev_hash) = last.unwrap_or((0, GENESIS.to_owned()));
    let mut event = AuditEvent {
        id: last_id + 1,
        actor_id,
        action: action.to_owned(),
        subject: subject.to_owned(),
        details: details.to_string(),
        created_at: db::now(),
        prev_hash,
        hash: String::new(),
    };
    event.hash = event.content().hash();
    diesel::insert_into(audit_events::table).values(&event).execute(conn)?;
    Ok(event)
}

#[derive(Debug, Default, Clone)]
pub struct AuditFilter {
    pub actor_id: Option<i64>,
    pub action: Option<String>,
    pub subject: Option<String>,
}

pub fn list(
    conn: &mut DbConn,
    filter: &AuditFilter,
    page: crate::store::PageRequest,
) -> QueryResult<crate::store::Page<AuditEvent>> {
    let query = || {
        let mut q = audit_events::table.into_boxed::<db::MultiBackend>();
        if let Some(actor) = filter.actor_id {
            q = q.filter(audit_events::actor_id.eq(actor));
        }
        if let Some(action) = &filter.action {
            q = q.filter(audit_events::action.eq(action.clone()));
        }
        if let Some(subject) = &filter.subject {
            q = q.filter(audit_events::subject.eq(subject.clone()));
        }
        q
    };
    let total = query().count().get_result(conn)?;
    let items = query()
        .select(AuditEvent::as_select())
        .order(audit_events::id.desc())
        .limit(page.per_page)
        .offset(page.offset())
        .load(conn)?;
    Ok(page.of(items, total))
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Verification {
    pub ok: bool,
    /// Events checked and found sound.
    pub events: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken: Option<BrokenEvent>,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct BrokenEvent {
    pub id: i64,
    pub reason: String,
}

/// Recomputes the whole chain in id order, a batch at a time, and names the
/// first event that does not verify.
pub fn verify(conn: &mut DbConn) -> QueryResult<Verification> {
    const BATCH: i64 = 5_000;
    let mut verifier = Verifier::default();
    let mut after = 0;
    loop {
        let batch: Vec<AuditEvent> = audit_events::table
            .filter(audit_events::id.gt(after))
            .order(audit_events::id.asc())
            .limit(BATCH)
            .select(AuditEvent::as_select())
            .load(conn)?;
        for event in &batch {
            if let Err(Break { id, reason }) = verifier.check(&event.content(), &event.hash) {
                return Ok(Verification {
                    ok: false,
                    events: verifier.checked,
                    first_broken: Some(BrokenEvent { id, reason: reason.to_owned() }),
                });
            }
        }
        match batch.last() {
            Some(last) => after = last.id,
            None => return Ok(Verification { ok: true, events: verifier.checked, first_broken: None }),
        }
    }
}
