"""create bills and payments"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"

payment_method = postgresql.ENUM("cash", "card", "qr", "gift_card", name="payment_method")


def upgrade() -> None:
    op.create_table(
        "bills",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), primary_key=True),
        sa.Column("order_id", sa.BigInteger(), sa.ForeignKey("orders.id"), nullable=False, unique=True),
        sa.Column("subtotal", sa.Numeric(12, 2), nullable=False),
        sa.Column("tax", sa.Numeric(12, 2), nullable=False, server_default=sa.text("0")),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_table(
        "payments",
        sa.Column("id", sa.BigInteger(), primary_key=True),
        sa.Column("bill_id", sa.BigInteger(), sa.ForeignKey("bills.id"), nullable=False),
        sa.Column("method", payment_method, nullable=False),
        sa.Column("amount", sa.Numeric(12, 2), sa.CheckConstraint("amount > 0"), nullable=False),
        sa.Column("reference", sa.Text()),
        sa.Column("paid_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")),
    )
    op.create_index("ix_payments_bill_id", "payments", ["bill_id"])


def downgrade() -> None:
    op.drop_table("payments")
    op.drop_table("bills")
    payment_method.drop(op.get_bind())
