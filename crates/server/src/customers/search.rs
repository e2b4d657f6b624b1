//! `GET /customers`: a page of a tenant's customers, filtered and searched by number, phone
//! digits or name words, from index lookups only.

use super::*;

/// A page of the tenant's customers, newest number first.
///
/// `search` is matched as a customer number (`CUST-12`), as phone digits (any part of the
/// number), or as name/email words (each word a prefix of a word of the name, Arabic folded).
pub async fn list(pool: &Pool, actor: &Actor, query: ListQuery) -> Result<CustomerPage, Error> {
    let page = query.page.unwrap_or(1).max(1);
    if page > 1_000_000 {
        return Err(Error::InvalidQuery);
    }
    let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(Error::InvalidQuery);
    }
    let mut sql = Filter::default();
    let tenant = sql.param(Box::new(actor.tenant.0));
    let search = query
        .search
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty());
    if search.is_some_and(|s| s.chars().count() > SEARCH_MAX_CHARS) {
        return Err(ValidationError::TooLong {
            field: Field::Query,
            max: SEARCH_MAX_CHARS,
        }
        .into());
    }
    // A cashier searches (the first page of active matches); browsing is a manager's.
    let status = query.status.unwrap_or_default();
    dukkan_core::rules::authorize(
        Some(actor.role),
        dukkan_core::rules::list_action(
            search.is_some(),
            page == 1,
            usize::try_from(limit).unwrap_or(usize::MAX),
            status == Status::Active,
        ),
    )?;
    let words = search
        .filter(|s| CustomerNumber::parse(s).is_err() && !looks_like_phone_digits(s))
        .map(search_tokens);
    // Name words are answered from the token rows alone (`t`, see V5__search_token_pages.sql),
    // everything else from `customers c`.
    let on = if words.is_some() { "t" } else { "c" };
    sql.conditions.push(format!("{on}.tenant_id = {tenant}"));
    if on == "c" {
        // Retired guests (see the housekeeping sweep) are gone for people. (Guests have no
        // name tokens, so the token rows never hold one.)
        sql.conditions.push("c.retired_at IS NULL".to_owned());
    }
    match status {
        Status::Active => sql.conditions.push(format!("{on}.active")),
        Status::Inactive => sql.conditions.push(format!("NOT {on}.active")),
        Status::All => {}
    }
    if let Some(kind) = query.kind {
        let p = sql.param(Box::new(kind.as_str()));
        sql.conditions.push(format!("{on}.kind = {p}"));
    }
    if let Some(words) = words {
        sql.words(words);
    } else if let Some(search) = search {
        if let Some(number) = CustomerNumber::parse(search)
            .ok()
            .and_then(|n| i32::try_from(n.value()).ok())
        {
            let p = sql.param(Box::new(number));
            sql.conditions.push(format!("c.customer_number = {p}"));
        } else {
            // Phone digits anywhere in the number (a local number matches without 968), or
            // the bare customer number.
            let digits = digits_only(search);
            let number = digits.parse::<i32>().ok();
            let n = sql.param(Box::new(number));
            if digits.len() >= PHONE_TOKEN_MIN_DIGITS {
                // A prefix of one of the phone's digit suffixes (see V4__search_tokens.sql).
                // One IN over a UNION rather than an OR, so Postgres can semi-join it.
                let matches = sql.token_prefix_ids(&tenant, format!("#{digits}"));
                sql.conditions.push(format!(
                    "c.id IN ({matches} UNION ALL SELECT n.id FROM customers n
                               WHERE n.tenant_id = {tenant} AND n.customer_number = {n})"
                ));
            } else {
                // One or two digits: too short to be indexed, and rare.
                let d = sql.param(Box::new(digits));
                sql.conditions.push(format!(
                    "(c.phone LIKE '%' || {d} || '%' OR c.customer_number = {n})"
                ));
            }
        }
    }
    let on_tokens = on == "t";
    let Filter { conditions, params } = sql;
    let where_clause = conditions.join(" AND ");
    let refs: Vec<&(dyn ToSql + Sync)> = params
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect();
    let mut client = pool.get().await?;
    let tx = db::tenant_tx(&mut client, actor.tenant).await?;
    let offset = i64::from(page - 1) * i64::from(limit);
    let cap = COUNT_CAP + 1;
    let (rows, total, total_exact) = if on_tokens {
        // Matches first, up to the cap, with one scan of the token range that gives both the
        // count and, when that is all of them, the page: a search of several words reads its
        // candidates once. One token row per matching customer (see `Filter::words`).
        let first = tx
            .query_one(
                &format!(
                    "WITH m AS (SELECT t.customer_id, t.customer_number
                                FROM customer_search_tokens t WHERE {where_clause} LIMIT {cap})
                     SELECT (SELECT count(*) FROM m),
                            ARRAY(SELECT customer_id FROM m ORDER BY customer_number DESC
                                  LIMIT {limit} OFFSET {offset})"
                ),
                &refs,
            )
            .await?;
        let counted: i64 = first.get(0);
        let rows = if counted < cap {
            let ids: Vec<Uuid> = first.get(1);
            tx.query(
                &format!(
                    "{SELECT_CUSTOMER} WHERE c.tenant_id = $1 AND c.id = ANY($2)
                     ORDER BY c.customer_number DESC"
                ),
                &[&actor.tenant.0, &ids],
            )
            .await?
        } else {
            // More than the cap: a page of the newest, walking down the customer numbers.
            tx.query(
                &format!(
                    "{SELECT_CUSTOMER}
                     JOIN (SELECT t.customer_id, t.customer_number
                           FROM customer_search_tokens t WHERE {where_clause}
                           ORDER BY t.customer_number DESC LIMIT {limit} OFFSET {offset}) m
                       ON m.customer_id = c.id
                     WHERE c.tenant_id = {tenant}
                     ORDER BY c.customer_number DESC"
                ),
                &refs,
            )
            .await?
        };
        (rows, counted.min(COUNT_CAP), counted <= COUNT_CAP)
    } else {
        let rows = tx
            .query(
                &format!(
                    "{SELECT_CUSTOMER} WHERE {where_clause}
                     ORDER BY c.customer_number DESC, c.id DESC LIMIT {limit} OFFSET {offset}"
                ),
                &refs,
            )
            .await?;
        let shown = i64::try_from(rows.len()).unwrap_or(i64::MAX);
        // A page that is not full, and not past the end, tells the total without counting.
        if shown < i64::from(limit) && (shown > 0 || page == 1) {
            (rows, offset + shown, true)
        } else {
            // Counting every match of a broad list at a million customers costs more than the
            // page itself: count up to COUNT_CAP and say when there are more.
            let counted: i64 = tx
                .query_one(
                    &format!(
                        "SELECT count(*) FROM (SELECT 1 FROM customers c WHERE {where_clause}
                         LIMIT {cap}) m"
                    ),
                    &refs,
                )
                .await?
                .get(0);
            (rows, counted.min(COUNT_CAP), counted <= COUNT_CAP)
        }
    };
    tx.commit().await?;
    let customers = rows.iter().map(from_row).collect::<Result<Vec<_>, _>>()?;
    let limit_i = i64::from(limit);
    Ok(CustomerPage {
        customers,
        pagination: Pagination {
            page,
            limit,
            total,
            total_exact,
            total_pages: (total + limit_i - 1) / limit_i,
        },
    })
}

