UPDATE documents SET body = body || '{"migrated": true}' WHERE id = (SELECT min(id) FROM documents);
