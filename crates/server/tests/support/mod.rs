//! Test harness: a real Postgres, a fresh database per test, the real server on 127.0.0.1:0.
//!
//! Postgres is the one on 127.0.0.1:5432 (trust auth, user `postgres`) when something listens
//! there (or on DUKKAN_TEST_PG_PORT). Otherwise a throw-away cluster is made with Debian's
//! `initdb`/`pg_ctl` in a temp directory on a free port, and stopped by a watchdog when the test
//! process exits. Each test's database is dropped WITH (FORCE) when its `TestApp` is dropped.
#![allow(dead_code)]

pub mod twilio;

use deadpool_postgres::Pool;
use dukkan_server::clock::ManualClock;
use dukkan_server::ids::TenantId;
use dukkan_server::limits::LimitConfig;
use dukkan_server::otp::Otp;
use dukkan_server::sms::{DevSink, SmsSender};
use dukkan_server::staff::Role;
use dukkan_server::{db, staff, tenants, AppState};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::OnceLock;
use std::time::Duration;

pub const PIN: &str = "246810";
/// The server password of every staff member the tests add with [`TestApp::sign_in`].
pub const PASSWORD: &str = "correct horse battery";

/// Where the tests' Postgres listens.
#[derive(Debug)]
struct Postgres {
    port: u16,
}

impl Postgres {
    fn url(&self, user: &str, db: &str) -> String {
        format!("postgres://{user}@127.0.0.1:{}/{db}", self.port)
    }
}

fn listening(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, Duration::from_millis(300)).is_ok()
}

fn postgres() -> &'static Postgres {
    static PG: OnceLock<Postgres> = OnceLock::new();
    PG.get_or_init(|| {
        if let Some(port) = std::env::var("DUKKAN_TEST_PG_PORT")
            .ok()
            .and_then(|p| p.parse().ok())
        {
            return Postgres { port };
        }
        if std::env::var_os("DUKKAN_TEST_THROWAWAY_PG").is_none() && listening(5432) {
            return Postgres { port: 5432 };
        }
        start_throwaway_cluster()
    })
}

fn postgres_bin_dir() -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|p| p.join("initdb").exists() && p.join("pg_ctl").exists())
        .collect();
    dirs.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    dirs.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A command run as the `postgres` user when we are root (initdb refuses to run as root).
fn as_pg_user(program: &Path, root: bool) -> Command {
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    }
}

// The watchdog must outlive this process to stop the cluster; nobody waits for it on purpose.
#[allow(clippy::zombie_processes)]
fn start_throwaway_cluster() -> Postgres {
    let Some(bin) = postgres_bin_dir() else {
        panic!(
            "No PostgreSQL listens on 127.0.0.1:5432 and no initdb/pg_ctl was found under \
             /usr/lib/postgresql/*/bin. Fix: `apt-get install -y postgresql` (or start a server \
             on 5432 with trust auth for user postgres, or set DUKKAN_TEST_PG_PORT)."
        );
    };
    let root = is_root();
    let dir = std::env::temp_dir().join(format!("dukkan-pg-{}", uuid::Uuid::now_v7().simple()));
    std::fs::create_dir_all(&dir).expect("temp dir for the throw-away cluster");
    if root {
        let ok = Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "chown of {} to postgres failed", dir.display());
    }
    let data = dir.join("data");
    let status = as_pg_user(&bin.join("initdb"), root)
        .args([
            "--auth=trust",
            "--username=postgres",
            "--encoding=UTF8",
            "--no-sync",
            "-D",
        ])
        .arg(&data)
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run initdb");
    assert!(status.success(), "initdb failed in {}", dir.display());
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let options = format!(
        "-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300",
        dir.display()
    );
    let status = as_pg_user(&bin.join("pg_ctl"), root)
        .arg("-D")
        .arg(&data)
        .args(["-o", &options, "-l"])
        .arg(dir.join("log"))
        .args(["-w", "start"])
        .stdout(std::process::Stdio::null())
        .status()
        .expect("run pg_ctl start");
    assert!(
        status.success(),
        "pg_ctl start failed; see {}/log",
        dir.display()
    );
    // Stops the cluster and removes its files once this test process is gone.
    let stop = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 1; done; {runas}{pg_ctl} -D {data} -m immediate stop >/dev/null 2>&1; rm -rf {dir}",
        pid = std::process::id(),
        runas = if root { "runuser -u postgres -- " } else { "" },
        pg_ctl = bin.join("pg_ctl").display(),
        data = data.display(),
        dir = dir.display(),
    );
    Command::new("sh")
        .args(["-c", &stop])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn the cluster watchdog");
    Postgres { port }
}

