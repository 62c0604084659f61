CREATE TABLE lines (id bigint PRIMARY KEY, store_id integer NOT NULL, note text);
