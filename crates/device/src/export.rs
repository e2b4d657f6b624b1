//! Exports of the local list, as CSV (UTF-8 with a byte-order mark, so that Excel shows Arabic
//! names correctly) and as an Excel workbook: the columns and rows of `dukkan_core::export`
//! (the same as the server's), for the customers the list shows for its filters and search
//! term (all of them; paging is ignored), with dates as days of the shop's time zone.

use crate::customers::{customer_from_row, Customer, CUSTOMER_COLUMNS};
use crate::error::{DeviceError, Result};
use crate::search::ListQuery;
use crate::Device;
use dukkan_core::export::{ExportRow, Labels, XlsxExport};
use dukkan_core::i18n::Locale;
use rusqlite::types::Value;
use std::io::Write;
use std::path::Path;

/// Most customers an export of a search term holds (a term narrows the list; a bigger export
/// is the whole list with filters).
pub const EXPORT_SEARCH_MAX: usize = 10_000;

/// The export's view of a till customer.
fn export_row(c: &Customer) -> ExportRow<'_> {
    ExportRow {
        number: c.customer_number,
        first_name: c.first_name.as_deref(),
        last_name: c.last_name.as_deref(),
        name2: c.name2.as_deref(),
        phone: c.phone.as_deref(),
        email: c.email.as_deref(),
        kind: c.kind,
        active: c.active,
        merged: c.merged_into.is_some(),
        orders: c.order_count,
        spent_baisa: c.total_spent_minor,
        points: c.loyalty_points,
        joined: chrono::DateTime::parse_from_rfc3339(&c.created_at)
            .ok()
            .map(|at| at.with_timezone(&chrono::Utc)),
    }
}

impl Device {
    /// Calls `each` with every customer the export of `filter` holds, in the list's order for
    /// a search term (best matches first), else oldest first. Returns how many.
    fn export_each(
        &self,
        filter: &ListQuery,
        mut each: impl FnMut(&Customer) -> Result<()>,
    ) -> Result<u64> {
        if let Some(term) = filter.term() {
            let mut count = 0;
            for hit in self.search_hits(term, EXPORT_SEARCH_MAX, filter.active)? {
                if filter.admits(&hit.customer) {
                    each(&hit.customer)?;
                    count += 1;
                }
            }
            return Ok(count);
        }
        let mut clauses = vec!["1 = 1"];
        let mut params: Vec<Value> = Vec::new();
        filter.filter_clauses(&mut clauses, &mut params);
        self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE {} ORDER BY c.id",
                clauses.join(" AND ")
            ))?;
            let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
            let mut count = 0u64;
            while let Some(r) = rows.next()? {
                each(&customer_from_row(r)?)?;
                count += 1;
            }
            Ok(count)
        })
    }

    /// Writes the export of `filter` as CSV with headers in `locale`. Returns the number of
    /// customers written.
    pub fn export_csv<W: Write>(&self, filter: &ListQuery, locale: Locale, out: W) -> Result<u64> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        let labels = Labels::new(locale, self.time_zone()?);
        let err = |e: csv::Error| DeviceError::Export(e.to_string());
        let mut out = out;
        out.write_all(b"\xEF\xBB\xBF")
            .map_err(|e| DeviceError::Export(e.to_string()))?;
        let mut w = csv::Writer::from_writer(out);
        w.write_record(labels.headers()).map_err(err)?;
        let count = self.export_each(filter, |c| {
            w.write_record(labels.cells(&export_row(c)).map(|cell| cell.into_text()))
                .map_err(err)
        })?;
        w.flush().map_err(|e| DeviceError::Export(e.to_string()))?;
        Ok(count)
    }

    /// Writes the export of `filter` as an Excel workbook at `path` (headers in `locale`, the
    /// sheet right-to-left in Arabic). Returns the number of customers written.
    pub fn export_xlsx(&self, filter: &ListQuery, locale: Locale, path: &Path) -> Result<u64> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        let labels = Labels::new(locale, self.time_zone()?);
        let err = |e: rust_xlsxwriter::XlsxError| DeviceError::Export(e.to_string());
        let mut book = XlsxExport::new(&labels).map_err(err)?;
        let count = self.export_each(filter, |c| {
            book.push(labels.cells(&export_row(c))).map_err(err)
        })?;
        book.save(path).map_err(err)?;
        Ok(count)
    }
}
