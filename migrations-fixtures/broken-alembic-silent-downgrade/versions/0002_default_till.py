"""a default till for every new store

Its downgrade does nothing: the row it inserts stays behind, and no schema shows it.
"""
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute("INSERT INTO tills (opened_by) VALUES ('system')")


def downgrade() -> None:
    pass
