//! Integration tests: the real service over HTTP, on SQLite and PostgreSQL.

mod helpers;

mod audit;
mod auth;
mod authz;
mod cli;
mod console;
mod crash;
mod demo;
mod import;
mod limits;
mod nominations;
mod ops;
mod org;
mod schema;
mod screening;
mod secrets;
mod users;
mod voting;
