//! Rate limits: requests per client IP and per bearer token (GCRA from the `governor` crate),
//! and the sign-in lockout after repeated wrong PINs.
//!
//! `governor` is used directly rather than through `tower_governor`: we limit by two keys with
//! different quotas in one middleware, and a refusal must be our localised `{code, message}`
//! error with `Retry-After`, which the error type already knows how to write.
//!
//! State lives in memory, per server instance: behind a load balancer with N instances a client
//! gets up to N times the quota. That bounds abuse cheaply; a shared store is the next step when
//! instances multiply.

use crate::error::Error;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The limits a server enforces. `0` for a rate or a count turns that limit off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LimitConfig {
    /// Requests per second one client IP may make on average.
    pub ip_per_second: u32,
    /// Requests one client IP may make at once before the average applies.
    pub ip_burst: u32,
    /// Requests per second one bearer token (staff session or device) may make on average.
    pub token_per_second: u32,
    /// Requests one bearer token may make at once.
    pub token_burst: u32,
    /// Wrong sign-ins for one staff member within `sign_in_window` before it is locked.
    pub sign_in_staff_failures: u32,
    /// Wrong sign-ins from one client IP within `sign_in_window` before it is locked.
    pub sign_in_ip_failures: u32,
    /// The window in which wrong sign-ins are counted, and how long a lockout lasts.
    pub sign_in_window: Duration,
    /// Proxies (load balancers) whose `X-Forwarded-For` names the client. Empty: the TCP
    /// peer is the client, and the header is ignored (anyone can write it).
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

impl Default for LimitConfig {
    /// Generous for real use: a shop's tills behind one NAT address, each syncing (pushes on
    /// every write, long-poll pulls), stay far below the per-IP rate.
    fn default() -> Self {
        LimitConfig {
            ip_per_second: 100,
            ip_burst: 300,
            token_per_second: 50,
            token_burst: 200,
            sign_in_staff_failures: 5,
            sign_in_ip_failures: 20,
            sign_in_window: Duration::from_secs(15 * 60),
            trusted_proxies: Vec::new(),
        }
    }
}

impl LimitConfig {
    /// No limit at all (benchmarks).
    pub fn unlimited() -> Self {
        LimitConfig {
            ip_per_second: 0,
            ip_burst: 0,
            token_per_second: 0,
            token_burst: 0,
            sign_in_staff_failures: 0,
            sign_in_ip_failures: 0,
            sign_in_window: Duration::ZERO,
            trusted_proxies: Vec::new(),
        }
    }
}

fn quota(per_second: u32, burst: u32) -> Option<Quota> {
    let rate = NonZeroU32::new(per_second)?;
    Some(Quota::per_second(rate).allow_burst(NonZeroU32::new(burst).unwrap_or(rate)))
}

/// The limiters of one server instance.
pub struct Limits {
    config: LimitConfig,
    per_ip: Option<DefaultKeyedRateLimiter<IpAddr>>,
    per_token: Option<DefaultKeyedRateLimiter<[u8; 32]>>,
    clock: DefaultClock,
    checks: AtomicU64,
    sign_in: Mutex<HashMap<Strike, Strikes>>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits::new(LimitConfig::default())
    }
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

/// Whose wrong sign-ins are counted. Staff keys are hashed: the map never holds what was typed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Strike {
    Staff([u8; 32]),
    Ip(IpAddr),
}

#[derive(Debug, Clone, Copy)]
struct Strikes {
    count: u32,
    since: Instant,
    locked_until: Option<Instant>,
}

/// Entries kept before expired ones are swept from the sign-in map.
const SIGN_IN_SWEEP_AT: usize = 10_000;
/// Keyed limiters forget idle keys every this many checks.
const RETAIN_EVERY: u64 = 4096;

