//! `dukkan-server`: the operator's command line. Every command prints JSON on stdout so scripts
//! can chain them; logs go to stderr.

use anyhow::Context;
use clap::{Parser, Subcommand};
use dukkan_server::limits::LimitConfig;
use dukkan_server::staff::Role;
use dukkan_server::{db, devices, staff, tenants, AppState};
use std::net::SocketAddr;

#[derive(Parser)]
#[command(
    name = "dukkan-server",
    version,
    about = "Dukkan tenant server: multi-tenant customer API on Postgres",
    after_help = "Environment:\n  \
        DATABASE_URL      owner connection: migrations and operator commands\n  \
        APP_DATABASE_URL  application-role (dukkan_app) connection used by `serve`\n  \
        BIND_ADDR         address `serve` listens on (default 127.0.0.1:8080)\n  \
        OTP_SECRET        key of the OTP hashes, >= 32 bytes, same on every instance\n  \
        TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_FROM, TWILIO_BASE_URL\n                    \
        SMS through Twilio; without them OTP texts go to a development sink\n  \
        TWILIO_WHATSAPP_FROM  optional WhatsApp sender (+E.164 or whatsapp:+E.164) for\n                    \
        customers who prefer WhatsApp; a failed WhatsApp message falls back to SMS\n  \
        STAFF_PIN         till PIN for `staff add` (a random 6-digit PIN is made when unset)\n  \
        STAFF_PASSWORD    server password for `staff add` / `staff set-password` (made when unset)\n  \
        RATE_LIMIT_IP_PER_SECOND, RATE_LIMIT_IP_BURST (default 100/s, burst 300)\n  \
        RATE_LIMIT_TOKEN_PER_SECOND, RATE_LIMIT_TOKEN_BURST (default 50/s, burst 200)\n                    \
        requests per client IP and per bearer token; 0 turns a limit off (429 + Retry-After)\n  \
        SIGN_IN_MAX_FAILURES, SIGN_IN_MAX_FAILURES_PER_IP, SIGN_IN_LOCKOUT_SECS\n                    \
        wrong PINs per staff member (5) / per IP (20) within the window (900 s) lock sign-in\n  \
        TRUSTED_PROXIES   load balancers (addresses or networks, comma-separated) whose\n                    \
        X-Forwarded-For names the client; unset: the TCP peer is the client\n  \
        SHUTDOWN_GRACE_SECS  seconds open requests get to finish after SIGTERM (10)\n  \
        HOUSEKEEPING_INTERVAL_SECS  how often an instance sweeps expired codes and sessions\n                    \
        (60; one instance at a time, by an advisory lock; 0 turns it off)\n  \
        RUST_LOG          log filter (default info); LOG_FORMAT=json for JSON logs"
)]
struct Cli {
    /// Owner connection URL (migrations, tenants, staff, enrollment codes).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

// `Serve` carries every server setting; the command is parsed once at start, so its size
// does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Apply the embedded migrations (migrations/server) as the owner.
    Migrate,
    /// Serve the REST API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "BIND_ADDR", default_value = "127.0.0.1:8080")]
        bind: SocketAddr,
        /// Connection URL of the application role (owns nothing; row-level security applies).
        #[arg(long, env = "APP_DATABASE_URL", hide_env_values = true)]
        app_database_url: String,
        /// Largest number of database connections.
        #[arg(long, env = "DB_POOL_SIZE", default_value_t = 16)]
        pool_size: usize,
        /// Apply migrations (with DATABASE_URL) before serving.
        #[arg(long)]
        migrate: bool,
        /// Key of the OTP hashes (at least 32 bytes; the same on every instance).
        #[arg(long, env = "OTP_SECRET", hide_env_values = true)]
        otp_secret: String,
        /// When set, `GET /metrics` needs `Authorization: Bearer <this token>` (else it is open:
        /// keep it on the monitoring network).
        #[arg(long, env = "METRICS_TOKEN", hide_env_values = true)]
        metrics_token: Option<String>,
        /// Seconds open requests (long-poll pulls, exports) may take to finish after SIGTERM
        /// or Ctrl-C before the server stops anyway.
        #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 10)]
        shutdown_grace_secs: u64,
        /// Seconds between housekeeping sweeps (expired codes and sessions, sync lag); one
        /// instance sweeps at a time. 0 turns the schedule off.
        #[arg(long, env = "HOUSEKEEPING_INTERVAL_SECS", default_value_t = 60)]
        housekeeping_interval_secs: u64,
        /// Where the shop's tills ask for new versions of the app (the updater's feed; https, may
        /// hold `{{target}}`, `{{arch}}`, `{{current_version}}`), announced with every roster. A
        /// manager can set another on a till. Unset: tills look only where their manager says.
        #[arg(long, env = "UPDATE_FEED_URL")]
        update_feed_url: Option<String>,
        #[command(flatten)]
        twilio: TwilioArgs,
        #[command(flatten)]
        limits: LimitArgs,
    },
    /// Tenants (shops).
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
    },
    /// Staff members.
    Staff {
        #[command(subcommand)]
        command: StaffCommand,
    },
    /// Devices (tills).
    Device {
        #[command(subcommand)]
        command: DeviceCommand,
    },
    /// One-time codes.
    Otp {
        #[command(subcommand)]
        command: OtpCommand,
    },
}

