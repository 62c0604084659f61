CREATE TABLE receipts (id integer PRIMARY KEY, printed boolean NOT NULL DEFAULT false);
