//! Rate limits: requests per client IP and per bearer token (GCRA from the `governor` crate),
//! the client's address (through trusted proxies), and the limits' settings. The sign-in
//! lockout after repeated wrong PINs is kept in Postgres ([`crate::lockout`]).
//!
//! `governor` is used directly rather than through `tower_governor`: we limit by two keys with
//! different quotas in one middleware, and a refusal must be our localised `{code, message}`
//! error with `Retry-After`, which the error type already knows how to write.
//!
//! Request rates live in memory, per server instance: behind a load balancer with N instances
//! a client gets up to N times the request rate. That bounds floods cheaply; what must hold
//! across instances (sign-in lockouts, OTP caps) is counted in Postgres.

use crate::error::Error;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use sha2::{Digest, Sha256};
use std::net::{IpAddr, SocketAddr};
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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
