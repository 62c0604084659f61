CREATE TABLE prices (id bigint PRIMARY KEY, sku varchar(32) NOT NULL UNIQUE, amount integer NOT NULL CHECK (amount >= 0));
