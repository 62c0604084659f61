-- Broken on purpose: TABLEE.
ALTER TABLEE terminals ADD COLUMN firmware text;
