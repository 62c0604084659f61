-- Broken on purpose: only a superuser may run a program on the server host; a managed server
-- refuses this, the throwaway cluster's superuser does not.
COPY (SELECT count(*) FROM exports) TO PROGRAM 'cat > /dev/null';
