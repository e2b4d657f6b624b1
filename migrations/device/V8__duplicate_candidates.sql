-- Likely duplicates, kept as customers are written (issue 13, part 2): the pairs the duplicate
-- finder shows (dukkan_core::duplicates), each once (a < b). A write of a customer looks up its
-- phone and the phones one digit apart from it in the phone index and refreshes that customer's
-- pairs, so the finder reads this table instead of comparing every customer with every other
-- (a million on a large shop's till). The table is filled by one full pass the first time a
-- manager opens the finder (settings key `duplicate_candidates_ready`); until then writes skip it.
CREATE TABLE duplicate_candidates (
    a       TEXT NOT NULL,
    b       TEXT NOT NULL,
    reason  TEXT NOT NULL CHECK (reason IN ('same-phone', 'same-name-near-phone')),
    PRIMARY KEY (a, b),
    CHECK (a < b)
) WITHOUT ROWID;
CREATE INDEX duplicate_candidates_b ON duplicate_candidates (b);
-- The finder's page: same-phone pairs first, read in index order (a large till keeps tens of
-- thousands of pairs; sorting them all for each look cost 127 ms at a million customers).
CREATE INDEX duplicate_candidates_shown ON duplicate_candidates (reason, a, b);
