CREATE TABLE events (id bigint PRIMARY KEY, happened_at timestamptz NOT NULL);
