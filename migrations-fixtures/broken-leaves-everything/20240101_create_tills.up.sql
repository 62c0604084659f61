CREATE TABLE tills (id integer PRIMARY KEY, opened integer, closed integer);
