"""a token per order: a volatile default, so orders is rewritten under ACCESS EXCLUSIVE"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.add_column(
        "orders",
        sa.Column("token", postgresql.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
    )


def downgrade() -> None:
    op.drop_column("orders", "token")
