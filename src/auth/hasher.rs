use std::sync::Arc;

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::Semaphore;

use crate::config::{cores, HashSettings};

/// argon2id on a bounded pool. At most `workers` hashes run at once (each holds
/// its memory cost, 19 MiB by default), at most `queue` more wait, and the rest
/// are turned away at once so that a burst of logins cannot exhaust memory.
#[derive(Clone)]
pub struct Hasher {
    argon: Argon2<'static>,
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
    dummy_hash: Arc<str>,
}

#[derive(Debug, thiserror::Error)]
pub enum HasherError {
    #[error("too many password checks in progress")]
    Busy,
    #[error("password hashing failed: {0}")]
    Failed(String),
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
        let workers = settings.hash_workers.unwrap_or_else(cores).max(1);
        let mut hasher = Hasher {
            argon,
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers + settings.hash_queue)),
            dummy_hash: Arc::from(""),
        };
        hasher.dummy_hash = Arc::from(hasher.hash_now(&SecretString::from("dummy password for timing"))?);
        Ok(hasher)
    }

    /// Hashes on the calling thread; for the CLI and for code already off the async workers.
    pub fn hash_now(&self, password: &SecretString) -> Result<String, HasherError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon
            .hash_password(password.expose_secret().as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| HasherError::Failed(e.to_string()))
    }

    /// Verifies on the calling thread. `None` (no such account, or not yet
    /// activated) is checked against a dummy hash so that it takes as long as
    /// a real check and answers no.
    pub fn verify_now(&self, password: &SecretString, hash: Option<&str>) -> bool {
        let stored = hash.unwrap_or(&self.dummy_hash);
        let Ok(parsed) = PasswordHash::new(stored) else {
            return false;
        };
        let ok = self.argon.verify_password(password.expose_secret().as_bytes(), &parsed).is_ok();
        ok && hash.is_some()
    }

    pub async fn hash(&self, password: SecretString) -> Result<String, HasherError> {
        self.run(move |h| h.hash_now(&password)).await?
    }

    pub async fn verify(&self, password: SecretString, hash: Option<String>) -> Result<bool, HasherError> {
        self.run(move |h| h.verify_now(&password, hash.as_deref())).await
    }

    async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce(&Hasher) -> T + Send + 'static,
    ) -> Result<T, HasherError> {
        let _admitted = self.admitted.clone().try_acquire_owned().map_err(|_| HasherError::Busy)?;
        let running =
            self.running.clone().acquire_owned().await.map_err(|e| HasherError::Failed(e.to_string()))?;
        let hasher = self.clone();
        actix_web::rt::task::spawn_blocking(move || {
            let _running = running;
            job(&hasher)
        })
        .await
        .map_err(|e| HasherError::Failed(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cheap() -> Hasher {
        Hasher::new(&HashSettings {
            argon2_memory_kib: 1024,
            argon2_iterations: 1,
            argon2_parallelism: 1,
            hash_workers: Some(1),
            hash_queue: 0,
        })
        .unwrap()
    }

    #[test]
    fn hashes_are_argon2id_and_verify() {
        let h = cheap();
        let hash = h.hash_now(&SecretString::from("correct horse")).unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        assert!(h.verify_now(&SecretString::from("correct horse"), Some(&hash)));
        assert!(!h.verify_now(&SecretString::from("wrong horse"), Some(&hash)));
        assert!(!h.verify_now(&SecretString::from("dummy password for timing"), None));
        assert!(!h.verify_now(&SecretString::from("x"), Some("not a hash")));
    }

    #[actix_web::test]
    async fn a_full_pool_turns_requests_away() {
        let h = cheap();
        // One worker, no queue: while one job holds the worker, the next is refused.
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let busy = h.clone();
        let first = actix_web::rt::spawn(async move { busy.run(move |_| rx.recv().ok()).await });
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(matches!(h.verify(SecretString::from("x"), None).await, Err(HasherError::Busy)));
        tx.send(()).unwrap();
        first.await.unwrap().unwrap();
        assert!(h.verify(SecretString::from("x"), None).await.is_ok());
    }
}
