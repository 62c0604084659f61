DROP INDEX ix_tills_region;
DROP INDEX ix_tills_name;
