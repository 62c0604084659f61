ALTER TABLE tills RENAME COLUMN label TO title;
