"""SLA escalation steps taken, one per interaction and step

Revision ID: 0018
Revises: 0017
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import contactcenter.store.tables

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("interaction_id", Id, nullable=False),
        sa.Column("step", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=20), nullable=False),
        sa.Column("data", Json, nullable=False),
        sa.Column("at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_escalations_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
        sa.UniqueConstraint(
            "interaction_id", "step", name=op.f("uq_escalations_interaction_id_step")
        ),
    )
    op.create_index(op.f("ix_escalations_at"), "escalations", ["at"])


def downgrade() -> None:
    op.drop_table("escalations")
