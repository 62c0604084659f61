# Like many services' env.py: the URL comes from the environment alone, not from alembic.ini,
# and the service's own settings come from an environment variable and an -x argument.
import os

from alembic import context
from sqlalchemy import create_engine, pool

region = os.environ["POS_REGION"]
tenant = context.get_x_argument(as_dictionary=True)["tenant"]


def run_migrations_online() -> None:
    engine = create_engine(os.environ["DATABASE_URL"], poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=None)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
