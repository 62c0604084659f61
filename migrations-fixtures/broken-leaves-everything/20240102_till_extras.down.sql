-- Broken on purpose: undoes none of the up.
SELECT 1;
