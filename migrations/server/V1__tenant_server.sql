-- Dukkan tenant server, first schema.
--
-- Rules kept by every table below:
-- * tenant_id leads every primary key, unique key and foreign key of tenant data, so the schema
--   can be distributed by tenant (Citus) and no key can point across tenants;
-- * row-level security is ENABLEd and FORCEd on every tenant table; the policy compares with the
--   transaction-local setting app.tenant_id (set by the server with set_config(..., true));
-- * the server connects as dukkan_app, which owns nothing and holds only DML grants.
--   Migrations run as the owner.

CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- The application role. Cluster-wide, so concurrent migrations of several databases may race
-- to create it; either error means it exists. It can log in, but has no password: in production
-- the operator sets one (ALTER ROLE dukkan_app PASSWORD '...') or maps it in pg_hba.conf.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'dukkan_app') THEN
        CREATE ROLE dukkan_app LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

-- The tenant id of the current transaction, NULL when none is set (then no row is visible).
CREATE FUNCTION app_tenant_id() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT nullif(current_setting('app.tenant_id', true), '')::uuid $$;

-- ---------------------------------------------------------------------------------------------
-- Tenants (the directory: readable by the app to resolve a slug at sign-in, written by operators)
CREATE TABLE tenants (
    id          uuid PRIMARY KEY,
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Per-tenant counters: the next customer number and the next change-feed sequence. Updating
-- this row (UPDATE ... RETURNING) in the writing transaction takes its row lock, so numbers are
-- gapless and the feed is ordered by commit.
CREATE TABLE tenant_counters (
    tenant_id             uuid PRIMARY KEY REFERENCES tenants (id),
    next_customer_number  bigint NOT NULL DEFAULT 1 CHECK (next_customer_number >= 1),
    next_change_seq       bigint NOT NULL DEFAULT 1 CHECK (next_change_seq >= 1)
);

-- ---------------------------------------------------------------------------------------------
-- Staff and their sign-in sessions
CREATE TABLE staff (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    role         text NOT NULL CHECK (role IN ('cashier', 'manager', 'admin')),
    secret_hash  text NOT NULL,            -- argon2id PHC string of the PIN
    active       boolean NOT NULL DEFAULT true,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE staff_sessions (
    tenant_id   uuid NOT NULL,
    token_hash  bytea NOT NULL,            -- sha256 of the bearer token
    staff_id    uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, staff_id) REFERENCES staff (tenant_id, id)
);

-- ---------------------------------------------------------------------------------------------
-- Devices, one-time enrollment codes, device tokens
CREATE TABLE devices (
    tenant_id    uuid NOT NULL REFERENCES tenants (id),
    id           uuid NOT NULL,
    name         text,
    enrolled_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at   timestamptz,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE enrollment_codes (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    code_hash   bytea NOT NULL,            -- sha256 of the one-time code
    created_by  uuid,                      -- staff, NULL when made by an operator on the CLI
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    device_id   uuid,
    PRIMARY KEY (tenant_id, code_hash),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);

CREATE TABLE device_tokens (
    tenant_id   uuid NOT NULL,
    token_hash  bytea NOT NULL,            -- sha256 of 32 random bytes
    device_id   uuid NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    PRIMARY KEY (tenant_id, token_hash),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);

-- ---------------------------------------------------------------------------------------------
-- One person with a verified phone, shared by every shop that verified it (PRD FR-CUST-006).
-- Not tenant data: it holds no name, no figures, only the phone and when it was first verified.
CREATE TABLE phone_identities (
    id           uuid PRIMARY KEY,
    phone        text NOT NULL UNIQUE CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    verified_at  timestamptz NOT NULL DEFAULT now()
);

-- ---------------------------------------------------------------------------------------------
-- Customers
CREATE TABLE customers (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    customer_number  integer NOT NULL CHECK (customer_number >= 1),
    kind             text NOT NULL CHECK (kind IN ('guest', 'stub', 'full')),
    first_name       text CHECK (length(first_name) BETWEEN 1 AND 100),
    last_name        text CHECK (length(last_name) BETWEEN 1 AND 100),
    name2            text CHECK (length(name2) BETWEEN 1 AND 100),
    phone            text CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    email            text CHECK (length(email) BETWEEN 3 AND 254),
    phone_verified   boolean NOT NULL DEFAULT false,
    identity_id      uuid REFERENCES phone_identities (id),
    preferences      jsonb NOT NULL DEFAULT '{}'::jsonb,
    loyalty_points   bigint NOT NULL DEFAULT 0 CHECK (loyalty_points >= 0),
    active           boolean NOT NULL DEFAULT true,
    merged_into      uuid,
    search_text      text NOT NULL DEFAULT '',   -- dukkan_core::search::search_key of names + email
    created_at       timestamptz NOT NULL DEFAULT now(),
    created_by       uuid,
    created_device   uuid,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    updated_by       uuid,
    updated_device   uuid,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, customer_number),
    FOREIGN KEY (tenant_id, merged_into) REFERENCES customers (tenant_id, id),
    CHECK (merged_into IS NULL OR merged_into <> id),
    -- the rules of each kind, kept by the database too
    CHECK (kind <> 'stub' OR (first_name IS NOT NULL AND phone IS NOT NULL)),
    CHECK (kind <> 'full' OR (first_name IS NOT NULL AND phone IS NOT NULL AND email IS NOT NULL
                              AND phone_verified)),
    CHECK (NOT phone_verified OR phone IS NOT NULL)
);

-- Phone numbers are unique per tenant among active customers.
CREATE UNIQUE INDEX customers_active_phone_unique
    ON customers (tenant_id, phone) WHERE active AND phone IS NOT NULL;
CREATE INDEX customers_phone_trgm ON customers USING gin (phone gin_trgm_ops);
CREATE INDEX customers_search_trgm ON customers USING gin (search_text gin_trgm_ops);
CREATE INDEX customers_email ON customers (tenant_id, lower(email));
CREATE INDEX customers_created ON customers (tenant_id, created_at);
CREATE INDEX customers_identity ON customers (identity_id) WHERE identity_id IS NOT NULL;

-- ---------------------------------------------------------------------------------------------
-- Addresses: many per customer, exactly one default when there is any.
CREATE TABLE addresses (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    customer_id     uuid NOT NULL,
    address_type    text NOT NULL CHECK (address_type IN ('home', 'work', 'other')),
    label           text,
    building        text,
    floor           text,
    apartment       text,
    street          text,
    area            text,
    city            text,
    country         text NOT NULL DEFAULT 'OM' CHECK (country ~ '^[A-Z]{2}$'),
    postal_code     text,
    latitude        double precision CHECK (latitude BETWEEN -90 AND 90),
    longitude       double precision CHECK (longitude BETWEEN -180 AND 180),
    delivery_notes  text,
    is_default      boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    CHECK ((latitude IS NULL) = (longitude IS NULL))
);

-- At most one default per customer (checked at once) ...
CREATE UNIQUE INDEX addresses_one_default
    ON addresses (tenant_id, customer_id) WHERE is_default;
CREATE INDEX addresses_customer ON addresses (tenant_id, customer_id);

-- ... and at least one when the customer has any address (checked at commit, so a transaction
-- may move the default from one address to another).
CREATE FUNCTION addresses_check_default() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
DECLARE
    r record;
BEGIN
    IF TG_OP = 'DELETE' THEN
        r := OLD;
    ELSE
        r := NEW;
    END IF;
    IF EXISTS (SELECT 1 FROM addresses a
               WHERE a.tenant_id = r.tenant_id AND a.customer_id = r.customer_id)
       AND NOT EXISTS (SELECT 1 FROM addresses a
                       WHERE a.tenant_id = r.tenant_id AND a.customer_id = r.customer_id
                         AND a.is_default) THEN
        RAISE EXCEPTION 'customer % has addresses but no default address', r.customer_id
            USING ERRCODE = '23514', CONSTRAINT = 'addresses_exactly_one_default';
    END IF;
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER addresses_exactly_one_default
    AFTER INSERT OR UPDATE OR DELETE ON addresses
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION addresses_check_default();

-- ---------------------------------------------------------------------------------------------
-- Orders ledger (minimal: enough for merges to move orders and lists to show figures)
CREATE TABLE orders (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    customer_id  uuid NOT NULL,
    total_minor  bigint NOT NULL CHECK (total_minor >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, created_at);

-- ---------------------------------------------------------------------------------------------
-- Merge log and audit log
CREATE TABLE customer_merges (
    tenant_id              uuid NOT NULL,
    id                     uuid NOT NULL,
    source_customer_id     uuid NOT NULL,
    target_customer_id     uuid NOT NULL,
    reason                 text NOT NULL,
    merged_by              uuid,
    device_id              uuid,
    orders_moved           integer NOT NULL DEFAULT 0,
    loyalty_points_merged  bigint NOT NULL DEFAULT 0,
    merged_at              timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, source_customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, target_customer_id) REFERENCES customers (tenant_id, id)
);

-- Who changed what, from which device, when. `fields` names the fields changed, never values
-- (the log must not become a second copy of personal data).
CREATE TABLE audit_log (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    entity       text NOT NULL,
    entity_id    uuid NOT NULL,
    action       text NOT NULL,
    staff_id     uuid,
    device_id    uuid,
    at           timestamptz NOT NULL DEFAULT now(),
    fields       jsonb NOT NULL DEFAULT '[]'::jsonb,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_entity ON audit_log (tenant_id, entity, entity_id, at);

-- ---------------------------------------------------------------------------------------------
-- OTP codes: only a keyed hash (HMAC-SHA256 with the server secret) is stored.
CREATE TABLE otp_codes (
    tenant_id    uuid NOT NULL,
    id           uuid NOT NULL,
    phone        text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    customer_id  uuid,
    purpose      text NOT NULL DEFAULT 'verification',
    code_hash    bytea NOT NULL,
    attempts     integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL,
    consumed_at  timestamptz,
    device_id    uuid,
    client_ip    inet,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX otp_codes_phone ON otp_codes (tenant_id, phone, created_at);
CREATE INDEX otp_codes_expiry ON otp_codes (expires_at);

-- ---------------------------------------------------------------------------------------------
-- Change feed and per-device sync state (the sync endpoints come with the sync issue)
CREATE TABLE change_feed (
    tenant_id   uuid NOT NULL,
    seq         bigint NOT NULL CHECK (seq >= 1),
    entity      text NOT NULL,
    entity_id   uuid NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq)
);

CREATE TABLE device_sync_state (
    tenant_id         uuid NOT NULL,
    device_id         uuid NOT NULL,
    last_applied_seq  bigint NOT NULL DEFAULT 0 CHECK (last_applied_seq >= 0),
    pull_cursor       bigint NOT NULL DEFAULT 0 CHECK (pull_cursor >= 0),
    updated_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, device_id),
    FOREIGN KEY (tenant_id, device_id) REFERENCES devices (tenant_id, id)
);

-- ---------------------------------------------------------------------------------------------
-- Row-level security on every tenant table.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['tenant_counters', 'staff', 'staff_sessions', 'devices',
                             'enrollment_codes', 'device_tokens', 'customers', 'addresses',
                             'orders', 'customer_merges', 'audit_log', 'otp_codes',
                             'change_feed', 'device_sync_state']
    LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant_id()) '
                       'WITH CHECK (tenant_id = app_tenant_id())', t);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------------------------------
-- Grants: DML only, and only what the server needs.
GRANT USAGE ON SCHEMA public TO dukkan_app;
GRANT EXECUTE ON FUNCTION app_tenant_id() TO dukkan_app;
GRANT SELECT ON tenants TO dukkan_app;
GRANT SELECT, INSERT ON phone_identities TO dukkan_app;
-- Customers are never deleted (soft delete only); logs and the feed are append-only.
GRANT SELECT, INSERT, UPDATE, DELETE ON
    staff_sessions, enrollment_codes, device_tokens, addresses, otp_codes
    TO dukkan_app;
GRANT SELECT, INSERT, UPDATE ON
    tenant_counters, staff, devices, customers, orders, device_sync_state
    TO dukkan_app;
GRANT SELECT, INSERT ON customer_merges, audit_log, change_feed TO dukkan_app;
