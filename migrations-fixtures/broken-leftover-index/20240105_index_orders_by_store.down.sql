-- Broken on purpose: forgets DROP INDEX ix_orders_store_id.
SELECT 1;
