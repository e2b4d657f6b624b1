//! The customer endpoints: happy paths, rules, roles and tenant isolation.

use crate::support::TestApp;
use dukkan_server::staff::Role;
use reqwest::{Method, StatusCode};
use serde_json::json;

#[tokio::test]
async fn a_cashier_creates_a_stub_and_reads_it_back_in_the_prd_shape() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let created = app
        .post(
            "/api/v1/customers",
            &token,
            json!({
                "type": "stub", "firstName": "  Ahmed ", "lastName": "Al-Said",
                "name2": "أحمد", "phone": "9212 3456",
                "preferences": {"folding": "hang", "fragrance": "lavender", "ecoFriendly": true,
                                "channels": ["sms", "whatsapp", "sms"]}
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let c = &created.body;
    assert_eq!(c["type"], "stub");
    assert_eq!(c["customerNumber"], "CUST-00001");
    assert_eq!(c["firstName"], "Ahmed");
    assert_eq!(c["name2"], "أحمد");
    assert_eq!(c["phone"], "+96892123456");
    assert_eq!(c["phoneVerified"], false);
    assert_eq!(c["isActive"], true);
    assert_eq!(c["loyaltyPoints"], 0);
    assert_eq!(c["totalOrders"], 0);
    assert_eq!(c["preferences"]["ecoFriendly"], true);
    assert_eq!(c["preferences"]["channels"], json!(["whatsapp", "sms"]));
    let id = c["id"].as_str().unwrap();
    assert_eq!(uuid::Uuid::parse_str(id).unwrap().get_version_num(), 7);

    let got = app.get(&format!("/api/v1/customers/{id}"), &token).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(&got.body, c);
    // The write was audited (fields, not values) and put on the change feed.
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log WHERE entity = 'customer'")
            .await,
        1
    );
    assert_eq!(app.count("SELECT count(*) FROM change_feed").await, 1);
}

#[tokio::test]
async fn a_guest_needs_nothing_but_cannot_carry_a_phone() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let guest = app
        .post("/api/v1/customers", &token, json!({"type": "guest"}))
        .await;
    assert_eq!(guest.status, StatusCode::CREATED);
    assert_eq!(guest.body["firstName"], serde_json::Value::Null);
    let bad = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "guest", "phone": "92123456"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.code(), "customer.guest-contact");
}

#[tokio::test]
async fn a_stub_without_phone_or_name_and_a_full_profile_without_otp_are_refused() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let no_phone = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "Ahmed"}),
        )
        .await;
    assert_eq!(no_phone.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(no_phone.code(), "validation.required");
    let no_name = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "phone": "92123456"}),
        )
        .await;
    assert_eq!(no_name.code(), "validation.required");
    let bad_phone = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "A", "phone": "+968 1234 5678"}),
        )
        .await;
    assert_eq!(bad_phone.code(), "validation.invalid-phone");
    let full = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "full", "firstName": "A", "phone": "92123456", "email": "a@example.om"}),
        )
        .await;
    assert_eq!(full.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(full.code(), "customer.otp-required");
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 0);
}

#[tokio::test]
async fn error_messages_follow_accept_language() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let send = |lang: &'static str| {
        app.client
            .post(format!("{}/api/v1/customers", app.base))
            .bearer_auth(&token)
            .header("accept-language", lang)
            .json(&json!({"type": "stub", "firstName": "A", "phone": "123"}))
            .send()
    };
    let ar = TestApp::answer(send("ar-OM,ar;q=0.9,en;q=0.5").await.unwrap()).await;
    assert_eq!(ar.code(), "validation.invalid-phone");
    assert_eq!(
        ar.body["message"],
        dukkan_core::i18n::Localizer::global().format(
            dukkan_core::i18n::Locale::Ar,
            "error-invalid-phone",
            &[]
        )
    );
    assert_eq!(ar.headers["content-language"], "ar");
    let en = TestApp::answer(send("en-GB").await.unwrap()).await;
    assert_eq!(
        en.body["message"],
        "This phone number is not valid. Check the digits and the country code."
    );
    let unauth = app
        .client
        .get(format!("{}/api/v1/customers", app.base))
        .header("accept-language", "ar")
        .send()
        .await
        .unwrap();
    let unauth = TestApp::answer(unauth).await;
    assert_eq!(unauth.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unauth.body["message"], "سجّل الدخول للمتابعة.");
}

