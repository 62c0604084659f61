"""index amount without CONCURRENTLY: SHARE on orders, writes wait while it is read"""
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.create_index("ix_orders_amount", "orders", ["amount"])


def downgrade() -> None:
    op.drop_index("ix_orders_amount", table_name="orders")
