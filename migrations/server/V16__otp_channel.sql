-- The channel a code was sent for (issue 13, point 9): a customer who asks for a new code after
-- a WhatsApp one gets it by SMS — Twilio often reports a WhatsApp message it could not deliver
-- only later, and a customer who asks again did not get it.
ALTER TABLE otp_codes
    ADD COLUMN channel text NOT NULL DEFAULT 'sms' CHECK (channel IN ('sms', 'whatsapp'));