#[tokio::test]
async fn the_list_pages_filters_and_searches_by_name_phone_email_and_number() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Manager).await;
    let ahmed = app.stub(&token, "Ahmed", "92123456").await;
    app.stub(&token, "Badr", "93334444").await;
    app.post(
        "/api/v1/customers",
        &token,
        json!({"type": "stub", "firstName": "أحمد", "lastName": "البلوشي", "phone": "95556666",
               "email": "Ahmed.B@Example.OM"}),
    )
    .await;
    app.post("/api/v1/customers", &token, json!({"type": "guest"}))
        .await;
    let gone = app.stub(&token, "Gone", "97778888").await;
    let gone_id = gone["id"].as_str().unwrap();
    assert_eq!(
        app.delete(&format!("/api/v1/customers/{gone_id}"), &token)
            .await
            .status,
        StatusCode::OK
    );

    let search = |q: &str| {
        let q = q.to_owned();
        let app = &app;
        let token = &token;
        async move {
            let url = reqwest::Url::parse_with_params(
                &format!("{}/api/v1/customers", app.base),
                &[("search", q.as_str())],
            )
            .unwrap();
            let a =
                TestApp::answer(app.client.get(url).bearer_auth(token).send().await.unwrap()).await;
            assert_eq!(a.status, StatusCode::OK, "{q}: {a:?}");
            a.body["customers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["customerNumber"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(search("ahm").await, vec!["CUST-00003", "CUST-00001"]);
    assert_eq!(search("احمد").await, vec!["CUST-00003"], "hamza folded");
    assert_eq!(search("3456").await, vec!["CUST-00001"], "last four digits");
    assert_eq!(search("+968 9212").await, vec!["CUST-00001"]);
    assert_eq!(
        search("٩٢١٢٣٤٥٦").await,
        vec!["CUST-00001"],
        "Arabic-Indic digits"
    );
    assert_eq!(search("cust-2").await, vec!["CUST-00002"]);
    assert_eq!(search("example").await, vec!["CUST-00003"], "email domain");
    assert!(
        search("7778").await.is_empty(),
        "inactive hidden by default"
    );
    assert!(search("%").await.is_empty());
    assert!(search("zzz").await.is_empty());

    let all = app
        .get("/api/v1/customers?limit=2&page=2&status=all", &token)
        .await;
    assert_eq!(
        all.body["pagination"],
        json!({"page": 2, "limit": 2, "total": 5, "totalExact": true, "totalPages": 3})
    );
    assert_eq!(all.body["customers"][0]["customerNumber"], "CUST-00003");
    let guests = app.get("/api/v1/customers?type=guest", &token).await;
    assert_eq!(guests.body["pagination"]["total"], 1);
    let inactive = app.get("/api/v1/customers?status=inactive", &token).await;
    assert_eq!(inactive.body["customers"][0]["id"], gone["id"]);
    assert_eq!(ahmed["customerNumber"], "CUST-00001");

    for bad in [
        "limit=101",
        "limit=0",
        "page=-1",
        "type=vip",
        "status=maybe",
        "limit=abc",
        "foo=1",
    ] {
        let a = app.get(&format!("/api/v1/customers?{bad}"), &token).await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{bad}: {a:?}");
        assert_eq!(a.code(), "request.invalid-query", "{bad}");
    }
    let long = app
        .get(
            &format!("/api/v1/customers?search={}", "a".repeat(101)),
            &token,
        )
        .await;
    assert_eq!(long.code(), "validation.too-long");
}

#[tokio::test]
async fn patch_changes_only_the_named_fields_and_null_clears_an_optional_one() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let c = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"type": "stub", "firstName": "Ahmed", "lastName": "Said", "phone": "92123456"}),
        )
        .await
        .body;
    let path = format!("/api/v1/customers/{}", c["id"].as_str().unwrap());
    let p = app
        .patch(
            &path,
            &token,
            json!({"lastName": null, "email": "a@example.om"}),
        )
        .await;
    assert_eq!(p.status, StatusCode::OK, "{p:?}");
    assert_eq!(p.body["lastName"], serde_json::Value::Null);
    assert_eq!(p.body["firstName"], "Ahmed");
    assert_eq!(p.body["email"], "a@example.om");
    assert_eq!(p.body["phone"], "+96892123456");
    let client = app.owner.get().await.unwrap();
    let fields: serde_json::Value = client
        .query_one("SELECT fields FROM audit_log WHERE action = 'update'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(fields, json!(["lastName", "email"]));

    // A stub cannot lose its phone, cannot become full here, cannot go back to guest.
    let a = app.patch(&path, &token, json!({"phone": null})).await;
    assert_eq!(a.code(), "validation.required");
    let a = app.patch(&path, &token, json!({"type": "full"})).await;
    assert_eq!(a.code(), "customer.otp-required");
    let a = app.patch(&path, &token, json!({"type": "guest"})).await;
    assert_eq!(a.code(), "customer.kind-change");
    // Another active customer's phone is taken.
    app.stub(&token, "Badr", "93334444").await;
    let a = app.patch(&path, &token, json!({"phone": "93334444"})).await;
    assert_eq!(a.status, StatusCode::CONFLICT);
    assert_eq!(a.code(), "customer.phone-taken");
}

