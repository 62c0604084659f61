-- no-transaction
DROP INDEX CONCURRENTLY ix_orders_customer_id;
