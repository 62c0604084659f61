-- +goose Up
CREATE TABLE tills (
    id bigint PRIMARY KEY,
    opened_at timestamptz NOT NULL DEFAULT now(),
    cash numeric(12,2) NOT NULL DEFAULT 0
);

-- +goose Down
DROP TABLE tills;