#[tokio::test]
async fn a_guest_becomes_a_stub_by_patch_with_a_name_and_phone() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let g = app
        .post("/api/v1/customers", &token, json!({"type": "guest"}))
        .await
        .body;
    let path = format!("/api/v1/customers/{}", g["id"].as_str().unwrap());
    let half = app
        .patch(&path, &token, json!({"type": "stub", "firstName": "Ahmed"}))
        .await;
    assert_eq!(half.code(), "validation.required");
    let ok = app
        .patch(
            &path,
            &token,
            json!({"type": "stub", "firstName": "Ahmed", "phone": "92123456"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    assert_eq!(ok.body["type"], "stub");
    assert_eq!(
        g["customerNumber"],
        serde_json::Value::Null,
        "a guest has none"
    );
    assert_eq!(
        ok.body["customerNumber"], "CUST-00001",
        "a stub has one: numbered as it became one"
    );
}

#[tokio::test]
async fn only_managers_and_admins_deactivate_and_a_deactivated_customer_frees_its_phone() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let manager = app.sign_in("shop", Role::Manager).await;
    let c = app.stub(&cashier, "Ahmed", "92123456").await;
    let path = format!("/api/v1/customers/{}", c["id"].as_str().unwrap());
    let refused = app.delete(&path, &cashier).await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "auth.forbidden");
    let done = app.delete(&path, &manager).await;
    assert_eq!(done.status, StatusCode::OK);
    assert_eq!(done.body["isActive"], false);
    let again = app.delete(&path, &manager).await;
    assert_eq!(
        again.status,
        StatusCode::OK,
        "deactivating twice is not an error"
    );
    // The row is still there (soft delete), its phone may be reused, it cannot be edited.
    assert_eq!(app.get(&path, &cashier).await.status, StatusCode::OK);
    app.stub(&cashier, "New Ahmed", "92123456").await;
    let edit = app.patch(&path, &cashier, json!({"firstName": "X"})).await;
    assert_eq!(edit.status, StatusCode::CONFLICT);
    assert_eq!(edit.code(), "customer.inactive");
}

