# Like a service whose env.py reads its database from a variable of its own (APP_DB_URL), or
# from an -x argument of its own (db=...), and from nothing migverify sets by itself.
import os

from alembic import context
from sqlalchemy import create_engine, pool

url = os.environ.get("APP_DB_URL") or context.get_x_argument(as_dictionary=True)["db"]


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
