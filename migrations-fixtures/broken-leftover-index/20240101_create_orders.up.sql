CREATE TABLE orders (id bigint PRIMARY KEY, store_id bigint NOT NULL);
