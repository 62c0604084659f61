"""backfill till owner"""
from alembic import op

revision = "0002"
down_revision = "0001"


def owner_of(till_id):
    raise ValueError(f"no owner on record for till {till_id}")


def upgrade() -> None:
    # Broken on purpose: the Python side of a data migration raises.
    op.execute("UPDATE tills SET opened_by = 'system'")
    owner_of(1)


def downgrade() -> None:
    pass
