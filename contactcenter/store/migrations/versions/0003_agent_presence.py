"""agent_presence: every change of an agent's presence, for occupancy over time

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import contactcenter.store.tables

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "agent_presence",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("agent_id", _ID, nullable=False),
        sa.Column("presence", sa.String(length=20), nullable=False),
        sa.Column("at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "presence IN ('offline', 'available', 'away', 'wrap_up')",
            name=op.f("ck_agent_presence_presence_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_agent_presence_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agent_presence")),
    )
    op.create_index(
        op.f("ix_agent_presence_agent_id_at"), "agent_presence", ["agent_id", "at"], unique=False
    )
    # Each agent's history starts with the presence they have now.
    op.execute(
        "INSERT INTO agent_presence (agent_id, presence, at) "
        "SELECT id, presence, presence_since FROM agents"
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_agent_presence_agent_id_at"), table_name="agent_presence")
    op.drop_table("agent_presence")
