ALTER TABLE tills RENAME COLUMN title TO label;
