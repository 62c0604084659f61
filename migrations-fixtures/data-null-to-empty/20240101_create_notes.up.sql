CREATE TABLE notes (id bigint PRIMARY KEY, note text);
