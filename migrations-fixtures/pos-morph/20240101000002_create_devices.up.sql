CREATE TYPE device_kind AS ENUM ('terminal', 'printer', 'scanner');

CREATE TABLE devices (
    id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    store_id      bigint NOT NULL REFERENCES stores (id),
    serial_number varchar(64) NOT NULL UNIQUE,
    kind          device_kind NOT NULL,
    last_seen_at  timestamptz
);

CREATE INDEX ix_devices_store_id ON devices (store_id);
