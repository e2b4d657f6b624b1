//! The customer export, once for the till and the server: its columns, how each customer
//! becomes a row of cells (text stays text, figures are numbers, dates are the shop's days),
//! formula-safe text, and the Excel workbook (written in constant memory: rows go to a
//! temporary file as they come, so an export of any size uses a bounded amount of memory).

use crate::customer::{CustomerKind, CustomerNumber};
use crate::i18n::{Locale, Localizer};
use chrono::{DateTime, Utc};
use chrono_tz::Tz;
use rust_xlsxwriter::{Format, Workbook, XlsxError};

/// The columns, as Fluent ids of their headers, in order.
pub const COLUMNS: [&str; 11] = [
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

/// Index of the total-spent column (rials with 3 decimals).
const SPENT: usize = 8;

/// One customer as the export needs it.
#[derive(Debug, Clone, Default)]
pub struct ExportRow<'a> {
    pub number: Option<CustomerNumber>,
    pub first_name: Option<&'a str>,
    pub last_name: Option<&'a str>,
    pub name2: Option<&'a str>,
    /// E.164.
    pub phone: Option<&'a str>,
    pub email: Option<&'a str>,
    pub kind: CustomerKind,
    pub active: bool,
    pub merged: bool,
    pub orders: i64,
    /// Baisa (1 OMR = 1,000 baisa).
    pub spent_baisa: i64,
    pub points: i64,
    pub joined: Option<DateTime<Utc>>,
}

/// One cell: text stays text (a phone is never turned into a number), figures are numbers.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Text(String),
    Number(f64),
}

impl Cell {
    /// The cell as CSV text.
    pub fn into_text(self) -> String {
        match self {
            Cell::Text(s) => s,
            Cell::Number(n) => n.to_string(),
        }
    }
}

/// Keeps spreadsheet programs from running a cell as a formula (CSV injection): text starting
/// with `=`, `+`, `-`, `@`, tab or carriage return gets a leading apostrophe.
pub fn neutralised(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_owned(),
    }
}

/// The export's words in one language, and the shop's time zone.
pub struct Labels {
    locale: Locale,
    zone: Tz,
    headers: [String; 11],
    pending: String,
    guest: String,
    active: String,
    inactive: String,
    merged: String,
    kinds: [String; 3],
}

impl Labels {
    pub fn new(locale: Locale, zone: Tz) -> Labels {
        let l = Localizer::global();
        let t = |id: &str| l.format(locale, id, &[]);
        Labels {
            locale,
            zone,
            headers: COLUMNS.map(t),
            pending: t("customer-number-pending"),
            guest: t("customer-guest-name"),
            active: t("export-status-active"),
            inactive: t("export-status-inactive"),
            merged: t("export-status-merged"),
            kinds: [CustomerKind::Guest, CustomerKind::Stub, CustomerKind::Full]
                .map(|k| t(k.label_id())),
        }
    }

    /// The column headers.
    pub fn headers(&self) -> &[String; 11] {
        &self.headers
    }

    /// The cells of `r`, column by column as [`COLUMNS`].
    pub fn cells(&self, r: &ExportRow<'_>) -> [Cell; 11] {
        let latin = [r.first_name, r.last_name]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" ");
        let name = match (latin.is_empty(), r.name2) {
            (false, _) => latin,
            (true, Some(_)) => String::new(),
            (true, None) => self.guest.clone(),
        };
        let status = if r.merged {
            &self.merged
        } else if r.active {
            &self.active
        } else {
            &self.inactive
        };
        let kind = match r.kind {
            CustomerKind::Guest => &self.kinds[0],
            CustomerKind::Stub => &self.kinds[1],
            CustomerKind::Full => &self.kinds[2],
        };
        [
            Cell::Text(
                r.number
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| self.pending.clone()),
            ),
            Cell::Text(neutralised(&name)),
            Cell::Text(neutralised(r.name2.unwrap_or(""))),
            // Validated E.164 (a plus and digits), kept as text: a spreadsheet must not read
            // it as the number 9.68921E+10.
            Cell::Text(r.phone.unwrap_or("").to_owned()),
            Cell::Text(neutralised(r.email.unwrap_or(""))),
            Cell::Text(kind.clone()),
            Cell::Text(status.clone()),
            Cell::Number(r.orders as f64),
            Cell::Number(r.spent_baisa as f64 / 1000.0),
            Cell::Number(r.points as f64),
            Cell::Text(
                r.joined
                    .map(|at| at.with_timezone(&self.zone).format("%Y-%m-%d").to_string())
                    .unwrap_or_default(),
            ),
        ]
    }
}