/// A WHERE clause under construction, with its numbered parameters.
#[derive(Default)]
struct Filter {
    conditions: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Filter {
    /// The ids of customers with a search token starting with `prefix`, as a range on the
    /// token index: text comparisons are leakproof, so Postgres uses the index under
    /// row-level security (LIKE is not, and would scan every customer). `tenant` is the
    /// tenant's placeholder. No token holds U+10FFFF, so `prefix || U+10FFFF` bounds the range.
    fn token_prefix_ids(&mut self, tenant: &str, prefix: String) -> String {
        let end = format!("{prefix}\u{10FFFF}");
        let lo = self.param(Box::new(prefix));
        let hi = self.param(Box::new(end));
        format!(
            "SELECT t.customer_id FROM customer_search_tokens t
             WHERE t.tenant_id = {tenant} AND t.token >= {lo} AND t.token < {hi}"
        )
    }
}

impl Filter {
    /// Name/email words: each must start a word of the customer's folded names and email.
    ///
    /// The longest word is likely the rarest: its prefix range of tokens gives the candidates,
    /// and the conditions are then on those token rows `t` (V5__search_token_pages.sql). The
    /// other words are checked against the words the row carries. A customer with two words
    /// in the range (`sal`: "salim", "salma") has two rows there; only the row of its first
    /// such word counts, so each customer matches once and no DISTINCT is needed.
    fn words(&mut self, words: Vec<String>) {
        let mut words: Vec<String> = words.into_iter().take(8).collect();
        words.sort_by_key(|w| std::cmp::Reverse(w.chars().count()));
        let mut words = words.into_iter();
        let Some(first) = words.next() else {
            // Only punctuation: nothing can match.
            self.conditions.push("false".into());
            return;
        };
        for word in words {
            // `t.words` is ' ' || search_text || ' ' (single spaces between words).
            let w = self.param(Box::new(format!(" {word}")));
            self.conditions.push(format!("strpos(t.words, {w}) > 0"));
        }
        let end = format!("{first}\u{10FFFF}");
        let start = self.param(Box::new(format!(" {first}")));
        let lo = self.param(Box::new(first));
        let hi = self.param(Box::new(end));
        // The row's token is the customer's first word starting with `first` when the first
        // ' first' in its words is where ' token ' is. Written as >= (it is never less), which
        // the planner guesses true for a third of the rows rather than 0.5 % for =: with that
        // guess it walks a common word's rows down the customer numbers for a page instead of
        // sorting all of them.
        self.conditions.push(format!(
            "t.token >= {lo} AND t.token < {hi}
             AND strpos(t.words, {start}) >= strpos(t.words, ' ' || t.token || ' ')"
        ));
    }

    /// Adds a parameter and returns its placeholder (`$n`).
    fn param(&mut self, value: Box<dyn ToSql + Sync + Send>) -> String {
        self.params.push(value);
        format!("${}", self.params.len())
    }
}
