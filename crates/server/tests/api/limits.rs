//! Rate limits per client IP and per bearer token, and the sign-in lockout after wrong PINs.
//!
//! A second client IP is real: Linux routes all of 127.0.0.0/8 to the loopback interface, so a
//! client bound to 127.0.0.2 reaches the server on 127.0.0.1 from another address.

use crate::support::{Answer, TestApp, PASSWORD, PIN};
use dukkan_server::limits::LimitConfig;
use dukkan_server::staff::{self, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;
use std::time::Duration;

fn limits() -> LimitConfig {
    LimitConfig {
        sign_in_window: Duration::from_secs(900),
        ..LimitConfig::unlimited()
    }
}

/// A client whose requests come from 127.0.0.2.
fn other_ip_client() -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from([127, 0, 0, 2]))
        .timeout(Duration::from_secs(30))
        .build()
        .expect("test setup")
}

async fn get_from(
    app: &TestApp,
    client: &reqwest::Client,
    path: &str,
    token: Option<&str>,
) -> Answer {
    let mut req = client.get(format!("{}{path}", app.base));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    TestApp::answer(req.send().await.expect("test setup")).await
}

async fn sign_in_from(
    app: &TestApp,
    client: &reqwest::Client,
    staff_id: &str,
    pin: &str,
) -> Answer {
    let req = client
        .post(format!("{}/api/v1/auth/sign-in", app.base))
        .json(&json!({"tenant": "shop", "staffId": staff_id, "password": pin}));
    TestApp::answer(req.send().await.expect("test setup")).await
}

/// The id of a new staff member of "shop" whose PIN is [`PIN`] and password [`PASSWORD`].
async fn shop_staff(app: &TestApp, name: &str, role: Role) -> String {
    let id = staff::add(&app.owner, "shop", name, role, PIN)
        .await
        .expect("add staff")
        .id
        .to_string();
    staff::set_password(&app.owner, "shop", &id, PASSWORD)
        .await
        .expect("set password");
    id
}

fn retry_after(a: &Answer) -> u64 {
    a.headers
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no numeric Retry-After in {a:?}"))
}

#[tokio::test]
async fn a_client_ip_over_its_rate_gets_429_with_retry_after_and_another_ip_does_not() {
    let app = TestApp::spawn_with_limits(LimitConfig {
        ip_per_second: 1,
        ip_burst: 3,
        ..limits()
    })
    .await;
    let local = app.client.clone();
    for _ in 0..3 {
        let a = get_from(&app, &local, "/api/v1/customers", None).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
    }
    let refused = get_from(&app, &local, "/api/v1/customers", None).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{refused:?}");
    assert_eq!(refused.code(), "request.rate-limited");
    assert!((1..=2).contains(&retry_after(&refused)), "{refused:?}");
    assert!(refused.body["message"]
        .as_str()
        .is_some_and(|m| m.contains("Too many requests")));

    // The same refusal in Arabic, for a client that asks for it.
    let ar = TestApp::answer(
        local
            .get(format!("{}/api/v1/customers", app.base))
            .header("accept-language", "ar")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ar.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(ar.body["message"]
        .as_str()
        .is_some_and(|m| m.contains("طلبات كثيرة")));

    // Another client IP has its own allowance; probes are never limited.
    let other = get_from(&app, &other_ip_client(), "/api/v1/customers", None).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{other:?}");
    let health = get_from(&app, &local, "/healthz", None).await;
    assert_eq!(health.status, StatusCode::OK);

    // The allowance refills with time.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = get_from(&app, &local, "/api/v1/customers", None).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED, "{again:?}");
}

#[tokio::test]
async fn a_token_over_its_rate_gets_429_and_another_token_from_the_same_ip_does_not() {
    let app = TestApp::spawn_with_limits(LimitConfig {
        token_per_second: 1,
        token_burst: 3,
        ..limits()
    })
    .await;
    let (_, busy) = app.tenant_with("shop", Role::Cashier).await;
    let calm = app.sign_in("shop", Role::Cashier).await;
    for _ in 0..3 {
        assert_eq!(
            app.get("/api/v1/customers?search=salim", &busy)
                .await
                .status,
            StatusCode::OK
        );
    }
    let refused = app.get("/api/v1/customers?search=salim", &busy).await;
    assert_eq!(refused.status, StatusCode::TOO_MANY_REQUESTS, "{refused:?}");
    assert_eq!(refused.code(), "request.rate-limited");
    assert!(retry_after(&refused) >= 1);
    // Nothing was written by a refused write either.
    let write = app
        .post(
            "/api/v1/customers",
            &busy,
            json!({"type": "stub", "firstName": "Aisha", "phone": "+96892123456"}),
        )
        .await;
    assert_eq!(write.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);

    let other = app.get("/api/v1/customers?search=salim", &calm).await;
    assert_eq!(other.status, StatusCode::OK, "{other:?}");
}

#[tokio::test]
async fn the_default_limits_leave_room_for_a_devices_sync_traffic_and_long_poll() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let token = app.device_token("shop").await;
    // A long-poll pull that waits for a change is one request, not many.
    let waited = app.get("/api/v1/sync/pull?since=0&wait=1", &token).await;
    assert_eq!(waited.status, StatusCode::OK, "{waited:?}");
    // A burst of 150 back-to-back pulls (a busy till catching up) is never refused.
    for _ in 0..150 {
        let a = app.get("/api/v1/sync/pull?since=0", &token).await;
        assert_eq!(a.status, StatusCode::OK, "{a:?}");
    }
}

