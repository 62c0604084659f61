"""a foreign key added valid: every order is checked under SHARE ROW EXCLUSIVE on both tables"""
from alembic import op

revision = "0007"
down_revision = "0006"


def upgrade() -> None:
    op.create_foreign_key("orders_customer_fk", "orders", "customers", ["customer_id"], ["id"])


def downgrade() -> None:
    op.drop_constraint("orders_customer_fk", "orders", type_="foreignkey")
