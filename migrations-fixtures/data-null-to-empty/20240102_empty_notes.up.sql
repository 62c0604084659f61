UPDATE notes SET note = '' WHERE note IS NULL;
