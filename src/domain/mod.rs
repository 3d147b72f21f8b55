//! Pure rules: no I/O, no database, unit-tested on their own.

pub mod access;
pub mod account;
pub mod assignment;
pub mod audit;
pub mod campaign;
pub mod import;
pub mod nomination;
pub mod org;
pub mod refusal;
pub mod roles;
pub mod round;
pub mod scoring;
pub mod text;
pub mod time;
pub mod vote;

/// At most the first 32 characters of `text`, with "…" when there was more:
/// what a message may repeat of a client's input, so that a megabyte in a
/// field never comes back a megabyte long (once per row).
pub fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 32;
    match text.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_owned(),
    }
}
