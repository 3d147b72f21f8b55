//! Persistence: diesel queries and transactions, one module per aggregate.
//! Functions take `&mut DbConn` and run on both backends.

pub mod assignments;
pub mod audit;
pub mod campaigns;
pub mod constraints;
pub mod nominations;
pub mod org;
pub mod preferences;
pub mod reviews;
pub mod rounds;
pub mod users;
pub mod vote_writer;
pub mod votes;

use serde::Serialize;

pub use crate::domain::refusal::{Refusal, Resource};
use crate::domain::text::UnknownText;

/// Why a store call failed: a rule said no, or the database did.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("refused: {0:?}")]
    Refused(Refusal),
    #[error("database error: {0}")]
    Db(#[source] diesel::result::Error),
    /// A stored value this version cannot read: never replaced by a default.
    #[error("{table} row {row} holds {value:?} in {column}, which this version does not know")]
    Corrupt { table: &'static str, column: &'static str, row: String, value: String },
    /// A stored word outside its column's closed set (see `domain::text`).
    #[error("{0}")]
    UnknownWord(UnknownText),
    #[error("not available now: {0:?}")]
    Unavailable(Unavailable),
}

/// Why the service cannot take a request now, though it may a moment later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    ShuttingDown,
    VoteQueueFull,
    VoteWriterStopped,
    /// The batch the vote was in could not be committed; nothing of it was written.
    VoteNotSaved,
}

pub type StoreResult<T> = Result<T, StoreError>;

impl From<diesel::result::Error> for StoreError {
    fn from(e: diesel::result::Error) -> Self {
        if let diesel::result::Error::DeserializationError(cause) = &e {
            if let Some(unknown) = cause.downcast_ref::<UnknownText>() {
                return StoreError::UnknownWord(unknown.clone());
            }
        }
        match constraints::unique_broken(&e) {
            Some(unique) => StoreError::Refused(Refusal::Duplicate(unique)),
            None => StoreError::Db(e),
        }
    }
}

impl From<UnknownText> for StoreError {
    fn from(unknown: UnknownText) -> Self {
        StoreError::UnknownWord(unknown)
    }
}

impl StoreError {
    /// A stored value that does not parse, named by table, column and row.
    pub fn corrupt(
        table: &'static str,
        column: &'static str,
        row: impl ToString,
        value: impl Into<String>,
    ) -> Self {
        StoreError::Corrupt { table, column, row: row.to_string(), value: value.into() }
    }
}

macro_rules! refused_from {
    ($($refusal:ty),+ $(,)?) => {$(
        impl From<$refusal> for StoreError {
            fn from(r: $refusal) -> Self {
                StoreError::Refused(r.into())
            }
        }
    )+};
}

refused_from!(
    Refusal,
    crate::domain::org::OrgRefusal,
    crate::domain::account::AccountRefusal,
    crate::domain::campaign::CampaignRefusal,
    crate::domain::campaign::WindowRefusal,
    crate::domain::nomination::NominationRefusal,
    crate::domain::round::RoundRefusal,
    crate::domain::round::OpenRefusal,
    crate::domain::round::CloseRefusal,
    crate::domain::round::ReviewRefusal,
    crate::domain::vote::VoteRefusal,
    Vec<crate::domain::refusal::FieldIssue>,
);

/// `Option` → `NotFound(resource)`.
pub trait MustExist<T> {
    fn found(self, resource: Resource) -> StoreResult<T>;
}

impl<T> MustExist<T> for Option<T> {
    fn found(self, resource: Resource) -> StoreResult<T> {
        self.ok_or(StoreError::Refused(Refusal::NotFound(resource)))
    }
}

/// One page of a list, as every list endpoint returns it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: i64,
    pub per_page: i64,
    pub total: i64,
}

/// Which page a list call asks for; `per_page` is at most 500.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest {
    pub page: i64,
    pub per_page: i64,
}

impl PageRequest {
    pub const MAX_PER_PAGE: i64 = 500;

    pub fn offset(&self) -> i64 {
        (self.page - 1) * self.per_page
    }

    pub fn of<T>(&self, items: Vec<T>, total: i64) -> Page<T> {
        Page { items, page: self.page, per_page: self.per_page, total }
    }
}

/// Escapes `%`, `_` and `\` for a LIKE pattern that matches `text` anywhere.
pub fn contains_pattern(text: &str) -> String {
    let escaped = text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_");
    format!("%{escaped}%")
}
