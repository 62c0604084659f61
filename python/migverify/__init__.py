"""migverify: proves that database migrations are safe to merge. The wheel puts the `migverify`
command on PATH; `migverify.pytest_plugin` runs its gate inside pytest (`pytest --migverify`)."""
