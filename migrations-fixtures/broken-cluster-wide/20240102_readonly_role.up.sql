-- Broken on purpose: a role is the cluster's, not the database's; it outlives the database.
CREATE ROLE app_readonly;
GRANT SELECT ON accounts TO app_readonly;
