CREATE TABLE customers (id bigint PRIMARY KEY, name text NOT NULL, loyalty_note text);
