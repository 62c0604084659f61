CREATE INDEX ix_orders_store_id ON orders (store_id);
