-- morph:nontransactional
DROP INDEX CONCURRENTLY ix_tills_name;
