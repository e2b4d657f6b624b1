//! The operator CLI, run as a real process against a fresh database.

#[path = "support/mod.rs"]
mod support;

use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use support::TestDb;

const BIN: &str = env!("CARGO_BIN_EXE_dukkan-server");

fn run(db: &TestDb, args: &[&str], env: &[(&str, &str)]) -> Value {
    let out = Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", &db.owner_url)
        .env_remove("STAFF_PIN")
        .env_remove("STAFF_PASSWORD")
        .envs(env.iter().copied())
        .output()
        .expect("run dukkan-server");
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{args:?} printed no JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

/// `serve` on `db` with `env` besides its settings; the child and the address it listens on.
fn serve(db: &TestDb, env: &[(&str, &str)]) -> (std::process::Child, String) {
    let mut child = Command::new(BIN)
        .arg("serve")
        .env("APP_DATABASE_URL", &db.app_url)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("OTP_SECRET", "an operator secret of 32+ bytes....")
        .env_remove("TWILIO_ACCOUNT_SID")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("start serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("piped stdout"))
        .read_line(&mut line)
        .expect("serve prints where it listens");
    let listening: Value = serde_json::from_str(&line).expect("JSON");
    let addr = listening["listening"]
        .as_str()
        .expect("listening address")
        .to_owned();
    (child, addr)
}

/// A migrated database with the tenant `shop`.
async fn migrated_with_shop() -> TestDb {
    let db = TestDb::create().await;
    run(&db, &["migrate"], &[]);
    run(
        &db,
        &["tenant", "create", "--slug", "shop", "--name", "Shop"],
        &[],
    );
    db
}

#[tokio::test]
async fn migrate_then_tenant_staff_and_enrollment_code_print_json_that_chains() {
    let db = TestDb::create().await;
    let applied = run(&db, &["migrate"], &[]);
    assert_eq!(applied["applied"][0], 1, "{applied}");
    assert_eq!(
        run(&db, &["migrate"], &[])["applied"],
        serde_json::json!([])
    );
    let tenant = run(
        &db,
        &[
            "tenant",
            "create",
            "--slug",
            "muscat-1",
            "--name",
            "Muscat Laundry",
        ],
        &[],
    );
    assert_eq!(tenant["slug"], "muscat-1");
    let staff = run(
        &db,
        &[
            "staff", "add", "--tenant", "muscat-1", "--name", "Salim", "--role", "manager",
        ],
        &[
            ("STAFF_PIN", "864213"),
            ("STAFF_PASSWORD", "a long server password"),
        ],
    );
    assert_eq!(staff["role"], "manager");
    assert!(staff.get("pin").is_none(), "a given PIN is never echoed");
    assert!(
        staff.get("password").is_none(),
        "a given password is never echoed"
    );
    // A manager's PIN has six digits at least.
    let short = Command::new(BIN)
        .args([
            "staff", "add", "--tenant", "muscat-1", "--name", "Omar", "--role", "manager",
        ])
        .env("DATABASE_URL", &db.owner_url)
        .env("STAFF_PIN", "8642")
        .output()
        .unwrap();
    assert!(!short.status.success());
    let generated = run(
        &db,
        &[
            "staff", "add", "--tenant", "muscat-1", "--name", "Aisha", "--role", "cashier",
        ],
        &[],
    );
    let pin = generated["pin"].as_str().expect("generated PIN shown once");
    assert!(pin.len() == 6 && pin.bytes().all(|b| b.is_ascii_digit()));
    let password = generated["password"]
        .as_str()
        .expect("generated password shown once");
    assert_eq!(password.len(), 16);
    let id = generated["id"].as_str().unwrap();
    let reset = run(
        &db,
        &["staff", "set-password", "--tenant", "muscat-1", "--id", id],
        &[("STAFF_PASSWORD", "another long password")],
    );
    assert_eq!(reset["id"], id);
    assert!(reset.get("password").is_none());
    let gone = run(
        &db,
        &["staff", "deactivate", "--tenant", "muscat-1", "--id", id],
        &[],
    );
    assert_eq!(gone["name"], "Aisha");
    assert_eq!(gone["id"], id);
    let code = run(&db, &["device", "enroll-code", "--tenant", "muscat-1"], &[]);
    assert_eq!(code["code"].as_str().map(str::len), Some(11));
    assert_eq!(code["tenantId"], tenant["id"]);
    assert_eq!(run(&db, &["otp", "purge-expired"], &[])["purged"], 0);

    // Refusals exit non-zero with a message, and print nothing on stdout.
    let dup = Command::new(BIN)
        .args(["tenant", "create", "--slug", "muscat-1", "--name", "Again"])
        .env("DATABASE_URL", &db.owner_url)
        .output()
        .unwrap();
    assert!(!dup.status.success());
    assert!(dup.stdout.is_empty());
    let said = String::from_utf8_lossy(&dup.stderr);
    assert!(
        said.contains("A shop with this code already exists. (tenant.exists)"),
        "{said}"
    );
    let bad_role = Command::new(BIN)
        .args([
            "staff", "add", "--tenant", "muscat-1", "--name", "X", "--role", "owner",
        ])
        .env("DATABASE_URL", &db.owner_url)
        .output()
        .unwrap();
    assert!(!bad_role.status.success());
}

#[tokio::test]
async fn a_command_before_migrate_says_to_migrate_with_the_databases_own_words() {
    let db = TestDb::create().await;
    let out = Command::new(BIN)
        .args(["tenant", "create", "--slug", "muscat-1", "--name", "Muscat"])
        .env("DATABASE_URL", &db.owner_url)
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("run `dukkan-server migrate` first"), "{said}");
    assert!(
        said.contains("relation \"tenants\" does not exist"),
        "{said}"
    );
}

#[tokio::test]
async fn serve_answers_on_its_bind_address_and_stops_cleanly_on_sigterm() {
    let db = TestDb::create().await;
    run(&db, &["migrate"], &[]);
    let (mut child, addr) = serve(&db, &[("METRICS_TOKEN", "scrape-me-please")]);
    let ready = reqwest::get(format!("http://{addr}/readyz")).await.unwrap();
    assert_eq!(ready.status(), reqwest::StatusCode::OK);
    // METRICS_TOKEN closes /metrics to scrapers that do not send it.
    let client = reqwest::Client::new();
    let metrics = format!("http://{addr}/metrics");
    for wrong in [None, Some("scrape-me-pleasE"), Some("")] {
        let mut req = client.get(&metrics);
        if let Some(token) = wrong {
            req = req.bearer_auth(token);
        }
        let refused = req.send().await.unwrap();
        assert_eq!(
            refused.status(),
            reqwest::StatusCode::UNAUTHORIZED,
            "{wrong:?}"
        );
        let body: Value = refused.json().await.unwrap();
        assert_eq!(body["code"], "auth.unauthenticated", "{body}");
        assert!(!body.to_string().contains("dukkan_http"), "{body}");
    }
    let scraped = client
        .get(&metrics)
        .bearer_auth("scrape-me-please")
        .send()
        .await
        .unwrap();
    assert_eq!(scraped.status(), reqwest::StatusCode::OK);
    assert!(scraped
        .text()
        .await
        .unwrap()
        .contains("dukkan_http_requests_total"));
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    assert!(child.wait().unwrap().success(), "graceful shutdown exits 0");
}

#[test]
fn help_documents_every_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    for var in [
        "DATABASE_URL",
        "APP_DATABASE_URL",
        "BIND_ADDR",
        "STAFF_PIN",
        "RUST_LOG",
    ] {
        assert!(help.contains(var), "--help does not mention {var}");
    }
    let serve = Command::new(BIN)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let serve_help = String::from_utf8_lossy(&serve.stdout);
    for var in [
        "APP_DATABASE_URL",
        "OTP_SECRET",
        "METRICS_TOKEN",
        "RATE_LIMIT_IP_PER_SECOND",
        "TWILIO_FROM",
        "TWILIO_WHATSAPP_FROM",
    ] {
        assert!(
            serve_help.contains(var),
            "serve --help does not mention {var}"
        );
    }
}

