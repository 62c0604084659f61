-- migrate:up
-- Missing `transaction:false` on the directive above: dbmate runs this in a transaction.
CREATE INDEX CONCURRENTLY ix_tills_name ON tills (name);

-- migrate:down
DROP INDEX ix_tills_name;
