-- Broken on purpose: drops the column but leaves the enum type behind.
ALTER TABLE tickets DROP COLUMN priority;
