-- A volatile default: every row gets its own value, so the table is rewritten.
ALTER TABLE orders ADD COLUMN token uuid NOT NULL DEFAULT gen_random_uuid();
