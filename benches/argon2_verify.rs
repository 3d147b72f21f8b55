//! The raw argon2id verify rate on this machine: the baseline for login throughput.
//! One verifying thread per core, the service's default parameters.
//! `cargo bench --bench argon2_verify` (BENCH_SECS=10 by default).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use awards::auth::Hasher;
use awards::config::{cores, HashSettings};
use secrecy::SecretString;

fn main() {
    let secs: u64 = std::env::var("BENCH_SECS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let settings = HashSettings {
        argon2_memory_kib: 19 * 1024,
        argon2_iterations: 2,
        argon2_parallelism: 1,
        hash_workers: None,
        hash_queue: 0,
    };
    let hasher = Hasher::new(&settings).expect("hasher");
    let password = SecretString::from("bench password 123");
    let hash = hasher.hash_now(&password).expect("hash");
    let done = AtomicU64::new(0);
    let start = Instant::now();
    let deadline = start + Duration::from_secs(secs);
    std::thread::scope(|scope| {
        for _ in 0..cores() {
            scope.spawn(|| {
                while Instant::now() < deadline {
                    assert!(hasher.verify_now(&password, Some(&hash)));
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let rate = done.load(Ordering::Relaxed) as f64 / start.elapsed().as_secs_f64();
    println!("argon2id verify (m=19456 KiB, t=2, p=1) on {} threads: {rate:.1}/s", cores());
}
