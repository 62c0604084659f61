CREATE TABLE tills (id integer PRIMARY KEY);
