CREATE TABLE tills (id integer PRIMARY KEY, code text NOT NULL UNIQUE, label text);
