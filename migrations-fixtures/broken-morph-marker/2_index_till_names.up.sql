
-- morph:nontransactional
-- The marker counts only at the very first byte: after the blank line above, morph runs
-- this file in a transaction.
CREATE INDEX CONCURRENTLY ix_tills_name ON tills (name);
