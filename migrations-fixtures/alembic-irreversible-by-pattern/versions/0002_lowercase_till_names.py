"""lowercase till names"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("UPDATE tills SET opened_by = lower(opened_by)")


def downgrade() -> None:
    # How some large histories say it: not NotImplementedError, a RuntimeError of their own.
    raise RuntimeError("Cannot downgrade past revision 0002")
