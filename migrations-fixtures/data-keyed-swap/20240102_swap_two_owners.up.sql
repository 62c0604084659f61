-- Two rows swap their owners: each column holds the same values, two rows do not.
UPDATE accounts a SET owner = b.owner FROM accounts b
WHERE (a.id, b.id) IN (((SELECT min(id) FROM accounts), (SELECT max(id) FROM accounts)),
                       ((SELECT max(id) FROM accounts), (SELECT min(id) FROM accounts)));