#[tokio::test]
async fn wrong_pins_lock_the_staff_member_out_even_with_the_right_pin_until_the_window_ends() {
    let app = TestApp::spawn_with_limits(LimitConfig {
        sign_in_staff_failures: 3,
        sign_in_ip_failures: 100,
        sign_in_window: Duration::from_secs(2),
        ..limits()
    })
    .await;
    app.tenant("shop").await;
    let target = shop_staff(&app, "Salim", Role::Manager).await;
    let colleague = shop_staff(&app, "Aisha", Role::Cashier).await;
    let client = app.client.clone();
    for pin in ["0000", "1111", "2222"] {
        let a = sign_in_from(&app, &client, &target, pin).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
    }
    let locked = sign_in_from(&app, &client, &target, PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{locked:?}");
    assert_eq!(locked.code(), "auth.sign-in-locked");
    assert!((1..=2).contains(&retry_after(&locked)), "{locked:?}");
    assert!(locked.body.get("token").is_none());
    assert_eq!(app.count("SELECT count(*) FROM staff_sessions").await, 0);

    // Another staff member at the same till is not locked out.
    let other = sign_in_from(&app, &client, &colleague, PASSWORD).await;
    assert_eq!(other.status, StatusCode::OK, "{other:?}");

    tokio::time::sleep(Duration::from_millis(2100)).await;
    let after = sign_in_from(&app, &client, &target, PASSWORD).await;
    assert_eq!(after.status, StatusCode::OK, "{after:?}");
}

#[tokio::test]
async fn another_spelling_of_the_staff_id_gets_no_more_guesses_and_cannot_sign_in_while_locked() {
    let app = TestApp::spawn_with_limits(LimitConfig {
        sign_in_staff_failures: 5,
        sign_in_ip_failures: 100,
        ..limits()
    })
    .await;
    app.tenant("shop").await;
    let id = shop_staff(&app, "Salim", Role::Manager).await;
    let uuid = uuid::Uuid::parse_str(&id).unwrap();
    let spellings = [
        id.clone(),
        id.to_uppercase(),
        format!("{{{id}}}"),
        uuid.simple().to_string(),
        format!("urn:uuid:{id}"),
    ];
    let client = app.client.clone();
    // One wrong PIN in each of five spellings: five strikes against one member.
    for spelling in &spellings {
        let a = sign_in_from(&app, &client, spelling, "0000").await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{spelling}: {a:?}");
    }
    for spelling in &spellings {
        let a = sign_in_from(&app, &client, spelling, PASSWORD).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::TOO_MANY_REQUESTS, "auth.sign-in-locked"),
            "the right PIN in the spelling {spelling} during the lockout: {a:?}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM staff_sessions").await, 0);
}

