//! The manager's list (keyset pages with filters) and the counter's search box.
//!
//! Search classifies the query once and runs only index lookups, each with a LIMIT, so the cost
//! does not grow with the number of customers: phone digits use B-tree indexes on the E.164
//! number, the national number and its last 4 digits; names use the FTS5 index of normalised
//! name tokens (exact tokens first, then prefixes); customer numbers and emails use their indexes.

use crate::customers::{customer_from_row, Customer, SyncState, CUSTOMER_COLUMNS};
use crate::error::Result;
use crate::Device;
use dukkan_core::rules::{self, Action};
use dukkan_core::search::{digits_only, looks_like_phone_digits, search_tokens};
use dukkan_core::{CustomerKind, CustomerNumber, Phone};
use rusqlite::{params, params_from_iter, types::Value, Connection};
use serde::{Deserialize, Serialize};

/// Largest page the list returns.
pub const MAX_PAGE: u32 = 500;
/// Longest search query considered, in characters; longer input is cut, not refused, because
/// the search box must never fail on a paste.
pub const MAX_QUERY_CHARS: usize = 100;

/// Filters and position of one list page. Newest customers first.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    /// One type of customer; `None`: every type but walk-in guests (a guest is listed only
    /// when `guest` is asked for; a search finds one by its number either way).
    pub kind: Option<CustomerKind>,
    pub active: Option<bool>,
    pub sync_state: Option<SyncState>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Rows per page (1..=500; 50 when absent).
    pub limit: Option<u32>,
    /// A search term: the page holds its best matches (as the counter's search finds them,
    /// up to `limit`) among the customers the filters above admit — inactive ones too when
    /// `active` asks for them — and there is no next page.
    #[serde(default)]
    pub search: Option<String>,
}

impl ListQuery {
    /// The search term, when there is one that is not blank.
    pub fn term(&self) -> Option<&str> {
        self.search.as_deref().filter(|t| !t.trim().is_empty())
    }

    /// The SQL conditions (on `customers c`) of the kind, status and sync filters, for the list
    /// and its export alike. Walk-in guests stay out unless asked for: each is one
    /// transaction, and they would bury the customers a manager looks for.
    pub(crate) fn filter_clauses(&self, clauses: &mut Vec<&'static str>, params: &mut Vec<Value>) {
        match self.kind {
            Some(kind) => {
                clauses.push("c.kind = ?");
                params.push(Value::Text(kind.as_str().into()));
            }
            None => clauses.push("c.kind <> 'guest'"),
        }
        if let Some(active) = self.active {
            clauses.push("c.active = ?");
            params.push(Value::Integer(active.into()));
        }
        if let Some(state) = self.sync_state {
            clauses.push("c.sync_state = ?");
            params.push(Value::Text(state.as_str().into()));
        }
    }

    /// Whether `c` passes the kind, status and sync filters.
    pub(crate) fn admits(&self, c: &Customer) -> bool {
        self.kind.is_none_or(|k| c.kind == k)
            && self.active.is_none_or(|a| c.active == a)
            && self.sync_state.is_none_or(|s| c.sync_state == s)
    }
}

/// One page of customers and the cursor of the next one (`None` on the last page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub items: Vec<Customer>,
    pub next: Option<String>,
}

/// Why a search result matched, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub enum MatchKind {
    PhoneExact,
    CustomerNumber,
    PhoneLast4,
    PhonePrefix,
    Email,
    NameExact,
    NamePrefix,
}

/// A search result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "camelCase")]
pub struct SearchHit {
    pub matched: MatchKind,
    pub customer: Customer,
}

/// The smallest string greater than every string starting with `prefix` (for range scans).
fn prefix_end(prefix: &str) -> String {
    let mut end = prefix.to_owned();
    if let Some(last) = end.pop() {
        end.push(char::from_u32(last as u32 + 1).unwrap_or(char::MAX));
    }
    end
}

/// Longest prefix, in characters, the FTS5 table indexes as such (`prefix = '1 2 3'`, V1).
const INDEXED_PREFIX_CHARS: usize = 3;
/// Most whole tokens a longer prefix is expanded into; a prefix that starts more tokens than
/// this is asked of FTS5 as a prefix (slower, but every match is still found).
const MAX_PREFIX_TERMS: usize = 64;

