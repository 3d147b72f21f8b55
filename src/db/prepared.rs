//! Statements of fixed text that the database prepares once per connection.
//!
//! diesel caches a prepared statement only when it knows the statement's
//! text is the same every time: never for `sql_query`, an `UPDATE`, an
//! upsert, a multi-row insert or an `IN` list. Each of those is parsed anew
//! on every call (on PostgreSQL planned too): a quarter of the PostgreSQL
//! server's time for the vote writer's batches, and of the SQLite writer's
//! own. A [`Prepared`] statement is cached by its
//! text, so it is parsed once per connection; on the PostgreSQL vote writer's
//! connection, which forces generic plans, it is planned once too.
//!
//! Its binds are [`Column`]s (PostgreSQL arrays, one per column of a batch's
//! rows) or [`Value`]s (one value, either backend).

use crate::domain::time::Timestamp as Moment;
use diesel::backend::Backend;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::serialize::ToSql;
use diesel::sql_types::{Array, BigInt, HasSqlType, Integer, Nullable, Text, Timestamp, Untyped};
use diesel::{QueryResult, RunQueryDsl};

/// One bound array, with its SQL type (PostgreSQL).
pub enum Column {
    BigInt(Vec<i64>),
    NullableBigInt(Vec<Option<i64>>),
    Integer(Vec<i32>),
    Text(Vec<String>),
    Timestamp(Vec<Moment>),
}

/// One bound value, with its SQL type (either backend).
pub enum Value {
    BigInt(i64),
    Integer(i32),
    Text(String),
}

/// `sql` with one `?` for each of `binds`, in order (no other `?` in it).
pub struct Prepared<B = Column> {
    sql: &'static str,
    binds: Vec<B>,
}

impl<B> Prepared<B> {
    pub fn new(sql: &'static str, binds: Vec<B>) -> Self {
        // A missing bind would silently cut the SQL after it (see `walk`).
        assert_eq!(sql.matches('?').count(), binds.len(), "{sql}");
        Prepared { sql, binds }
    }

    /// The text between the `?`s, each bind with the piece after it.
    fn walk<'b, DB: Backend>(
        &'b self,
        mut out: AstPass<'_, 'b, DB>,
        bind: impl Fn(&mut AstPass<'_, 'b, DB>, &'b B) -> QueryResult<()>,
    ) -> QueryResult<()> {
        let mut pieces = self.sql.split('?');
        out.push_sql(pieces.next().unwrap_or_default());
        for (value, piece) in self.binds.iter().zip(pieces) {
            bind(&mut out, value)?;
            out.push_sql(piece);
        }
        Ok(())
    }
}

impl QueryFragment<Pg> for Prepared<Column> {
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.walk(out, |out, column| match column {
            Column::BigInt(v) => out.push_bind_param::<Array<BigInt>, _>(v),
            Column::NullableBigInt(v) => out.push_bind_param::<Array<Nullable<BigInt>>, _>(v),
            Column::Integer(v) => out.push_bind_param::<Array<Integer>, _>(v),
            Column::Text(v) => out.push_bind_param::<Array<Text>, _>(v),
            Column::Timestamp(v) => out.push_bind_param::<Array<Timestamp>, _>(v),
        })
    }
}

impl<DB> QueryFragment<DB> for Prepared<Value>
where
    DB: Backend + HasSqlType<BigInt> + HasSqlType<Integer> + HasSqlType<Text>,
    i64: ToSql<BigInt, DB>,
    i32: ToSql<Integer, DB>,
    String: ToSql<Text, DB>,
{
    fn walk_ast<'b>(&'b self, out: AstPass<'_, 'b, DB>) -> QueryResult<()> {
        self.walk(out, |out, value| match value {
            Value::BigInt(v) => out.push_bind_param::<BigInt, _>(v),
            Value::Integer(v) => out.push_bind_param::<Integer, _>(v),
            Value::Text(v) => out.push_bind_param::<Text, _>(v),
        })
    }
}

/// No static id: diesel then keys its cache by the SQL text and bind types.
impl<B> QueryId for Prepared<B> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<B> Query for Prepared<B> {
    type SqlType = Untyped;
}

impl RunQueryDsl<diesel::PgConnection> for Prepared<Column> {}
impl<C: diesel::Connection> RunQueryDsl<C> for Prepared<Value> {}
