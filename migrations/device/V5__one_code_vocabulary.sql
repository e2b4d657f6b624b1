-- One code vocabulary (issue 11): the reasons an upgrade's code was not sent or failed are the
-- codes the server's API uses for the same refusals (`otp.cooldown`, `sms.failed`, ...), not a
-- dashed variant of them. Rewrites what earlier versions stored.
UPDATE upgrade_requests SET error_code = CASE error_code
    WHEN 'otp-cooldown' THEN 'otp.cooldown'
    WHEN 'otp-rate-limited' THEN 'otp.rate-limited'
    WHEN 'sms-failed' THEN 'sms.failed'
    WHEN 'otp-invalid' THEN 'otp.invalid'
    WHEN 'otp-no-code' THEN 'otp.no-code'
    WHEN 'otp-locked' THEN 'otp.locked'
    WHEN 'otp-expired' THEN 'otp.expired'
    WHEN 'guest-cannot-upgrade' THEN 'customer.guest-cannot-upgrade'
    ELSE error_code END
WHERE error_code IN ('otp-cooldown', 'otp-rate-limited', 'sms-failed', 'otp-invalid',
                     'otp-no-code', 'otp-locked', 'otp-expired', 'guest-cannot-upgrade');
