ALTER TABLE counters ALTER COLUMN id TYPE bigint, ALTER COLUMN hits TYPE bigint, ALTER COLUMN label TYPE text;
