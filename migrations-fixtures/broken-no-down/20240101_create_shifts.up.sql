CREATE TABLE shifts (id integer PRIMARY KEY, opened_at timestamptz NOT NULL);
