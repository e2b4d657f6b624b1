//! Random secrets handed to clients (bearer tokens, enrollment codes) and how they are stored:
//! only as a SHA-256 hash, so a copy of the database cannot be used to sign in.
//!
//! Bearer tokens carry the tenant id in clear (`<kind>_<tenant>_<secret>`): the server needs the
//! tenant before it can look anything up under row-level security, and the id is not a secret.

use crate::ids::TenantId;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// SHA-256 of a secret, the form in which it is stored.
pub fn hash(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// A new bearer token of `kind` (`dks` staff session, `dkd` device) for `tenant`:
/// 32 bytes from the thread CSPRNG (ChaCha, seeded and reseeded from the OS).
pub fn new_bearer(kind: &str, tenant: TenantId) -> String {
    let mut secret = [0u8; 32];
    rand::rng().fill_bytes(&mut secret);
    format!(
        "{kind}_{}_{}",
        tenant.0.simple(),
        URL_SAFE_NO_PAD.encode(secret)
    )
}

/// The tenant named by a bearer token of `kind`, if the token has the right shape.
pub fn bearer_tenant(kind: &str, token: &str) -> Option<TenantId> {
    let rest = token.strip_prefix(kind)?.strip_prefix('_')?;
    let (tenant, secret) = rest.split_once('_')?;
    if tenant.len() != 32 || secret.len() != 43 {
        return None;
    }
    Uuid::try_parse(tenant).ok().map(TenantId)
}

/// Alphabet of enrollment codes: no 0/O, 1/I, so they can be read aloud and typed.
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// A one-time enrollment code, `XXXXX-XXXXX` (50 bits).
pub fn new_enrollment_code() -> String {
    let mut bytes = [0u8; 10];
    rand::rng().fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| char::from(CODE_ALPHABET[usize::from(*b) % CODE_ALPHABET.len()]))
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// The canonical form of a typed enrollment code (upper case, no separators), or `None` when
/// it cannot be one.
pub fn normalize_enrollment_code(input: &str) -> Option<String> {
    if input.len() > 64 {
        return None;
    }
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' '))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == 10 && code.bytes().all(|b| CODE_ALPHABET.contains(&b))).then_some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_tokens_name_their_tenant_and_differ_each_time() {
        let tenant = TenantId::new();
        let a = new_bearer("dks", tenant);
        let b = new_bearer("dks", tenant);
        assert_ne!(a, b);
        assert_eq!(bearer_tenant("dks", &a), Some(tenant));
        assert_eq!(bearer_tenant("dkd", &a), None);
        assert_eq!(bearer_tenant("dks", "dks_nothing"), None);
        assert_eq!(hash(&a).len(), 32);
    }

    #[test]
    fn enrollment_codes_survive_being_typed_in_lower_case_without_the_dash() {
        let code = new_enrollment_code();
        assert_eq!(code.len(), 11);
        let typed = code.replace('-', "").to_lowercase();
        assert_eq!(
            normalize_enrollment_code(&typed),
            normalize_enrollment_code(&code)
        );
        assert!(normalize_enrollment_code("AAAAA-AAAA0").is_none());
        assert!(normalize_enrollment_code(&"A".repeat(1000)).is_none());
    }
}
