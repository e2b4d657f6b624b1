-- Name searches answered from the token index alone (issue 3: list/search p95 < 50 ms at
-- 1,000,000 customers in one tenant).
--
-- With V4 a broad name prefix (`sal`: 50,000 of 1,000,000 customers) still cost 0.25-0.33 s:
-- the capped count joined up to 10,001 matches back to `customers` (random heap reads), and a
-- search of two words checked the second word customer by customer (~1 s). Here each token row
-- also carries what the list filters and sorts on (customer number, active, type) and, on name
-- tokens, the customer's words, against which the other words of a search are checked:
--
-- * the count is one index-only scan of the first word's token range (customer_search_tokens_pkey
--   INCLUDEs all of it); ordered by customer number inside a token, the scan also reads the
--   heap's visibility map in order;
-- * a page is either that range, sorted, or, when the word is common, a walk down the customer
--   numbers (customer_search_tokens_number) that stops after one page of matches;
-- * `customers` is read only for the rows of the page.
--
-- Kept by triggers as before, so every writer (REST, sync, merge, OTP upgrade) keeps them right:
-- * inserts: one statement-level trigger with a transition table, so a multi-row insert (a sync
--   batch) makes all its tokens in one INSERT ... SELECT instead of one per customer;
-- * updates: a row trigger (transition tables cannot go with a column list): new tokens when
--   the names or phone change, else the copied columns when active, type or number change.

DROP TRIGGER customers_search_tokens ON customers;
DROP FUNCTION customers_search_tokens_sync();

-- Rebuilt below with the new columns (TRUNCATE is not subject to row-level security).
TRUNCATE customer_search_tokens;
ALTER TABLE customer_search_tokens DROP CONSTRAINT customer_search_tokens_pkey;
DROP INDEX customer_search_tokens_customer;
ALTER TABLE customer_search_tokens
    ADD COLUMN customer_number integer NOT NULL,
    ADD COLUMN active boolean NOT NULL,
    ADD COLUMN kind text NOT NULL,
    -- On name tokens: ' ' || search_text || ' ', so "some word starts with w" is
    -- strpos(words, ' ' || w) > 0. NULL on phone tokens ('#...'), which are searched alone.
    ADD COLUMN words text;
GRANT UPDATE ON customer_search_tokens TO dukkan_app;

-- The token rows of customers, as the triggers and the rebuild below write them.
CREATE FUNCTION customer_token_rows(c customers)
    RETURNS TABLE (tenant_id uuid, token text, customer_id uuid, customer_number integer,
                   active boolean, kind text, words text)
    LANGUAGE sql IMMUTABLE
    AS $$
    SELECT c.tenant_id, t, c.id, c.customer_number, c.active, c.kind,
           CASE WHEN left(t, 1) <> '#' THEN ' ' || c.search_text || ' ' END
    FROM customer_tokens(c.search_text, c.phone) t
$$;
GRANT EXECUTE ON FUNCTION customer_token_rows(customers) TO dukkan_app;

CREATE FUNCTION customers_search_tokens_insert() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    INSERT INTO customer_search_tokens (tenant_id, token, customer_id, customer_number, active,
                                        kind, words)
    SELECT r.* FROM new_customers n, customer_token_rows(n) r;
    RETURN NULL;
END
$$;

CREATE FUNCTION customers_search_tokens_update() RETURNS trigger
    LANGUAGE plpgsql
    AS $$
BEGIN
    IF NEW.search_text IS DISTINCT FROM OLD.search_text OR NEW.phone IS DISTINCT FROM OLD.phone
       OR NEW.customer_number IS DISTINCT FROM OLD.customer_number THEN
        DELETE FROM customer_search_tokens
        WHERE tenant_id = OLD.tenant_id AND customer_number = OLD.customer_number;
        INSERT INTO customer_search_tokens (tenant_id, token, customer_id, customer_number,
                                            active, kind, words)
        SELECT * FROM customer_token_rows(NEW);
    ELSIF NEW.active IS DISTINCT FROM OLD.active OR NEW.kind IS DISTINCT FROM OLD.kind THEN
        UPDATE customer_search_tokens SET active = NEW.active, kind = NEW.kind
        WHERE tenant_id = OLD.tenant_id AND customer_number = OLD.customer_number;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER customers_search_tokens_insert
    AFTER INSERT ON customers
    REFERENCING NEW TABLE AS new_customers
    FOR EACH STATEMENT EXECUTE FUNCTION customers_search_tokens_insert();

CREATE TRIGGER customers_search_tokens_update
    AFTER UPDATE OF search_text, phone, active, kind, customer_number ON customers
    FOR EACH ROW EXECUTE FUNCTION customers_search_tokens_update();

-- Tokens of the customers that exist, tenant by tenant (row-level security applies to an owner
-- that is not a superuser), before the indexes: building them once is faster than keeping them.
DO $$
DECLARE
    t uuid;
BEGIN
    FOR t IN SELECT id FROM tenants LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        INSERT INTO customer_search_tokens (tenant_id, token, customer_id, customer_number,
                                            active, kind, words)
        SELECT r.* FROM customers c, customer_token_rows(c) r WHERE c.tenant_id = t;
    END LOOP;
    PERFORM set_config('app.tenant_id', '', true);
END
$$;

-- A prefix range of tokens with everything a count or a page filters and sorts on (index-only
-- scans). Unique: customer numbers are unique in a tenant, and a customer's tokens distinct.
ALTER TABLE customer_search_tokens ADD CONSTRAINT customer_search_tokens_pkey
    PRIMARY KEY (tenant_id, token, customer_number)
    INCLUDE (customer_id, active, kind, words);
-- Customers newest first with their tokens side by side: a page of a common word, and a
-- customer's tokens for the update trigger.
CREATE INDEX customer_search_tokens_number
    ON customer_search_tokens (tenant_id, customer_number, token);
