-- The orders ledger and loyalty points (issue 13). A till records a drop-off order (its ticket
-- reference, amount in baisa, pieces, a note) offline as an `order_recorded` op; REST takes
-- orders from an order system. The server gives the order its points by the shop's rule
-- (whole points per rial, rounded down) and adds them to the customer's `loyalty_points`; a
-- manager adds or takes away points by hand, with a reason (`points_adjusted`).
--
-- Orders written before this version (the minimal ledger of V1) have no ticket, one piece,
-- no note and earned no points.

ALTER TABLE orders
    ADD COLUMN ticket      text CHECK (length(ticket) BETWEEN 1 AND 32),
    ADD COLUMN pieces      integer NOT NULL DEFAULT 1 CHECK (pieces BETWEEN 1 AND 999),
    ADD COLUMN note        text CHECK (length(note) BETWEEN 1 AND 500),
    ADD COLUMN points      bigint NOT NULL DEFAULT 0 CHECK (points >= 0),
    -- The till it was taken on (NULL: over REST) and who took it (NULL: nobody signed in).
    ADD COLUMN device_id   uuid,
    ADD COLUMN created_by  uuid;

-- A customer's orders, newest first, page after page (the key of the keyset cursor), and the
-- newest few of every customer of a pulled page.
DROP INDEX orders_customer;
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, created_at, id);

-- Points a manager added (delta > 0) or took away (delta < 0), and why. Append-only: a
-- mistake is corrected by another adjustment. A merge moves the points, not these rows: they
-- stay the record of what was done to the customer who then held them.
CREATE TABLE loyalty_adjustments (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    customer_id  uuid NOT NULL,
    delta        bigint NOT NULL CHECK (delta <> 0),
    reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 200),
    adjusted_by  uuid,
    device_id    uuid,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX loyalty_adjustments_customer
    ON loyalty_adjustments (tenant_id, customer_id, created_at);

ALTER TABLE loyalty_adjustments ENABLE ROW LEVEL SECURITY;
ALTER TABLE loyalty_adjustments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON loyalty_adjustments USING (tenant_id = app_tenant_id())
    WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT ON loyalty_adjustments TO dukkan_app;

-- The shop's loyalty rule: whole points per rial spent (0: no points), set by an operator
-- (`dukkan-server tenant loyalty`) and sent to the tills in the roster.
ALTER TABLE tenants ADD COLUMN points_per_rial integer NOT NULL DEFAULT 1
    CHECK (points_per_rial BETWEEN 0 AND 1000);
