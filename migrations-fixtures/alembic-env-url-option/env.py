# Like Pyramid-style apps: the URL is the main option `url`, not sqlalchemy.url.
from alembic import context
from sqlalchemy import create_engine, pool

url = context.config.get_main_option("url")


def run_migrations_online() -> None:
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
