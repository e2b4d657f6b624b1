-- Merging duplicates at the till, with undo (issue 13, part 2): what each merge this till made
-- moved, so an undo within the window puts back exactly that (the server keeps the same in
-- customer_merges and judges the undo again when it arrives).
CREATE TABLE merges (
    id                   TEXT PRIMARY KEY,
    source_id            TEXT NOT NULL,
    target_id            TEXT NOT NULL,
    reason               TEXT NOT NULL,
    merged_at            TEXT NOT NULL,
    merged_by            TEXT,
    -- The target's type before (a guest that took a name and a phone became a stub), and
    -- whether the duplicate was active (an undo gives it back as it was).
    target_kind_before   TEXT NOT NULL,
    source_was_active    INTEGER NOT NULL DEFAULT 1,
    -- The fields the target took from the duplicate (JSON of the fill edit).
    filled               TEXT NOT NULL,
    -- The duplicate's orders and addresses that moved (JSON arrays of ids), and its default.
    order_ids            TEXT NOT NULL,
    address_ids          TEXT NOT NULL,
    source_default       TEXT,
    -- The duplicate's figures added to the target's.
    points_moved         INTEGER NOT NULL,
    orders_moved         INTEGER NOT NULL,
    spent_moved          INTEGER NOT NULL,
    undone_at            TEXT,
    undone_by            TEXT
) WITHOUT ROWID;
CREATE INDEX merges_source ON merges (source_id);
CREATE INDEX merges_target ON merges (target_id);
