use std::sync::Arc;
use std::time::{Duration, Instant};

use argon2::password_hash::{rand_core::OsRng, Output, PasswordHash, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use crossbeam_channel::{bounded, Sender, TrySendError};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::oneshot;

use crate::config::{cores, HashSettings};

type Job = Box<dyn FnOnce(&Core, &mut Vec<Block>) + Send>;

/// argon2id on a fixed pool of worker threads. At most `workers` hashes run at
/// once, each in its worker's own reused memory (19 MiB by default), so memory
/// stays at workers × cost however many sign-ins arrive; at most `queue` more
/// wait, and the rest are turned away at once (503) instead of piling up.
/// A queued job that has waited longer than `MAX_QUEUE_WAIT` when a worker
/// reaches it is turned away too, and one whose caller is gone is skipped: how
/// long 256 waiting hashes take depends on how busy the cores are, and on a
/// loaded machine a full queue alone kept sign-ins waiting over 10 seconds.
#[derive(Clone)]
pub struct Hasher {
    core: Arc<Core>,
    jobs: Sender<Job>,
    max_wait: Duration,
}

/// Lowers the calling thread's scheduling priority (nice 10), so that the
/// request workers get the cores first: a burst of sign-ins then waits a
/// little longer for its hashes instead of every other request waiting behind
/// them (a 2,000-login burst held `GET /me` p99 at 100-220 ms before). Not
/// the least priority (19): a hash would then get next to no CPU while the
/// cores are busy with votes, and every sign-in during a vote storm would
/// wait out its 2 seconds and get 503. On Linux the nice value is per thread.
fn yield_to_requests() {
    #[cfg(target_os = "linux")]
    {
        if let Err(e) = rustix::process::setpriority_process(None, HASH_NICENESS) {
            tracing::warn!(error = %e, "could not lower the hash worker's priority");
        }
    }
}

/// The hash workers' nice value (0 is the default, 19 the least priority).
const HASH_NICENESS: i32 = 10;

/// The longest a hash job waits for a worker before its sign-in gets 503.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(2);

pub struct Core {
    argon: Argon2<'static>,
    dummy_hash: String,
}

#[derive(Debug, thiserror::Error)]
pub enum HasherError {
    #[error("too many password checks in progress")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
}

impl Core {
    /// A new PHC hash string, computed in the given memory: a worker reuses
    /// its 19 MiB for every hash, as for every verification, instead of the
    /// allocator keeping a fresh block per hash (a burst of activations had
    /// grown the heap by 15 MiB per account).
    fn hash(&self, password: &SecretString, memory: &mut Vec<Block>) -> Result<String, HasherError> {
        let failed = |e: argon2::password_hash::Error| HasherError::Failed(e.to_string());
        let salt = SaltString::generate(&mut OsRng);
        let mut salt_bytes = [0u8; 64];
        let raw_salt = salt.as_salt().decode_b64(&mut salt_bytes).map_err(failed)?;
        let params = self.argon.params();
        memory.resize(params.block_count(), Block::default());
        let mut out = vec![0u8; params.output_len().unwrap_or(Params::DEFAULT_OUTPUT_LEN)];
        self.argon
            .hash_password_into_with_memory(
                password.expose_secret().as_bytes(),
                raw_salt,
                &mut out,
                &mut memory[..],
            )
            .map_err(|e| HasherError::Failed(e.to_string()))?;
        let phc = PasswordHash {
            algorithm: Algorithm::Argon2id.ident(),
            version: Some(Version::V0x13.into()),
            params: params.try_into().map_err(failed)?,
            salt: Some(salt.as_salt()),
            hash: Some(Output::new(&out).map_err(failed)?),
        };
        Ok(phc.to_string())
    }

    /// Checks a password against a PHC hash string in the given memory.
    /// `None` (no such account, or not activated) is checked against a dummy
    /// hash, so it takes as long as a real check, and answers no.
    fn verify(&self, password: &SecretString, stored: Option<&str>, memory: &mut Vec<Block>) -> bool {
        let Ok(parsed) = PasswordHash::new(stored.unwrap_or(&self.dummy_hash)) else {
            return false;
        };
        verify_in(&parsed, password.expose_secret().as_bytes(), memory) && stored.is_some()
    }
}

/// argon2id verification with caller-owned memory: the same computation as
/// `PasswordVerifier::verify_password`, without allocating and faulting in the
/// memory cost on every call. Other algorithms fall back to the plain path.
fn verify_in(parsed: &PasswordHash<'_>, password: &[u8], memory: &mut Vec<Block>) -> bool {
    let argon2id =
        parsed.algorithm == Algorithm::Argon2id.ident() && parsed.version == Some(Version::V0x13.into());
    let (Some(salt), Some(expected), Ok(params)) = (parsed.salt, parsed.hash, Params::try_from(parsed))
    else {
        return false;
    };
    if !argon2id {
        return Argon2::default().verify_password(password, parsed).is_ok();
    }
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    memory.resize(params.block_count(), Block::default());
    let mut out = vec![0u8; expected.len()];
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
    if argon.hash_password_into_with_memory(password, salt, &mut out, &mut memory[..]).is_err() {
        return false;
    }
    // Output's equality is constant-time.
    Output::new(&out).is_ok_and(|computed| computed == expected)
}

impl Hasher {
    pub fn new(settings: &HashSettings) -> anyhow::Result<Self> {
        let params = Params::new(
            settings.argon2_memory_kib,
            settings.argon2_iterations,
            settings.argon2_parallelism,
            None,
        )
        .map_err(|e| anyhow::anyhow!("invalid argon2 parameters: {e}"))?;
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut core = Core { argon, dummy_hash: String::new() };
        core.dummy_hash = core.hash(&SecretString::from("dummy password for timing"), &mut Vec::new())?;
        let core = Arc::new(core);
        let (jobs, queue) = bounded::<Job>(settings.hash_queue);
        for n in 0..settings.hash_workers.unwrap_or_else(cores).max(1) {
            let (core, queue) = (core.clone(), queue.clone());
            std::thread::Builder::new().name(format!("argon2-{n}")).spawn(move || {
                yield_to_requests();
                let mut memory = Vec::new();
                // Ends when every Hasher clone is gone.
                for job in queue.iter() {
                    let run = std::panic::AssertUnwindSafe(|| job(&core, &mut memory));
                    if std::panic::catch_unwind(run).is_err() {
                        tracing::error!("a password hash job panicked");
                    }
                }
            })?;
        }
        Ok(Hasher { core, jobs, max_wait: MAX_QUEUE_WAIT })
    }

    /// Hashes on the calling thread; for the CLI and for code already off the async workers.
    pub fn hash_now(&self, password: &SecretString) -> Result<String, HasherError> {
        self.core.hash(password, &mut Vec::new())
    }

    /// Verifies on the calling thread with freshly allocated memory.
    pub fn verify_now(&self, password: &SecretString, hash: Option<&str>) -> bool {
        self.core.verify(password, hash, &mut Vec::new())
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, HasherError> {
        self.run(move |core, memory| core.hash(&password, memory)).await?
    }

    pub async fn verify(&self, password: SecretString, hash: Option<String>) -> Result<bool, HasherError> {
        self.run(move |core, memory| core.verify(&password, hash.as_deref(), memory)).await
    }

    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Core, &mut Vec<Block>) -> T + Send + 'static,
    ) -> Result<T, HasherError> {
        let (reply, answer) = oneshot::channel();
        let (queued, max_wait) = (Instant::now(), self.max_wait);
        let job: Job = Box::new(move |core, memory| {
            if reply.is_closed() {
                return;
            }
            let result =
                if queued.elapsed() > max_wait { Err(HasherError::Busy) } else { Ok(work(core, memory)) };
            let _ = reply.send(result);
        });
        self.jobs.try_send(job).map_err(|e| match e {
            TrySendError::Full(_) => HasherError::Busy,
            TrySendError::Disconnected(_) => HasherError::Failed("the hash workers have stopped".into()),
        })?;
        answer.await.map_err(|_| HasherError::Failed("a hash worker failed".into()))?
    }
}

