//! The two migration sets (migrations/sqlite, migrations/postgres) describe
//! one schema in two dialects. Both are applied to fresh databases and read
//! back from the catalogs (SQLite's pragmas, PostgreSQL's information_schema
//! and pg_catalog) as facts per table: its columns with their nullability and
//! a normalised type, primary key, unique constraints, indexes, foreign keys
//! with their actions, the number of CHECK constraints and the names of those
//! named explicitly, and triggers. Any fact one backend has and the other has
//! not fails the test, unless it is in [`KNOWN`], with its reason; a known
//! difference that is gone fails it too, so the list stays true.

use std::collections::{BTreeMap, BTreeSet};

use awards::db::{DatabaseUrl, DbConn};
use diesel::sql_types::{Array, BigInt, Bool, Nullable, Text};
use diesel::{QueryableByName, RunQueryDsl};

use crate::helpers::TestDb;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

/// A difference between the backends that is meant: the table (all of it,
/// without a fact) or the fact only one of them has, and why.
struct Known {
    only_on: Backend,
    table: &'static str,
    fact: Option<&'static str>,
    why: &'static str,
}

const KNOWN: &[Known] = &[
    Known {
        only_on: Backend::Postgres,
        table: "ballots",
        fact: None,
        why: "PostgreSQL keeps a counter row per voter: its vote writers (and nodes) run side by side, \
              and the row serialises one voter's racing votes; SQLite dropped it (2026-11-28-000006_ledger)",
    },
    Known {
        only_on: Backend::Sqlite,
        table: "votes",
        fact: Some("trigger votes_within_limit"),
        why: "SQLite bounds a voter's votes with a trigger that counts their vote rows instead of \
              ballots (2026-11-28-000006_ledger): it has one writer, so the count cannot race",
    },
];

/// Not part of the service's schema: diesel's record of applied migrations.
const DIESEL_TABLE: &str = "__diesel_schema_migrations";

/// Table → its facts.
type Schema = BTreeMap<String, BTreeSet<String>>;

fn migrated(url: &str) -> DbConn {
    let mut conn = DatabaseUrl::parse(url).expect("url").connect().expect("connect");
    awards::db::migrate(&mut conn).expect("migrations apply");
    conn
}

#[test]
fn sqlite_and_postgres_migrate_to_the_same_schema() {
    let (_sqlite, sqlite_url) = TestDb::sqlite();
    let (_postgres, postgres_url) = TestDb::postgres();
    let DbConn::Sqlite(mut lite) = migrated(&sqlite_url) else { unreachable!("an SQLite URL") };
    let DbConn::Pg(mut pg) = migrated(&postgres_url) else { unreachable!("a PostgreSQL URL") };
    let sqlite = sqlite_schema(&mut lite);
    let postgres = postgres_schema(&mut pg);
    assert!(
        sqlite.len() >= 15 && postgres.len() >= 15,
        "read {} and {} tables",
        sqlite.len(),
        postgres.len()
    );
    for (table, facts) in sqlite.iter().chain(&postgres) {
        assert!(facts.iter().any(|f| f.starts_with("column ")), "{table} has columns: {facts:?}");
    }

    let mut unexpected = vec![];
    let mut seen = vec![false; KNOWN.len()];
    let mut known = |only_on: Backend, table: &str, fact: Option<&str>| {
        let found = KNOWN.iter().position(|k| k.only_on == only_on && k.table == table && k.fact == fact);
        if let Some(i) = found {
            seen[i] = true;
        }
        found.is_some()
    };
    let tables: BTreeSet<&String> = sqlite.keys().chain(postgres.keys()).collect();
    for table in tables {
        match (sqlite.get(table), postgres.get(table)) {
            (Some(_), None) if known(Backend::Sqlite, table, None) => {}
            (None, Some(_)) if known(Backend::Postgres, table, None) => {}
            (Some(_), None) => unexpected.push(format!("table {table} only on SQLite")),
            (None, Some(_)) => unexpected.push(format!("table {table} only on PostgreSQL")),
            (Some(s), Some(p)) => {
                for (only_on, ours, theirs) in [(Backend::Sqlite, s, p), (Backend::Postgres, p, s)] {
                    for fact in ours.difference(theirs) {
                        if !known(only_on, table, Some(fact)) {
                            unexpected.push(format!("{table}: {fact} only on {only_on:?}"));
                        }
                    }
                }
            }
            (None, None) => unreachable!(),
        }
    }
    let gone: Vec<String> = KNOWN
        .iter()
        .zip(&seen)
        .filter(|(_, seen)| !**seen)
        .map(|(k, _)| {
            format!("{} {} only on {:?} ({})", k.table, k.fact.unwrap_or("(the table)"), k.only_on, k.why)
        })
        .collect();
    assert!(
        unexpected.is_empty() && gone.is_empty(),
        "the migrated schemas differ otherwise than KNOWN says.\nUnexpected differences:\n  {}\n\
         Known differences no longer there (remove them from KNOWN):\n  {}\n\nSQLite: {sqlite:#?}\n\
         PostgreSQL: {postgres:#?}",
        unexpected.join("\n  "),
        gone.join("\n  ")
    );
}

