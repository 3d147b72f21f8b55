//! Statements of fixed text that PostgreSQL prepares once per connection.
//!
//! `diesel::sql_query` never lets its statement be cached, so PostgreSQL
//! parses and plans it on every call. For the vote writer's two statements a
//! batch, planning was a quarter of the database's time. A [`Prepared`]
//! statement is cached by its text (diesel's statement cache), so it is
//! parsed once per connection; on the vote writer's connection, which forces
//! generic plans, it is planned once too.

use chrono::NaiveDateTime;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// One bound array, with its SQL type.
pub enum Column {
    BigInt(Vec<i64>),
    NullableBigInt(Vec<Option<i64>>),
    Integer(Vec<i32>),
    Text(Vec<String>),
    Timestamp(Vec<NaiveDateTime>),
}

/// `sql` with one `?` for each of `columns`, in order (no other `?` in it).
pub struct Prepared {
    sql: &'static str,
    columns: Vec<Column>,
}

impl Prepared {
    pub fn new(sql: &'static str, columns: Vec<Column>) -> Self {
        debug_assert_eq!(sql.matches('?').count(), columns.len(), "{sql}");
        Prepared { sql, columns }
    }
}

impl QueryFragment<Pg> for Prepared {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let mut pieces = self.sql.split('?');
        out.push_sql(pieces.next().unwrap_or_default());
        for (column, piece) in self.columns.iter().zip(pieces) {
            match column {
                Column::BigInt(v) => out.push_bind_param::<Array<BigInt>, _>(v)?,
                Column::NullableBigInt(v) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(v)?,
                Column::Integer(v) => out.push_bind_param::<Array<Integer>, _>(v)?,
                Column::Text(v) => out.push_bind_param::<Array<Text>, _>(v)?,
                Column::Timestamp(v) => out.push_bind_param::<Array<Timestamp>, _>(v)?,
            }
            out.push_sql(piece);
        }
        Ok(())
    }
}

/// No static id: diesel then keys its cache by the SQL text and bind types.
impl QueryId for Prepared {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl Query for Prepared {
    type SqlType = Untyped;
}

impl RunQueryDsl<diesel::PgConnection> for Prepared {}
