"""create devices"""
import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"

device_kind = postgresql.ENUM("terminal", "printer", "scanner", name="device_kind")


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", postgresql.UUID(), primary_key=True, server_default=sa.text("gen_random_uuid()")),
        sa.Column("store_id", sa.BigInteger(), sa.ForeignKey("stores.id"), nullable=False),
        sa.Column("serial_number", sa.String(64), nullable=False, unique=True),
        sa.Column("kind", device_kind, nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_devices_store_id", "devices", ["store_id"])


def downgrade() -> None:
    op.drop_table("devices")
    device_kind.drop(op.get_bind())
