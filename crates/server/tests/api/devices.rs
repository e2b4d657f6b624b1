//! Managers make enrollment codes, list devices and revoke them over REST.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_manager_makes_a_code_over_rest_that_enrolls_a_device_once() {
    let app = TestApp::spawn().await;
    let (tenant, manager) = app.tenant_with("shop", Role::Manager).await;
    let made = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll-codes",
            Some(&manager),
            None,
        )
        .await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    assert_eq!(made.body["tenantId"], tenant.to_string());
    assert!(made.body["expiresAt"].is_string());
    let code = made.body["code"].as_str().unwrap();
    assert_eq!(code.len(), 11, "XXXXX-XXXXX");
    // Only its hash is stored, with who made it.
    assert_eq!(
        app.count("SELECT count(*) FROM enrollment_codes WHERE created_by IS NOT NULL")
            .await,
        1
    );
    let token = app.enroll("shop", code, "Till 1").await;
    let pull = app.get("/api/v1/sync/pull?since=0", &token).await;
    assert_eq!(pull.status, StatusCode::OK, "{pull:?}");
    let again = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"tenant": "shop", "code": code})),
        )
        .await;
    assert_eq!(again.code(), "device.enrollment-code-invalid");
}

#[tokio::test]
async fn admins_may_make_codes_and_cashiers_or_strangers_may_not() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let admin = app.sign_in("shop", Role::Admin).await;
    let by_admin = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll-codes",
            Some(&admin),
            None,
        )
        .await;
    assert_eq!(by_admin.status, StatusCode::CREATED);
    for (token, status, code) in [
        (
            Some(cashier.as_str()),
            StatusCode::FORBIDDEN,
            "auth.forbidden",
        ),
        (None, StatusCode::UNAUTHORIZED, "auth.unauthenticated"),
        (
            Some("dks_not_a_token"),
            StatusCode::UNAUTHORIZED,
            "auth.unauthenticated",
        ),
    ] {
        for (method, path) in [
            (Method::POST, "/api/v1/devices/enroll-codes".to_owned()),
            (Method::GET, "/api/v1/devices".to_owned()),
            (
                Method::DELETE,
                format!("/api/v1/devices/{}", uuid::Uuid::now_v7()),
            ),
        ] {
            let a = app.call(method.clone(), &path, token, None).await;
            assert_eq!((a.status, a.code()), (status, code), "{method} {path}");
        }
    }
    assert_eq!(app.count("SELECT count(*) FROM enrollment_codes").await, 1);
}

#[tokio::test]
async fn revoking_a_device_stops_its_token_and_the_list_shows_when() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    let mut tokens = Vec::new();
    for name in ["Till 1", "Till 2"] {
        let code = app
            .call(
                Method::POST,
                "/api/v1/devices/enroll-codes",
                Some(&manager),
                None,
            )
            .await;
        let code = code.body["code"].as_str().unwrap().to_owned();
        tokens.push(app.enroll("shop", &code, name).await);
    }
    let list = app.get("/api/v1/devices", &manager).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    let devices = list.body.as_array().unwrap();
    assert_eq!(devices.len(), 2);
    assert!(devices.iter().all(|d| d["revokedAt"].is_null()));
    assert!(
        !list.body.to_string().contains("dkd_"),
        "the list never shows a token"
    );
    let till1 = devices.iter().find(|d| d["name"] == "Till 1").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();

    let revoked = app
        .delete(&format!("/api/v1/devices/{till1}"), &manager)
        .await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{revoked:?}");
    let refused = app.get("/api/v1/sync/pull?since=0", &tokens[0]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    let other = app.get("/api/v1/sync/pull?since=0", &tokens[1]).await;
    assert_eq!(other.status, StatusCode::OK, "the other till still syncs");
    assert_eq!(
        app.count("SELECT count(*) FROM device_tokens WHERE revoked_at IS NOT NULL")
            .await,
        1
    );
    // Revoking again changes nothing and is not an error.
    let twice = app
        .delete(&format!("/api/v1/devices/{till1}"), &manager)
        .await;
    assert_eq!(twice.status, StatusCode::NO_CONTENT);
    let list = app.get("/api/v1/devices", &manager).await;
    let till1_after = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == till1.as_str())
        .unwrap()
        .clone();
    assert!(till1_after["revokedAt"].is_string());
}

