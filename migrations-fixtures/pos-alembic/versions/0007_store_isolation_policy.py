"""store isolation policy"""
import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0005"


def upgrade() -> None:
    op.execute("ALTER TABLE orders ENABLE ROW LEVEL SECURITY")
    op.execute("CREATE POLICY orders_by_store ON orders USING (store_id = current_setting('pos.store_id', true)::bigint)")
    op.create_index("ix_payments_paid_at", "payments", ["paid_at"], postgresql_where=sa.text("method = 'card'"))


def downgrade() -> None:
    op.drop_index("ix_payments_paid_at", table_name="payments")
    op.execute("DROP POLICY orders_by_store ON orders")
    op.execute("ALTER TABLE orders DISABLE ROW LEVEL SECURITY")
