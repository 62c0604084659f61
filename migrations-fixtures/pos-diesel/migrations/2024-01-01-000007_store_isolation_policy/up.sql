ALTER TABLE orders ENABLE ROW LEVEL SECURITY;

CREATE POLICY orders_by_store ON orders
    USING (store_id = current_setting('pos.store_id', true)::bigint);

CREATE INDEX ix_payments_paid_at ON payments (paid_at) WHERE method = 'card';
