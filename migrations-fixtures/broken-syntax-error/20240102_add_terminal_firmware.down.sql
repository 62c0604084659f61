ALTER TABLE terminals DROP COLUMN firmware;
