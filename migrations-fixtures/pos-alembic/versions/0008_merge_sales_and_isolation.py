"""merge the sales-reporting and store-isolation branches"""

# 0006 and 0007 were written on two branches from 0005; this merge joins them, as
# `alembic merge` does, so that the history has one head again.
revision = "0008"
down_revision = ("0006", "0007")


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
