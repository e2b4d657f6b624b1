//! Postgres: connection pools, migrations, and the tenant-scoped transaction every request uses.

use crate::error::Error;
use crate::ids::TenantId;
use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Transaction};
use tokio_postgres::NoTls;

mod embedded {
    refinery::embed_migrations!("../../migrations/server");
}

/// Why the database could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    #[error("invalid database URL: {0}")]
    Url(tokio_postgres::Error),
    #[error("could not connect to the database: {0}")]
    Connect(tokio_postgres::Error),
    #[error("could not build the connection pool: {0}")]
    Pool(String),
    #[error("migration failed: {0}")]
    Migrate(#[from] refinery::Error),
    #[error("could not take the migration lock: {0}")]
    Lock(tokio_postgres::Error),
    #[error(
        "the server's database role {role} {why}: row-level security would not hold. \
         Connect as the application role (dukkan_app), which owns nothing"
    )]
    UnsafeRole { role: String, why: &'static str },
    #[error("could not check the server's database role: {0}")]
    RoleCheck(String),
}

/// The advisory lock that serialises migrations of one database (any number of instances may
/// run `serve --migrate` at once; one migrates, the others wait and find nothing to do).
const MIGRATION_LOCK: i64 = 0x6475_6b6b_616e_0001;

/// Refuses a role that could read past row-level security: a superuser, a role with
/// BYPASSRLS, or the owner of a table (owners bypass policies unless forced, and may turn
/// them off). `serve` checks its role with this before it listens.
pub async fn check_app_role(pool: &Pool) -> Result<(), SetupError> {
    let client = pool
        .get()
        .await
        .map_err(|e| SetupError::RoleCheck(e.to_string()))?;
    let row = client
        .query_one(
            "SELECT current_user::text, r.rolsuper, r.rolbypassrls,
                    EXISTS (SELECT 1 FROM pg_class c
                            WHERE c.relowner = r.oid AND c.relkind IN ('r', 'p', 'v', 'm'))
             FROM pg_roles r WHERE r.rolname = current_user",
            &[],
        )
        .await
        .map_err(|e| SetupError::RoleCheck(e.to_string()))?;
    let role: String = row.get(0);
    let why = if row.get(1) {
        Some("is a superuser")
    } else if row.get(2) {
        Some("has BYPASSRLS")
    } else if row.get(3) {
        Some("owns tables")
    } else {
        None
    };
    match why {
        Some(why) => Err(SetupError::UnsafeRole { role, why }),
        None => Ok(()),
    }
}

/// A pool of connections to `url` (a `postgres://` URL or a libpq key=value string).
pub fn pool(url: &str, max_size: usize) -> Result<Pool, SetupError> {
    let config: tokio_postgres::Config = url.parse().map_err(SetupError::Url)?;
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(max_size)
        .runtime(deadpool_postgres::Runtime::Tokio1)
        .wait_timeout(Some(std::time::Duration::from_secs(5)))
        .create_timeout(Some(std::time::Duration::from_secs(5)))
        .build()
        .map_err(|e| SetupError::Pool(e.to_string()))
}

/// Runs the embedded migrations of `migrations/server` as the owner at `url`.
/// Returns the versions applied by this call.
pub async fn migrate(url: &str) -> Result<Vec<i32>, SetupError> {
    migrate_to(url, None).await
}

/// Like [`migrate`], but stops after version `target` when one is given (upgrade tests build
/// a database of an earlier release this way).
pub async fn migrate_to(url: &str, target: Option<i32>) -> Result<Vec<i32>, SetupError> {
    let (mut client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .map_err(SetupError::Connect)?;
    let task = tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "migration connection closed with an error");
        }
    });
    // Held for this session until it ends: a second instance migrating at the same time waits
    // here, then finds every migration applied.
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(SetupError::Lock)?;
    let mut runner = embedded::migrations::runner();
    if let Some(version) = target {
        runner = runner.set_target(refinery::Target::Version(version));
    }
    let report = runner
        .set_abort_divergent(true)
        .run_async(&mut client)
        .await?;
    client
        .execute("SELECT pg_advisory_unlock($1)", &[&MIGRATION_LOCK])
        .await
        .map_err(SetupError::Lock)?;
    drop(client);
    let _ = task.await;
    Ok(report
        .applied_migrations()
        .iter()
        .map(|m| m.version())
        .collect())
}

/// Opens a transaction in which row-level security shows only `tenant`'s rows.
///
/// Every query inside still filters by tenant too: isolation holds twice over.
pub async fn tenant_tx<'a>(
    client: &'a mut deadpool_postgres::Object,
    tenant: TenantId,
) -> Result<Transaction<'a>, Error> {
    begin_for(client, tenant, SET_TENANT).await
}

const SET_TENANT: &str = "SELECT set_config('app.tenant_id', $1, true)";

/// Begins a transaction and runs `set` (a prepared statement whose `$1` is the tenant) in it.
async fn begin_for<'a>(
    client: &'a mut deadpool_postgres::Object,
    tenant: TenantId,
    set: &str,
) -> Result<Transaction<'a>, Error> {
    let tx = client.transaction().await?;
    let set = tx.prepare_cached(set).await?;
    tx.execute(&set, &[&tenant.to_string()]).await?;
    Ok(tx)
}

/// Makes `tx` act for `tenant` until it ends (or until the next call): row-level security then
/// shows that tenant's rows only. Local to the transaction, so it is safe on pooled connections
/// and behind a pooler in transaction mode.
pub async fn set_tenant(tx: &Transaction<'_>, tenant: TenantId) -> Result<(), Error> {
    // Prepared once per connection: every request runs this (twice for a device's, with the
    // token check), and an unprepared statement costs a second round trip and a parse.
    let set = tx.prepare_cached(SET_TENANT).await?;
    tx.execute(&set, &[&tenant.to_string()]).await?;
    Ok(())
}

/// Like [`tenant_tx`], for a read whose only writes are bookkeeping a crash may lose (a pull's
/// cursor, kept for the shop's sync lag on `/metrics`): its commit does not wait for the WAL
/// to reach the disk (`synchronous_commit` off for this transaction only). Every pull answer
/// moves a cursor, so with a thousand tills that wait was one disk flush per answer, each in
/// the path of a change reaching a till. Customer data is never written in such a transaction.
pub async fn bookkeeping_tx<'a>(
    client: &'a mut deadpool_postgres::Object,
    tenant: TenantId,
) -> Result<Transaction<'a>, Error> {
    begin_for(
        client,
        tenant,
        "SELECT set_config('app.tenant_id', $1, true),
                set_config('synchronous_commit', 'off', true)",
    )
    .await
}

/// True when the database answers.
pub async fn ping(pool: &Pool) -> Result<(), Error> {
    let client = pool.get().await?;
    client.execute("SELECT 1", &[]).await?;
    Ok(())
}
