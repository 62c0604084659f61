-- The primary key moves from id to code; not a byte of data changes.
ALTER TABLE tills DROP CONSTRAINT tills_pkey;
ALTER TABLE tills ADD CONSTRAINT tills_pkey PRIMARY KEY (code);
ALTER TABLE tills DROP CONSTRAINT tills_code_key;
ALTER TABLE tills ADD CONSTRAINT tills_id_key UNIQUE (id);
