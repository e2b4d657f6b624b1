-- Sync: the answer given to every op a device pushed (so a replay gets the same answer, e.g. a
-- redirect), and upgrade requests that arrived through sync, waiting for their OTP.

CREATE TABLE sync_ops (
    tenant_id   uuid NOT NULL,
    device_id   uuid NOT NULL,
    device_seq  bigint NOT NULL CHECK (device_seq >= 1),
    op_id       uuid NOT NULL,
    outcome     jsonb NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, device_id, device_seq),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);

CREATE TABLE upgrade_requests (
    tenant_id     uuid NOT NULL,
    customer_id   uuid NOT NULL,
    email         text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    preferences   jsonb NOT NULL DEFAULT '{}'::jsonb,
    state         text NOT NULL CHECK (state IN ('queued', 'sent', 'verified', 'failed', 'expired')),
    requested_at  timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    device_id     uuid,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);

CREATE INDEX change_feed_entity ON change_feed (tenant_id, entity_id);

ALTER TABLE sync_ops ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_ops FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sync_ops USING (tenant_id = app_tenant_id())
    WITH CHECK (tenant_id = app_tenant_id());
ALTER TABLE upgrade_requests ENABLE ROW LEVEL SECURITY;
ALTER TABLE upgrade_requests FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON upgrade_requests USING (tenant_id = app_tenant_id())
    WITH CHECK (tenant_id = app_tenant_id());

GRANT SELECT, INSERT ON sync_ops TO dukkan_app;
GRANT SELECT, INSERT, UPDATE ON upgrade_requests TO dukkan_app;
