"""routing state of interactions: queued_at, routing_step, routing_since, first_response_at

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import contactcenter.store.tables

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("queued_at", contactcenter.store.tables.UTCDateTime(timezone=True))
        )
        batch_op.add_column(
            sa.Column("routing_step", sa.SmallInteger(), server_default="0", nullable=False)
        )
        batch_op.add_column(
            sa.Column("routing_since", contactcenter.store.tables.UTCDateTime(timezone=True))
        )
        batch_op.add_column(
            sa.Column("first_response_at", contactcenter.store.tables.UTCDateTime(timezone=True))
        )
        batch_op.create_index(batch_op.f("ix_interactions_queued_at"), ["queued_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interactions_queued_at"))
        batch_op.drop_column("first_response_at")
        batch_op.drop_column("routing_since")
        batch_op.drop_column("routing_step")
        batch_op.drop_column("queued_at")
