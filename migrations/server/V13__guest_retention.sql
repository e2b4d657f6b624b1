-- Guests that stay temporary (issue 13): a walk-in guest that never had an order is retired
-- after the shop's retention (default 90 days) by the scheduled housekeeping sweep, on the
-- server and, through the change feed, on every till. Retired is a tombstone, not a delete:
-- the row keeps its id for the audit log, the change feed and merges that name it, is
-- inactive, and is left out of lists, searches and exports.
ALTER TABLE tenants
    ADD COLUMN guest_retention_days integer NOT NULL DEFAULT 90
        CHECK (guest_retention_days BETWEEN 1 AND 3650);

ALTER TABLE customers
    ADD COLUMN retired_at timestamptz,
    ADD CONSTRAINT customers_only_guests_retire CHECK (retired_at IS NULL OR (kind = 'guest' AND NOT active));

-- The sweep's candidates: each shop's oldest active guests.
CREATE INDEX customers_guests_by_age ON customers (tenant_id, created_at)
    WHERE kind = 'guest' AND active AND retired_at IS NULL;
