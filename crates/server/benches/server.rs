//! Tenant server benchmarks (BENCHMARKS.md, "Tenant server"): the real server on a real
//! Postgres database over real HTTP on 127.0.0.1, measured from the client.
//!
//! `cargo bench -p dukkan-server --bench server`
//!
//! - `DUKKAN_BENCH_CUSTOMERS` (default 1000000): customers seeded into one tenant with SQL.
//! - `DUKKAN_BENCH_ROUNDS` (default 40): timed requests per list/search query.
//! - `DUKKAN_BENCH_CREATES` (default 3200): customers created by the 16 concurrent clients.
//! - `DUKKAN_BENCH_OTP_SENDS` (default 100): OTP sends through the Twilio double.
//! - `DUKKAN_BENCH_DB` (unset: a fresh database, dropped at the end): the name of a database
//!   to keep. When it exists it is reused as seeded (migrated to the latest schema first, which
//!   also times a migration on a big database); otherwise it is made, seeded and kept.
//!
//! Rate limits are off for the run (a benchmark is one client making many requests).

#[path = "../tests/support/mod.rs"]
mod support;

use dukkan_core::search::search_key;
use dukkan_server::limits::LimitConfig;
use dukkan_server::staff::Role;
use reqwest::StatusCode;
use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{twilio, TestApp, TestDb};

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.replace('_', "").parse().ok())
        .unwrap_or(default)
}

const FIRST: [(&str, &str); 20] = [
    ("Mohammed", "محمد"),
    ("Ahmed", "أحمد"),
    ("Salim", "سالم"),
    ("Said", "سعيد"),
    ("Khalid", "خالد"),
    ("Aisha", "عائشة"),
    ("Fatma", "فاطمة"),
    ("Maryam", "مريم"),
    ("Sultan", "سلطان"),
    ("Hamad", "حمد"),
    ("Nasser", "ناصر"),
    ("Zainab", "زينب"),
    ("Huda", "هدى"),
    ("Yousuf", "يوسف"),
    ("Ali", "علي"),
    ("Omar", "عمر"),
    ("Layla", "ليلى"),
    ("Talal", "طلال"),
    ("Badr", "بدر"),
    ("Muna", "منى"),
];

const LAST: [(&str, &str); 20] = [
    ("Al-Balushi", "البلوشي"),
    ("Al-Harthy", "الحارثي"),
    ("Al-Hinai", "الهنائي"),
    ("Al-Busaidi", "البوسعيدي"),
    ("Al-Rawahi", "الرواحي"),
    ("Al-Maskari", "المسكري"),
    ("Al-Kindi", "الكندي"),
    ("Al-Lawati", "اللواتي"),
    ("Al-Shukaili", "الشكيلي"),
    ("Al-Siyabi", "السيابي"),
    ("Al-Amri", "العامري"),
    ("Al-Farsi", "الفارسي"),
    ("Al-Habsi", "الحبسي"),
    ("Al-Jabri", "الجابري"),
    ("Al-Mahrouqi", "المحروقي"),
    ("Al-Mamari", "المعمري"),
    ("Al-Naabi", "النعبي"),
    ("Al-Riyami", "الريامي"),
    ("Al-Saadi", "السعدي"),
    ("Al-Wahaibi", "الوهيبي"),
];

/// Seeds `n` stubs into `tenant` in one statement. Customer `g` (1..=n) gets number `g`, the
/// unique phone `+9689` followed by `g * 7919 mod 10^7` (7919 is prime to 10, so no two repeat),
/// and names cycling through 20 × 20 first/last names with their Arabic forms. `search_text`
/// is made with dukkan-core's `search_key`, as the server makes it.
async fn seed(app: &TestApp, tenant: uuid::Uuid, n: usize) {
    let client = app.owner.get().await.expect("owner connection");
    let col = |f: fn(&(&str, &str)) -> String, list: &[(&str, &str)]| -> Vec<String> {
        list.iter().map(f).collect()
    };
    let first = col(|p| p.0.to_owned(), &FIRST);
    let first_ar = col(|p| p.1.to_owned(), &FIRST);
    let first_key = col(
        |p| format!("{} {}", search_key(p.0), search_key(p.1)),
        &FIRST,
    );
    let last = col(|p| p.0.to_owned(), &LAST);
    let last_ar = col(|p| p.1.to_owned(), &LAST);
    let last_key = col(
        |p| format!("{} {}", search_key(p.0), search_key(p.1)),
        &LAST,
    );
    let n = i64::try_from(n).expect("size");
    // One statement: the search-token trigger (statement-level, V5__search_token_pages.sql)
    // then makes the tokens of all of them set-wise, in one INSERT ... SELECT.
    client
        .execute(
            "INSERT INTO customers (tenant_id, id, customer_number, kind, first_name, last_name,
                 name2, phone, search_text, created_at, updated_at)
             SELECT $1, gen_random_uuid(), g, 'stub',
                    ($3::text[])[1 + g % 20], ($6::text[])[1 + (g / 20) % 20],
                    ($4::text[])[1 + g % 20] || ' ' || ($7::text[])[1 + (g / 20) % 20],
                    '+9689' || lpad(((g * 7919) % 10000000)::text, 7, '0'),
                    ($5::text[])[1 + g % 20] || ' ' || ($8::text[])[1 + (g / 20) % 20],
                    now() - make_interval(secs => ($2 - g)::double precision),
                    now()
             FROM generate_series(1::bigint, $2::bigint) g",
            &[
                &tenant, &n, &first, &first_ar, &first_key, &last, &last_ar, &last_key,
            ],
        )
        .await
        .expect("seed customers");
    client
        .execute(
            "UPDATE tenant_counters SET next_customer_number = $2::bigint + 1 WHERE tenant_id = $1",
            &[&tenant, &n],
        )
        .await
        .expect("seed counter");
    client
        .batch_execute("VACUUM ANALYZE customers")
        .await
        .expect("analyze");
    client
        .batch_execute("VACUUM ANALYZE customer_search_tokens")
        .await
        .expect("analyze tokens");
}

