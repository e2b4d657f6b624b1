-- Long-poll pulls wake when their tenant's change feed grows, instead of querying it every
-- 200 ms per waiting device (crates/server/src/wakeups.rs). One NOTIFY per tenant per
-- statement; Postgres delivers it at commit (never for a rolled-back change) and folds
-- identical ones of one transaction into one. The payload is the tenant id only.
CREATE FUNCTION change_feed_notify() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    PERFORM pg_notify('dukkan_changes', t::text)
    FROM (SELECT DISTINCT tenant_id AS t FROM new_changes) s;
    RETURN NULL;
END
$$;

CREATE TRIGGER change_feed_notify
    AFTER INSERT ON change_feed
    REFERENCING NEW TABLE AS new_changes
    FOR EACH STATEMENT EXECUTE FUNCTION change_feed_notify();
