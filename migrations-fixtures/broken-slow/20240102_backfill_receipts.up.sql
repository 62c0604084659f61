-- Slow on purpose: stands in for a backfill that outlives the budget.
UPDATE receipts SET printed = true;
SELECT pg_sleep(60);
