"""wait for the cache"""
import time

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    # Broken on purpose: sleeps in Python, where the server's cancel cannot reach it.
    time.sleep(120)
    op.execute("COMMENT ON TABLE tills IS 'warmed'")


def downgrade() -> None:
    op.execute("COMMENT ON TABLE tills IS NULL")
