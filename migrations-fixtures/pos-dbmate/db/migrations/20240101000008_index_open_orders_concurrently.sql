-- migrate:up transaction:false
-- CONCURRENTLY keeps orders writable while the index builds; it cannot run in a transaction.
CREATE INDEX CONCURRENTLY ix_orders_status ON orders (status) WHERE status = 'open';

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY ix_orders_status;
