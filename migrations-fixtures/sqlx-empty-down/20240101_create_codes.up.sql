CREATE TABLE codes (id bigint PRIMARY KEY, code text NOT NULL);