#[derive(Subcommand)]
enum OtpCommand {
    /// Delete codes that expired more than an hour ago (all tenants).
    PurgeExpired,
}

/// SMS (and WhatsApp) through Twilio. Without an account SID, texts go to a development sink
/// that only logs a masked line.
#[derive(clap::Args)]
struct TwilioArgs {
    /// Twilio account SID (AC + 32 hex digits).
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    twilio_account_sid: Option<String>,
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    twilio_auth_token: Option<String>,
    /// Sender number (E.164) or Messaging Service SID (MG...).
    #[arg(long, env = "TWILIO_FROM")]
    twilio_from: Option<String>,
    /// WhatsApp sender of the Twilio account (`+15551234567` or `whatsapp:+15551234567`): codes
    /// of customers who prefer WhatsApp go from it, with an SMS from TWILIO_FROM when the
    /// WhatsApp message fails. Unset: every code goes by SMS.
    #[arg(long, env = "TWILIO_WHATSAPP_FROM")]
    twilio_whatsapp_from: Option<String>,
    #[arg(
        long,
        env = "TWILIO_BASE_URL",
        default_value = "https://api.twilio.com"
    )]
    twilio_base_url: String,
}

impl TwilioArgs {
    fn sender(&self) -> anyhow::Result<std::sync::Arc<dyn dukkan_server::sms::SmsSender>> {
        use dukkan_server::sms::{DevSink, Twilio, TwilioConfig};
        let whatsapp = self
            .twilio_whatsapp_from
            .as_deref()
            .filter(|w| !w.trim().is_empty());
        let Some(sid) = &self.twilio_account_sid else {
            if whatsapp.is_some() {
                anyhow::bail!("TWILIO_WHATSAPP_FROM needs TWILIO_ACCOUNT_SID");
            }
            tracing::warn!("TWILIO_ACCOUNT_SID unset: OTP texts go to the development sink");
            return Ok(std::sync::Arc::new(DevSink::default()));
        };
        let config = TwilioConfig {
            account_sid: sid.clone(),
            auth_token: self
                .twilio_auth_token
                .clone()
                .context("TWILIO_AUTH_TOKEN is required with TWILIO_ACCOUNT_SID")?,
            from: self
                .twilio_from
                .clone()
                .context("TWILIO_FROM is required with TWILIO_ACCOUNT_SID")?,
            base_url: self.twilio_base_url.clone(),
        };
        let mut twilio = Twilio::new(config)?;
        if let Some(sender) = whatsapp {
            twilio = twilio
                .with_whatsapp_sender(sender)
                .context("TWILIO_WHATSAPP_FROM")?;
            tracing::info!(
                "WhatsApp sender configured: codes go by WhatsApp to customers who prefer it"
            );
        } else {
            tracing::info!("TWILIO_WHATSAPP_FROM unset: every code goes by SMS");
        }
        Ok(std::sync::Arc::new(twilio))
    }
}