#[tokio::test]
async fn another_shops_devices_are_invisible_and_cannot_be_revoked() {
    let app = TestApp::spawn().await;
    let (_, manager_a) = app.tenant_with("shop-a", Role::Manager).await;
    let (_, manager_b) = app.tenant_with("shop-b", Role::Manager).await;
    let code = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll-codes",
            Some(&manager_b),
            None,
        )
        .await;
    let token_b = app
        .enroll("shop-b", code.body["code"].as_str().unwrap(), "B1")
        .await;
    let b_devices = app.get("/api/v1/devices", &manager_b).await;
    let b_device = b_devices.body[0]["id"].as_str().unwrap().to_owned();

    let a_list = app.get("/api/v1/devices", &manager_a).await;
    assert_eq!(a_list.body, json!([]));
    let a_revoke = app
        .delete(&format!("/api/v1/devices/{b_device}"), &manager_a)
        .await;
    assert_eq!(a_revoke.status, StatusCode::NOT_FOUND);
    assert_eq!(a_revoke.code(), "record.not-found");
    let still = app.get("/api/v1/sync/pull?since=0", &token_b).await;
    assert_eq!(still.status, StatusCode::OK);
    // A code made by shop A's manager never enrolls into shop B.
    let code_a = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll-codes",
            Some(&manager_a),
            None,
        )
        .await;
    let cross = app
        .call(
            Method::POST,
            "/api/v1/devices/enroll",
            None,
            Some(json!({"tenant": "shop-b", "code": code_a.body["code"]})),
        )
        .await;
    assert_eq!(cross.code(), "device.enrollment-code-invalid");
}

#[tokio::test]
async fn a_malformed_device_id_is_a_400_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let (_, manager) = app.tenant_with("shop", Role::Manager).await;
    for bad in ["not-a-uuid", "%E2%80%AE", &"9".repeat(10_000), "1%00"] {
        let a = app
            .delete(&format!("/api/v1/devices/{bad}"), &manager)
            .await;
        assert!(
            a.status == StatusCode::BAD_REQUEST || a.status == StatusCode::NOT_FOUND,
            "{bad}: {a:?}"
        );
        assert!(!a.code().is_empty());
    }
    // A body sent with the code request is ignored, not an error.
    let with_body = app
        .raw(
            Method::POST,
            "/api/v1/devices/enroll-codes",
            Some(&manager),
            Some("application/json"),
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(with_body.status, StatusCode::CREATED);
}

/// The token check is one statement outside any transaction (`live_device`, V17): the tenant it
/// sets must end with that statement, or the next request on the pooled connection would start
/// out acting for the last device's shop.
#[tokio::test]
async fn the_device_token_check_leaves_no_tenant_behind_on_its_pooled_connection() {
    let app = TestApp::spawn().await;
    let shop = app.tenant("shop").await;
    let other = app.tenant("other").await;
    let token = app.device_token("shop").await;
    // One connection, so every call below runs on the one the check used.
    let pool = dukkan_server::db::pool(&app.app_url, 1).expect("pool");
    let device = dukkan_server::devices::authenticate_device(&pool, &token)
        .await
        .expect("a live token");
    assert_eq!(device.tenant, shop);
    let client = pool.get().await.expect("the same connection");
    let setting = crate::support::tenant_left_on(&client).await;
    assert_eq!(setting, None, "no tenant is left set");
    let visible: i64 = client
        .query_one("SELECT count(*) FROM devices", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(visible, 0, "row-level security shows no shop's devices");
    drop(client);

    // The same secret under another shop's id, and a wrong secret under this one: refused.
    let (shop_hex, other_hex) = (shop.0.simple().to_string(), other.0.simple().to_string());
    let moved = token.replace(&shop_hex, &other_hex);
    assert_ne!(moved, token);
    let guessed = format!("{}{}", &token[..token.len() - 4], "AAAA");
    for forged in [moved, guessed] {
        let refused = dukkan_server::devices::authenticate_device(&pool, &forged).await;
        assert!(
            matches!(refused, Err(dukkan_server::error::Error::Unauthenticated)),
            "{refused:?}"
        );
    }
}
