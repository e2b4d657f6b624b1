-- The OTP upgrade queue on the device: when the code sent by the server expires, and how many
-- attempts the last wrong code left (shown to the cashier).
ALTER TABLE upgrade_requests ADD COLUMN code_expires_at TEXT;
ALTER TABLE upgrade_requests ADD COLUMN attempts_left INTEGER;
