//! Pure rules: no I/O, no database, unit-tested on their own.

pub mod access;
pub mod account;
pub mod assignment;
pub mod audit;
pub mod campaign;
pub mod import;
pub mod roles;
pub mod round;
pub mod scoring;
pub mod vote;
