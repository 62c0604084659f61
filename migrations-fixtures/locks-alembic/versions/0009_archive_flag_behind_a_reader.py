"""an archive flag added while a second session of the migration still reads orders: the ALTER
queues behind that reader's ACCESS SHARE, as it would behind any long query in production"""
import threading
import time

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    url = op.get_bind().engine.url
    reader = sa.create_engine(url, poolclass=sa.pool.NullPool)
    reading = threading.Event()

    def read_orders() -> None:
        with reader.begin() as connection:
            connection.exec_driver_sql("SELECT count(*) FROM orders")
            reading.set()
            time.sleep(0.5)

    thread = threading.Thread(target=read_orders)
    thread.start()
    reading.wait()
    op.add_column("orders", sa.Column("archived", sa.Boolean()))
    thread.join()
    reader.dispose()


def downgrade() -> None:
    op.drop_column("orders", "archived")
