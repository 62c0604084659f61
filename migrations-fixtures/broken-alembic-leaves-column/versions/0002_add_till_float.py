"""add till float"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("tills", sa.Column("cash_float", sa.Numeric(10, 2)))


def downgrade() -> None:
    # Broken on purpose: forgets op.drop_column("tills", "cash_float").
    op.execute("SELECT 1")
