-- migrate:up
CREATE TABLE tills (
    id bigint PRIMARY KEY,
    name text NOT NULL
);

-- migrate:down
DROP TABLE tills;
