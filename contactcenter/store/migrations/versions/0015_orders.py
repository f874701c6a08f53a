"""orders and the lifecycle they move: orders, each customer's last order time, the tier review

Revision ID: 0015
Revises: 0014
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import contactcenter.store.tables

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = contactcenter.store.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "orders",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("external_ref", sa.String(length=100), nullable=True),
        sa.Column("ordered_at", When(timezone=True), nullable=False),
        sa.Column("amount_cents", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("products", Json, nullable=False),
        sa.Column("created_at", When(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_orders_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_orders")),
        sa.UniqueConstraint("external_ref", name=op.f("uq_orders_external_ref")),
    )
    op.create_index(
        op.f("ix_orders_customer_id_ordered_at"), "orders", ["customer_id", "ordered_at"]
    )
    op.create_index(op.f("ix_orders_ordered_at"), "orders", ["ordered_at"])
    op.create_table(
        "tier_reviews",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("current_tier", sa.String(length=20), nullable=False),
        sa.Column("suggested_tier", sa.String(length=20), nullable=False),
        sa.Column("value_cents", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("computed_at", When(timezone=True), nullable=False),
        sa.Column("decided_by_user_id", Id, nullable=True),
        sa.Column("decided_at", When(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('open', 'accepted', 'dismissed')", name=op.f("ck_tier_reviews_status")
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_tier_reviews_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_user_id"],
            ["users.id"],
            name=op.f("fk_tier_reviews_decided_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_tier_reviews")),
    )
    op.create_index(op.f("ix_tier_reviews_customer_id"), "tier_reviews", ["customer_id"])
    op.create_index(op.f("ix_tier_reviews_status_id"), "tier_reviews", ["status", "id"])
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("last_order_at", When(timezone=True), nullable=True))
        batch.create_index(batch.f("ix_customers_last_order_at"), ["last_order_at"])


def downgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.drop_index(batch.f("ix_customers_last_order_at"))
        batch.drop_column("last_order_at")
    op.drop_table("tier_reviews")
    op.drop_table("orders")
