//! CSV export of a tenant's customers (admins): streamed in chunks from a database cursor,
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
use futures_util::{pin_mut, TryStreamExt};
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
pub async fn start(
    pool: &Pool,
    actor: &Actor,
    query: ExportQuery,
    locale: Locale,
) -> Result<Chunks, Error> {
    actor.require(Role::Admin)?;
    let client = pool.get().await?;
    let (tx, rx) = mpsc::channel(4);
    let actor = *actor;
    tokio::spawn(async move {
        if let Err(e) = write_all(client, actor, query, locale, &tx).await {
            tracing::error!(error = %e, "customer export failed midway");
            let _ = tx.send(Err(std::io::Error::other("export failed"))).await;
        }
    });
    Ok(rx)
}

fn to_io(e: impl std::fmt::Display) -> Error {
    Error::Internal(e.to_string())
}

async fn write_all(
    mut client: deadpool_postgres::Object,
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
    if out.send(Ok(Bytes::from(first))).await.is_err() {
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
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let params: [&(dyn ToSql + Sync); 4] = [&actor.tenant.0, &kind, &start, &end];
    let rows = tx
        .query_raw(
            "SELECT c.customer_number, c.first_name, c.last_name, c.phone, c.email, c.kind,
                    c.loyalty_points, c.created_at,
                    (SELECT count(*) FROM orders o
                     WHERE o.tenant_id = c.tenant_id AND o.customer_id = c.id) AS orders
             FROM customers c
             WHERE c.tenant_id = $1 AND ($2::text IS NULL OR c.kind = $2)
               AND ($3::timestamptz IS NULL OR c.created_at >= $3)
               AND ($4::timestamptz IS NULL OR c.created_at < $4)
             ORDER BY c.customer_number",
            params,
        )
        .await?;
    pin_mut!(rows);
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut in_chunk = 0;
    while let Some(row) = rows.try_next().await? {
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
        .map_err(to_io)?;
        in_chunk += 1;
        if in_chunk == CHUNK_ROWS {
            let chunk = std::mem::replace(&mut w, csv::Writer::from_writer(Vec::new()));
            if out
                .send(Ok(Bytes::from(chunk.into_inner().map_err(to_io)?)))
                .await
                .is_err()
            {
                return Ok(());
            }
            in_chunk = 0;
        }
    }
    let rest = w.into_inner().map_err(to_io)?;
    if !rest.is_empty() {
        let _ = out.send(Ok(Bytes::from(rest))).await;
    }
    tx.commit().await?;
    Ok(())
}
