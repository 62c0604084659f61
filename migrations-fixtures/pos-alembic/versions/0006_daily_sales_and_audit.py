"""daily sales and audit"""
import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"

# Kept flush left: PostgreSQL stores a function body exactly as written.
TOUCH_UPDATED_AT = """CREATE FUNCTION touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END;
$$"""


def upgrade() -> None:
    op.add_column("orders", sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.text("now()")))
    op.execute(TOUCH_UPDATED_AT)
    op.execute(
        "CREATE TRIGGER orders_touch_updated_at BEFORE UPDATE ON orders "
        "FOR EACH ROW EXECUTE FUNCTION touch_updated_at()"
    )
    op.execute(
        """
        CREATE VIEW daily_store_sales AS
        SELECT o.store_id, date_trunc('day', o.placed_at) AS day, count(*) AS orders, sum(o.total) AS revenue
        FROM orders o
        WHERE o.status = 'paid'
        GROUP BY o.store_id, date_trunc('day', o.placed_at)
        """
    )
    op.execute("COMMENT ON VIEW daily_store_sales IS 'Paid revenue per store and day, for the back office'")


def downgrade() -> None:
    op.execute("DROP VIEW daily_store_sales")
    op.execute("DROP TRIGGER orders_touch_updated_at ON orders")
    op.execute("DROP FUNCTION touch_updated_at()")
    op.drop_column("orders", "updated_at")
