-- no-transaction
-- CONCURRENTLY: SHARE UPDATE EXCLUSIVE, reads and writes go on.
CREATE INDEX CONCURRENTLY ix_orders_customer_id ON orders (customer_id);
