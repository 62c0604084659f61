"""merge till names"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("UPDATE tills SET opened_by = lower(opened_by)")


def downgrade() -> None:
    raise NotImplementedError("the original case of opened_by is gone")
