//! What a PIN check costs, with the argon2id settings a till verifies (`argon::pin_hasher`:
//! 64 MiB, 3 passes) against the library default the PINs had before (19 MiB, 2 passes) — in
//! the same run, so the ratio holds whatever the machine's load. It is also what one PIN guess
//! costs whoever copied a till's file. Run: `cargo bench -p dukkan-server --bench secrets`.
//! Prints p50 and p95 over 100 verifications of each.

use argon2::password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, SaltString};
use argon2::{Argon2, PasswordVerifier};
use std::time::{Duration, Instant};

fn percentiles(mut runs: Vec<Duration>) -> (Duration, Duration) {
    runs.sort();
    (runs[runs.len() / 2], runs[runs.len() * 95 / 100])
}

fn measure(label: &str, hasher: &Argon2<'_>) -> Duration {
    let salt = SaltString::generate(&mut OsRng);
    let phc = hasher
        .hash_password(b"246810", &salt)
        .expect("hash")
        .to_string();
    let parsed = PasswordHash::new(&phc).expect("a PHC string");
    let runs: Vec<Duration> = (0..100)
        .map(|_| {
            let start = Instant::now();
            // A wrong PIN: the whole cost, as a guess pays it.
            assert!(Argon2::default()
                .verify_password(b"135790", &parsed)
                .is_err());
            start.elapsed()
        })
        .collect();
    let (p50, p95) = percentiles(runs);
    println!("{label:<34} p50 {p50:>9.1?}  p95 {p95:>9.1?}");
    p50
}

fn main() {
    let before = measure("PIN verify, before (m=19 MiB, t=2)", &Argon2::default());
    let after = measure(
        "PIN verify, now (m=64 MiB, t=3)",
        &dukkan_server::argon::pin_hasher(),
    );
    println!(
        "ratio now/before (p50): {:.2}x; offline guesses of all 10^6 six-digit PINs on one core: {:.1} h",
        after.as_secs_f64() / before.as_secs_f64(),
        after.as_secs_f64() * 1e6 / 3600.0
    );
}
