-- Orders ledger and loyalty (issue 13): the drop-off orders this till took, and the latest
-- orders of each customer as the server holds them (a pulled snapshot's `recentOrders`), so
-- the Orders tab shows every till's orders. The customers table already carries the figures
-- (order_count, total_spent_minor, last_order_at, loyalty_points).
--
-- `from_server` = 1: the server has counted this order in the customer's figures (it came with
-- a snapshot). An order still only here (0) is added on top of the server's figures whenever a
-- pulled snapshot replaces them, and only then.
CREATE TABLE orders (
    id            TEXT PRIMARY KEY,
    customer_id   TEXT NOT NULL,
    ticket        TEXT NOT NULL,
    amount_baisa  INTEGER NOT NULL CHECK (amount_baisa >= 0),
    pieces        INTEGER NOT NULL CHECK (pieces >= 1),
    note          TEXT,
    points        INTEGER NOT NULL DEFAULT 0,
    created_at    TEXT NOT NULL,
    created_by    TEXT,
    from_server   INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX orders_customer ON orders (customer_id, created_at DESC);