/// Drops the test database when the test ends, pass or fail (unless it is kept: `None`).
struct DropDatabase {
    name: Option<String>,
}

impl Drop for DropDatabase {
    fn drop(&mut self) {
        let Some(name) = self.name.clone() else {
            return;
        };
        // Own thread and runtime: this may run inside (or after) the test's runtime.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async {
                if let Ok((client, conn)) = tokio_postgres::connect(
                    &postgres().url("postgres", "postgres"),
                    tokio_postgres::NoTls,
                )
                .await
                {
                    tokio::spawn(conn);
                    let _ = client
                        .execute(
                            &format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
                            &[],
                        )
                        .await;
                }
            });
        })
        .join();
    }
}

/// A fresh, empty database (no migrations), dropped when this is dropped.
pub struct TestDb {
    pub owner_url: String,
    pub app_url: String,
    pub name: String,
    _drop: DropDatabase,
}

impl TestDb {
    pub async fn create() -> TestDb {
        let pg = postgres();
        let name = format!("dukkan_test_{}", uuid::Uuid::now_v7().simple());
        let (admin, conn) =
            tokio_postgres::connect(&pg.url("postgres", "postgres"), tokio_postgres::NoTls)
                .await
                .expect("connect to postgres as user postgres");
        tokio::spawn(conn);
        admin
            .execute(&format!("CREATE DATABASE \"{name}\""), &[])
            .await
            .expect("create test database");
        TestDb {
            owner_url: pg.url("postgres", &name),
            app_url: pg.url("dukkan_app", &name),
            _drop: DropDatabase {
                name: Some(name.clone()),
            },
            name,
        }
    }

    /// The database `name`, made when missing and never dropped (benchmarks reuse a seeded
    /// one). True when it existed already.
    pub async fn kept(name: &str) -> (TestDb, bool) {
        let pg = postgres();
        let (admin, conn) =
            tokio_postgres::connect(&pg.url("postgres", "postgres"), tokio_postgres::NoTls)
                .await
                .expect("connect to postgres as user postgres");
        tokio::spawn(conn);
        let existed = admin
            .query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&name])
            .await
            .expect("look up the database")
            .is_some();
        if !existed {
            admin
                .execute(&format!("CREATE DATABASE \"{name}\""), &[])
                .await
                .expect("create the kept database");
        }
        let db = TestDb {
            owner_url: pg.url("postgres", name),
            app_url: pg.url("dukkan_app", name),
            _drop: DropDatabase { name: None },
            name: name.to_owned(),
        };
        (db, existed)
    }
}

/// A running server on its own fresh database.
pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    /// Owner connections (migrations, operator commands, checks behind the API's back).
    pub owner: Pool,
    /// Application-role connections, as the server uses them.
    pub app_pool: Pool,
    /// Where OTP texts go (unless a Twilio double was given).
    pub sms: DevSink,
    /// The server's clock for OTP expiry and limits.
    pub clock: ManualClock,
    pub owner_url: String,
    pub app_url: String,
    pub db_name: String,
    /// The server's wake-ups of waiting pulls.
    changes: Arc<dukkan_server::wakeups::ChangeSignals>,
    server: tokio::task::JoinHandle<()>,
    _drop: DropDatabase,
}

