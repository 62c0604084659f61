CREATE TABLE counters (id integer PRIMARY KEY, hits integer NOT NULL, label varchar(40) NOT NULL);
