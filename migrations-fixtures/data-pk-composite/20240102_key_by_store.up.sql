ALTER TABLE lines DROP CONSTRAINT lines_pkey;
ALTER TABLE lines ADD CONSTRAINT lines_pkey PRIMARY KEY (store_id, id);
