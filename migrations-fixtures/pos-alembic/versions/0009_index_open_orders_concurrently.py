"""index open orders concurrently"""
import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    # CONCURRENTLY keeps orders writable while the index builds; it cannot run in a transaction.
    with op.get_context().autocommit_block():
        op.create_index(
            "ix_orders_status", "orders", ["status"], postgresql_where=sa.text("status = 'open'"), postgresql_concurrently=True
        )


def downgrade() -> None:
    with op.get_context().autocommit_block():
        op.drop_index("ix_orders_status", table_name="orders", postgresql_concurrently=True)
