//! Export of a tenant's customers (admins), as CSV streamed in chunks of keyset pages (UTF-8
//! with a byte-order mark so spreadsheet programs read Arabic names correctly) or as an Excel
//! workbook; the columns, rows and workbook of `dukkan_core::export` (the same as the till's),
//! titles in the request's language, dates and date filters in the shop's days.

use crate::db;
use crate::error::Error;
use crate::staff::{Actor, Role};
use axum::body::Bytes;
use chrono::{DateTime, NaiveDate, Utc};
use deadpool_postgres::Pool;
use dukkan_core::export::{Cell, ExportRow, Labels, XlsxExport};
use dukkan_core::i18n::Locale;
use dukkan_core::CustomerKind;
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_postgres::types::ToSql;

/// Rows per chunk sent to the client.
const CHUNK_ROWS: usize = 500;

/// The file an export is.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExportFormat {
    #[default]
    Csv,
    Xlsx,
}

impl ExportFormat {
    /// The response's content type.
    pub fn content_type(self) -> &'static str {
        match self {
            ExportFormat::Csv => "text/csv; charset=utf-8",
            ExportFormat::Xlsx => {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            }
        }
    }

    /// The file name offered to the client.
    pub fn file_name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "customers.csv",
            ExportFormat::Xlsx => "customers.xlsx",
        }
    }
}

/// `GET /customers/export` query string.
#[derive(Debug, Clone, Default, Deserialize, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `guest`, `stub` or `full`.
    #[serde(rename = "type")]
    #[param(value_type = Option<CustomerKind>)]
    pub kind: Option<CustomerKind>,
    /// First day included (`YYYY-MM-DD`, a day of the shop's time zone).
    pub start_date: Option<NaiveDate>,
    /// Last day included (`YYYY-MM-DD`, a day of the shop's time zone).
    pub end_date: Option<NaiveDate>,
    /// `csv` (default) or `xlsx`.
    #[param(value_type = Option<ExportFormat>)]
    pub format: Option<ExportFormat>,
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
    let zone = {
        let mut client = pool.get().await?;
        let tx = db::tenant_tx(&mut client, actor.tenant).await?;
        let zone = crate::tenants::time_zone(&tx, actor.tenant).await?;
        tx.commit().await?;
        zone
    };
    let labels = Labels::new(locale, zone);
    let pages = Pages::new(actor, &query, zone);
    match query.format.unwrap_or_default() {
        ExportFormat::Csv => write_csv(pool, pages, &labels, out).await,
        ExportFormat::Xlsx => write_xlsx(pool, pages, &labels, out).await,
    }
}

/// The export's keyset pages, in customer-number order.
struct Pages {
    actor: Actor,
    kind: Option<&'static str>,
    start: Option<DateTime<Utc>>,
    end: Option<DateTime<Utc>>,
    after: i32,
    done: bool,
}

impl Pages {
    fn new(actor: Actor, query: &ExportQuery, zone: chrono_tz::Tz) -> Pages {
        // The shop's days: from the first one's local midnight to the day after the last one's.
        let start = query
            .start_date
            .map(|d| dukkan_core::time::day_bounds(d, zone).0);
        let end = query
            .end_date
            .map(|d| dukkan_core::time::day_bounds(d, zone).1);
        Pages {
            actor,
            kind: query.kind.map(CustomerKind::as_str),
            start,
            end,
            after: 0,
            done: false,
        }
    }

