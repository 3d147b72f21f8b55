//! Persistence: diesel queries and transactions, one module per aggregate.
//! Functions take `&mut DbConn` and run on both backends.

pub mod audit;
pub mod campaigns;
pub mod nominations;
pub mod org;
pub mod reviews;
pub mod rounds;
pub mod users;
pub mod vote_writer;
pub mod votes;

use serde::Serialize;

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
