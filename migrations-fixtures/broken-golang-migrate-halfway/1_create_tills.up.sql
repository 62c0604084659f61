CREATE TABLE tills (
    id bigint PRIMARY KEY,
    name text NOT NULL
);
