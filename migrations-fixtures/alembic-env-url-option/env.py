# Like Pyramid-style apps: the URL is a main option of the app's own, `url` unless the
# environment names another.
import os

from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option(os.environ.get("APP_URL_OPTION", "url"))


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