#[tokio::test]
async fn wrong_pins_for_many_staff_lock_out_the_client_ip_but_not_other_ips() {
    let app = TestApp::spawn_with_limits(LimitConfig {
        sign_in_staff_failures: 100,
        sign_in_ip_failures: 3,
        sign_in_window: Duration::from_secs(60),
        ..limits()
    })
    .await;
    app.tenant("shop").await;
    let real = shop_staff(&app, "Salim", Role::Cashier).await;
    let client = app.client.clone();
    for _ in 0..3 {
        let guess = uuid::Uuid::now_v7().to_string();
        let a = sign_in_from(&app, &client, &guess, PASSWORD).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
    }
    let locked = sign_in_from(&app, &client, &real, PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{locked:?}");
    assert_eq!(locked.code(), "auth.sign-in-locked");
    assert!(retry_after(&locked) > 50);

    let elsewhere = sign_in_from(&app, &other_ip_client(), &real, PASSWORD).await;
    assert_eq!(elsewhere.status, StatusCode::OK, "{elsewhere:?}");
}

#[tokio::test]
async fn a_right_pin_clears_the_staff_members_count_of_wrong_ones() {
    let app = TestApp::spawn_with_limits(LimitConfig {
        sign_in_staff_failures: 3,
        sign_in_ip_failures: 100,
        sign_in_window: Duration::from_secs(60),
        ..limits()
    })
    .await;
    app.tenant("shop").await;
    let id = shop_staff(&app, "Salim", Role::Cashier).await;
    let client = app.client.clone();
    for _ in 0..3 {
        for pin in ["0000", "1111"] {
            let a = sign_in_from(&app, &client, &id, pin).await;
            assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
        }
        let ok = sign_in_from(&app, &client, &id, PASSWORD).await;
        assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    }
}

#[tokio::test]
async fn concurrent_pin_guesses_get_exactly_the_allowed_number_of_tries_then_429() {
    // Checking a PIN takes tens of milliseconds (argon2): 30 guesses sent at once must not all
    // pass the lockout check before the first wrong one is counted.
    let app = TestApp::spawn_with_limits(LimitConfig {
        sign_in_staff_failures: 5,
        sign_in_ip_failures: 1000,
        ..limits()
    })
    .await;
    app.tenant("shop").await;
    let target = shop_staff(&app, "Salim", Role::Manager).await;
    let guesses = (0..30).map(|i| {
        let (app, target) = (&app, &target);
        async move {
            let pin = format!("{:04}", 9000 + i);
            sign_in_from(app, &app.client, target, &pin).await.status
        }
    });
    let answers = futures_util::future::join_all(guesses).await;
    let judged = answers
        .iter()
        .filter(|s| **s == StatusCode::UNAUTHORIZED)
        .count();
    let locked = answers
        .iter()
        .filter(|s| **s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((judged, locked), (5, 25), "{answers:?}");
    let right = sign_in_from(&app, &app.client, &target, PASSWORD).await;
    assert_eq!(right.status, StatusCode::TOO_MANY_REQUESTS, "{right:?}");
    assert_eq!(app.count("SELECT count(*) FROM staff_sessions").await, 0);
}

#[tokio::test]
async fn right_pins_never_count_against_the_client_ip() {
    let app = TestApp::spawn_with_limits(LimitConfig {
        sign_in_staff_failures: 100,
        sign_in_ip_failures: 2,
        ..limits()
    })
    .await;
    app.tenant("shop").await;
    let id = shop_staff(&app, "Salim", Role::Cashier).await;
    for _ in 0..5 {
        let ok = sign_in_from(&app, &app.client, &id, PASSWORD).await;
        assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    }
    for _ in 0..2 {
        let wrong = sign_in_from(&app, &app.client, &id, "0000").await;
        assert_eq!(wrong.status, StatusCode::UNAUTHORIZED, "{wrong:?}");
    }
    let locked = sign_in_from(&app, &app.client, &id, PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{locked:?}");
}

#[tokio::test]
async fn hostile_bearer_tokens_and_sign_in_bodies_are_refused_cleanly_under_the_limiter() {
    let app = TestApp::spawn_with_limits(LimitConfig {
        token_per_second: 1,
        token_burst: 50,
        sign_in_staff_failures: 3,
        sign_in_ip_failures: 100,
        ..limits()
    })
    .await;
    app.tenant("shop").await;
    let long = "x".repeat(10_000);
    let tokens: [&[u8]; 5] = [
        long.as_bytes(),
        b"dks_\xe2\x80\xae_reversed",
        b"dks_a\tb\xff",
        b"",
        b"   ",
    ];
    for token in tokens {
        let mut value = b"Bearer ".to_vec();
        value.extend_from_slice(token);
        let header = reqwest::header::HeaderValue::from_bytes(&value).expect("header value");
        let a = TestApp::answer(
            app.client
                .get(format!("{}/api/v1/customers", app.base))
                .header("authorization", header)
                .send()
                .await
                .expect("request"),
        )
        .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
        assert_eq!(a.code(), "auth.unauthenticated");
    }
    // Hostile sign-in fields count as wrong PINs and then lock, never a 500.
    let huge = "9".repeat(10_000);
    for (staff_id, pin) in [
        (huge.as_str(), "0000"),
        (huge.as_str(), "\u{202E}1234"),
        (huge.as_str(), huge.as_str()),
    ] {
        let a = app
            .call(
                Method::POST,
                "/api/v1/auth/sign-in",
                None,
                Some(json!({"tenant": "shop", "staffId": staff_id, "password": pin})),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
    }
    let locked = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": "shop", "staffId": huge, "password": "0000"})),
        )
        .await;
    assert_eq!(locked.code(), "auth.sign-in-locked");
    // A body of the wrong shape is not a sign-in attempt at all.
    let shape = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": 5, "staffId": [], "password": null})),
        )
        .await;
    assert_eq!(shape.status, StatusCode::UNPROCESSABLE_ENTITY, "{shape:?}");
}

#[tokio::test]
async fn behind_a_trusted_proxy_each_client_is_limited_on_its_own_and_a_forged_header_is_ignored() {
    // The test client connects from 127.0.0.1, standing in for the load balancer.
    let proxied = |proxies: Vec<ipnet::IpNet>| LimitConfig {
        sign_in_staff_failures: 100,
        sign_in_ip_failures: 3,
        trusted_proxies: proxies,
        ..limits()
    };
    let sign_in_via = |app: &TestApp, forwarded: &'static str, staff: String| {
        let req = app
            .client
            .post(format!("{}/api/v1/auth/sign-in", app.base))
            .header("x-forwarded-for", forwarded)
            .json(&json!({"tenant": "shop", "staffId": staff, "password": "0000"}));
        async move { TestApp::answer(req.send().await.expect("test setup")).await }
    };

    let app = TestApp::spawn_with_limits(proxied(vec!["127.0.0.1/32".parse().unwrap()])).await;
    app.tenant("shop").await;
    let staff = shop_staff(&app, "Salim", Role::Manager).await;
    // Shop A's client guesses until its address is locked ...
    for _ in 0..3 {
        let a = sign_in_via(&app, "203.0.113.7", staff.clone()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{a:?}");
    }
    let locked = sign_in_via(&app, "203.0.113.7", staff.clone()).await;
    assert_eq!(locked.code(), "auth.sign-in-locked");
    // ... a client that writes a fake address on the left is still itself (right-most wins) ...
    let forged = sign_in_via(&app, "198.51.100.1, 203.0.113.7", staff.clone()).await;
    assert_eq!(forged.code(), "auth.sign-in-locked", "{forged:?}");
    // ... and shop B, behind the same load balancer, is not locked out.
    let other = sign_in_via(&app, "198.51.100.9", staff.clone()).await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED, "{other:?}");

    // Without the proxy trusted, the header is ignored: everyone is the peer.
    let app = TestApp::spawn_with_limits(proxied(vec![])).await;
    app.tenant("shop").await;
    let staff = shop_staff(&app, "Salim", Role::Manager).await;
    for forwarded in ["203.0.113.1", "203.0.113.2", "203.0.113.3"] {
        sign_in_via(&app, forwarded, staff.clone()).await;
    }
    let locked = sign_in_via(&app, "203.0.113.4", staff.clone()).await;
    assert_eq!(locked.code(), "auth.sign-in-locked", "{locked:?}");
}

#[tokio::test]
async fn a_lockout_holds_on_every_instance_so_spreading_guesses_buys_no_more_tries() {
    let config = LimitConfig {
        sign_in_staff_failures: 4,
        sign_in_ip_failures: 100,
        ..limits()
    };
    let app = TestApp::spawn_with_limits(config.clone()).await;
    let second = app.second_instance(config).await;
    app.tenant("shop").await;
    let staff = shop_staff(&app, "Salim", Role::Manager).await;
    let guess = |base: String, pin: &'static str| {
        let req = app
            .client
            .post(format!("{base}/api/v1/auth/sign-in"))
            .json(&json!({"tenant": "shop", "staffId": staff, "password": pin}));
        async move { TestApp::answer(req.send().await.expect("test setup")).await }
    };
    // Four guesses, alternating between the two instances: the fourth locks the member.
    for (i, pin) in ["0000", "1111", "2222", "3333"].into_iter().enumerate() {
        let base = if i % 2 == 0 {
            app.base.clone()
        } else {
            second.clone()
        };
        let a = guess(base, pin).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "guess {i}: {a:?}");
    }
    for base in [app.base.clone(), second.clone()] {
        let a = guess(base.clone(), PASSWORD).await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::TOO_MANY_REQUESTS, "auth.sign-in-locked"),
            "the right PIN through {base}: {a:?}"
        );
    }
    assert_eq!(app.count("SELECT count(*) FROM staff_sessions").await, 0);
}

