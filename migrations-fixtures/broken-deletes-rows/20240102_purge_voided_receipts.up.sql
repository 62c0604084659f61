-- Broken on purpose: a data migration that throws rows away.
DELETE FROM receipts WHERE voided;
