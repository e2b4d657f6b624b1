-- The shop's time zone (issue 13): dates shown, filtered and exported are the shop's days, not
-- UTC's (Oman is UTC+4: 00:00-04:00 in Muscat is the previous UTC day). An IANA name, checked
-- by the server when set (`dukkan-server tenant time-zone`).
ALTER TABLE tenants ADD COLUMN time_zone text NOT NULL DEFAULT 'Asia/Muscat'
    CHECK (length(time_zone) BETWEEN 1 AND 64);
