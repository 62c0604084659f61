CREATE TYPE store_status AS ENUM ('active', 'suspended', 'closed');

CREATE TABLE stores (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        varchar(16) NOT NULL UNIQUE,
    name        text NOT NULL,
    status      store_status NOT NULL DEFAULT 'active',
    timezone    text NOT NULL DEFAULT 'UTC',
    created_at  timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE stores IS 'A merchant location running the POS';
