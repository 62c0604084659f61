-- One row copied, one row of another kind removed: the same count, the same set of distinct rows,
-- another multiset.
INSERT INTO tallies SELECT * FROM tallies ORDER BY tag, n LIMIT 1;
DELETE FROM tallies WHERE ctid = (SELECT ctid FROM tallies ORDER BY tag DESC, n DESC LIMIT 1);