#[cfg(test)]
mod tests {
    use argon2::password_hash::PasswordHasher;

    use super::*;

    fn cheap(queue: usize) -> Hasher {
        Hasher::new(&HashSettings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            hash_workers: Some(1),
            hash_queue: queue,
        })
        .unwrap()
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = cheap(4);
        let hash = h.hash_now(&SecretString::from("correct horse")).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(h.verify_now(&SecretString::from("correct horse"), Some(&hash)));
        assert!(!h.verify_now(&SecretString::from("wrong horse"), Some(&hash)));
        assert!(!h.verify_now(&SecretString::from("dummy password for timing"), None));
        assert!(!h.verify_now(&SecretString::from("x"), Some("not a hash")));
    }

    #[test]
    fn reused_memory_agrees_with_the_reference_verifier() {
        let h = cheap(4);
        let mut memory = Vec::new();
        // A hash made with other parameters than the configured ones still verifies.
        let other = Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::new(2048, 2, 1, None).unwrap());
        let salt = SaltString::generate(&mut OsRng);
        let stored = other.hash_password(b"pass phrase one", &salt).unwrap().to_string();
        for (password, expected) in
            [("pass phrase one", true), ("pass phrase two", false), ("pass phrase one", true)]
        {
            let secret = SecretString::from(password);
            assert_eq!(h.core.verify(&secret, Some(&stored), &mut memory), expected, "{password}");
            let reference =
                other.verify_password(password.as_bytes(), &PasswordHash::new(&stored).unwrap()).is_ok();
            assert_eq!(reference, expected);
        }
    }

    #[test]
    fn hashes_in_reused_memory_match_the_reference_hasher() {
        let h = cheap(4);
        let mut memory = Vec::new();
        for password in ["first pass phrase", "second pass phrase", "第三个密码"] {
            let secret = SecretString::from(password);
            let stored = h.core.hash(&secret, &mut memory).unwrap();
            let parsed = PasswordHash::new(&stored).unwrap();
            let reference = h.core.argon.hash_password(password.as_bytes(), parsed.salt.unwrap()).unwrap();
            assert_eq!(stored, reference.to_string());
            assert!(Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok());
        }
    }

    #[actix_web::test]
    async fn async_hash_and_verify_run_on_the_pool() {
        let h = cheap(4);
        let hash = h.hash(SecretString::from("pool password")).await.unwrap();
        assert!(h.verify(SecretString::from("pool password"), Some(hash.clone())).await.unwrap());
        assert!(!h.verify(SecretString::from("other password"), Some(hash)).await.unwrap());
    }

    #[actix_web::test]
    async fn a_job_that_waited_too_long_is_turned_away() {
        let mut h = cheap(4);
        h.max_wait = Duration::from_millis(50);
        let busy = h.clone();
        let holding = actix_web::rt::spawn(async move {
            busy.run(|_, _| std::thread::sleep(Duration::from_millis(200))).await
        });
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(matches!(h.verify(SecretString::from("x"), None).await, Err(HasherError::Busy)));
        assert!(holding.await.unwrap().is_ok());
        // The pool still works (with room for the worker's low priority on a busy machine).
        h.max_wait = MAX_QUEUE_WAIT;
        assert!(matches!(h.verify(SecretString::from("x"), None).await, Ok(false)));
    }

    #[actix_web::test]
    async fn a_full_pool_turns_requests_away() {
        let h = cheap(1);
        // One worker and a queue of one: with both taken, the next job is refused.
        let (release, held) = std::sync::mpsc::channel::<()>();
        let held = std::sync::Arc::new(std::sync::Mutex::new(held));
        let mut waiting = vec![];
        for _ in 0..2 {
            let (busy, held) = (h.clone(), held.clone());
            waiting.push(actix_web::rt::spawn(async move {
                busy.run(move |_, _| held.lock().map(|rx| rx.recv().is_ok()).unwrap_or(false)).await
            }));
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert!(matches!(h.verify(SecretString::from("x"), None).await, Err(HasherError::Busy)));
        for _ in 0..2 {
            release.send(()).unwrap();
        }
        for job in waiting {
            assert!(job.await.unwrap().unwrap());
        }
        assert!(h.verify(SecretString::from("x"), None).await.is_ok());
    }
}
