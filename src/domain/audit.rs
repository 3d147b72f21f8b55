//! The audit chain: each event's hash covers its content and its predecessor's hash.

use crate::domain::time::Timestamp;
use sha2::{Digest, Sha256};

/// The hash the first event chains to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of an event that its hash covers.
#[derive(Debug, Clone)]
pub struct EventContent<'a> {
    pub id: i64,
    pub actor_id: Option<i64>,
    pub action: &'a str,
    pub subject: &'a str,
    pub details: &'a str,
    pub created_at: Timestamp,
    pub prev_hash: &'a str,
}

impl EventContent<'_> {
    /// SHA-256 over the fields, each length-prefixed so that no two different
    /// events serialise to the same bytes.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        let actor = self.actor_id.map(|a| a.to_string()).unwrap_or_default();
        let created = self.created_at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let id = self.id.to_string();
        for field in [&id, &actor, self.action, self.subject, self.details, &created, self.prev_hash] {
            hasher.update((field.len() as u64).to_be_bytes());
            hasher.update(field.as_bytes());
        }
        hex::encode(hasher.finalize())
    }
}

/// Where a chain first fails to verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Break {
    pub id: i64,
    pub reason: &'static str,
}

/// Walks events in id order, carrying the previous hash; used in batches so a
/// long chain is never held in memory at once.
#[derive(Debug, Clone)]
pub struct Verifier {
    prev_hash: String,
    pub checked: u64,
}

impl Default for Verifier {
    fn default() -> Self {
        Verifier { prev_hash: GENESIS.to_owned(), checked: 0 }
    }
}

impl Verifier {
    pub fn check(&mut self, event: &EventContent<'_>, stored_hash: &str) -> Result<(), Break> {
        if event.prev_hash != self.prev_hash {
            return Err(Break { id: event.id, reason: "does not chain to the previous event" });
        }
        if event.hash() != stored_hash {
            return Err(Break { id: event.id, reason: "content does not match its hash" });
        }
        self.prev_hash = stored_hash.to_owned();
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: i64, prev: &str) -> (String, String) {
        let details = format!("{{\"n\":{id}}}");
        let e = EventContent {
            id,
            actor_id: Some(1),
            action: "user.create",
            subject: "user:2",
            details: &details,
            created_at: Timestamp::default(),
            prev_hash: prev,
        };
        (e.hash(), details)
    }

    #[test]
    fn a_valid_chain_verifies_and_a_changed_event_is_named() {
        let (h1, d1) = event(1, GENESIS);
        let (h2, _) = event(2, &h1);
        let mut v = Verifier::default();
        let e1 = EventContent {
            id: 1,
            actor_id: Some(1),
            action: "user.create",
            subject: "user:2",
            details: &d1,
            created_at: Timestamp::default(),
            prev_hash: GENESIS,
        };
        v.check(&e1, &h1).unwrap();
        let tampered = EventContent { id: 2, details: "{\"n\":3}", prev_hash: &h1, ..e1.clone() };
        assert_eq!(v.check(&tampered, &h2).unwrap_err().id, 2);
    }

    #[test]
    fn a_fork_is_detected() {
        let (h1, _) = event(1, GENESIS);
        let mut v = Verifier::default();
        let details = "{\"n\":1}";
        let e1 = EventContent {
            id: 1,
            actor_id: Some(1),
            action: "user.create",
            subject: "user:2",
            details,
            created_at: Timestamp::default(),
            prev_hash: GENESIS,
        };
        v.check(&e1, &h1).unwrap();
        let e2 = EventContent { id: 2, prev_hash: GENESIS, ..e1.clone() };
        let err = v.check(&e2, &e2.hash()).unwrap_err();
        assert_eq!(err.reason, "does not chain to the previous event");
    }

    #[test]
    fn field_boundaries_matter() {
        let a = EventContent {
            id: 1,
            actor_id: None,
            action: "ab",
            subject: "c",
            details: "",
            created_at: Timestamp::default(),
            prev_hash: GENESIS,
        };
        let b = EventContent { action: "a", subject: "bc", ..a.clone() };
        assert_ne!(a.hash(), b.hash());
    }
}
