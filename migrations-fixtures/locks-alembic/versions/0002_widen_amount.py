"""widen amount: a type change that rewrites orders under ACCESS EXCLUSIVE"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.alter_column("orders", "amount", type_=sa.BigInteger(), existing_type=sa.Integer())


def downgrade() -> None:
    op.alter_column("orders", "amount", type_=sa.Integer(), existing_type=sa.BigInteger())
