-- Merge with undo (issue 13, part 2): a merge keeps what it moved, so an undo within the
-- window (24 hours, dukkan_core::rules::MERGE_UNDO_HOURS) puts back exactly that. A merge's id
-- is made where the manager merges (a till, offline): a pushed merge and its replay are one.
ALTER TABLE customer_merges
    ADD COLUMN moved_order_ids    uuid[] NOT NULL DEFAULT '{}',
    ADD COLUMN moved_address_ids  uuid[] NOT NULL DEFAULT '{}',
    -- The duplicate's default address before the merge.
    ADD COLUMN source_default     uuid,
    -- The fields the target took from the duplicate (the fill edit, JSON), and its type before.
    ADD COLUMN filled             jsonb NOT NULL DEFAULT '{}',
    ADD COLUMN target_kind_before text,
    -- The duplicate was active (an undo gives it back as it was: a deactivated one stays so).
    ADD COLUMN source_was_active  boolean NOT NULL DEFAULT true,
    ADD COLUMN undone_at          timestamptz,
    ADD COLUMN undone_by          uuid,
    ADD COLUMN undone_device      uuid;

-- The merge log stays append-only except for marking a merge undone: the app may set the
-- undo columns and nothing else.
GRANT UPDATE (undone_at, undone_by, undone_device) ON customer_merges TO dukkan_app;
