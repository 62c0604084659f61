-- Rows the migration inserts itself: a default group, and the one row of a one-row table.
CREATE TABLE groups (gid integer PRIMARY KEY, name text NOT NULL UNIQUE);
INSERT INTO groups VALUES (1, 'default');
CREATE TABLE members (id bigint PRIMARY KEY, gid integer NOT NULL REFERENCES groups);
CREATE TABLE version_info (version_info_id integer PRIMARY KEY CHECK (version_info_id = 1), schema_version integer NOT NULL);
INSERT INTO version_info VALUES (1, 12);
CREATE TABLE settings (id integer PRIMARY KEY CHECK (id = 1), theme text NOT NULL);
