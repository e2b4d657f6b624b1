//! Exports of the local list, as CSV (UTF-8 with a byte-order mark, so that Excel shows Arabic
//! names correctly) and as an Excel workbook. Both hold the same columns from the same rows:
//! the customers the list shows for its filters and search term (all of them; paging is
//! ignored), with dates as days of the shop's time zone.

use crate::customers::{customer_from_row, Customer, CUSTOMER_COLUMNS};
use crate::error::{DeviceError, Result};
use crate::search::ListQuery;
use crate::Device;
use dukkan_core::i18n::{Locale, Localizer};
use rusqlite::types::Value;
use std::io::Write;
use std::path::Path;

/// Most customers an export of a search term holds (a term narrows the list; a bigger export
/// is the whole list with filters).
pub const EXPORT_SEARCH_MAX: usize = 10_000;

/// The columns, as Fluent ids of their headers, in order.
const COLUMNS: [&str; 11] = [
    "export-column-number",
    "export-column-name",
    "export-column-name2",
    "export-column-phone",
    "export-column-email",
    "export-column-type",
    "export-column-status",
    "export-column-orders",
    "export-column-spent",
    "export-column-points",
    "export-column-joined",
];

/// One cell: text stays text (a phone is never turned into a number), figures are numbers.
enum Cell {
    Text(String),
    Number(f64),
}

/// Keeps spreadsheet programs from running a cell as a formula (CSV injection): text starting
/// with `=`, `+`, `-`, `@`, tab or carriage return gets a leading apostrophe.
fn neutralised(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// The texts a row needs in the export's language.
struct Labels {
    t: Box<dyn Fn(&str) -> String>,
    pending: String,
    guest: String,
    active: String,
    inactive: String,
    merged: String,
}

impl Labels {
    fn new(locale: Locale) -> Labels {
        let l10n = Localizer::global();
        let t = move |id: &str| l10n.format(locale, id, &[]);
        Labels {
            pending: t("customer-number-pending"),
            guest: t("customer-guest-name"),
            active: t("export-status-active"),
            inactive: t("export-status-inactive"),
            merged: t("export-status-merged"),
            t: Box::new(t),
        }
    }
}

/// The row of `c`, column by column as [`COLUMNS`].
fn row(c: &Customer, labels: &Labels, zone: chrono_tz::Tz) -> [Cell; 11] {
    let latin = [c.first_name.as_deref(), c.last_name.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    let name = match (latin.is_empty(), &c.name2) {
        (false, _) => latin,
        (true, Some(_)) => String::new(),
        (true, None) => labels.guest.clone(),
    };
    let status = if c.merged_into.is_some() {
        &labels.merged
    } else if c.active {
        &labels.active
    } else {
        &labels.inactive
    };
    [
        Cell::Text(
            c.customer_number
                .map(|n| n.to_string())
                .unwrap_or_else(|| labels.pending.clone()),
        ),
        Cell::Text(neutralised(&name)),
        Cell::Text(neutralised(c.name2.as_deref().unwrap_or(""))),
        // Validated E.164 (a plus and digits), kept as text: a spreadsheet must not read it as
        // the number 9.68921E+10.
        Cell::Text(c.phone.clone().unwrap_or_default()),
        Cell::Text(neutralised(c.email.as_deref().unwrap_or(""))),
        Cell::Text((labels.t)(c.kind.label_id())),
        Cell::Text(status.clone()),
        Cell::Number(c.order_count as f64),
        // Baisa to rials (3 decimals).
        Cell::Number(c.total_spent_minor as f64 / 1000.0),
        Cell::Number(c.loyalty_points as f64),
        Cell::Text(dukkan_core::time::local_date(&c.created_at, zone).unwrap_or_default()),
    ]
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
            for hit in self.search_hits(term, EXPORT_SEARCH_MAX)? {
                if filter.admits(&hit.customer) {
                    each(&hit.customer)?;
                    count += 1;
                }
            }
            return Ok(count);
        }
        let mut clauses = vec!["1 = 1"];
        let mut params: Vec<Value> = Vec::new();
        if let Some(kind) = filter.kind {
            clauses.push("c.kind = ?");
            params.push(Value::Text(kind.as_str().into()));
        }
        if let Some(active) = filter.active {
            clauses.push("c.active = ?");
            params.push(Value::Integer(active.into()));
        }
        if let Some(state) = filter.sync_state {
            clauses.push("c.sync_state = ?");
            params.push(Value::Text(state.as_str().into()));
        }
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
        let labels = Labels::new(locale);
        let zone = self.time_zone()?;
        let err = |e: csv::Error| DeviceError::Export(e.to_string());
        let mut out = out;
        out.write_all(b"\xEF\xBB\xBF")
            .map_err(|e| DeviceError::Export(e.to_string()))?;
        let mut w = csv::Writer::from_writer(out);
        w.write_record(COLUMNS.map(|id| (labels.t)(id)))
            .map_err(err)?;
        let count = self.export_each(filter, |c| {
            let cells = row(c, &labels, zone).map(|cell| match cell {
                Cell::Text(s) => s,
                Cell::Number(n) => n.to_string(),
            });
            w.write_record(cells).map_err(err)
        })?;
        w.flush().map_err(|e| DeviceError::Export(e.to_string()))?;
        Ok(count)
    }

    /// Writes the export of `filter` as an Excel workbook at `path`: headers in `locale` (the
    /// sheet right-to-left in Arabic), phones and numbers as text, orders, spend and points as
    /// numbers (spend with 3 decimals). Rows go to a temporary file as they are written, so
    /// memory stays bounded whatever the size. Returns the number of customers written.
    pub fn export_xlsx(&self, filter: &ListQuery, locale: Locale, path: &Path) -> Result<u64> {
        use rust_xlsxwriter::{Format, Workbook};
        self.authorize(dukkan_core::staff::Role::Manager)?;
        let labels = Labels::new(locale);
        let zone = self.time_zone()?;
        let err = |e: rust_xlsxwriter::XlsxError| DeviceError::Export(e.to_string());
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let rials = Format::new().set_num_format("#,##0.000");
        let sheet = book.add_worksheet_with_constant_memory().map_err(err)?;
        sheet
            .set_name((labels.t)("export-sheet-name"))
            .map_err(err)?;
        if locale == Locale::Ar {
            sheet.set_right_to_left(true);
        }
        for (col, width) in [14, 24, 24, 16, 28, 10, 10, 12, 16, 12, 12]
            .into_iter()
            .enumerate()
        {
            sheet.set_column_width(col as u16, width).map_err(err)?;
        }
        for (col, id) in COLUMNS.iter().enumerate() {
            sheet
                .write_string_with_format(0, col as u16, (labels.t)(id), &bold)
                .map_err(err)?;
        }
        sheet.set_freeze_panes(1, 0).map_err(err)?;
        let mut next_row = 1u32;
        let count = self.export_each(filter, |c| {
            for (col, cell) in row(c, &labels, zone).into_iter().enumerate() {
                let col = col as u16;
                match cell {
                    Cell::Text(s) if s.is_empty() => {}
                    Cell::Text(s) => {
                        sheet.write_string(next_row, col, s).map_err(err)?;
                    }
                    Cell::Number(n) if COLUMNS[col as usize] == "export-column-spent" => {
                        sheet
                            .write_number_with_format(next_row, col, n, &rials)
                            .map_err(err)?;
                    }
                    Cell::Number(n) => {
                        sheet.write_number(next_row, col, n).map_err(err)?;
                    }
                }
            }
            next_row += 1;
            Ok(())
        })?;
        book.save(path).map_err(err)?;
        Ok(count)
    }
}