#[test]
fn serve_refuses_a_whatsapp_sender_that_is_not_a_number_or_has_no_twilio_account() {
    let serve_with = |env: &[(&str, &str)]| {
        Command::new(BIN)
            .arg("serve")
            .env("APP_DATABASE_URL", "postgres://dukkan_app@127.0.0.1:1/none")
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("OTP_SECRET", "an operator secret of 32+ bytes....")
            .env_remove("TWILIO_ACCOUNT_SID")
            .env_remove("TWILIO_WHATSAPP_FROM")
            .envs(env.iter().copied())
            .output()
            .unwrap()
    };
    let twilio = [
        ("TWILIO_ACCOUNT_SID", "AC0123456789abcdef0123456789abcdef"),
        ("TWILIO_AUTH_TOKEN", "token"),
        ("TWILIO_FROM", "+15005550006"),
    ];
    for sender in [
        "14155238886",
        "whatsapp:",
        "MG0123456789abcdef0123456789abcdef",
    ] {
        let mut env = twilio.to_vec();
        env.push(("TWILIO_WHATSAPP_FROM", sender));
        let out = serve_with(&env);
        assert!(!out.status.success(), "{sender:?} was taken");
        assert!(out.stdout.is_empty(), "it never listened");
        let said = String::from_utf8_lossy(&out.stderr);
        assert!(said.contains("TWILIO_WHATSAPP_FROM"), "{said}");
    }
    // A WhatsApp sender without a Twilio account would silently send nothing by WhatsApp.
    let out = serve_with(&[("TWILIO_WHATSAPP_FROM", "+14155238886")]);
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains("TWILIO_WHATSAPP_FROM needs TWILIO_ACCOUNT_SID"),
        "{said}"
    );
}

