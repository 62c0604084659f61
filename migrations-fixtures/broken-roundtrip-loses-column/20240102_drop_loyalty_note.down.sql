-- Broken on purpose: the column comes back, its content does not.
ALTER TABLE customers ADD COLUMN loyalty_note text;
