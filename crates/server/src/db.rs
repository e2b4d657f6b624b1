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
    let mut runner = embedded::migrations::runner();
    if let Some(version) = target {
        runner = runner.set_target(refinery::Target::Version(version));
    }
    let report = runner
        .set_abort_divergent(true)
        .run_async(&mut client)
        .await?;
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
    let tx = client.transaction().await?;
    tx.execute(
        "SELECT set_config('app.tenant_id', $1, true)",
        &[&tenant.to_string()],
    )
    .await?;
    Ok(tx)
}

/// True when the database answers.
pub async fn ping(pool: &Pool) -> Result<(), Error> {
    let client = pool.get().await?;
    client.execute("SELECT 1", &[]).await?;
    Ok(())
}
