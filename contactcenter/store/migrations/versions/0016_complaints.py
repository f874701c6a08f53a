"""complaint cases and the interactions they concern

Revision ID: 0016
Revises: 0015
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import contactcenter.store.tables

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Json = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
When = contactcenter.store.tables.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "complaints",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("customer_id", Id, nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("products", Json, nullable=False),
        sa.Column("owner_agent_id", Id, nullable=True),
        sa.Column("opened_by_user_id", Id, nullable=True),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("opened_at", When(timezone=True), nullable=False),
        sa.Column("due_at", When(timezone=True), nullable=False),
        sa.Column("acknowledged_at", When(timezone=True), nullable=True),
        sa.Column("reminded_at", When(timezone=True), nullable=True),
        sa.Column("escalated_at", When(timezone=True), nullable=True),
        sa.Column("resolution", sa.Text(), nullable=True),
        sa.Column("outcome", sa.String(length=20), nullable=True),
        sa.Column("resolved_at", When(timezone=True), nullable=True),
        sa.Column("closed_at", When(timezone=True), nullable=True),
        sa.Column("followup_interaction_id", Id, nullable=True),
        sa.Column("updated_at", When(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IS NULL OR outcome IN ('upheld', 'not_upheld', 'compensation')",
            name=op.f("ck_complaints_outcome_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('open', 'investigating', 'resolved', 'closed')",
            name=op.f("ck_complaints_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_complaints_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["followup_interaction_id"],
            ["interactions.id"],
            name=op.f("fk_complaints_followup_interaction_id_interactions"),
        ),
        sa.ForeignKeyConstraint(
            ["opened_by_user_id"],
            ["users.id"],
            name=op.f("fk_complaints_opened_by_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_agent_id"],
            ["agents.id"],
            name=op.f("fk_complaints_owner_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_complaints")),
    )
    op.create_index(op.f("ix_complaints_customer_id"), "complaints", ["customer_id"])
    op.create_index(op.f("ix_complaints_status_due_at"), "complaints", ["status", "due_at"])
    op.create_table(
        "complaint_interactions",
        sa.Column("complaint_id", Id, nullable=False),
        sa.Column("interaction_id", Id, nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_interactions_complaint_id_complaints"),
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_complaint_interactions_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint(
            "complaint_id", "interaction_id", name=op.f("pk_complaint_interactions")
        ),
    )
    op.create_index(
        op.f("ix_complaint_interactions_interaction_id"),
        "complaint_interactions",
        ["interaction_id"],
    )


def downgrade() -> None:
    op.drop_table("complaint_interactions")
    op.drop_table("complaints")
