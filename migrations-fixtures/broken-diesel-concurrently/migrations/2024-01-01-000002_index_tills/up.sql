-- diesel sends the file as one batch, which PostgreSQL runs as one implicit transaction, so
-- with two statements here CONCURRENTLY fails even with run_in_transaction = false.
CREATE INDEX CONCURRENTLY ix_tills_name ON tills (name);
CREATE INDEX CONCURRENTLY ix_tills_region ON tills (region);
