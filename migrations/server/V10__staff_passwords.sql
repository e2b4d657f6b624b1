-- PINs unlock tills; passwords sign in to the server (issue 12). A PIN's argon2id hash travels
-- to every till of the shop in the roster, so whoever copies a till's file can try every PIN
-- offline: it must never open the server API. `password_hash` (argon2id, at least 10
-- characters) is the only secret the server's sign-in accepts; NULL: no server sign-in yet
-- (an operator sets it with `dukkan-server staff set-password`).
ALTER TABLE staff ADD COLUMN password_hash text;
