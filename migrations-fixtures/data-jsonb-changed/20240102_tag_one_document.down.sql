UPDATE documents SET body = body - 'migrated';