/// Rate limits (per server instance). 0 turns a limit off.
#[derive(clap::Args)]
struct LimitArgs {
    /// Requests per second one client IP may make on average.
    #[arg(long, env = "RATE_LIMIT_IP_PER_SECOND", default_value_t = LimitConfig::default().ip_per_second)]
    rate_limit_ip_per_second: u32,
    /// Requests one client IP may make in a burst.
    #[arg(long, env = "RATE_LIMIT_IP_BURST", default_value_t = LimitConfig::default().ip_burst)]
    rate_limit_ip_burst: u32,
    /// Requests per second one bearer token (staff or device) may make on average.
    #[arg(long, env = "RATE_LIMIT_TOKEN_PER_SECOND", default_value_t = LimitConfig::default().token_per_second)]
    rate_limit_token_per_second: u32,
    /// Requests one bearer token may make in a burst.
    #[arg(long, env = "RATE_LIMIT_TOKEN_BURST", default_value_t = LimitConfig::default().token_burst)]
    rate_limit_token_burst: u32,
    /// Wrong PINs for one staff member before sign-in is locked for the window.
    #[arg(long, env = "SIGN_IN_MAX_FAILURES", default_value_t = LimitConfig::default().sign_in_staff_failures)]
    sign_in_max_failures: u32,
    /// Wrong PINs from one client IP before sign-in from it is locked for the window.
    #[arg(long, env = "SIGN_IN_MAX_FAILURES_PER_IP", default_value_t = LimitConfig::default().sign_in_ip_failures)]
    sign_in_max_failures_per_ip: u32,
    /// Seconds in which wrong PINs are counted; also how long a lockout lasts.
    #[arg(long, env = "SIGN_IN_LOCKOUT_SECS", default_value_t = LimitConfig::default().sign_in_window.as_secs())]
    sign_in_lockout_secs: u64,
    /// Load balancers whose X-Forwarded-For names the client (comma-separated addresses or
    /// networks, e.g. `10.0.0.0/8`). Unset: the TCP peer is the client and the header is ignored.
    #[arg(long, env = "TRUSTED_PROXIES", value_delimiter = ',', value_parser = dukkan_server::limits::parse_proxy)]
    trusted_proxies: Vec<ipnet::IpNet>,
}

impl LimitArgs {
    fn config(&self) -> LimitConfig {
        LimitConfig {
            ip_per_second: self.rate_limit_ip_per_second,
            ip_burst: self.rate_limit_ip_burst,
            token_per_second: self.rate_limit_token_per_second,
            token_burst: self.rate_limit_token_burst,
            sign_in_staff_failures: self.sign_in_max_failures,
            sign_in_ip_failures: self.sign_in_max_failures_per_ip,
            sign_in_window: std::time::Duration::from_secs(self.sign_in_lockout_secs),
            trusted_proxies: self.trusted_proxies.clone(),
        }
    }
}

