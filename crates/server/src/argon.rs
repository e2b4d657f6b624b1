//! Argon2id hashing of staff secrets (till PINs, server passwords), on the blocking pool and
//! through a bounded gate: at most [`RUNNING`] checks at once and [`QUEUED`] waiting, past which
//! a check is refused at once (429, retry in a second). A flood of sign-ins from many addresses
//! then costs a bounded amount of memory and blocking threads, and other requests go on.

use crate::error::Error;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::OnceLock;
use tokio::sync::Semaphore;

/// Argon2 checks running at once (each ~15-110 ms of one core and up to 64 MiB).
pub const RUNNING: usize = 4;
/// Checks waiting for a turn before new ones are refused.
pub const QUEUED: usize = 64;

static GATE: Gate = Gate::new(RUNNING, QUEUED);

/// Blocking work, bounded in how much runs and waits at once.
pub struct Gate {
    permits: Semaphore,
    waiting: AtomicUsize,
    max_waiting: usize,
}

impl Gate {
    pub const fn new(running: usize, queued: usize) -> Self {
        Gate {
            permits: Semaphore::const_new(running),
            waiting: AtomicUsize::new(0),
            max_waiting: queued,
        }
    }

    /// Runs `f` on the blocking pool when a turn comes, or refuses at once when the queue is
    /// full.
    pub async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Error> {
        if self.waiting.fetch_add(1, Ordering::SeqCst) >= self.max_waiting {
            self.waiting.fetch_sub(1, Ordering::SeqCst);
            return Err(Error::RateLimited { seconds: 1 });
        }
        let permit = self.permits.acquire().await;
        self.waiting.fetch_sub(1, Ordering::SeqCst);
        let _permit = permit.map_err(|e| Error::Internal(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| Error::Internal(format!("argon2 task: {e}")))
    }
}

/// The argon2id settings of PIN verifiers, which travel to the tills in the roster: 64 MiB and
/// three passes, about 110 ms on this project's 2-core machine (BENCHMARKS.md), so that whoever
/// copies a till's file pays that much for every PIN guessed offline. A till verifies with the
/// settings the hash names.
pub fn pin_hasher() -> Argon2<'static> {
    Argon2::new(
        argon2::Algorithm::Argon2id,
        argon2::Version::V0x13,
        argon2::Params::new(
            dukkan_core::staff::PIN_HASH_MEMORY_KIB,
            dukkan_core::staff::PIN_HASH_PASSES,
            1,
            None,
        )
        .unwrap_or_default(),
    )
}

/// Hashes a secret off the async threads (argon2 is slow on purpose).
pub(crate) async fn hash(secret: String, hasher: Argon2<'static>) -> Result<String, Error> {
    GATE.run(move || {
        let salt = SaltString::generate(&mut OsRng);
        hasher
            .hash_password(secret.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    })
    .await?
}

/// Verifies `secret` against a stored PHC string (with the settings it names), off the async
/// threads.
pub(crate) async fn verify(secret: String, phc: String) -> Result<bool, Error> {
    GATE.run(move || {
        PasswordHash::new(&phc)
            .map(|h| {
                Argon2::default()
                    .verify_password(secret.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
}

/// A hash no password matches, verified when the staff member does not exist or has no
/// password so that the answer takes as long as for a wrong one (no probing by timing).
pub(crate) fn decoy_hash() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"decoy, never a password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[tokio::test]
    async fn a_full_gate_refuses_at_once_and_never_runs_more_than_its_share() {
        let gate = Arc::new(Gate::new(2, 3));
        let now = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let runs: Vec<_> = (0..10)
            .map(|_| {
                let (gate, now, most) = (gate.clone(), now.clone(), most.clone());
                tokio::spawn(async move {
                    gate.run(move || {
                        let n = now.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(n, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(100));
                        now.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await
                })
            })
            .collect();
        let mut done = 0;
        let mut refused = 0;
        for r in runs {
            match r.await.unwrap() {
                Ok(()) => done += 1,
                Err(Error::RateLimited { seconds: 1 }) => refused += 1,
                Err(e) => panic!("{e:?}"),
            }
        }
        assert_eq!((done, refused), (5, 5), "two running and three waiting");
        assert_eq!(most.load(Ordering::SeqCst), 2);
        // Once the queue drains, checks run again.
        assert!(gate.run(|| ()).await.is_ok());
    }
}