/// A declared or reported column type, named one way for both backends.
fn normalised_type(kind: &str) -> String {
    let kind = kind.trim().to_lowercase();
    match kind.as_str() {
        "int" | "integer" | "int4" => "integer".into(),
        "bigint" | "int8" => "bigint".into(),
        "smallint" | "int2" => "smallint".into(),
        "double" | "double precision" | "float8" | "real" => "double precision".into(),
        "bool" | "boolean" => "boolean".into(),
        "timestamp" | "timestamp without time zone" => "timestamp".into(),
        "character varying" => "varchar".into(),
        _ if kind.starts_with("varchar") => "varchar".into(),
        _ => kind,
    }
}

fn column(name: &str, kind: &str, nullable: bool) -> String {
    format!("column {name} {} {}", normalised_type(kind), if nullable { "null" } else { "not null" })
}

fn list(columns: &[String]) -> String {
    columns.join(", ")
}

fn foreign_key(from: &[String], table: &str, to: &[String], on_update: &str, on_delete: &str) -> String {
    format!(
        "foreign key ({}) references {table} ({}) on update {} on delete {}",
        list(from),
        list(to),
        on_update.to_lowercase(),
        on_delete.to_lowercase()
    )
}

fn index(name: &str, unique: bool, columns: &[String], partial: bool) -> String {
    let kind = if unique { "unique index" } else { "index" };
    format!("{kind} {name} ({}){}", list(columns), if partial { " partial" } else { "" })
}

/// SQL without its `--` comments, lowercased, for counting keywords.
fn bare_sql(sql: &str) -> String {
    sql.lines().map(|l| l.split("--").next().unwrap_or("")).collect::<Vec<_>>().join("\n").to_lowercase()
}

/// The CHECK constraints of a CREATE TABLE statement: how many, and the
/// names of those named explicitly (`CONSTRAINT name CHECK`).
fn sqlite_checks(sql: &str) -> (usize, Vec<String>) {
    let sql = bare_sql(sql);
    let words: Vec<&str> = sql
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '('))
        .filter(|w| !w.is_empty())
        .collect();
    let mut count = 0;
    let mut named = vec![];
    for (i, word) in words.iter().enumerate() {
        if *word == "check" || word.starts_with("check(") {
            count += 1;
            if i >= 2 && words[i - 2] == "constraint" {
                named.push(words[i - 1].to_owned());
            }
        }
    }
    (count, named)
}

