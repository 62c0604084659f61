"""create orders"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"

order_status = postgresql.ENUM("open", "paid", "void", "refunded", name="order_status")


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        sa.Column("store_id", sa.BigInteger(), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("device_id", postgresql.UUID(), sa.ForeignKey("devices.id", ondelete="SET NULL")),
        sa.Column("status", order_status, nullable=False, server_default="open"),
        sa.Column("total", sa.Numeric(12, 2), sa.CheckConstraint("total >= 0"), nullable=False, server_default=sa.text("0")),
        sa.Column("currency", sa.CHAR(3), nullable=False, server_default="JPY"),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_index("ix_orders_store_id_placed_at", "orders", ["store_id", sa.text("placed_at DESC")])
    op.create_table(
        "order_items",
        sa.Column("order_id", sa.BigInteger(), sa.ForeignKey("orders.id", ondelete="CASCADE"), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(32), nullable=False),
        sa.Column("quantity", sa.Integer(), sa.CheckConstraint("quantity > 0"), nullable=False),
        sa.Column("unit_price", sa.Numeric(12, 2), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "line_no"),
    )


def downgrade() -> None:
    op.drop_table("order_items")
    op.drop_table("orders")
    order_status.drop(op.get_bind())
