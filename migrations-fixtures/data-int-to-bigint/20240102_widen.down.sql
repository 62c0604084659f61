ALTER TABLE counters ALTER COLUMN id TYPE integer, ALTER COLUMN hits TYPE integer, ALTER COLUMN label TYPE varchar(40);
