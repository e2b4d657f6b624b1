-- Staff who may sign in at this till, as the tenant server's roster gave them (GET
-- /api/v1/sync/staff). `pin_hash` is the server's argon2id PHC string: PINs are checked here,
-- offline, and never stored in clear. Replaced whole on every roster change; empty until the
-- device is enrolled with a shop that has staff (until then the till is open to whoever uses it).
CREATE TABLE staff (
    id        TEXT NOT NULL PRIMARY KEY,
    name      TEXT NOT NULL,
    role      TEXT NOT NULL CHECK (role IN ('cashier', 'manager', 'admin')),
    pin_hash  TEXT NOT NULL
);
