CREATE TABLE terminals (id integer PRIMARY KEY);