fn sqlite_schema(conn: &mut diesel::SqliteConnection) -> Schema {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        sql: String,
    }
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Bool)]
        not_null: bool,
        /// The column's place in the primary key, from 1; 0 when not in it.
        #[diesel(sql_type = BigInt)]
        pk: i64,
    }
    #[derive(QueryableByName)]
    struct Index {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Bool)]
        is_unique: bool,
        /// `c` CREATE INDEX, `u` a UNIQUE constraint, `pk` the primary key.
        #[diesel(sql_type = Text)]
        origin: String,
        #[diesel(sql_type = Bool)]
        partial: bool,
    }
    #[derive(QueryableByName)]
    struct IndexColumn {
        #[diesel(sql_type = Nullable<Text>)]
        name: Option<String>,
    }
    #[derive(QueryableByName)]
    struct ForeignKey {
        #[diesel(sql_type = BigInt)]
        id: i64,
        #[diesel(sql_type = Text)]
        ref_table: String,
        #[diesel(sql_type = Text)]
        from_column: String,
        #[diesel(sql_type = Nullable<Text>)]
        to_column: Option<String>,
        #[diesel(sql_type = Text)]
        on_update: String,
        #[diesel(sql_type = Text)]
        on_delete: String,
    }
    #[derive(QueryableByName)]
    struct Trigger {
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        table_name: String,
    }

    let tables: Vec<Table> = diesel::sql_query(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'",
    )
    .load(conn)
    .expect("sqlite_master");
    let mut schema = Schema::new();
    let mut primary_keys: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for table in tables.iter().filter(|t| t.name != DIESEL_TABLE) {
        let facts = schema.entry(table.name.clone()).or_default();
        let bind = |sql: &str| diesel::sql_query(sql.to_owned()).bind::<Text, _>(table.name.clone());
        let columns: Vec<Column> = bind(
            "SELECT name, type AS kind, \"notnull\" AS not_null, pk FROM pragma_table_info(?) ORDER BY cid",
        )
        .load(conn)
        .expect("pragma_table_info");
        let mut key: Vec<&Column> = columns.iter().filter(|c| c.pk > 0).collect();
        key.sort_by_key(|c| c.pk);
        let without_rowid = bare_sql(&table.sql).contains("without rowid");
        // A lone INTEGER PRIMARY KEY of a rowid table is the rowid: 64 bits,
        // never NULL, as PostgreSQL's BIGSERIAL.
        let rowid = match key.as_slice() {
            [only] if !without_rowid && only.kind.eq_ignore_ascii_case("integer") => Some(only.name.clone()),
            _ => None,
        };
        for c in &columns {
            let is_rowid = rowid.as_deref() == Some(c.name.as_str());
            let kind = if is_rowid { "bigint" } else { c.kind.as_str() };
            // A WITHOUT ROWID table's key columns are never NULL either.
            let not_null = c.not_null || is_rowid || (without_rowid && c.pk > 0);
            facts.insert(column(&c.name, kind, !not_null));
        }
        let key: Vec<String> = key.iter().map(|c| c.name.clone()).collect();
        if !key.is_empty() {
            facts.insert(format!("primary key ({})", list(&key)));
        }
        primary_keys.insert(table.name.clone(), key);

        let indexes: Vec<Index> =
            bind("SELECT name, \"unique\" AS is_unique, origin, partial FROM pragma_index_list(?)")
                .load(conn)
                .expect("pragma_index_list");
        for i in indexes {
            let columns: Vec<String> =
                diesel::sql_query("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                    .bind::<Text, _>(&i.name)
                    .load::<IndexColumn>(conn)
                    .expect("pragma_index_info")
                    .into_iter()
                    .map(|c| c.name.unwrap_or_else(|| "(expression)".into()))
                    .collect();
            match i.origin.as_str() {
                "pk" => {}
                "u" => {
                    facts.insert(format!("unique ({})", list(&columns)));
                }
                _ => {
                    facts.insert(index(&i.name, i.is_unique, &columns, i.partial));
                }
            }
        }

        let (checks, named) = sqlite_checks(&table.sql);
        facts.insert(format!("check constraints: {checks}"));
        facts.extend(named.into_iter().map(|name| format!("check {name}")));
    }
    // Foreign keys last: one that names no column points at the parent's key.
    for table in tables.iter().filter(|t| t.name != DIESEL_TABLE) {
        let keys: Vec<ForeignKey> = diesel::sql_query(
            "SELECT id, \"table\" AS ref_table, \"from\" AS from_column, \"to\" AS to_column, on_update, on_delete \
             FROM pragma_foreign_key_list(?) ORDER BY id, seq",
        )
        .bind::<Text, _>(&table.name)
        .load(conn)
        .expect("pragma_foreign_key_list");
        let mut by_id: BTreeMap<i64, Vec<ForeignKey>> = BTreeMap::new();
        for key in keys {
            by_id.entry(key.id).or_default().push(key);
        }
        for parts in by_id.values() {
            let first = &parts[0];
            let from: Vec<String> = parts.iter().map(|p| p.from_column.clone()).collect();
            let to: Vec<String> = match parts.iter().map(|p| p.to_column.clone()).collect::<Option<Vec<_>>>()
            {
                Some(to) => to,
                None => primary_keys.get(&first.ref_table).cloned().unwrap_or_default(),
            };
            let fact = foreign_key(&from, &first.ref_table, &to, &first.on_update, &first.on_delete);
            schema.get_mut(&table.name).unwrap().insert(fact);
        }
    }
    let triggers: Vec<Trigger> =
        diesel::sql_query("SELECT name, tbl_name AS table_name FROM sqlite_master WHERE type = 'trigger'")
            .load(conn)
            .expect("triggers");
    for trigger in triggers {
        schema.entry(trigger.table_name).or_default().insert(format!("trigger {}", trigger.name));
    }
    schema
}

