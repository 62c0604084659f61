-- no-transaction
ALTER SYSTEM RESET work_mem;
