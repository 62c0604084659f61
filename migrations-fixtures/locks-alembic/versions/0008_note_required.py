"""note made required: SET NOT NULL reads every order under ACCESS EXCLUSIVE"""
import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.alter_column("orders", "note", nullable=False, existing_type=sa.Text())


def downgrade() -> None:
    op.alter_column("orders", "note", nullable=True, existing_type=sa.Text())
