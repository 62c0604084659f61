-- +goose Up
ALTER TABLE orders ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- +goose StatementBegin
CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$;
-- +goose StatementEnd

CREATE TRIGGER orders_touch_updated_at
    BEFORE UPDATE ON orders
    FOR EACH ROW EXECUTE FUNCTION touch_updated_at();

CREATE VIEW daily_store_sales AS
SELECT o.store_id, date_trunc('day', o.placed_at) AS day, count(*) AS orders, sum(o.total) AS revenue
FROM orders o
WHERE o.status = 'paid'
GROUP BY o.store_id, date_trunc('day', o.placed_at);

COMMENT ON VIEW daily_store_sales IS 'Paid revenue per store and day, for the back office';

-- +goose Down
DROP VIEW daily_store_sales;
DROP TRIGGER orders_touch_updated_at ON orders;
DROP FUNCTION touch_updated_at();
ALTER TABLE orders DROP COLUMN updated_at;