#[tokio::test]
async fn another_tenants_customer_is_not_found_on_every_customer_endpoint_and_nothing_changes() {
    let app = TestApp::spawn().await;
    let (_, a) = app.tenant_with("shop-a", Role::Admin).await;
    let (_, b) = app.tenant_with("shop-b", Role::Admin).await;
    let theirs = app.stub(&b, "Badr", "93334444").await;
    let id = theirs["id"].as_str().unwrap();
    let path = format!("/api/v1/customers/{id}");
    let before = app.count("SELECT count(*) FROM audit_log").await;
    for (method, p, body) in [
        (Method::GET, path.clone(), None),
        (
            Method::PATCH,
            path.clone(),
            Some(json!({"firstName": "Hacked"})),
        ),
        (Method::DELETE, path.clone(), None),
        (Method::GET, format!("{path}/addresses"), None),
        (
            Method::POST,
            format!("{path}/addresses"),
            Some(json!({"city": "Muscat"})),
        ),
    ] {
        let r = app.call(method.clone(), &p, Some(&a), body).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{method} {p}: {r:?}");
        assert_eq!(r.code(), "record.not-found");
    }
    let list = app
        .get("/api/v1/customers?status=all&search=badr", &a)
        .await;
    assert_eq!(list.body["pagination"]["total"], 0);
    // Creating with the other tenant's id makes a separate customer in A; B's is untouched.
    let same_id = app
        .post("/api/v1/customers", &a, json!({"id": id, "type": "guest"}))
        .await;
    assert_eq!(same_id.status, StatusCode::CREATED);
    let still = app.get(&path, &b).await;
    assert_eq!(still.body, theirs);
    assert_eq!(
        app.count("SELECT count(*) FROM audit_log").await,
        before + 1
    );
}

#[tokio::test]
async fn creating_twice_with_the_same_device_id_is_a_conflict_not_a_second_customer() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let id = uuid::Uuid::now_v7();
    let first = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"id": id, "type": "guest"}),
        )
        .await;
    assert_eq!(first.status, StatusCode::CREATED);
    let second = app
        .post(
            "/api/v1/customers",
            &token,
            json!({"id": id, "type": "guest"}),
        )
        .await;
    assert_eq!(second.status, StatusCode::CONFLICT);
    assert_eq!(second.code(), "customer.id-taken");
    assert_eq!(app.count("SELECT count(*) FROM customers").await, 1);
}

