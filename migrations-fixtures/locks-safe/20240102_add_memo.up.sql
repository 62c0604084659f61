-- A nullable column without a default: a catalog change, ACCESS EXCLUSIVE for an instant.
ALTER TABLE orders ADD COLUMN memo text;
