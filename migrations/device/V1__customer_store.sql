-- Dukkan device store, version 1.
-- Ids are UUIDv7 text (time-ordered, so ORDER BY id is creation order). `seq` columns are local
-- integer row ids: stable (INTEGER PRIMARY KEY survives VACUUM) so the FTS index can point at them.

CREATE TABLE customers (
    seq                 INTEGER PRIMARY KEY,
    id                  TEXT    NOT NULL UNIQUE,
    customer_number     INTEGER UNIQUE CHECK (customer_number > 0),   -- NULL until the server assigns it
    kind                TEXT    NOT NULL CHECK (kind IN ('guest', 'stub', 'full')),
    first_name          TEXT,                                          -- NULL for guests (shown localised)
    last_name           TEXT,
    name2               TEXT,                                          -- Arabic name
    phone               TEXT,                                          -- E.164
    phone_national      TEXT,                                          -- national significant number, for prefix search
    phone_last4         TEXT,
    email               TEXT,
    phone_verified      INTEGER NOT NULL DEFAULT 0 CHECK (phone_verified IN (0, 1)),
    preferences         TEXT,                                          -- JSON
    loyalty_points      INTEGER NOT NULL DEFAULT 0,
    order_count         INTEGER NOT NULL DEFAULT 0,
    total_spent_minor   INTEGER NOT NULL DEFAULT 0,
    last_order_at       TEXT,
    active              INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    merged_into         TEXT REFERENCES customers (id),
    default_address_id  TEXT,
    sync_state          TEXT    NOT NULL DEFAULT 'pending' CHECK (sync_state IN ('pending', 'synced', 'parked')),
    created_at          TEXT    NOT NULL,
    created_by          TEXT,
    created_device      TEXT    NOT NULL,
    updated_at          TEXT    NOT NULL,
    updated_by          TEXT,
    CHECK (kind = 'guest' OR (first_name IS NOT NULL AND phone IS NOT NULL)),
    CHECK (kind <> 'full' OR (phone_verified = 1 AND email IS NOT NULL)),
    -- The default address must be one of this customer's own addresses.
    FOREIGN KEY (id, default_address_id) REFERENCES addresses (customer_id, id) DEFERRABLE INITIALLY DEFERRED
);

CREATE INDEX customers_phone ON customers (phone) WHERE phone IS NOT NULL;
CREATE INDEX customers_phone_national ON customers (phone_national) WHERE phone_national IS NOT NULL;
CREATE INDEX customers_phone_last4 ON customers (phone_last4, id) WHERE phone_last4 IS NOT NULL;
CREATE INDEX customers_email ON customers (lower(email)) WHERE email IS NOT NULL;
CREATE INDEX customers_kind ON customers (kind, id);
CREATE INDEX customers_active ON customers (active, id);
CREATE INDEX customers_sync_state ON customers (sync_state, id);

CREATE TABLE addresses (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    customer_id     TEXT NOT NULL REFERENCES customers (id),
    address_type    TEXT NOT NULL CHECK (address_type IN ('home', 'work', 'other')),
    label           TEXT,
    building        TEXT,
    floor           TEXT,
    apartment       TEXT,
    street          TEXT,
    area            TEXT,
    city            TEXT,
    country         TEXT NOT NULL DEFAULT 'OM' CHECK (length(country) = 2),
    postal_code     TEXT,
    latitude        REAL CHECK (latitude BETWEEN -90 AND 90),
    longitude       REAL CHECK (longitude BETWEEN -180 AND 180),
    delivery_notes  TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    CHECK ((latitude IS NULL) = (longitude IS NULL)),
    UNIQUE (customer_id, id)
);

-- Exactly one default address per customer that has addresses, enforced here rather than in
-- code: the default is a single column (so there can never be two), the first address becomes
-- the default, deleting the default promotes the newest remaining address, and clearing the
-- default while addresses remain is refused.
CREATE TRIGGER addresses_first_becomes_default AFTER INSERT ON addresses
WHEN (SELECT default_address_id FROM customers WHERE id = NEW.customer_id) IS NULL
BEGIN
    UPDATE customers SET default_address_id = NEW.id WHERE id = NEW.customer_id;
END;

CREATE TRIGGER addresses_promote_on_delete AFTER DELETE ON addresses
WHEN (SELECT default_address_id FROM customers WHERE id = OLD.customer_id) = OLD.id
BEGIN
    UPDATE customers
       SET default_address_id = (SELECT id FROM addresses WHERE customer_id = OLD.customer_id
                                 ORDER BY id DESC LIMIT 1)
     WHERE id = OLD.customer_id;
END;

CREATE TRIGGER customers_keep_a_default_address BEFORE UPDATE OF default_address_id ON customers
WHEN NEW.default_address_id IS NULL
 AND EXISTS (SELECT 1 FROM addresses WHERE customer_id = NEW.id)
BEGIN
    SELECT RAISE(ABORT, 'a customer with addresses must keep one default address');
END;

-- Name search: normalised tokens of first, last and Arabic names (see dukkan_core::search),
-- maintained by the store in the same transaction as the customer row. rowid = customers.seq.
CREATE VIRTUAL TABLE customers_fts USING fts5 (
    name_keys,
    content = '',
    contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 0',
    prefix = '1 2 3'
);

-- Operations waiting to reach the tenant server, in device order. AUTOINCREMENT so a sequence
-- number is never reused, even after the newest op is deleted: it is the op's device_seq.
CREATE TABLE outbox (
    device_seq  INTEGER PRIMARY KEY AUTOINCREMENT,
    op_id       TEXT NOT NULL UNIQUE,
    kind        TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    customer_id TEXT NOT NULL,   -- the customer the op belongs to (an address op's owner)
    payload     TEXT NOT NULL,   -- JSON
    staff_id    TEXT,
    at          TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'parked')),
    error_code  TEXT,
    attempts    INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outbox_customer ON outbox (customer_id, state);

-- Upgrades stub -> full requested at the counter; the sync engine sends them.
CREATE TABLE upgrade_requests (
    customer_id   TEXT PRIMARY KEY REFERENCES customers (id),
    email         TEXT NOT NULL,
    preferences   TEXT NOT NULL,   -- JSON
    state         TEXT NOT NULL DEFAULT 'queued'
                  CHECK (state IN ('queued', 'sent', 'verified', 'failed', 'expired')),
    requested_at  TEXT NOT NULL,
    requested_by  TEXT,
    updated_at    TEXT NOT NULL,
    resend_after  TEXT,
    error_code    TEXT
);

-- Sync bookkeeping (cursor, last success, enrollment) and device/staff settings, as key/value.
CREATE TABLE sync_state (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE settings (
    key    TEXT PRIMARY KEY,
    value  TEXT NOT NULL
) WITHOUT ROWID;

-- Who changed what, from where, when.
CREATE TABLE audit_log (
    seq          INTEGER PRIMARY KEY,
    at           TEXT NOT NULL,
    staff_id     TEXT,
    device_id    TEXT NOT NULL,
    entity       TEXT NOT NULL CHECK (entity IN ('customer', 'address')),
    entity_id    TEXT NOT NULL,
    customer_id  TEXT NOT NULL,
    action       TEXT NOT NULL,
    fields       TEXT NOT NULL   -- JSON array of changed field names (never their values)
);
CREATE INDEX audit_log_customer ON audit_log (customer_id, seq);