#[tokio::test]
async fn search_follows_patched_names_and_phones_and_never_shows_another_tenants_customers() {
    let app = TestApp::spawn().await;
    let (_, token) = app.tenant_with("shop", Role::Cashier).await;
    let (_, other) = app.tenant_with("other", Role::Cashier).await;
    let c = app.stub(&token, "Ahmed", "92123456").await;
    app.stub(&other, "Ahmed", "92123456").await;
    let ids = |a: &crate::support::Answer| -> Vec<String> {
        a.body["customers"]
            .as_array()
            .expect("a page")
            .iter()
            .map(|c| c["id"].as_str().expect("id").to_owned())
            .collect()
    };
    let id = c["id"].as_str().unwrap().to_owned();
    assert_eq!(
        ids(&app.get("/api/v1/customers?search=ahm", &token).await),
        vec![id.clone()]
    );
    assert_eq!(
        ids(&app.get("/api/v1/customers?search=2123", &token).await),
        vec![id.clone()]
    );
    let patched = app
        .patch(
            &format!("/api/v1/customers/{id}"),
            &token,
            json!({"firstName": "Zahir", "phone": "93334444", "name2": "ظاهر"}),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    for (old, new) in [("ahm", "zah"), ("2123", "3334"), ("92123456", "ظاهر")] {
        let gone = app
            .get(&format!("/api/v1/customers?search={old}"), &token)
            .await;
        assert!(ids(&gone).is_empty(), "{old} still finds the customer");
        let found = app
            .get(&format!("/api/v1/customers?search={new}"), &token)
            .await;
        assert_eq!(ids(&found), vec![id.clone()], "{new}");
    }
    // Three digits are enough to search anywhere in the number; two still work, unindexed.
    assert_eq!(
        ids(&app.get("/api/v1/customers?search=333", &token).await),
        vec![id.clone()]
    );
    assert_eq!(
        ids(&app.get("/api/v1/customers?search=44", &token).await),
        [id]
    );
}

#[tokio::test]
async fn a_cashier_finds_customers_by_search_but_cannot_page_through_the_list() {
    let app = TestApp::spawn().await;
    let (_, cashier) = app.tenant_with("shop", Role::Cashier).await;
    let manager = app.sign_in("shop", Role::Manager).await;
    for (i, name) in ["Salim", "Salma", "Said"].iter().enumerate() {
        app.stub(&cashier, name, &format!("9212345{i}")).await;
    }
    let found = app.get("/api/v1/customers?search=sal", &cashier).await;
    assert_eq!(found.status, StatusCode::OK, "{found:?}");
    assert_eq!(found.body["customers"].as_array().unwrap().len(), 2);
    for browse in [
        "",
        "?limit=100&status=all",
        "?search=sal&page=2",
        "?search=sal&limit=21",
        "?search=sal&status=inactive",
        "?search=%20%20",
    ] {
        let a = app
            .get(&format!("/api/v1/customers{browse}"), &cashier)
            .await;
        assert_eq!(
            (a.status, a.code()),
            (StatusCode::FORBIDDEN, "auth.forbidden"),
            "{browse}"
        );
        let m = app
            .get(&format!("/api/v1/customers{browse}"), &manager)
            .await;
        assert_eq!(m.status, StatusCode::OK, "manager {browse}: {m:?}");
    }
}

/// Past `COUNT_CAP` matches the total stops counting and says so, by name words, by phone
/// digits and when browsing, and the pages past the cap still come, newest number first.
#[tokio::test]
async fn a_broad_search_counts_to_the_cap_says_there_are_more_and_still_pages_past_it() {
    let app = TestApp::spawn().await;
    let (tenant, token) = app.tenant_with("shop", Role::Manager).await;
    let cap = dukkan_server::customers::COUNT_CAP;
    let n = cap + 30;
    // Seeded with SQL (the token trigger indexes them): every one is a "Salim", phone +9689…
    app.owner
        .get()
        .await
        .unwrap()
        .execute(
            "INSERT INTO customers (tenant_id, id, customer_number, kind, first_name, phone,
                                    search_text)
             SELECT $1, gen_random_uuid(), g, 'stub', 'Salim',
                    '+9689' || lpad(g::text, 7, '0'), 'salim'
             FROM generate_series(1::bigint, $2::bigint) g",
            &[&tenant.0, &n],
        )
        .await
        .unwrap();
    let last_page = (n + 19) / 20;
    for query in ["search=sal", "search=9689", "status=all"] {
        let first = app
            .get(&format!("/api/v1/customers?{query}&limit=20"), &token)
            .await;
        assert_eq!(first.status, StatusCode::OK, "{query}: {first:?}");
        assert_eq!(
            first.body["pagination"],
            json!({"page": 1, "limit": 20, "total": cap, "totalExact": false,
                   "totalPages": cap / 20}),
            "{query}"
        );
        assert_eq!(
            first.body["customers"][0]["customerNumber"],
            format!("CUST-{n:05}"),
            "{query}"
        );
        let beyond = app
            .get(
                &format!("/api/v1/customers?{query}&limit=20&page={last_page}"),
                &token,
            )
            .await;
        assert_eq!(beyond.status, StatusCode::OK, "{query}: {beyond:?}");
        let numbers: Vec<&str> = beyond.body["customers"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c["customerNumber"].as_str().unwrap())
            .collect();
        assert_eq!(numbers.len(), usize::try_from(n % 20).unwrap(), "{query}");
        assert_eq!(numbers.last(), Some(&"CUST-00001"), "{query}");
    }
}
