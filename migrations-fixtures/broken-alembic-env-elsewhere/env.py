# Broken on purpose: a hard-coded URL. migverify must refuse to run it, and the database it names
# must stay untouched. MIGVERIFY_TEST_OTHER_URL stands in for a developer's own database.
import os

from alembic import context
from sqlalchemy import create_engine, pool


def run_migrations_online() -> None:
    engine = create_engine(os.environ.get("MIGVERIFY_TEST_OTHER_URL", "postgresql+psycopg2://app@localhost/app"), poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
