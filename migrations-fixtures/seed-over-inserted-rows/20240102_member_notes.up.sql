ALTER TABLE members ADD COLUMN note text;
