-- No U2__ file: Flyway cannot undo this version.
ALTER TABLE tills ADD COLUMN region text;
