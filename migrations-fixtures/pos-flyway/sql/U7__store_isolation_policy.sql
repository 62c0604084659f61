DROP INDEX ix_payments_paid_at;
DROP POLICY orders_by_store ON orders;
ALTER TABLE orders DISABLE ROW LEVEL SECURITY;