    /// The next page, read with a connection that goes back to the pool before the page is
    /// used; `None` after the last.
    async fn next(&mut self, pool: &Pool) -> Result<Option<Vec<tokio_postgres::Row>>, Error> {
        if self.done {
            return Ok(None);
        }
        let limit = i64::try_from(CHUNK_ROWS).unwrap_or(500);
        let rows = {
            let mut client = pool.get().await?;
            let tx = db::tenant_tx(&mut client, self.actor.tenant).await?;
            let params: [&(dyn ToSql + Sync); 6] = [
                &self.actor.tenant.0,
                &self.kind,
                &self.start,
                &self.end,
                &self.after,
                &limit,
            ];
            let rows = tx
                .query(
                    "SELECT c.customer_number, c.first_name, c.last_name, c.name2, c.phone, c.email,
                            c.kind, c.active, c.merged_into IS NOT NULL, c.loyalty_points,
                            c.created_at, coalesce(o.n, 0), coalesce(o.total, 0)::bigint
                     FROM customers c
                     LEFT JOIN LATERAL (SELECT count(*) AS n, sum(total_minor) AS total FROM orders
                                        WHERE tenant_id = c.tenant_id AND customer_id = c.id) o ON true
                     WHERE c.tenant_id = $1 AND ($2::text IS NULL OR c.kind = $2)
                       AND c.retired_at IS NULL
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
        self.done = rows.len() < CHUNK_ROWS;
        match rows.last() {
            Some(last) => {
                self.after = last.get(0);
                Ok(Some(rows))
            }
            None => Ok(None),
        }
    }
}

/// The cells of one exported customer.
fn cells(labels: &Labels, row: &tokio_postgres::Row) -> [Cell; 11] {
    let number: i32 = row.get(0);
    let kind: String = row.get(6);
    labels.cells(&ExportRow {
        number: u32::try_from(number)
            .ok()
            .and_then(|n| dukkan_core::CustomerNumber::new(n).ok()),
        first_name: row.get(1),
        last_name: row.get(2),
        name2: row.get(3),
        phone: row.get(4),
        email: row.get(5),
        kind: kind.parse().unwrap_or_default(),
        active: row.get(7),
        merged: row.get(8),
        points: row.get(9),
        joined: Some(row.get(10)),
        orders: row.get(11),
        spent_baisa: row.get(12),
    })
}

async fn write_csv(
    pool: &Pool,
    mut pages: Pages,
    labels: &Labels,
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Error> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(labels.headers()).map_err(to_io)?;
    let mut first = vec![0xEF, 0xBB, 0xBF];
    first.extend(w.into_inner().map_err(to_io)?);
    if !hand_over(out, first).await? {
        return Ok(()); // the client went away
    }
    while let Some(rows) = pages.next(pool).await? {
        let mut w = csv::Writer::from_writer(Vec::new());
        for row in &rows {
            w.write_record(cells(labels, row).map(Cell::into_text))
                .map_err(to_io)?;
        }
        if !hand_over(out, w.into_inner().map_err(to_io)?).await? {
            return Ok(());
        }
    }
    Ok(())
}

/// Bytes of the finished workbook handed to the client at a time.
const XLSX_CHUNK: usize = 64 * 1024;

/// The workbook is written on a blocking thread in constant memory, page by page as they are
/// read (each page's connection released first); the finished file then goes to the client in
/// chunks.
async fn write_xlsx(
    pool: &Pool,
    mut pages: Pages,
    labels: &Labels,
    out: &mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<(), Error> {
    let (rows_tx, mut rows_rx) = mpsc::channel::<Vec<[Cell; 11]>>(2);
    let mut book = XlsxExport::new(labels).map_err(to_io)?;
    let writer = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, Error> {
        while let Some(page) = rows_rx.blocking_recv() {
            for row in page {
                book.push(row).map_err(to_io)?;
            }
        }
        book.into_bytes().map_err(to_io)
    });
    while let Some(rows) = pages.next(pool).await? {
        let page: Vec<[Cell; 11]> = rows.iter().map(|r| cells(labels, r)).collect();
        if rows_tx.send(page).await.is_err() {
            break;
        }
    }
    drop(rows_tx);
    let bytes = writer.await.map_err(to_io)??;
    for chunk in bytes.chunks(XLSX_CHUNK) {
        if !hand_over(out, chunk.to_vec()).await? {
            return Ok(());
        }
    }
    Ok(())
}
