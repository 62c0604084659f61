-- no-transaction
-- Broken on purpose: a server setting, written to postgresql.auto.conf for every database.
ALTER SYSTEM SET work_mem = '64MB';
