//! awards: runs a staff award from nomination to published winners.
//!
//! `domain` decides, `store` persists, `http` translates.

pub mod auth;
pub mod cli;
pub mod config;
pub mod console;
pub mod db;
pub mod demo;
pub mod domain;
pub mod http;
pub mod i18n;
pub mod startup;
pub mod store;
pub mod telemetry;
