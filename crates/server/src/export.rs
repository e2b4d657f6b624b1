//! CSV export of a tenant's customers (admins): streamed in chunks of keyset pages,
//! UTF-8 with a byte-order mark so spreadsheet programs read Arabic names correctly, column
//! titles in the request's language.

use crate::db;
use crate::error::Error;
use crate::staff::{Actor, Role};
use axum::body::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Pool;
use dukkan_core::i18n::{Locale, Localizer};
use dukkan_core::CustomerKind;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;

/// Rows per chunk sent to the client.
const CHUNK_ROWS: usize = 500;

/// `GET /customers/export` query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `guest`, `stub` or `full`.
    #[serde(rename = "type")]
    #[param(value_type = Option<CustomerKind>)]
    pub kind: Option<CustomerKind>,
    /// First day included (`YYYY-MM-DD`, UTC).
    pub start_date: Option<NaiveDate>,
    /// Last day included (`YYYY-MM-DD`, UTC).
    pub end_date: Option<NaiveDate>,
}

/// A spreadsheet would run a cell starting with one of these as a formula; prefix it.
fn cell(text: Option<&str>) -> String {
    match text {
        Some(t) if t.starts_with(['=', '+', '-', '@']) => format!("'{t}"),
        Some(t) => t.to_owned(),
        None => String::new(),
    }
}

/// The receiving half of an export: chunks of CSV, or an error that aborts the response.
pub type Chunks = mpsc::Receiver<Result<Bytes, std::io::Error>>;

/// Starts streaming the export; the first chunk (BOM and header) is ready at once.
///
/// Each chunk is read with a connection taken from the pool for that chunk only (a keyset page
/// of [`CHUNK_ROWS`] customers after the last number sent), and the connection goes back
/// before the chunk is handed to the client: a slow reader holds no database connection, so
/// any number of them cannot stop other requests. A client that reads nothing for
/// [`IDLE_TIMEOUT`] ends its export. Customers created while an export runs may appear at its
/// end (their numbers are higher); nothing is listed twice.
pub async fn start(
    pool: &Pool,
    actor: &Actor,
    query: ExportQuery,
    locale: Locale,
) -> Result<Chunks, Error> {
    actor.require(Role::Admin)?;
    // A connection now, so an unreachable database is an error answer, not a broken stream.
    drop(pool.get().await?);
    let (tx, rx) = mpsc::channel(4);
    let actor = *actor;
    let pool = pool.clone();
    tokio::spawn(async move {
        match write_all(&pool, actor, query, locale, &tx).await {
            Ok(()) => {}
            Err(Error::Unavailable(why)) if why == STALLED => {
                tracing::info!(tenant = %actor.tenant, "customer export ended: the client stopped reading");
            }
            Err(e) => {
                tracing::error!(error = %e, "customer export failed midway");
                let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
            }
        }
    });
    Ok(rx)
}

/// How long an export waits for its client to take the next chunk.
pub const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);
const STALLED: &str = "export client stalled";

fn to_io(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

/// Hands a chunk to the client. `Ok(false)`: the client went away.
async fn hand_over(
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
    chunk: Vec<u8>,
) -> Result<bool, Error> {
    match tokio::time::timeout(IDLE_TIMEOUT, out.send(Ok(Bytes::from(chunk)))).await {
        Ok(sent) => Ok(sent.is_ok()),
        Err(_) => Err(Error::Unavailable(STALLED.into())),
    }
}

async fn write_all(
    pool: &Pool,
    actor: Actor,
    query: ExportQuery,
    locale: Locale,
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Error> {
    let l = Localizer::global();
    let mut w = csv::Writer::from_writer(Vec::new());
    let header: Vec<String> = [
        "number", "name", "phone", "email", "type", "orders", "points", "joined",
    ]
    .iter()
    .map(|c| l.format(locale, &format!("export-column-{c}"), &[]))
    .collect();
    w.write_record(&header).map_err(to_io)?;
    let mut first = vec![0xEF, 0xBB, 0xBF];
    first.extend(w.into_inner().map_err(to_io)?);
    if !hand_over(out, first).await? {
        return Ok(()); // the client went away
    }

    let start: Option<DateTime<Utc>> = query
        .start_date
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    let end: Option<DateTime<Utc>> = query
        .end_date
        .and_then(|d| d.succ_opt())
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc());
    let kind = query.kind.map(CustomerKind::as_str);
    let limit = i64::try_from(CHUNK_ROWS).unwrap_or(500);
    let mut after: i32 = 0;
    loop {
        // One page, read and released before the client gets it.
        let rows = {
            let mut client = pool.get().await?;
            let tx = db::tenant_tx(&mut client, actor.tenant).await?;
            let params: [&(dyn ToSql + Sync); 6] =
                [&actor.tenant.0, &kind, &start, &end, &after, &limit];
            let rows = tx
                .query(
                    "SELECT c.customer_number, c.first_name, c.last_name, c.phone, c.email,
                            c.kind, c.loyalty_points, c.created_at,
                            (SELECT count(*) FROM orders o
                             WHERE o.tenant_id = c.tenant_id AND o.customer_id = c.id) AS orders
                     FROM customers c
                     WHERE c.tenant_id = $1 AND ($2::text IS NULL OR c.kind = $2)
                       AND ($3::timestamptz IS NULL OR c.created_at >= $3)
                       AND ($4::timestamptz IS NULL OR c.created_at < $4)
                       AND c.customer_number > $5
                     ORDER BY c.customer_number LIMIT $6",
                    &params,
                )
                .await?;
            tx.commit().await?;
            rows
        };
        let Some(last) = rows.last() else {
            return Ok(());
        };
        after = last.get(0);
        let full_page = rows.len() == CHUNK_ROWS;
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in &rows {
            write_row(&mut w, row, l, locale)?;
        }
        if !hand_over(out, w.into_inner().map_err(to_io)?).await? || !full_page {
            return Ok(());
        }
    }
}

fn write_row(
    w: &mut csv::Writer<Vec<u8>>,
    row: &tokio_postgres::Row,
    l: &Localizer,
    locale: Locale,
) -> Result<(), Error> {
    let number: i32 = row.get(0);
    let kind: String = row.get(5);
    let kind_label = kind
        .parse::<CustomerKind>()
        .map(|k| l.format(locale, k.label_id(), &[]))
        .unwrap_or(kind);
    let name = [
        row.get::<_, Option<String>>(1),
        row.get::<_, Option<String>>(2),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    let joined: DateTime<Utc> = row.get(7);
    w.write_record([
        format!("CUST-{number:05}"),
        cell(Some(&name)),
        row.get::<_, Option<String>>(3).unwrap_or_default(),
        cell(row.get::<_, Option<String>>(4).as_deref()),
        kind_label,
        row.get::<_, i64>(8).to_string(),
        row.get::<_, i64>(6).to_string(),
        joined.format("%Y-%m-%d").to_string(),
    ])
    .map_err(to_io)
}
