UPDATE notes SET note = NULL WHERE note = '';