fn seconds(d: Duration) -> u64 {
    // Round up: a client told "0" would retry at once and be refused again.
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

impl Limits {
    pub fn new(config: LimitConfig) -> Self {
        Limits {
            per_ip: quota(config.ip_per_second, config.ip_burst)
                .map(DefaultKeyedRateLimiter::keyed),
            per_token: quota(config.token_per_second, config.token_burst)
                .map(DefaultKeyedRateLimiter::keyed),
            config,
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
            sign_in: Mutex::new(HashMap::new()),
        }
    }

    pub fn config(&self) -> &LimitConfig {
        &self.config
    }

    /// Takes one request from the client IP's and the token's allowance.
    pub fn check_request(&self, ip: IpAddr, token: Option<&str>) -> Result<(), Error> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % RETAIN_EVERY == RETAIN_EVERY - 1 {
            for limiter in self.per_ip.iter() {
                limiter.retain_recent();
            }
            for limiter in self.per_token.iter() {
                limiter.retain_recent();
            }
        }
        let now = self.clock.now();
        if let Some(limiter) = &self.per_ip {
            if let Err(not_until) = limiter.check_key(&ip) {
                return Err(Error::RateLimited {
                    seconds: seconds(not_until.wait_time_from(now)),
                });
            }
        }
        if let (Some(limiter), Some(token)) = (&self.per_token, token) {
            let key: [u8; 32] = Sha256::digest(token.as_bytes()).into();
            if let Err(not_until) = limiter.check_key(&key) {
                return Err(Error::RateLimited {
                    seconds: seconds(not_until.wait_time_from(now)),
                });
            }
        }
        Ok(())
    }

    /// One key per staff member however their id is written: a UUID in any spelling the
    /// sign-in accepts (hyphenated, braced, 32 hex digits, `urn:uuid:`, any case) counts as
    /// the same member, so another spelling buys no more guesses and cannot sign in during a
    /// lockout. Staff ids are unique across tenants; a text that is no UUID (it cannot sign in)
    /// is keyed with its tenant as written.
    fn staff_key(tenant_slug: &str, staff_id: &str) -> Strike {
        let mut h = Sha256::new();
        match uuid::Uuid::try_parse(staff_id.trim()) {
            Ok(id) => h.update(id.as_bytes()),
            Err(_) => {
                h.update(tenant_slug.trim().to_lowercase().as_bytes());
                h.update([0]);
                h.update(staff_id.trim().to_lowercase().as_bytes());
            }
        }
        Strike::Staff(h.finalize().into())
    }

    fn strike_keys(&self, ip: IpAddr, tenant_slug: &str, staff_id: &str) -> [(Strike, u32); 2] {
        [
            (
                Self::staff_key(tenant_slug, staff_id),
                self.config.sign_in_staff_failures,
            ),
            (Strike::Ip(ip), self.config.sign_in_ip_failures),
        ]
    }

    /// Starts a sign-in: refused while the staff member or the client IP is locked out, else
    /// counted as a wrong sign-in at once, in the same step as the check. The PIN is checked
    /// after this (argon2, tens of milliseconds), so concurrent guesses would otherwise all
    /// pass the check before any of them was counted. A right PIN takes the count back
    /// ([`Limits::sign_in_succeeded`]), and so does an attempt the server could not judge
    /// ([`Limits::sign_in_not_judged`]).
    pub fn begin_sign_in(
        &self,
        ip: IpAddr,
        tenant_slug: &str,
        staff_id: &str,
    ) -> Result<(), Error> {
        let window = self.config.sign_in_window;
        let now = Instant::now();
        let mut map = self.sign_in.lock().unwrap_or_else(|e| e.into_inner());
        let keys = self.strike_keys(ip, tenant_slug, staff_id);
        let wait = keys
            .iter()
            .filter_map(|(key, _)| map.get(key)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max();
        if let Some(wait) = wait {
            return Err(Error::SignInLocked {
                seconds: seconds(wait),
            });
        }
        if map.len() >= SIGN_IN_SWEEP_AT {
            map.retain(|_, s| {
                s.locked_until.is_some_and(|u| u > now) || now.duration_since(s.since) < window
            });
        }
        for (key, max) in keys {
            if max == 0 {
                continue;
            }
            let entry = map.entry(key).or_insert(Strikes {
                count: 0,
                since: now,
                locked_until: None,
            });
            let expired = now.duration_since(entry.since) >= window
                && entry.locked_until.is_none_or(|u| u <= now);
            if expired {
                *entry = Strikes {
                    count: 0,
                    since: now,
                    locked_until: None,
                };
            }
            entry.count += 1;
            if entry.count >= max {
                entry.locked_until = Some(now + window);
            }
        }
        Ok(())
    }

    /// A right PIN clears the staff member's count and takes back the attempt's strike on the
    /// client IP (the IP's earlier wrong ones stay: one good PIN must not buy an attacker more
    /// guesses at other staff).
    pub fn sign_in_succeeded(&self, ip: IpAddr, tenant_slug: &str, staff_id: &str) {
        let mut map = self.sign_in.lock().unwrap_or_else(|e| e.into_inner());
        map.remove(&Self::staff_key(tenant_slug, staff_id));
        Self::take_back(&mut map, Strike::Ip(ip), self.config.sign_in_ip_failures);
    }

    /// Takes back both strikes of an attempt that failed for another reason than the PIN (the
    /// database was down): staff are not locked out by the server's own trouble.
    pub fn sign_in_not_judged(&self, ip: IpAddr, tenant_slug: &str, staff_id: &str) {
        let mut map = self.sign_in.lock().unwrap_or_else(|e| e.into_inner());
        for (key, max) in self.strike_keys(ip, tenant_slug, staff_id) {
            Self::take_back(&mut map, key, max);
        }
    }

    fn take_back(map: &mut HashMap<Strike, Strikes>, key: Strike, max: u32) {
        if let Some(entry) = map.get_mut(&key) {
            entry.count = entry.count.saturating_sub(1);
            if entry.count < max {
                entry.locked_until = None;
            }
        }
    }
}

/// A trusted proxy: an address or a network (`10.0.0.0/8`, `192.0.2.7`, `2001:db8::/32`).
pub fn parse_proxy(s: &str) -> Result<ipnet::IpNet, String> {
    let s = s.trim();
    s.parse::<ipnet::IpNet>()
        .or_else(|_| s.parse::<IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("not an IP address or network: {s:?}"))
}

/// The client's address, as the limits key on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientIp(pub IpAddr);

impl Limits {
    fn trusted(&self, ip: IpAddr) -> bool {
        self.config
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&ip))
    }

    /// Who is asking: the TCP peer, unless the peer is a trusted proxy; then the right-most
    /// address of `X-Forwarded-For` that is not a trusted proxy (the left part of the header is
    /// whatever the client wrote, so it is never believed). An entry that is not an address
    /// stops the walk at the last proxy seen.
    pub fn client_ip(&self, peer: IpAddr, headers: &axum::http::HeaderMap) -> IpAddr {
        if !self.trusted(peer) {
            return peer;
        }
        let hops: Vec<&str> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let mut client = peer;
        for hop in hops.iter().rev() {
            let hop = hop.trim();
            let Some(ip) = hop
                .parse::<IpAddr>()
                .ok()
                .or_else(|| hop.parse::<SocketAddr>().ok().map(|a| a.ip()))
            else {
                break;
            };
            client = ip;
            if !self.trusted(ip) {
                break;
            }
        }
        client
    }
}

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientIp {
    type Rejection = Error;

    /// Set by [`rate_limit`] for every request; the TCP peer where that layer is absent.
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Error> {
        parts
            .extensions
            .get::<ClientIp>()
            .copied()
            .or_else(|| {
                parts
                    .extensions
                    .get::<ConnectInfo<SocketAddr>>()
                    .map(|c| ClientIp(c.0.ip()))
            })
            .ok_or_else(|| Error::Internal("no client address".into()))
    }
}

