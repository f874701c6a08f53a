"""knowledge base: feedback on articles, the suggestions per interaction, article embeddings

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import contactcenter.store.tables

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = contactcenter.store.tables.UTCDateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "kb_feedback",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("article_id", _ID, nullable=False),
        sa.Column("interaction_id", _ID, nullable=True),
        sa.Column("verdict", sa.String(length=20), nullable=False),
        sa.Column("agent_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.CheckConstraint(
            "verdict IN ('used', 'helpful', 'not_relevant', 'helped', 'not_helped')",
            name=op.f("ck_kb_feedback_verdict_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_kb_feedback_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["article_id"], ["kb_articles.id"], name=op.f("fk_kb_feedback_article_id_kb_articles")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_kb_feedback_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_feedback")),
    )
    op.create_index(op.f("ix_kb_feedback_article_id"), "kb_feedback", ["article_id"])
    op.create_index(op.f("ix_kb_feedback_interaction_id"), "kb_feedback", ["interaction_id"])
    op.create_table(
        "kb_suggestions",
        sa.Column("interaction_id", _ID, nullable=False),
        sa.Column("article_ids", _JSON, nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_kb_suggestions_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("interaction_id", name=op.f("pk_kb_suggestions")),
    )
    op.create_table(
        "kb_embeddings",
        sa.Column("article_id", _ID, nullable=False),
        sa.Column("model", sa.String(length=100), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_embeddings_article_id_kb_articles"),
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_kb_embeddings")),
    )
    op.create_index(
        op.f("ix_kb_embeddings_model_updated_at"), "kb_embeddings", ["model", "updated_at"]
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_kb_embeddings_model_updated_at"), table_name="kb_embeddings")
    op.drop_table("kb_embeddings")
    op.drop_table("kb_suggestions")
    op.drop_index(op.f("ix_kb_feedback_interaction_id"), table_name="kb_feedback")
    op.drop_index(op.f("ix_kb_feedback_article_id"), table_name="kb_feedback")
    op.drop_table("kb_feedback")
