"""interactions: the `bot` status, a chat answered from the knowledge base before it is queued

Revision ID: 0011
Revises: 0010
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_STATUSES = [
    "queued",
    "offered",
    "active",
    "wrap_up",
    "closed",
    "abandoned",
    "self_served",
    "callback_scheduled",
    "transferred",
]


def _check(statuses: list[str]) -> str:
    return "status IN (" + ", ".join(f"'{s}'" for s in statuses) + ")"


def _replace(statuses: list[str]) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new one.
    with op.batch_alter_table("interactions") as batch:
        batch.drop_constraint(op.f("ck_interactions_status_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_interactions_status_valid"), _check(statuses))


def upgrade() -> None:
    _replace(["bot", *_STATUSES])


def downgrade() -> None:
    op.execute("UPDATE interactions SET status = 'abandoned' WHERE status = 'bot'")
    _replace(_STATUSES)
