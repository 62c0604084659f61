"""create tills"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None


def upgrade() -> None:
    op.create_table("tills", sa.Column("id", sa.Integer(), primary_key=True), sa.Column("opened_by", sa.Text()))


def downgrade() -> None:
    op.drop_table("tills")