/// The FTS5 expression matching names with a token starting with each of `tokens`, or `None`
/// when some token starts no name at all. A prefix of up to three characters is read from the
/// prefix index; a longer one is expanded into the whole tokens it starts (`name_terms`, V9)
/// so FTS5 can read their lists newest first and stop at the page's end, instead of merging
/// every list the prefix matches before the first row (10^5 rows for "moham" at a million
/// customers).
fn prefix_expression(conn: &Connection, tokens: &[String]) -> Result<Option<String>> {
    let mut terms = conn.prepare_cached(
        "SELECT term FROM name_terms WHERE term >= ?1 AND term < ?2 ORDER BY term LIMIT ?3",
    )?;
    let mut parts = Vec::with_capacity(tokens.len());
    for token in tokens {
        if token.chars().count() <= INDEXED_PREFIX_CHARS {
            parts.push(format!("\"{token}\"*"));
            continue;
        }
        let whole: Vec<String> = terms
            .query_map(
                params![token, prefix_end(token), (MAX_PREFIX_TERMS + 1) as i64],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<_>>()?;
        match whole.len() {
            0 => return Ok(None),
            n if n > MAX_PREFIX_TERMS => parts.push(format!("\"{token}\"*")),
            // Tokens hold only letters and digits (dukkan_core::search), so quoting is enough.
            _ => parts.push(format!(
                "({})",
                whole
                    .iter()
                    .map(|t| format!("\"{t}\""))
                    .collect::<Vec<_>>()
                    .join(" OR ")
            )),
        }
    }
    Ok(Some(parts.join(" AND ")))
}

fn query_customers(conn: &Connection, sql_tail: &str, params: Vec<Value>) -> Result<Vec<Customer>> {
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {CUSTOMER_COLUMNS} FROM customers c {sql_tail}"
    ))?;
    let rows = stmt.query_map(params_from_iter(params), customer_from_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

impl Device {
    /// One page of the local list, newest first, filtered.
    pub fn list_customers(&self, q: &ListQuery) -> Result<Page> {
        // Browsing, whatever the filter (the rule the server applies to its list).
        self.authorize(Action::BrowseCustomers.role())?;
        let limit = q.limit.unwrap_or(50).clamp(1, MAX_PAGE);
        if let Some(term) = q.term() {
            let items = self
                .search_hits(term, limit as usize, q.active)?
                .into_iter()
                .map(|h| h.customer)
                .filter(|c| q.admits(c))
                .collect();
            return Ok(Page { items, next: None });
        }
        let mut clauses = Vec::new();
        let mut params: Vec<Value> = Vec::new();
        q.filter_clauses(&mut clauses, &mut params);
        if let Some(after) = &q.after {
            clauses.push("c.id < ?");
            params.push(Value::Text(after.clone()));
        }
        let filter = if clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", clauses.join(" AND "))
        };
        params.push(Value::Integer(i64::from(limit) + 1));
        let mut items = self.read(|c| {
            query_customers(c, &format!("{filter} ORDER BY c.id DESC LIMIT ?"), params)
        })?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|c| c.id.to_string())
        } else {
            None
        };
        Ok(Page { items, next })
    }

    /// Searches active customers by phone digits (whole, national, prefix or last 4), customer
    /// number, email prefix, or name prefix in Latin or Arabic script. Best matches first.
    /// A cashier gets at most `rules::SEARCH_MATCHES_MAX` matches; more is browsing (a
    /// manager's list screen asks for up to 100).
    pub fn search(&self, query: &str, limit: usize) -> Result<Vec<SearchHit>> {
        let limit = limit.clamp(1, 100);
        self.authorize(rules::list_action(true, true, limit, true).role())?;
        self.search_hits(query, limit, Some(true))
    }

    /// The search itself, for up to `limit` matches among the active customers (`Some(true)`),
    /// the inactive ones (`Some(false)`: a manager looking for someone to bring back) or all;
    /// whoever calls it has checked the role.
    pub(crate) fn search_hits(
        &self,
        query: &str,
        limit: usize,
        active: Option<bool>,
    ) -> Result<Vec<SearchHit>> {
        let limit = limit.max(1);
        let query: String = query.chars().take(MAX_QUERY_CHARS).collect();
        let scope = match active {
            Some(true) => "+c.active = 1",
            Some(false) => "+c.active = 0",
            None => "1 = 1",
        };
        let mut hits: Vec<SearchHit> = Vec::new();
        self.read(|conn| {
            // Runs one lookup; answers how many matches there are so far.
            let mut run = |kind: MatchKind, tail: &str, params: Vec<Value>| -> Result<usize> {
                let tail = tail.replace("+c.active = 1", scope);
                let tail = tail.as_str();
                let mut params = params;
                params.push(Value::Integer(limit as i64));
                for customer in query_customers(conn, &format!("{tail} LIMIT ?"), params)? {
                    if !hits.iter().any(|h| h.customer.id == customer.id) {
                        hits.push(SearchHit { matched: kind, customer });
                    }
                }
                Ok(hits.len())
            };
            let text = |s: &str| Value::Text(s.to_owned());

            if let Ok(number) = CustomerNumber::parse(&query) {
                run(MatchKind::CustomerNumber, "WHERE c.customer_number = ? AND +c.active = 1", vec![Value::Integer(number.value().into())])?;
            } else if looks_like_phone_digits(&query) {
                let mut digits = digits_only(&query);
                // "00" is the international prefix only on a whole number; "0066" is a last-4.
                if digits.len() > 6 {
                    if let Some(rest) = digits.strip_prefix("00") {
                        digits = rest.to_owned();
                    }
                }
                let full = format!("+{digits}");
                // A complete number, in whatever notation, is looked up by its E.164 form.
                if let Ok(phone) = Phone::parse(&query) {
                    run(MatchKind::PhoneExact, "WHERE c.phone = ? AND +c.active = 1", vec![text(phone.e164())])?;
                }
                if digits.len() <= 9 {
                    if let Ok(number) = digits.parse::<u32>().map_err(|_| ()).and_then(|n| CustomerNumber::new(n).map_err(|_| ())) {
                        run(MatchKind::CustomerNumber, "WHERE c.customer_number = ? AND +c.active = 1", vec![Value::Integer(number.value().into())])?;
                    }
                }
                if digits.len() == 4 {
                    run(MatchKind::PhoneLast4, "WHERE c.phone_last4 = ? AND +c.active = 1 ORDER BY c.id DESC", vec![text(&digits)])?;
                }
                run(
                    MatchKind::PhonePrefix,
                    "WHERE c.phone_national >= ? AND c.phone_national < ? AND +c.active = 1 ORDER BY c.phone_national",
                    vec![text(&digits), text(&prefix_end(&digits))],
                )?;
                run(
                    MatchKind::PhonePrefix,
                    "WHERE c.phone >= ? AND c.phone < ? AND +c.active = 1 ORDER BY c.phone",
                    vec![text(&full), text(&prefix_end(&full))],
                )?;
            } else {
                let trimmed = query.trim().to_lowercase();
                if trimmed.contains('@') || (!trimmed.contains(' ') && !trimmed.is_empty()) {
                    run(
                        MatchKind::Email,
                        "WHERE c.email IS NOT NULL AND lower(c.email) >= ? AND lower(c.email) < ? AND +c.active = 1 ORDER BY lower(c.email)",
                        vec![text(&trimmed), text(&prefix_end(&trimmed))],
                    )?;
                }
                let tokens = search_tokens(&query);
                if !tokens.is_empty() {
                    // Tokens hold only letters and digits, so quoting them is enough to keep
                    // FTS5 query syntax out of the user's input.
                    let exact = tokens.iter().map(|t| format!("\"{t}\"")).collect::<Vec<_>>().join(" AND ");
                    let tail = "JOIN customers_fts f ON f.rowid = c.seq WHERE customers_fts MATCH ? AND +c.active = 1 ORDER BY f.rowid DESC";
                    let found = run(MatchKind::NameExact, tail, vec![text(&exact)])?;
                    // Prefix matches rank last: when whole words filled the page they would
                    // all be cut.
                    if found < limit {
                        if let Some(prefix) = prefix_expression(conn, &tokens)? {
                            run(MatchKind::NamePrefix, tail, vec![text(&prefix)])?;
                        }
                    }
                }
            }
            Ok(())
        })?;
        hits.sort_by_key(|h| h.matched);
        hits.truncate(limit);
        Ok(hits)
    }
}
