-- A type change that rewrites the table under ACCESS EXCLUSIVE.
ALTER TABLE orders ALTER COLUMN amount TYPE bigint;