/// The bearer token of a request, if it sends one.
pub fn bearer(headers: &axum::http::HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

/// Paths a load balancer or monitoring probes; never limited.
fn exempt(path: &str) -> bool {
    matches!(path, "/healthz" | "/readyz" | "/metrics")
}

/// Middleware: refuses a request over its IP's or token's rate with 429 and `Retry-After`.
pub async fn rate_limit(
    State(limits): State<std::sync::Arc<Limits>>,
    mut request: Request,
    next: Next,
) -> Response {
    let ip = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| limits.client_ip(c.0.ip(), request.headers()));
    if let Some(ip) = ip {
        request.extensions_mut().insert(ClientIp(ip));
    }
    if !exempt(request.uri().path()) {
        if let Some(ip) = ip {
            if let Err(e) = limits.check_request(ip, bearer(request.headers())) {
                tracing::info!(path = %request.uri().path(), "rate limit reached");
                return e.into_response();
            }
        }
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn behind(proxies: &[&str]) -> Limits {
        Limits::new(LimitConfig {
            trusted_proxies: proxies.iter().map(|p| parse_proxy(p).unwrap()).collect(),
            ..LimitConfig::unlimited()
        })
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn forwarded(values: &[&str]) -> axum::http::HeaderMap {
        let mut h = axum::http::HeaderMap::new();
        for v in values {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_client_is_the_right_most_address_a_trusted_proxy_did_not_add() {
        let l = behind(&["10.0.0.0/8", "192.0.2.7"]);
        let lb = ip("10.0.0.5");
        // One proxy.
        assert_eq!(
            l.client_ip(lb, &forwarded(&["203.0.113.7"])),
            ip("203.0.113.7")
        );
        // A forged left part is never believed.
        assert_eq!(
            l.client_ip(lb, &forwarded(&["1.1.1.1, 203.0.113.7"])),
            ip("203.0.113.7")
        );
        // Two proxies in a chain, over two header lines.
        assert_eq!(
            l.client_ip(lb, &forwarded(&["203.0.113.7", "192.0.2.7"])),
            ip("203.0.113.7")
        );
        // With a port; IPv6.
        assert_eq!(
            l.client_ip(lb, &forwarded(&["203.0.113.7:5555"])),
            ip("203.0.113.7")
        );
        assert_eq!(
            l.client_ip(lb, &forwarded(&["2001:db8::1"])),
            ip("2001:db8::1")
        );
        // Garbage stops at the last proxy: it cannot choose its own key.
        assert_eq!(l.client_ip(lb, &forwarded(&["203.0.113.7, not-an-ip"])), lb);
        // No header: the proxy itself.
        assert_eq!(l.client_ip(lb, &forwarded(&[])), lb);
        // A peer that is no trusted proxy is the client, whatever it writes.
        let stranger = ip("198.51.100.1");
        assert_eq!(
            l.client_ip(stranger, &forwarded(&["203.0.113.7"])),
            stranger
        );
        assert!(parse_proxy("10.0.0.0/33").is_err());
        assert!(parse_proxy("example.com").is_err());
    }
}
