-- Bulk orders overflow integer quantities. A type change that is not binary compatible:
-- order_items is rewritten, and its primary key rebuilt, under ACCESS EXCLUSIVE.
ALTER TABLE order_items ALTER COLUMN quantity TYPE bigint;
