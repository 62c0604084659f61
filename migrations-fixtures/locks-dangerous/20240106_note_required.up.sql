-- Every row is scanned under ACCESS EXCLUSIVE to prove there is no NULL.
ALTER TABLE orders ALTER COLUMN note SET NOT NULL;
