//! Password hashing on a bounded pool and access tokens.

mod hasher;
mod token;

pub use hasher::{Hasher, HasherError};
pub use token::{Claims, Tokens};

use rand::distributions::{Alphanumeric, DistString};
use sha2::{Digest, Sha256};

/// A one-time activation code: 16 characters of [A-Za-z0-9], about 95 bits.
pub fn new_activation_code() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 16)
}

/// Activation codes are random and long, so a fast hash protects them as well
/// as argon2 would, and importing 300,000 accounts stays quick.
pub fn hash_activation_code(code: &str) -> String {
    hex::encode(Sha256::digest(code.trim().as_bytes()))
}

/// Compares two hashes in constant time.
pub fn same_hash(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A random password for generated accounts (the first admin).
pub fn new_password() -> String {
    Alphanumeric.sample_string(&mut rand::thread_rng(), 20)
}
