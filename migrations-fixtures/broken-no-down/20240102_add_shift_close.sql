-- A simple migration: sqlx has nothing to revert it with.
ALTER TABLE shifts ADD COLUMN closed_at timestamptz;
