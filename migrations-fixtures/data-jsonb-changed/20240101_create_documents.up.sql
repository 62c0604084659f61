CREATE TABLE documents (id bigint PRIMARY KEY, body jsonb NOT NULL);
