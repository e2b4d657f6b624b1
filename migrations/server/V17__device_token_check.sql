-- The device-token check that every sync request makes (and every long-poll) in one statement
-- (issue 14, propagation at 1,000 tills): before, it was a transaction of its own (BEGIN,
-- set_config, the lookup, COMMIT), four round trips and four statements for Postgres to run.
--
-- The function sets the tenant for the transaction it runs in (an implicit one of its own
-- statement when called outside a transaction), then looks the token up under the same
-- row-level security as every other read: SECURITY INVOKER, so it sees nothing the
-- application role could not see for that tenant. The tenant comes from the token's own prefix
-- and the hash must match a live token of a live device of that tenant, as before.
CREATE FUNCTION live_device(tenant uuid, token_hash bytea) RETURNS uuid
    LANGUAGE plpgsql VOLATILE SECURITY INVOKER
AS $$
BEGIN
    PERFORM set_config('app.tenant_id', tenant::text, true);
    RETURN (SELECT t.device_id
            FROM device_tokens t
            JOIN devices d ON d.tenant_id = t.tenant_id AND d.id = t.device_id
            WHERE t.tenant_id = live_device.tenant AND t.token_hash = live_device.token_hash
              AND t.revoked_at IS NULL AND d.revoked_at IS NULL);
END
$$;
REVOKE ALL ON FUNCTION live_device(uuid, bytea) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION live_device(uuid, bytea) TO dukkan_app;
