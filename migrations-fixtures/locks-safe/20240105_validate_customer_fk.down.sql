-- Nothing to undo: the constraint is as valid as the data.
SELECT 1;
