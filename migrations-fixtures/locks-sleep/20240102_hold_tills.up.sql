-- A lock of known length: ACCESS EXCLUSIVE on tills for one second.
LOCK TABLE tills IN ACCESS EXCLUSIVE MODE;
SELECT pg_sleep(1);
