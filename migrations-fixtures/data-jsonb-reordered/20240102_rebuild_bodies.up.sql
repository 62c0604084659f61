-- Every body rebuilt with its keys added in reverse order: jsonb keeps one order, so nothing changes.
UPDATE documents SET body = (SELECT coalesce(jsonb_object_agg(key, value ORDER BY key DESC), '{}')
                             FROM jsonb_each(body))
WHERE jsonb_typeof(body) = 'object';
