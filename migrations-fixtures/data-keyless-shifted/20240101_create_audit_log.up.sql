CREATE TABLE audit_log (actor text NOT NULL, action text NOT NULL, amount integer NOT NULL);
