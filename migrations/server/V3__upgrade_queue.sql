-- The OTP upgrade queue: an upgrade requested on a device (possibly offline) reaches the server
-- through sync; the server then sends the code and the device follows the request's state
-- (queued -> sent -> verified | failed | expired) through the change feed.

ALTER TABLE upgrade_requests
    ADD COLUMN language        text CHECK (language IN ('en', 'ar')),
    -- While `sent`: when the code expires and when another may be sent.
    ADD COLUMN code_expires_at timestamptz,
    ADD COLUMN resend_after    timestamptz,
    -- Why the request is `failed` (sms-failed, otp-locked, ...) or still `queued`
    -- (otp-cooldown, otp-rate-limited).
    ADD COLUMN error_code      text CHECK (error_code IS NULL OR length(error_code) BETWEEN 1 AND 64);

-- Sends for queued requests are looked up per device after each push.
CREATE INDEX upgrade_requests_queued ON upgrade_requests (tenant_id, device_id)
    WHERE state = 'queued';

-- Codes sent on a device's behalf are capped per device, as codes asked for over REST are per IP.
CREATE INDEX otp_codes_device ON otp_codes (tenant_id, device_id, created_at)
    WHERE device_id IS NOT NULL;
