//! Sign-in, bearer tokens, health, readiness and device enrollment.

use crate::support::{TestApp, PASSWORD, PIN};
use dukkan_server::staff::{self, Role};
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn health_is_always_ok_and_readiness_checks_the_database() {
    let app = TestApp::spawn().await;
    let h = app.call(Method::GET, "/healthz", None, None).await;
    assert_eq!(
        (h.status, &h.body),
        (StatusCode::OK, &json!({"status": "ok"}))
    );
    let r = app.call(Method::GET, "/readyz", None, None).await;
    assert_eq!(
        (r.status, &r.body),
        (StatusCode::OK, &json!({"status": "ready"}))
    );
    // Without a database the server is not ready.
    let otp = dukkan_server::otp::Otp::new(
        &[0u8; 32],
        std::sync::Arc::new(dukkan_server::sms::DevSink::default()),
        std::sync::Arc::new(dukkan_server::clock::SystemClock),
    )
    .unwrap();
    let state = dukkan_server::AppState::new(
        dukkan_server::db::pool("postgres://dukkan_app@127.0.0.1:1/none", 1).unwrap(),
        std::sync::Arc::new(otp),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(dukkan_server::serve(
        listener,
        state,
        std::future::pending(),
    ));
    let r = TestApp::answer(
        app.client
            .get(format!("http://{addr}/readyz"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.code(), "server.unavailable");
}

#[tokio::test]
async fn every_wrong_sign_in_looks_the_same_and_gives_no_token() {
    // Seven wrong sign-ins name the same member (in any tenant): more than the default
    // lockout allows, which is not what this test is about.
    let app = TestApp::spawn_with_limits(dukkan_server::limits::LimitConfig {
        sign_in_staff_failures: 10,
        ..Default::default()
    })
    .await;
    app.tenant("shop").await;
    let member = staff::add(&app.owner, "shop", "Salim", Role::Cashier, PIN)
        .await
        .unwrap();
    let id = member.id.to_string();
    staff::set_password(&app.owner, "shop", &id, PASSWORD)
        .await
        .unwrap();
    for (tenant, staff_id, pin) in [
        ("shop", id.as_str(), "0000"),
        ("shop", id.as_str(), ""),
        ("shop", id.as_str(), &*"9".repeat(10_000)),
        // The till PIN never signs in to the server.
        ("shop", id.as_str(), PIN),
        ("nope", id.as_str(), PASSWORD),
        ("shop", "not-a-uuid", PASSWORD),
        ("shop", &*uuid::Uuid::now_v7().to_string(), PASSWORD),
        ("SHOP\u{202E}", id.as_str(), PASSWORD),
    ] {
        let a = app
            .call(
                Method::POST,
                "/api/v1/auth/sign-in",
                None,
                Some(json!({"tenant": tenant, "staffId": staff_id, "password": pin})),
            )
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{tenant} {staff_id}");
        assert_eq!(a.code(), "auth.invalid-credentials");
        assert!(a.body.get("token").is_none());
    }
    assert_eq!(app.count("SELECT count(*) FROM staff_sessions").await, 0);
    let ok = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": "shop", "staffId": id, "password": PASSWORD})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.body["staff"]["role"], "cashier");
    // Only the token's hash is stored.
    let token = ok.body["token"].as_str().unwrap();
    let client = app.owner.get().await.unwrap();
    let stored: Vec<u8> = client
        .query_one("SELECT token_hash FROM staff_sessions", &[])
        .await
        .unwrap()
        .get(0);
    assert_ne!(stored, token.as_bytes());
    assert_eq!(stored.len(), 32);
}

#[tokio::test]
async fn missing_forged_or_expired_tokens_are_unauthenticated() {
    let app = TestApp::spawn().await;
    let (tenant, token) = app.tenant_with("shop", Role::Cashier).await;
    let no = app.call(Method::GET, "/api/v1/customers", None, None).await;
    assert_eq!(no.status, StatusCode::UNAUTHORIZED);
    assert_eq!(no.headers["www-authenticate"], "Bearer");
    let forged = dukkan_server::tokens::new_bearer("dks", tenant);
    for bad in [forged.as_str(), "garbage", "", &*"x".repeat(5000)] {
        let a = app
            .call(Method::GET, "/api/v1/customers", Some(bad), None)
            .await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{bad:.20}");
        assert_eq!(a.code(), "auth.unauthenticated");
    }
    // A token naming another tenant in its prefix does not work there either.
    let other = app.tenant("other").await;
    let swapped = token.replacen(
        &tenant.0.simple().to_string(),
        &other.0.simple().to_string(),
        1,
    );
    let a = app
        .call(Method::GET, "/api/v1/customers", Some(&swapped), None)
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    // Expired sessions stop working.
    app.owner
        .get()
        .await
        .unwrap()
        .execute(
            "UPDATE staff_sessions SET expires_at = now() - interval '1 second'",
            &[],
        )
        .await
        .unwrap();
    let a = app.get("/api/v1/customers", &token).await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_enrollment_code_works_once_for_its_own_tenant_only() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    app.tenant("other").await;
    let code = dukkan_server::devices::create_code(&app.owner, "shop", None)
        .await
        .unwrap();
    let wrong_tenant = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"tenant": "other", "code": code.code})),
        )
        .await;
    assert_eq!(wrong_tenant.code(), "device.enrollment-code-invalid");
    let typed = code.code.replace('-', "").to_lowercase();
    let ok = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"tenant": "shop", "code": typed, "deviceName": "Till 1"})),
        )
        .await;
    assert_eq!(ok.status, StatusCode::CREATED, "{ok:?}");
    assert!(ok.body["deviceToken"].as_str().unwrap().starts_with("dkd_"));
    let again = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"tenant": "shop", "code": code.code})),
        )
        .await;
    assert_eq!(again.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(again.code(), "device.enrollment-code-invalid");
    assert_eq!(app.count("SELECT count(*) FROM devices").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM device_tokens").await, 1);
    assert_eq!(app.count("SELECT count(*) FROM device_sync_state").await, 1);
}

#[tokio::test]
async fn signing_out_ends_the_session_on_the_server_and_expired_sessions_are_removed() {
    let app = TestApp::spawn().await;
    let (tenant, token) = app.tenant_with("shop", Role::Manager).await;
    assert_eq!(
        app.get("/api/v1/customers?search=a", &token).await.status,
        StatusCode::OK
    );
    let out = app.post("/api/v1/auth/sign-out", &token, json!({})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{out:?}");
    let after = app.get("/api/v1/customers?search=a", &token).await;
    assert_eq!(
        (after.status, after.code()),
        (StatusCode::UNAUTHORIZED, "auth.unauthenticated")
    );
    let again = app.post("/api/v1/auth/sign-out", &token, json!({})).await;
    assert_eq!(again.status, StatusCode::UNAUTHORIZED);

    // A session that expired is gone once anyone of the shop signs in again.
    let client = app.owner.get().await.unwrap();
    let staff: uuid::Uuid = client
        .query_one(
            "SELECT id FROM staff WHERE tenant_id = $1 LIMIT 1",
            &[&tenant.0],
        )
        .await
        .unwrap()
        .get(0);
    client
        .execute(
            "INSERT INTO staff_sessions (tenant_id, token_hash, staff_id, expires_at)
             VALUES ($1, $2, $3, now() - interval '1 hour')",
            &[&tenant.0, &vec![7u8; 32], &staff],
        )
        .await
        .unwrap();
    app.sign_in("shop", Role::Cashier).await;
    assert_eq!(
        app.count("SELECT count(*) FROM staff_sessions WHERE expires_at <= now()")
            .await,
        0
    );
}

#[tokio::test]
async fn a_pin_never_signs_in_to_the_server_and_a_staff_member_changes_their_password() {
    let app = TestApp::spawn().await;
    app.tenant("shop").await;
    let member = staff::add(&app.owner, "shop", "Salim", Role::Admin, PIN)
        .await
        .unwrap();
    let id = member.id.to_string();
    let sign_in = |secret: &str| {
        app.call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": "shop", "staffId": id, "password": secret})),
        )
    };
    // No password yet: nothing signs in, the PIN least of all; nor does the old field.
    assert_eq!(sign_in(PIN).await.code(), "auth.invalid-credentials");
    let old_form = app
        .call(
            Method::POST,
            "/api/v1/auth/sign-in",
            None,
            Some(json!({"tenant": "shop", "staffId": id, "pin": PIN})),
        )
        .await;
    assert_eq!(
        old_form.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{old_form:?}"
    );
    // Managers' and admins' PINs have six digits at least; passwords ten characters.
    let short = staff::add(&app.owner, "shop", "Aisha", Role::Manager, "2468")
        .await
        .unwrap_err();
    assert!(
        matches!(
            short,
            dukkan_server::Error::Rule(dukkan_server::error::Rule::InvalidPin { min: 6, .. })
        ),
        "{short:?}"
    );
    let weak = staff::set_password(&app.owner, "shop", &id, "123456789")
        .await
        .unwrap_err();
    assert!(
        matches!(
            weak,
            dukkan_server::Error::Rule(dukkan_server::error::Rule::InvalidPassword { min: 10, .. })
        ),
        "{weak:?}"
    );

    staff::set_password(&app.owner, "shop", &id, PASSWORD)
        .await
        .unwrap();
    let first = sign_in(PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let second = sign_in(PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = app
        .post(
            "/api/v1/auth/password",
            &first,
            json!({"currentPassword": "not the one at all", "newPassword": "a new long password"}),
        )
        .await;
    assert_eq!(wrong.code(), "auth.invalid-credentials");
    let too_short = app
        .post(
            "/api/v1/auth/password",
            &first,
            json!({"currentPassword": PASSWORD, "newPassword": "short"}),
        )
        .await;
    assert_eq!(too_short.code(), "staff.invalid-password");
    let changed = app
        .post(
            "/api/v1/auth/password",
            &first,
            json!({"currentPassword": PASSWORD, "newPassword": "a new long password"}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{changed:?}");
    // This session goes on; the other one ended; the old password no longer works.
    assert_eq!(
        app.get("/api/v1/devices", &first).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/devices", &second).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(sign_in(PASSWORD).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in("a new long password").await.status, StatusCode::OK);
}