#[tokio::test]
async fn request_rates_are_per_instance_so_two_instances_give_one_ip_at_most_twice_the_documented_rate(
) {
    // The documented allowance (limits.rs, docs/security.md): request rates live in each
    // instance's memory, so N instances give a client at most N times burst + rate × time.
    let config = LimitConfig {
        ip_per_second: 1,
        ip_burst: 4,
        ..limits()
    };
    let app = TestApp::spawn_with_limits(config.clone()).await;
    let second = app.second_instance(config).await;
    let started = std::time::Instant::now();
    let mut answered = [0u32; 2];
    for i in 0..40 {
        let base = if i % 2 == 0 { &app.base } else { &second };
        let a = TestApp::answer(
            app.client
                .get(format!("{base}/api/v1/customers"))
                .send()
                .await
                .expect("test setup"),
        )
        .await;
        match a.status {
            StatusCode::UNAUTHORIZED => answered[i % 2] += 1,
            StatusCode::TOO_MANY_REQUESTS => assert_eq!(a.code(), "request.rate-limited"),
            other => panic!("unexpected {other}: {a:?}"),
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let per_instance = 4.0 + seconds.ceil();
    for (i, n) in answered.into_iter().enumerate() {
        assert!(n >= 4, "instance {i} gave its whole burst: {n}");
        assert!(
            f64::from(n) <= per_instance,
            "instance {i} let {n} requests through in {seconds:.2} s"
        );
    }
    let total = answered.iter().sum::<u32>();
    assert!(
        f64::from(total) <= 2.0 * per_instance,
        "{total} requests in {seconds:.2} s over two instances"
    );
}
