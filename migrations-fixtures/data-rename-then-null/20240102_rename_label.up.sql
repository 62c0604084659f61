ALTER TABLE tills RENAME COLUMN label TO title;
UPDATE tills SET title = NULL;