struct Stats {
    p50: Duration,
    p95: Duration,
    p99: Duration,
    max: Duration,
}

fn stats(mut samples: Vec<Duration>) -> Stats {
    samples.sort();
    let at = |q: f64| {
        let i = ((samples.len() as f64 * q).ceil() as usize).clamp(1, samples.len()) - 1;
        samples[i]
    };
    Stats {
        p50: at(0.50),
        p95: at(0.95),
        p99: at(0.99),
        max: *samples.last().expect("samples"),
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn search(app: &TestApp, token: &str, rounds: usize, label: &str, query: &str) {
    let path = format!("/api/v1/customers?{query}");
    let mut total = 0;
    for _ in 0..3 {
        let a = app.get(&path, token).await;
        assert_eq!(a.status, StatusCode::OK, "{label}: {a:?}");
        total = a.body["pagination"]["total"].as_i64().unwrap_or(0);
    }
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        let resp = app
            .client
            .get(format!("{}{path}", app.base))
            .bearer_auth(token)
            .send()
            .await
            .expect("request");
        let _ = resp.bytes().await.expect("body");
        samples.push(start.elapsed());
    }
    let s = stats(samples);
    println!(
        "| {label} | `{query}` | {total} | {} | {} | {} |",
        ms(s.p50),
        ms(s.p95),
        ms(s.max)
    );
}

async fn creates(app: &TestApp, token: &str, total: usize) {
    let clients = 16;
    let per_client = total / clients;
    // New phones on every run, also on a kept database that earlier runs added to.
    let first: i64 = app
        .owner
        .get()
        .await
        .expect("owner connection")
        .query_one(
            "SELECT count(*) FROM customers WHERE phone LIKE '+96871%'",
            &[],
        )
        .await
        .expect("count earlier creates")
        .get(0);
    let first = usize::try_from(first).expect("count");
    let start = Instant::now();
    let mut tasks = Vec::new();
    for c in 0..clients {
        let client = app.client.clone();
        let base = app.base.clone();
        let token = token.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::with_capacity(per_client);
            for i in 0..per_client {
                let phone = format!("+96871{:06}", (first + c * per_client + i) % 1_000_000);
                let t = Instant::now();
                let resp = client
                    .post(format!("{base}/api/v1/customers"))
                    .bearer_auth(&token)
                    .json(&json!({"type": "stub", "firstName": "Bench", "name2": "تجربة", "phone": phone}))
                    .send()
                    .await
                    .expect("request");
                assert_eq!(resp.status(), StatusCode::CREATED);
                let _ = resp.bytes().await;
                samples.push(t.elapsed());
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for t in tasks {
        samples.extend(t.await.expect("client task"));
    }
    let elapsed = start.elapsed();
    let n = samples.len();
    let s = stats(samples);
    println!(
        "\ncreate customer, 16 concurrent clients: {n} creates in {:.2} s = {:.0}/s; p50 {}, p95 {}, p99 {}, max {}",
        elapsed.as_secs_f64(),
        n as f64 / elapsed.as_secs_f64(),
        ms(s.p50),
        ms(s.p95),
        ms(s.p99),
        ms(s.max)
    );
}

async fn otp_sends(sends: usize) {
    let (base, received) = twilio::start().await;
    let sender = Arc::new(
        dukkan_server::sms::Twilio::new(dukkan_server::sms::TwilioConfig {
            account_sid: twilio::ACCOUNT_SID.into(),
            auth_token: twilio::AUTH_TOKEN.into(),
            from: "+15005550006".into(),
            base_url: base,
        })
        .expect("twilio sender"),
    );
    let app = TestApp::spawn_with(Some(sender), LimitConfig::unlimited()).await;
    let (_, token) = app.tenant_with("otp", Role::Cashier).await;
    let mut samples = Vec::with_capacity(sends);
    for i in 0..sends {
        let c = app.stub(&token, "Bench", &format!("+96872{i:06}")).await;
        // One client address per send: the hourly cap per client (20) is not what is measured.
        let octet = u8::try_from(10 + i % 240).expect("octet");
        let client = reqwest::Client::builder()
            .local_address(std::net::IpAddr::from([127, 0, 1, octet]))
            .build()
            .expect("client");
        let start = Instant::now();
        let resp = client
            .post(format!("{}/api/v1/customers/send-otp", app.base))
            .bearer_auth(&token)
            .json(&json!({"customerId": c["id"]}))
            .send()
            .await
            .expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        let _ = resp.bytes().await;
        samples.push(start.elapsed());
    }
    assert_eq!(received.0.lock().expect("double").len(), sends);
    let s = stats(samples);
    println!(
        "\nOTP send (request -> Twilio double -> answer), {sends} sends: p50 {}, p95 {}, p99 {}, max {}",
        ms(s.p50),
        ms(s.p95),
        ms(s.p99),
        ms(s.max)
    );
}

#[tokio::main]
async fn main() {
    // `cargo test` runs benches with --bench only when asked; a plain run without it does nothing.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let size = env_usize("DUKKAN_BENCH_CUSTOMERS", 1_000_000);
    let rounds = env_usize("DUKKAN_BENCH_ROUNDS", 40);
    let kept = std::env::var("DUKKAN_BENCH_DB").ok();
    let (database, seeded) = match &kept {
        Some(name) => TestDb::kept(name).await,
        None => (TestDb::create().await, false),
    };
    let start = Instant::now();
    let app = TestApp::spawn_on(database, None, LimitConfig::unlimited()).await;
    let size = if seeded {
        println!(
            "reusing database {} (migrated in {:.1} s)",
            app.db_name,
            start.elapsed().as_secs_f64()
        );
        let client = app.owner.get().await.expect("owner connection");
        let seeded: i64 = client
            .query_one(
                "SELECT count(*) FROM customers c JOIN tenants t ON t.id = c.tenant_id
                 WHERE t.slug = 'bench' AND c.phone LIKE '+9689%'",
                &[],
            )
            .await
            .expect("count seeded customers")
            .get(0);
        usize::try_from(seeded).expect("size")
    } else {
        size
    };
    // A manager: browsing the list (no search, or past page 1) is a manager's; a cashier's
    // search runs the same queries.
    let token = if seeded {
        app.sign_in("bench", Role::Manager).await
    } else {
        let (tenant, token) = app.tenant_with("bench", Role::Manager).await;
        let start = Instant::now();
        seed(&app, tenant.0, size).await;
        println!(
            "seeded {size} customers in {:.1} s",
            start.elapsed().as_secs_f64()
        );
        token
    };
    let mid = (size / 2).max(1);
    let phone_of = |g: usize| format!("9{:07}", (g * 7919) % 10_000_000);
    println!("\n| search | query | matches | p50 | p95 | max |\n|---|---|---|---|---|---|");
    search(&app, &token, rounds, "list, page 1", "limit=20").await;
    search(&app, &token, rounds, "list, page 50", "page=50&limit=20").await;
    search(
        &app,
        &token,
        rounds,
        "phone, 8 local digits",
        &format!("search={}", phone_of(mid)),
    )
    .await;
    search(
        &app,
        &token,
        rounds,
        "phone, 5 digits",
        &format!("search={}", &phone_of(mid)[1..6]),
    )
    .await;
    search(
        &app,
        &token,
        rounds,
        "phone, last 4",
        &format!("search={}", &phone_of(mid)[4..]),
    )
    .await;
    search(&app, &token, rounds, "name prefix, Latin", "search=sal").await;
    search(
        &app,
        &token,
        rounds,
        "name prefixes, Latin, 2 words",
        "search=salim%20al-b",
    )
    .await;
    search(
        &app,
        &token,
        rounds,
        "name prefix, Arabic",
        "search=%D8%B3%D8%A7%D9%84",
    )
    .await;
    search(
        &app,
        &token,
        rounds,
        "name prefixes, Arabic, 2 words",
        "search=%D8%B3%D8%A7%D9%84%D9%85%20%D8%A7%D9%84%D8%A8",
    )
    .await;
    search(
        &app,
        &token,
        rounds,
        "customer number",
        &format!("search=CUST-{mid:05}"),
    )
    .await;
    // Creates go to a tenant of their own: on a kept database the searched tenant then stays as
    // seeded. (In the searched tenant, earlier runs' creates became its newest customers, and
    // a page of a common word walks down from the newest: 41,632 of them, none matching,
    // took `sal` from 18-27 to 40-52 ms p95.) The tenant exists after the first kept run.
    let _ = dukkan_server::tenants::create(&app.owner, "creates", "Bench creates").await;
    let creates_token = app.sign_in("creates", Role::Cashier).await;
    creates(
        &app,
        &creates_token,
        env_usize("DUKKAN_BENCH_CREATES", 3200),
    )
    .await;
    otp_sends(env_usize("DUKKAN_BENCH_OTP_SENDS", 100)).await;
}
