"""a label on tills"""
import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.add_column("tills", sa.Column("label", sa.Text()))


def downgrade() -> None:
    op.drop_column("tills", "label")
