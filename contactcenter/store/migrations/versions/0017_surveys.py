"""satisfaction surveys, one per interaction at most

Revision ID: 0017
Revises: 0016
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import contactcenter.store.tables

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = contactcenter.store.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "surveys",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("interaction_id", Id, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("agent_id", Id, nullable=True),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("ask", sa.String(length=10), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("token_sha256", sa.String(length=64), nullable=True),
        sa.Column("sent_at", When(timezone=True), nullable=False),
        sa.Column("expires_at", When(timezone=True), nullable=False),
        sa.Column("answered_at", When(timezone=True), nullable=True),
        sa.Column("csat", sa.SmallInteger(), nullable=True),
        sa.Column("effort", sa.SmallInteger(), nullable=True),
        sa.Column("nps", sa.SmallInteger(), nullable=True),
        sa.Column("solved", sa.Boolean(), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_surveys_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_surveys_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_surveys_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_surveys")),
        sa.UniqueConstraint("interaction_id", name=op.f("uq_surveys_interaction_id")),
        sa.UniqueConstraint("token_sha256", name=op.f("uq_surveys_token_sha256")),
    )
    op.create_index(op.f("ix_surveys_agent_id"), "surveys", ["agent_id"])
    op.create_index(op.f("ix_surveys_customer_id_sent_at"), "surveys", ["customer_id", "sent_at"])
    op.create_index(op.f("ix_surveys_sent_at"), "surveys", ["sent_at"])


def downgrade() -> None:
    op.drop_table("surveys")
