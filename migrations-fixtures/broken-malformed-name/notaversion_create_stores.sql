CREATE TABLE stores (id integer PRIMARY KEY);
