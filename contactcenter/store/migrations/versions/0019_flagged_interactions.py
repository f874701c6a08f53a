"""interactions flagged as complaints, indexed apart (the complaint sweep's safety net)

Revision ID: 0019
Revises: 0018
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_interactions_flagged",
        "interactions",
        ["id"],
        postgresql_where=sa.text("complaint"),
        sqlite_where=sa.text("complaint"),
    )


def downgrade() -> None:
    op.drop_index("ix_interactions_flagged", table_name="interactions")