/// An Excel workbook of the export being written, one sheet, row after row.
pub struct XlsxExport {
    book: Workbook,
    rials: Format,
    next_row: u32,
}

impl XlsxExport {
    /// A workbook with its header row (bold, frozen), column widths, and the sheet
    /// right-to-left in Arabic.
    pub fn new(labels: &Labels) -> Result<XlsxExport, XlsxError> {
        let mut book = Workbook::new();
        let bold = Format::new().set_bold();
        let sheet = book.add_worksheet_with_constant_memory()?;
        sheet.set_name(Localizer::global().format(labels.locale, "export-sheet-name", &[]))?;
        if labels.locale == Locale::Ar {
            sheet.set_right_to_left(true);
        }
        for (col, width) in [14, 24, 24, 16, 28, 10, 10, 12, 16, 12, 12]
            .into_iter()
            .enumerate()
        {
            sheet.set_column_width(col as u16, width)?;
        }
        for (col, title) in labels.headers.iter().enumerate() {
            sheet.write_string_with_format(0, col as u16, title, &bold)?;
        }
        sheet.set_freeze_panes(1, 0)?;
        Ok(XlsxExport {
            book,
            rials: Format::new().set_num_format("#,##0.000"),
            next_row: 1,
        })
    }

    /// Appends one customer's row.
    pub fn push(&mut self, cells: [Cell; 11]) -> Result<(), XlsxError> {
        let sheet = self.book.worksheet_from_index(0)?;
        for (col, cell) in cells.into_iter().enumerate() {
            let c = col as u16;
            match cell {
                Cell::Text(s) if s.is_empty() => {}
                Cell::Text(s) => {
                    sheet.write_string(self.next_row, c, s)?;
                }
                Cell::Number(n) if col == SPENT => {
                    sheet.write_number_with_format(self.next_row, c, n, &self.rials)?;
                }
                Cell::Number(n) => {
                    sheet.write_number(self.next_row, c, n)?;
                }
            }
        }
        self.next_row += 1;
        Ok(())
    }

    /// Writes the workbook to `path`.
    pub fn save(mut self, path: &std::path::Path) -> Result<(), XlsxError> {
        self.book.save(path)
    }

    /// The workbook's bytes.
    pub fn into_bytes(mut self) -> Result<Vec<u8>, XlsxError> {
        self.book.save_to_buffer()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_keeps_phones_as_text_rials_with_three_decimals_and_the_shops_day() {
        let labels = Labels::new(Locale::En, crate::time::DEFAULT_TIME_ZONE);
        let joined = DateTime::parse_from_rfc3339("2026-12-05T22:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let cells = labels.cells(&ExportRow {
            number: Some(CustomerNumber::parse("CUST-00007").unwrap()),
            first_name: Some("=cmd"),
            phone: Some("+96892123456"),
            kind: CustomerKind::Stub,
            active: true,
            orders: 2,
            spent_baisa: 12_345,
            points: 12,
            joined: Some(joined),
            ..Default::default()
        });
        assert_eq!(cells[0], Cell::Text("CUST-00007".into()));
        assert_eq!(cells[1], Cell::Text("'=cmd".into()), "formula neutralised");
        assert_eq!(cells[3], Cell::Text("+96892123456".into()));
        assert_eq!(cells[5], Cell::Text("Stub".into()));
        assert_eq!(cells[6], Cell::Text("Active".into()));
        assert_eq!(cells[8], Cell::Number(12.345));
        // 02:00 in Muscat on the 6th.
        assert_eq!(cells[10], Cell::Text("2026-12-06".into()));
        let guest = labels.cells(&ExportRow {
            kind: CustomerKind::Guest,
            merged: true,
            ..Default::default()
        });
        assert_eq!(guest[0], Cell::Text("Pending number".into()));
        assert_eq!(guest[1], Cell::Text("Walk-in customer".into()));
        assert_eq!(guest[6], Cell::Text("Merged".into()));
    }
}
