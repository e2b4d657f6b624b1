-- Customers whose local copy must be read again from the server: a person discarded a change the
-- server had refused, so what this till shows may still be that change, not the server's truth.
-- The sync engine fetches each one (GET /api/v1/sync/customers/{id}) and removes it from here.
CREATE TABLE stale_customers (
    customer_id  TEXT NOT NULL PRIMARY KEY
);