/// An HTTP answer: status and JSON body (`Value::Null` when the body is not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or("")
    }

    /// The value of header `name`, which the answer must carry.
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .unwrap_or_else(|| panic!("no {name} header: {self:?}"))
            .to_str()
            .expect("a visible-ASCII header")
    }
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with_sms(None).await
    }

    /// A server whose OTP texts go to `sms` (the development sink when `None`).
    pub async fn spawn_with_sms(sms: Option<Arc<dyn SmsSender>>) -> TestApp {
        Self::spawn_with(sms, LimitConfig::default()).await
    }

    /// A server with other rate limits than the production defaults.
    pub async fn spawn_with_limits(limits: LimitConfig) -> TestApp {
        Self::spawn_with(None, limits).await
    }

    /// A server whose OTP texts go to `sms` and that enforces `limits`.
    pub async fn spawn_with(sms: Option<Arc<dyn SmsSender>>, limits: LimitConfig) -> TestApp {
        Self::spawn_on(TestDb::create().await, sms, limits).await
    }

    /// A server on `database` (which may hold data of an older schema): the migrations that
    /// it lacks are applied first.
    pub async fn spawn_on(
        database: TestDb,
        sms: Option<Arc<dyn SmsSender>>,
        limits: LimitConfig,
    ) -> TestApp {
        Self::spawn_configured(database, sms, limits, |state| state).await
    }

    /// A server on a fresh database whose state `configure` adjusts (e.g. an update feed).
    pub async fn spawn_with_state(configure: impl FnOnce(AppState) -> AppState) -> TestApp {
        Self::spawn_configured(
            TestDb::create().await,
            None,
            LimitConfig::default(),
            configure,
        )
        .await
    }

    async fn spawn_configured(
        database: TestDb,
        sms: Option<Arc<dyn SmsSender>>,
        limits: LimitConfig,
        configure: impl FnOnce(AppState) -> AppState,
    ) -> TestApp {
        let sink = DevSink::default();
        let clock = ManualClock::new(chrono::Utc::now());
        let sender: Arc<dyn SmsSender> = sms.unwrap_or_else(|| Arc::new(sink.clone()));
        let otp = Otp::new(
            b"test secret of at least 32 bytes!",
            sender,
            Arc::new(clock.clone()),
        )
        .expect("otp");
        db::migrate(&database.owner_url).await.expect("migrations");
        let TestDb {
            owner_url,
            app_url,
            name: db_name,
            _drop: guard,
        } = database;
        let owner = db::pool(&owner_url, 4).expect("owner pool");
        let app_pool = db::pool(&app_url, 32).expect("app pool");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let state = AppState::new(app_pool.clone(), Arc::new(otp))
            .with_limits(limits)
            .with_change_listener(&app_url)
            .expect("change listener");
        let state = configure(state);
        let changes = state.changes.clone();
        let server = tokio::spawn(async move {
            let _ = dukkan_server::serve(listener, state, std::future::pending()).await;
        });
        TestApp {
            base: format!("http://{addr}"),
            client: reqwest::Client::builder()
                .timeout(Duration::from_secs(30))
                .build()
                .expect("client"),
            owner,
            app_pool,
            sms: sink,
            clock,
            owner_url,
            app_url,
            db_name,
            changes,
            server,
            _drop: guard,
        }
    }

    /// Another server instance on this test's database (as behind a load balancer), with its
    /// own in-memory state and `limits`; its base URL. Stops with the test's runtime.
    pub async fn second_instance(&self, limits: LimitConfig) -> String {
        self.instance_until(limits, std::future::pending()).await
    }

    /// Another instance like [`Self::second_instance`] that the test stops: its base URL, its
    /// long-poll wake-ups, and a sender that starts its graceful shutdown (new connections are
    /// refused at once; open requests finish).
    pub async fn stoppable_instance(
        &self,
        limits: LimitConfig,
    ) -> (
        String,
        Arc<dukkan_server::wakeups::ChangeSignals>,
        tokio::sync::oneshot::Sender<()>,
    ) {
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (base, changes) = self
            .instance_with(limits, async move {
                let _ = stopped.await;
            })
            .await;
        (base, changes, stop)
    }

    async fn instance_until(
        &self,
        limits: LimitConfig,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> String {
        self.instance_with(limits, shutdown).await.0
    }

    async fn instance_with(
        &self,
        limits: LimitConfig,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> (String, Arc<dukkan_server::wakeups::ChangeSignals>) {
        let otp = Otp::new(
            b"test secret of at least 32 bytes!",
            Arc::new(DevSink::default()),
            Arc::new(self.clock.clone()),
        )
        .expect("otp");
        let pool = db::pool(&self.app_url, 8).expect("app pool");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind port 0");
        let addr = listener.local_addr().expect("local addr");
        let state = AppState::new(pool, Arc::new(otp))
            .with_limits(limits)
            .with_change_listener(&self.app_url)
            .expect("change listener");
        let changes = state.changes.clone();
        tokio::spawn(async move {
            let _ = dukkan_server::serve(listener, state, shutdown).await;
        });
        (format!("http://{addr}"), changes)
    }

    pub async fn tenant(&self, slug: &str) -> TenantId {
        tenants::create(&self.owner, slug, &format!("Shop {slug}"))
            .await
            .expect("create tenant")
            .id
    }

    /// A staff member of `slug` with `role` and PIN [`PIN`], signed in over HTTP.
    pub async fn sign_in(&self, slug: &str, role: Role) -> String {
        let member = staff::add(&self.owner, slug, "Salim", role, PIN)
            .await
            .expect("add staff");
        staff::set_password(&self.owner, slug, &member.id.to_string(), PASSWORD)
            .await
            .expect("set password");
        let answer = self
            .call(
                Method::POST,
                "/api/v1/auth/sign-in",
                None,
                Some(serde_json::json!({
                    "tenant": slug, "staffId": member.id.to_string(), "password": PASSWORD
                })),
            )
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{answer:?}");
        answer.body["token"].as_str().expect("token").to_owned()
    }

    /// A tenant and a signed-in staff member of it.
    pub async fn tenant_with(&self, slug: &str, role: Role) -> (TenantId, String) {
        let tenant = self.tenant(slug).await;
        (tenant, self.sign_in(slug, role).await)
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut req = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        Self::answer(req.send().await.expect("request")).await
    }

    /// A request with a raw body and content type (for malformed input).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = self
            .client
            .request(method, format!("{}{path}", self.base))
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        Self::answer(req.send().await.expect("request")).await
    }

    pub async fn answer(resp: reqwest::Response) -> Answer {
        let status = resp.status();
        let headers = resp.headers().clone();
        let bytes = resp.bytes().await.expect("body");
        Answer {
            status,
            body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
            headers,
        }
    }

    /// Whether the server listens for committed changes (waiting pulls wake on them).
    pub fn listening(&self) -> bool {
        self.changes.is_listening()
    }

    /// How many times pulls have looked at the change feed so far.
    pub fn feed_looks(&self) -> u64 {
        self.changes.looks()
    }

    /// Enrolls a device in tenant `slug` with `code` over REST; returns its device token.
    pub async fn enroll(&self, slug: &str, code: &str, name: &str) -> String {
        let a = self
            .call(
                Method::POST,
                "/api/v1/devices/enroll",
                None,
                Some(serde_json::json!({"tenant": slug, "code": code, "deviceName": name})),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        a.body["deviceToken"]
            .as_str()
            .expect("a device token")
            .to_owned()
    }

    /// The token of a new device of tenant `slug` (a code made as the operator CLI makes it).
    pub async fn device_token(&self, slug: &str) -> String {
        let code = dukkan_server::devices::create_code(&self.owner, slug, None)
            .await
            .expect("enrollment code");
        self.enroll(slug, &code.code, "Till").await
    }

    pub async fn get(&self, path: &str, token: &str) -> Answer {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Answer {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// Creates a stub over the API and returns its JSON.
    pub async fn stub(&self, token: &str, first_name: &str, phone: &str) -> Value {
        let a = self
            .post(
                "/api/v1/customers",
                token,
                serde_json::json!({"type": "stub", "firstName": first_name, "phone": phone}),
            )
            .await;
        assert_eq!(a.status, StatusCode::CREATED, "{a:?}");
        a.body
    }

    /// One number from the database, read as the owner (behind the API's back).
    pub async fn count(&self, sql: &str) -> i64 {
        let client = self.owner.get().await.expect("owner connection");
        client.query_one(sql, &[]).await.expect(sql).get(0)
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

/// The tenant left set on `client`'s connection (`app.tenant_id`), if any: a transaction's
/// tenant must not outlive it on a pooled connection.
pub async fn tenant_left_on(client: &tokio_postgres::Client) -> Option<String> {
    client
        .query_one(
            "SELECT nullif(current_setting('app.tenant_id', true), '')",
            &[],
        )
        .await
        .expect("read the setting")
        .get(0)
}