/// SQL for the names of these attribute numbers of a relation, in order, as text[].
fn column_names(numbers: &str, relation: &str) -> String {
    format!(
        "ARRAY(SELECT a.attname::text FROM unnest({numbers}) WITH ORDINALITY AS k(num, pos) \
         JOIN pg_attribute a ON a.attrelid = {relation} AND a.attnum = k.num ORDER BY k.pos)"
    )
}

fn postgres_schema(conn: &mut diesel::PgConnection) -> Schema {
    #[derive(QueryableByName)]
    struct Table {
        #[diesel(sql_type = Text)]
        name: String,
    }
    #[derive(QueryableByName)]
    struct Column {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Bool)]
        nullable: bool,
    }
    #[derive(QueryableByName)]
    struct Constraint {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        name: String,
        /// `p` primary key, `u` unique, `f` foreign key, `c` check.
        #[diesel(sql_type = Text)]
        kind: String,
        #[diesel(sql_type = Array<Text>)]
        columns: Vec<String>,
        #[diesel(sql_type = Nullable<Text>)]
        ref_table: Option<String>,
        #[diesel(sql_type = Array<Text>)]
        ref_columns: Vec<String>,
        #[diesel(sql_type = Text)]
        on_update: String,
        #[diesel(sql_type = Text)]
        on_delete: String,
    }
    #[derive(QueryableByName)]
    struct Index {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        name: String,
        #[diesel(sql_type = Bool)]
        is_unique: bool,
        #[diesel(sql_type = Array<Text>)]
        columns: Vec<String>,
        #[diesel(sql_type = Bool)]
        partial: bool,
    }
    #[derive(QueryableByName)]
    struct Trigger {
        #[diesel(sql_type = Text)]
        table_name: String,
        #[diesel(sql_type = Text)]
        name: String,
    }

    let mut schema = Schema::new();
    let tables: Vec<Table> = diesel::sql_query(
        "SELECT table_name::text AS name FROM information_schema.tables \
         WHERE table_schema = 'public' AND table_type = 'BASE TABLE'",
    )
    .load(conn)
    .expect("information_schema.tables");
    for table in tables.into_iter().filter(|t| t.name != DIESEL_TABLE) {
        schema.entry(table.name).or_default();
    }
    let columns: Vec<Column> = diesel::sql_query(
        "SELECT table_name::text AS table_name, column_name::text AS name, data_type::text AS kind, \
         is_nullable = 'YES' AS nullable FROM information_schema.columns WHERE table_schema = 'public'",
    )
    .load(conn)
    .expect("information_schema.columns");
    for c in columns {
        if let Some(facts) = schema.get_mut(&c.table_name) {
            facts.insert(column(&c.name, &c.kind, c.nullable));
        }
    }

    let constraints: Vec<Constraint> = diesel::sql_query(format!(
        "SELECT cl.relname::text AS table_name, con.conname::text AS name, con.contype::text AS kind, \
           {} AS columns, rf.relname::text AS ref_table, {} AS ref_columns, \
           con.confupdtype::text AS on_update, con.confdeltype::text AS on_delete \
         FROM pg_constraint con \
         JOIN pg_class cl ON cl.oid = con.conrelid \
         JOIN pg_namespace ns ON ns.oid = cl.relnamespace \
         LEFT JOIN pg_class rf ON rf.oid = con.confrelid \
         WHERE ns.nspname = 'public' AND con.contype IN ('p', 'u', 'f', 'c')",
        column_names("con.conkey", "con.conrelid"),
        column_names("con.confkey", "con.confrelid"),
    ))
    .load(conn)
    .expect("pg_constraint");
    let action = |code: &str| match code {
        "a" => "no action",
        "r" => "restrict",
        "c" => "cascade",
        "n" => "set null",
        "d" => "set default",
        other => panic!("foreign key action {other:?}"),
    };
    let mut checks: BTreeMap<String, usize> = BTreeMap::new();
    for c in constraints {
        let table = c.table_name.clone();
        let Some(facts) = schema.get_mut(&table) else { continue };
        match c.kind.as_str() {
            "p" => {
                facts.insert(format!("primary key ({})", list(&c.columns)));
            }
            "u" => {
                facts.insert(format!("unique ({})", list(&c.columns)));
            }
            "f" => {
                let to = c.ref_table.as_deref().expect("the referenced table");
                facts.insert(foreign_key(
                    &c.columns,
                    to,
                    &c.ref_columns,
                    action(&c.on_update),
                    action(&c.on_delete),
                ));
            }
            _ => {
                *checks.entry(table.clone()).or_default() += 1;
                // PostgreSQL names an unnamed CHECK `<table>[_<column>]_check[N]`;
                // other names were given in the migration, as SQLite keeps them.
                let generated = c.name.strip_prefix(&format!("{table}_")).is_some_and(|rest| {
                    rest.trim_end_matches(|ch: char| ch.is_ascii_digit()).ends_with("check")
                }) || c.name.trim_end_matches(|ch: char| ch.is_ascii_digit())
                    == format!("{table}_check");
                if !generated {
                    facts.insert(format!("check {}", c.name));
                }
            }
        }
    }
    let names: Vec<String> = schema.keys().cloned().collect();
    for table in names {
        let count = checks.get(&table).copied().unwrap_or(0);
        schema.get_mut(&table).unwrap().insert(format!("check constraints: {count}"));
    }

    let indexes: Vec<Index> = diesel::sql_query(format!(
        "SELECT t.relname::text AS table_name, i.relname::text AS name, ix.indisunique AS is_unique, \
           {} AS columns, ix.indpred IS NOT NULL AS partial \
         FROM pg_index ix \
         JOIN pg_class i ON i.oid = ix.indexrelid \
         JOIN pg_class t ON t.oid = ix.indrelid \
         JOIN pg_namespace ns ON ns.oid = t.relnamespace \
         WHERE ns.nspname = 'public' AND NOT EXISTS ( \
           SELECT 1 FROM pg_constraint c WHERE c.conindid = ix.indexrelid AND c.contype IN ('p', 'u', 'x'))",
        column_names("ix.indkey::int2[]", "ix.indrelid"),
    ))
    .load(conn)
    .expect("pg_index");
    for i in indexes {
        if let Some(facts) = schema.get_mut(&i.table_name) {
            facts.insert(index(&i.name, i.is_unique, &i.columns, i.partial));
        }
    }

    let triggers: Vec<Trigger> = diesel::sql_query(
        "SELECT c.relname::text AS table_name, t.tgname::text AS name FROM pg_trigger t \
         JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace ns ON ns.oid = c.relnamespace \
         WHERE ns.nspname = 'public' AND NOT t.tgisinternal",
    )
    .load(conn)
    .expect("pg_trigger");
    for trigger in triggers {
        schema.entry(trigger.table_name).or_default().insert(format!("trigger {}", trigger.name));
    }
    schema
}
