REVOKE SELECT ON accounts FROM app_readonly;
DROP ROLE app_readonly;
