-- Wrong sign-ins, counted in the database so a lockout holds on every server instance behind
-- the load balancer (issue 12). One row per staff member and per client address that guessed
-- recently; keys are SHA-256 hashes (no staff id or IP address is stored as such). Not tenant
-- data: a staff id is unique across tenants and an address is nobody's.
CREATE TABLE sign_in_strikes (
    key          bytea PRIMARY KEY CHECK (octet_length(key) = 32),
    count        integer NOT NULL CHECK (count >= 0),
    since        timestamptz NOT NULL,
    locked_until timestamptz
);

GRANT SELECT, INSERT, UPDATE, DELETE ON sign_in_strikes TO dukkan_app;
