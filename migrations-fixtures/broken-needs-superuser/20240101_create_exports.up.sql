CREATE TABLE exports (id bigint PRIMARY KEY, path text NOT NULL);