#[derive(Subcommand)]
enum TenantCommand {
    /// Create a tenant.
    Create {
        /// Short code staff type at sign-in: 2-63 lower-case letters, digits, dashes.
        #[arg(long)]
        slug: String,
        /// Display name.
        #[arg(long)]
        name: String,
    },
    /// Set the countries a shop texts codes to and its daily cap of codes (default: Oman and
    /// the GCC, 200 a day).
    SmsPolicy {
        #[arg(long)]
        slug: String,
        /// ISO 3166-1 alpha-2 codes, comma-separated (e.g. OM,AE).
        #[arg(long, value_delimiter = ',')]
        countries: Option<Vec<String>>,
        /// Most codes in 24 hours (0 stops codes).
        #[arg(long)]
        daily_cap: Option<i32>,
    },
    /// Set a shop's time zone (IANA name; default Asia/Muscat): the days its exports and date
    /// filters use.
    TimeZone {
        #[arg(long)]
        slug: String,
        /// e.g. Asia/Muscat, Asia/Dubai.
        #[arg(long)]
        zone: String,
    },
    /// Set a shop's loyalty rule (default 1 point per rial): the points each order earns,
    /// rounded down. Orders recorded before keep their points.
    Loyalty {
        #[arg(long)]
        slug: String,
        /// Whole points per rial spent, 0 (no points) to 1000.
        #[arg(long)]
        points_per_rial: u32,
    },
    /// Set after how many days a walk-in guest that never had an order is retired (default
    /// 90; 1 to 3650): the housekeeping sweep takes it out of every list, here and on the tills.
    GuestRetention {
        #[arg(long)]
        slug: String,
        #[arg(long)]
        days: u32,
    },
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff member: a till PIN (STAFF_PIN, at least 4 digits for a cashier, 6 for a
    /// manager or admin) and a server password (STAFF_PASSWORD, at least 10 characters); each
    /// is generated and printed once when its variable is unset.
    Add {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        #[arg(long)]
        name: String,
        /// cashier, manager or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
    },
    /// Set a staff member's server password (STAFF_PASSWORD, or generated and printed once);
    /// their server sessions end.
    SetPassword {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// The staff member's id (as printed by `staff add`).
        #[arg(long)]
        id: String,
    },
    /// Deactivate a staff member: their sign-ins end and devices drop them at the next sync.
    Deactivate {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
        /// The staff member's id (as printed by `staff add`).
        #[arg(long)]
        id: String,
    },
}

#[derive(Subcommand)]
enum DeviceCommand {
    /// Make a one-time enrollment code (valid 24 hours), printed once.
    EnrollCode {
        /// Tenant slug.
        #[arg(long)]
        tenant: String,
    },
}

/// STAFF_PASSWORD, or 16 random letters and digits (true: generated, to print once).
fn password_from_env() -> (String, bool) {
    match std::env::var("STAFF_PASSWORD") {
        Ok(p) => (p, false),
        Err(_) => {
            use rand::Rng;
            const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
            let mut rng = rand::rng();
            let p = (0..16)
                .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
                .collect();
            (p, true)
        }
    }
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::parse(s).ok_or_else(|| "expected cashier, manager or admin".to_owned())
}

fn init_logs() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("LOG_FORMAT").is_ok_and(|f| f == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn print(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string(value)?);
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down: draining open requests");
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_logs();
    let cli = Cli::parse();
    let owner_url = || {
        cli.database_url
            .clone()
            .context("DATABASE_URL (or --database-url) is required for this command")
    };
    let owner_pool =
        || -> anyhow::Result<deadpool_postgres::Pool> { Ok(db::pool(&owner_url()?, 2)?) };
    match &cli.command {
        Command::Migrate => {
            let applied = db::migrate(&owner_url()?).await?;
            print(&serde_json::json!({ "applied": applied }))?;
        }
        Command::Serve {
            bind,
            app_database_url,
            pool_size,
            migrate,
            otp_secret,
            metrics_token,
            shutdown_grace_secs,
            housekeeping_interval_secs,
            update_feed_url,
            twilio,
            limits,
        } => {
            // Checked before anything starts: a feed no till may fetch from is a typo to fix now.
            let update_feed = update_feed_url
                .as_deref()
                .filter(|f| !f.trim().is_empty())
                .map(dukkan_core::net::update_feed)
                .transpose()
                .map_err(|e| anyhow::anyhow!("UPDATE_FEED_URL: {e}"))?;
            let otp = dukkan_server::otp::Otp::new(
                otp_secret.as_bytes(),
                twilio.sender()?,
                std::sync::Arc::new(dukkan_server::clock::SystemClock),
            )?;
            if *migrate {
                let applied = db::migrate(&owner_url()?).await?;
                tracing::info!(?applied, "migrations applied");
            }
            let pool = db::pool(app_database_url, *pool_size)?;
            db::check_app_role(&pool).await?;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "serving");
            print(&serde_json::json!({ "listening": addr.to_string() }))?;
            let mut state = AppState::new(pool, std::sync::Arc::new(otp))
                .with_limits(limits.config())
                .with_change_listener(app_database_url)?;
            if let Some(token) = metrics_token.as_deref().filter(|t| !t.trim().is_empty()) {
                state = state.with_metrics_token(token.trim());
            }
            if let Some(feed) = &update_feed {
                state = state.with_update_feed(feed)?;
            }
            if *housekeeping_interval_secs > 0 {
                dukkan_server::housekeeping::spawn(
                    state.pool.clone(),
                    state.metrics.clone(),
                    std::time::Duration::from_secs(*housekeeping_interval_secs),
                );
            }
            // Drain open requests after the signal, for a bounded time.
            let (stop, stopping) = tokio::sync::oneshot::channel::<()>();
            let server = dukkan_server::serve(listener, state, async move {
                shutdown_signal().await;
                let _ = stop.send(());
            });
            let grace = std::time::Duration::from_secs(*shutdown_grace_secs);
            tokio::select! {
                served = server => served?,
                () = async move {
                    if stopping.await.is_ok() {
                        tokio::time::sleep(grace).await;
                    } else {
                        std::future::pending::<()>().await;
                    }
                } => {
                    tracing::warn!(seconds = grace.as_secs(), "requests still open after the drain deadline; stopping");
                }
            }
        }
        Command::Tenant {
            command: TenantCommand::Create { slug, name },
        } => {
            let tenant = tenants::create(&owner_pool()?, slug, name)
                .await
                .map_err(cli_error)?;
            print(&tenant)?;
        }
        Command::Tenant {
            command:
                TenantCommand::SmsPolicy {
                    slug,
                    countries,
                    daily_cap,
                },
        } => {
            let policy =
                tenants::set_sms_policy(&owner_pool()?, slug, countries.as_deref(), *daily_cap)
                    .await
                    .map_err(cli_error)?;
            print(&policy)?;
        }
        Command::Tenant {
            command: TenantCommand::TimeZone { slug, zone },
        } => {
            let zone = tenants::set_time_zone(&owner_pool()?, slug, zone)
                .await
                .map_err(cli_error)?;
            print(&serde_json::json!({ "slug": slug, "timeZone": zone }))?;
        }
        Command::Tenant {
            command:
                TenantCommand::Loyalty {
                    slug,
                    points_per_rial,
                },
        } => {
            let rule = tenants::set_points_per_rial(&owner_pool()?, slug, *points_per_rial)
                .await
                .map_err(cli_error)?;
            print(&serde_json::json!({ "slug": slug, "loyalty": rule }))?;
        }
        Command::Tenant {
            command: TenantCommand::GuestRetention { slug, days },
        } => {
            let days = tenants::set_guest_retention_days(&owner_pool()?, slug, *days)
                .await
                .map_err(cli_error)?;
            print(&serde_json::json!({ "slug": slug, "guestRetentionDays": days }))?;
        }
        Command::Staff {
            command: StaffCommand::Add { tenant, name, role },
        } => {
            let (pin, generated) = match std::env::var("STAFF_PIN") {
                Ok(pin) => (pin, false),
                Err(_) => {
                    use rand::Rng;
                    (
                        format!("{:06}", rand::rng().random_range(0..1_000_000)),
                        true,
                    )
                }
            };
            let (password, password_generated) = password_from_env();
            let pool = owner_pool()?;
            let member = staff::add(&pool, tenant, name, *role, &pin)
                .await
                .map_err(cli_error)?;
            staff::set_password(&pool, tenant, &member.id.to_string(), &password)
                .await
                .map_err(cli_error)?;
            let mut out = serde_json::to_value(&member)?;
            // Shown once, for the operator to hand over; only their hashes are stored.
            if generated {
                out["pin"] = serde_json::Value::String(pin);
            }
            if password_generated {
                out["password"] = serde_json::Value::String(password);
            }
            print(&out)?;
        }
        Command::Staff {
            command: StaffCommand::SetPassword { tenant, id },
        } => {
            let (password, generated) = password_from_env();
            let member = staff::set_password(&owner_pool()?, tenant, id, &password)
                .await
                .map_err(cli_error)?;
            let mut out = serde_json::to_value(&member)?;
            if generated {
                out["password"] = serde_json::Value::String(password);
            }
            print(&out)?;
        }
        Command::Staff {
            command: StaffCommand::Deactivate { tenant, id },
        } => {
            let member = staff::deactivate(&owner_pool()?, tenant, id)
                .await
                .map_err(cli_error)?;
            print(&member)?;
        }
        Command::Device {
            command: DeviceCommand::EnrollCode { tenant },
        } => {
            let code = devices::create_code(&owner_pool()?, tenant, None)
                .await
                .map_err(cli_error)?;
            print(&code)?;
        }
        Command::Otp {
            command: OtpCommand::PurgeExpired,
        } => {
            // The scheduled sweep, by hand; waits its turn if an instance is sweeping now.
            let pool = owner_pool()?;
            let sweep = loop {
                match dukkan_server::housekeeping::sweep(&pool)
                    .await
                    .map_err(cli_error)?
                {
                    Some(sweep) => break sweep,
                    None => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
                }
            };
            print(&serde_json::json!({
                "purged": sweep.otp_codes,
                "staffSessions": sweep.staff_sessions,
            }))?;
        }
    }
    Ok(())
}

/// An operator-facing error: a refusal in plain English with its code ("A shop with this slug
/// already exists (tenant.exists)"), a server failure with its causes (the database's own
/// words for a database error).
fn cli_error(e: dukkan_server::Error) -> anyhow::Error {
    let (status, code, message) = e.parts();
    if status.is_server_error() {
        let no_schema = matches!(&e, dukkan_server::Error::Database(db)
            if db.code() == Some(&tokio_postgres::error::SqlState::UNDEFINED_TABLE));
        let e = anyhow::Error::new(e);
        if no_schema {
            e.context("this database has no Dukkan schema yet: run `dukkan-server migrate` first")
        } else {
            e
        }
    } else {
        let text = dukkan_server::messages::format(dukkan_core::i18n::Locale::En, &message);
        anyhow::anyhow!("{text} ({code})")
    }
}
