-- +goose Up
-- Data migration: denormalise the number of lines onto each order, backfilled from order_items.
ALTER TABLE orders ADD COLUMN item_count integer NOT NULL DEFAULT 0;

UPDATE orders o
SET item_count = counted.lines
FROM (SELECT order_id, count(*) AS lines FROM order_items GROUP BY order_id) AS counted
WHERE counted.order_id = o.id;

-- +goose Down
ALTER TABLE orders DROP COLUMN item_count;
