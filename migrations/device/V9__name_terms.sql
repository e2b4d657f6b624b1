-- Every whole name token the search index has held (issue 14, part 6). A name prefix longer
-- than the FTS5 prefix indexes (1 to 3 characters) is expanded here into the whole tokens it
-- starts ("moham" → mohammed, mohammad), and the index is asked for those tokens: FTS5 reads
-- each token's list newest first and stops at the page's end, where a prefix query without a
-- prefix index first merges every matching list (about 10^5 rows for a common name at a
-- million customers). A token is added by the one writer of the name index
-- (customers::index_names) and never removed: a token nobody holds any more matches nothing.
CREATE TABLE name_terms (term TEXT PRIMARY KEY) WITHOUT ROWID;

-- The tokens already indexed, read once from the index itself.
CREATE VIRTUAL TABLE temp.customers_fts_terms USING fts5vocab(main, customers_fts, 'row');
INSERT INTO name_terms (term) SELECT term FROM temp.customers_fts_terms;
DROP TABLE temp.customers_fts_terms;
