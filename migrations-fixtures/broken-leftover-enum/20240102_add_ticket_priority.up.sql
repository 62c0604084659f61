CREATE TYPE ticket_priority AS ENUM ('low', 'normal', 'urgent');
ALTER TABLE tickets ADD COLUMN priority ticket_priority NOT NULL DEFAULT 'normal';
