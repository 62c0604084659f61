"""add till note"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.add_column("tills", sa.Column("note", sa.Text()))


def downgrade() -> None:
    op.drop_column("tills", "note")
