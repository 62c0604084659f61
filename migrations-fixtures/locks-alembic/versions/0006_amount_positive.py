"""a CHECK added valid: every row is read under ACCESS EXCLUSIVE"""
from alembic import op

revision = "0006"
down_revision = "0005"


def upgrade() -> None:
    op.create_check_constraint("orders_amount_positive", "orders", "amount >= 0")


def downgrade() -> None:
    op.drop_constraint("orders_amount_positive", "orders", type_="check")
