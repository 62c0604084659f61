ALTER TABLE customers DROP COLUMN loyalty_note;
