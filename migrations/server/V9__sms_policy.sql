-- SMS abuse limits per shop (issue 12): codes go only to the countries a shop serves (ISO
-- 3166-1 alpha-2; default Oman and the GCC), and at most `sms_daily_cap` codes in 24 hours.
-- Premium-rate and far-away numbers cannot be texted through a till or a stolen session.
ALTER TABLE tenants
    ADD COLUMN sms_countries text[] NOT NULL DEFAULT '{OM,AE,SA,QA,BH,KW}'
        CHECK (cardinality(sms_countries) <= 250
               AND array_to_string(sms_countries, ',') ~ '^([A-Z]{2}(,[A-Z]{2})*)?$'),
    ADD COLUMN sms_daily_cap integer NOT NULL DEFAULT 200
        CHECK (sms_daily_cap BETWEEN 0 AND 1000000);