#[tokio::test]
async fn serve_refuses_a_database_role_that_could_read_past_row_level_security() {
    let db = TestDb::create().await;
    run(&db, &["migrate"], &[]);
    // The owner (here the superuser) in place of the application role.
    let out = Command::new(BIN)
        .arg("serve")
        .env("APP_DATABASE_URL", &db.owner_url)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("OTP_SECRET", "an operator secret of 32+ bytes....")
        .env_remove("TWILIO_ACCOUNT_SID")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty(), "it never listened");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("row-level security would not hold"), "{said}");
}

#[tokio::test]
async fn serve_stops_within_its_grace_time_even_while_a_long_poll_waits() {
    let db = migrated_with_shop().await;
    let code = run(&db, &["device", "enroll-code", "--tenant", "shop"], &[]);
    let (mut child, addr) = serve(&db, &[("SHUTDOWN_GRACE_SECS", "1")]);
    let base = format!("http://{addr}");
    let client = reqwest::Client::new();
    let enrolled: Value = client
        .post(format!("{base}/api/v1/devices/enroll"))
        .json(&serde_json::json!({"tenant": "shop", "code": code["code"]}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = enrolled["deviceToken"].as_str().unwrap().to_owned();
    // A till waiting for changes for up to 25 s.
    let waiting = tokio::spawn(
        client
            .get(format!("{base}/api/v1/sync/pull?since=0&wait=25"))
            .bearer_auth(token)
            .send(),
    );
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let asked = std::time::Instant::now();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exited = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    let took = asked.elapsed();
    assert!(exited.success(), "{exited:?}");
    assert!(
        took < std::time::Duration::from_secs(5),
        "stopped {took:?} after SIGTERM with a 25 s long-poll open (grace 1 s)"
    );
    waiting.abort();
}

#[tokio::test]
async fn an_operator_sets_the_countries_a_shop_texts_and_its_daily_cap() {
    let db = migrated_with_shop().await;
    let policy = run(
        &db,
        &[
            "tenant",
            "sms-policy",
            "--slug",
            "shop",
            "--countries",
            "om,AE",
            "--daily-cap",
            "50",
        ],
        &[],
    );
    assert_eq!(policy["smsCountries"], serde_json::json!(["OM", "AE"]));
    assert_eq!(policy["smsDailyCap"], 50);
    let kept = run(
        &db,
        &[
            "tenant",
            "sms-policy",
            "--slug",
            "shop",
            "--daily-cap",
            "10",
        ],
        &[],
    );
    assert_eq!(kept["smsCountries"], serde_json::json!(["OM", "AE"]));
    let bad = Command::new(BIN)
        .args([
            "tenant",
            "sms-policy",
            "--slug",
            "shop",
            "--countries",
            "OMN",
        ])
        .env("DATABASE_URL", &db.owner_url)
        .output()
        .unwrap();
    assert!(!bad.status.success());
}

#[tokio::test]
async fn an_operator_sets_a_shops_loyalty_rule_and_one_past_a_thousand_a_rial_is_refused() {
    let db = migrated_with_shop().await;
    let set = run(
        &db,
        &[
            "tenant",
            "loyalty",
            "--slug",
            "shop",
            "--points-per-rial",
            "5",
        ],
        &[],
    );
    assert_eq!(
        set,
        serde_json::json!({"slug": "shop", "loyalty": {"pointsPerRial": 5}})
    );
    for bad in [
        ["--slug", "shop", "--points-per-rial", "1001"],
        ["--slug", "shop", "--points-per-rial", "-1"],
        ["--slug", "nowhere", "--points-per-rial", "2"],
    ] {
        let out = Command::new(BIN)
            .args(["tenant", "loyalty"])
            .args(bad)
            .env("DATABASE_URL", &db.owner_url)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad:?}");
    }
    let (client, conn) = tokio_postgres::connect(&db.owner_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let stored: i32 = client
        .query_one(
            "SELECT points_per_rial FROM tenants WHERE slug = 'shop'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 5, "a refused rule changes nothing");
}

#[tokio::test]
async fn an_operator_sets_a_shops_guest_retention_and_zero_or_past_ten_years_is_refused() {
    let db = migrated_with_shop().await;
    let set = run(
        &db,
        &[
            "tenant",
            "guest-retention",
            "--slug",
            "shop",
            "--days",
            "30",
        ],
        &[],
    );
    assert_eq!(
        set,
        serde_json::json!({"slug": "shop", "guestRetentionDays": 30})
    );
    for bad in [
        ["--slug", "shop", "--days", "0"],
        ["--slug", "shop", "--days", "3651"],
        ["--slug", "shop", "--days", "-5"],
        ["--slug", "nowhere", "--days", "30"],
    ] {
        let out = Command::new(BIN)
            .args(["tenant", "guest-retention"])
            .args(bad)
            .env("DATABASE_URL", &db.owner_url)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{bad:?}");
    }
    let (client, conn) = tokio_postgres::connect(&db.owner_url, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let stored: i32 = client
        .query_one(
            "SELECT guest_retention_days FROM tenants WHERE slug = 'shop'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(stored, 30, "the refused settings changed nothing");
}
