//! CSV export of the local list (PRD columns), UTF-8 with a byte-order mark so that Excel shows
//! Arabic names correctly.

use crate::customers::{customer_from_row, CUSTOMER_COLUMNS};
use crate::error::{DeviceError, Result};
use crate::search::ListQuery;
use crate::Device;
use dukkan_core::i18n::{Locale, Localizer};
use rusqlite::types::Value;
use std::io::Write;

/// Keeps spreadsheet programs from running a cell as a formula (CSV injection): text starting
/// with `=`, `+`, `-`, `@`, tab or carriage return gets a leading apostrophe.
fn cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

impl Device {
    /// Writes the customers matching the list filters (all of them; paging is ignored) as CSV
    /// with headers in `locale`. Returns the number of customers written.
    pub fn export_csv<W: Write>(&self, filter: &ListQuery, locale: Locale, out: W) -> Result<u64> {
        self.authorize(dukkan_core::staff::Role::Manager)?;
        let l10n = Localizer::global();
        let t = |id: &str| l10n.format(locale, id, &[]);
        let err = |e: csv::Error| DeviceError::Export(e.to_string());
        let mut out = out;
        out.write_all(b"\xEF\xBB\xBF")
            .map_err(|e| DeviceError::Export(e.to_string()))?;
        let mut w = csv::Writer::from_writer(out);
        w.write_record(
            [
                "export-column-number",
                "export-column-name",
                "export-column-phone",
                "export-column-email",
                "export-column-type",
                "export-column-orders",
                "export-column-points",
                "export-column-joined",
            ]
            .map(t),
        )
        .map_err(err)?;

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
        let pending = t("customer-number-pending");
        let guest = t("customer-guest-name");
        let count = self.read(|conn| {
            let mut stmt = conn.prepare(&format!(
                "SELECT {CUSTOMER_COLUMNS} FROM customers c WHERE {} ORDER BY c.id",
                clauses.join(" AND ")
            ))?;
            let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
            let mut count = 0u64;
            while let Some(row) = rows.next()? {
                let c = customer_from_row(row)?;
                let latin = [c.first_name.as_deref(), c.last_name.as_deref()]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(" ");
                let name = match (latin.is_empty(), &c.name2) {
                    (false, Some(ar)) => format!("{latin} / {ar}"),
                    (false, None) => latin,
                    (true, Some(ar)) => ar.clone(),
                    (true, None) => guest.clone(),
                };
                w.write_record([
                    c.customer_number
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| pending.clone()),
                    cell(&name),
                    // Validated E.164 (digits only), so no formula can hide in it.
                    c.phone.clone().unwrap_or_default(),
                    cell(c.email.as_deref().unwrap_or("")),
                    t(c.kind.label_id()),
                    c.order_count.to_string(),
                    c.loyalty_points.to_string(),
                    c.created_at.get(..10).unwrap_or("").to_owned(),
                ])
                .map_err(err)?;
                count += 1;
            }
            Ok(count)
        })?;
        w.flush().map_err(|e| DeviceError::Export(e.to_string()))?;
        Ok(count)
    }
}
