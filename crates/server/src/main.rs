//! `dukkan-server`: the operator's command line. Every command prints JSON on stdout so scripts
//! can chain them; logs go to stderr.

use anyhow::Context;
use clap::{Parser, Subcommand};
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
        STAFF_PIN         PIN for `staff add` (a random 6-digit PIN is made when unset)\n  \
        RUST_LOG          log filter (default info); LOG_FORMAT=json for JSON logs"
)]
struct Cli {
    /// Owner connection URL (migrations, tenants, staff, enrollment codes).
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

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
}

#[derive(Subcommand)]
enum StaffCommand {
    /// Add a staff member; the PIN comes from STAFF_PIN or is generated and printed once.
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
        } => {
            if *migrate {
                let applied = db::migrate(&owner_url()?).await?;
                tracing::info!(?applied, "migrations applied");
            }
            let pool = db::pool(app_database_url, *pool_size)?;
            let listener = tokio::net::TcpListener::bind(bind)
                .await
                .with_context(|| format!("cannot listen on {bind}"))?;
            let addr = listener.local_addr()?;
            tracing::info!(%addr, "serving");
            print(&serde_json::json!({ "listening": addr.to_string() }))?;
            dukkan_server::serve(listener, AppState { pool }, shutdown_signal()).await?;
        }
        Command::Tenant {
            command: TenantCommand::Create { slug, name },
        } => {
            let tenant = tenants::create(&owner_pool()?, slug, name)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print(&tenant)?;
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
            let member = staff::add(&owner_pool()?, tenant, name, *role, &pin)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let mut out = serde_json::to_value(&member)?;
            if generated {
                // Shown once, for the operator to hand over; only its hash is stored.
                out["pin"] = serde_json::Value::String(pin);
            }
            print(&out)?;
        }
        Command::Device {
            command: DeviceCommand::EnrollCode { tenant },
        } => {
            let code = devices::create_code(&owner_pool()?, tenant, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            print(&code)?;
        }
    }
    Ok(())
}
