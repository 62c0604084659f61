-- Broken on purpose: ends every other client's session on the server, as a careless
-- "make sure nobody holds a lock" step does.
SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
WHERE datname <> current_database() AND backend_type = 'client backend';
