-- Customer search that Postgres can answer from an index under row-level security.
--
-- Measured at 1,000,000 customers in one tenant (BENCHMARKS.md, "Tenant server"): every name
-- or phone search was a sequential scan (0.3-0.6 s), although customers_search_trgm and
-- customers_phone_trgm exist. The reason: LIKE (textlike) is not LEAKPROOF, so under row-level
-- security Postgres evaluates the policy first and will not use an index for a LIKE condition
-- (as a superuser, who bypasses RLS, the same phone search took 9 ms). Text comparisons
-- (<, >=) and uuid equality ARE leakproof, so a btree of search tokens answers a prefix search
-- as a range scan, RLS and all.
--
-- Tokens of a customer: every word of search_text (names and email as dukkan_core's
-- search_key folds them), and '#' + every suffix of at least 3 digits of the phone's digits,
-- so "digits anywhere in the number" becomes "a prefix of some suffix". Kept by a trigger, so
-- every writer (REST, sync, OTP upgrade) keeps them right without knowing about them.

CREATE TABLE customer_search_tokens (
    tenant_id    uuid NOT NULL,
    token        text COLLATE "C" NOT NULL,   -- byte order: a prefix range is exact
    customer_id  uuid NOT NULL,
    PRIMARY KEY (tenant_id, token, customer_id)
);
-- No foreign key to customers on purpose: ~14 tokens per customer would each pay a key check
-- on every write, and customers are never deleted (soft delete), so no token can dangle.
-- A customer's tokens: the trigger's delete, and checking one more search word against a
-- candidate customer without walking every customer that has that word.
CREATE INDEX customer_search_tokens_customer
    ON customer_search_tokens (tenant_id, customer_id, token);

ALTER TABLE customer_search_tokens ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_search_tokens FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_search_tokens USING (tenant_id = app_tenant_id())
    WITH CHECK (tenant_id = app_tenant_id());
GRANT SELECT, INSERT, DELETE ON customer_search_tokens TO dukkan_app;

-- The tokens of one customer.
CREATE FUNCTION customer_tokens(search_text text, phone text) RETURNS SETOF text
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT DISTINCT t FROM (
        SELECT unnest(string_to_array(search_text, ' ')) AS t
        UNION ALL
        SELECT '#' || substr(substr(phone, 2), i)
        FROM generate_series(1, coalesce(length(phone) - 3, 0)) i
    ) s
    WHERE t <> ''
$$;
GRANT EXECUTE ON FUNCTION customer_tokens(text, text) TO dukkan_app;

CREATE FUNCTION customers_search_tokens_sync() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.search_text IS NOT DISTINCT FROM OLD.search_text
           AND NEW.phone IS NOT DISTINCT FROM OLD.phone THEN
            RETURN NULL;
        END IF;
        DELETE FROM customer_search_tokens
        WHERE tenant_id = OLD.tenant_id AND customer_id = OLD.id;
    END IF;
    INSERT INTO customer_search_tokens (tenant_id, token, customer_id)
    SELECT NEW.tenant_id, t, NEW.id FROM customer_tokens(NEW.search_text, NEW.phone) t;
    RETURN NULL;
END
$$;

CREATE TRIGGER customers_search_tokens
    AFTER INSERT OR UPDATE OF search_text, phone ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_search_tokens_sync();

-- Tokens of the customers that exist, tenant by tenant (so this works for an owner that row-level
-- security applies to, as well as for a superuser).
DO $$
DECLARE
    t uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        INSERT INTO customer_search_tokens (tenant_id, token, customer_id)
        SELECT c.tenant_id, tok, c.id
        FROM customers c, customer_tokens(c.search_text, c.phone) tok
        WHERE c.tenant_id = t;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END
$$;

-- Only the LIKE searches used the trigram indexes, and they could not (see above).
DROP INDEX customers_search_trgm;
DROP INDEX customers_phone_trgm;
