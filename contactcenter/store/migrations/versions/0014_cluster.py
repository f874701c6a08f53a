"""several instances: the router's fencing epoch, the commands other instances hand the router,
the routing view it writes for them, and events too large for one notification

Revision ID: 0014
Revises: 0013
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import contactcenter.store.tables

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    # Derived, short-lived data is not worth the write-ahead log on PostgreSQL.
    unlogged = ["UNLOGGED"] if op.get_bind().dialect.name == "postgresql" else []
    op.create_table(
        "router_epoch",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("elected_at", contactcenter.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_router_epoch")),
    )
    op.create_table(
        "queue_commands",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("instance", sa.String(length=200), nullable=False),
        sa.Column("verb", sa.String(length=40), nullable=False),
        sa.Column("args", Json, nullable=False),
        sa.Column("created_at", contactcenter.store.tables.UTCDateTime(), nullable=False),
        sa.Column("done_at", contactcenter.store.tables.UTCDateTime(), nullable=True),
        sa.Column("result", Json, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_commands")),
    )
    op.create_index(
        "ix_queue_commands_pending",
        "queue_commands",
        ["id"],
        postgresql_where=sa.text("done_at IS NULL"),
    )
    op.create_index(op.f("ix_queue_commands_done_at"), "queue_commands", ["done_at"])
    op.create_table(
        "routing_view",
        sa.Column("id", sa.SmallInteger(), autoincrement=False, nullable=False),
        sa.Column("epoch", sa.BigInteger(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_routing_view")),
        prefixes=unlogged,
    )
    op.create_table(
        "relayed_events",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", contactcenter.store.tables.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_relayed_events")),
        prefixes=unlogged,
    )


def downgrade() -> None:
    op.drop_table("relayed_events")
    op.drop_table("routing_view")
    op.drop_index(op.f("ix_queue_commands_done_at"), table_name="queue_commands")
    op.drop_index("ix_queue_commands_pending", table_name="queue_commands")
    op.drop_table("queue_commands")
    op.drop_table("router_epoch")
