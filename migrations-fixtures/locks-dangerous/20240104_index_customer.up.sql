-- Without CONCURRENTLY: SHARE on orders, writes wait while the whole table is read.
CREATE INDEX ix_orders_customer_id ON orders (customer_id);
