"""add order item count"""
import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    # Data migration: denormalise the number of lines onto each order, backfilled from order_items.
    op.add_column("orders", sa.Column("item_count", sa.Integer(), nullable=False, server_default=sa.text("0")))
    op.execute(
        """
        UPDATE orders o
        SET item_count = counted.lines
        FROM (SELECT order_id, count(*) AS lines FROM order_items GROUP BY order_id) AS counted
        WHERE counted.order_id = o.id
        """
    )


def downgrade() -> None:
    op.drop_column("orders", "item_count")
