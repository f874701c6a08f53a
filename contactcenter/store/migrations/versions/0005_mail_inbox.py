"""mail_inbox: every inbound mail kept as it came, before it is read

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import contactcenter.store.tables

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = contactcenter.store.tables.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "mail_inbox",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("message_id", sa.String(length=998), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("interaction_id", _ID, nullable=True),
        sa.Column("received_at", _TIME, nullable=False),
        sa.Column("processed_at", _TIME, nullable=True),
        sa.CheckConstraint(
            "status IN ('new', 'done', 'quarantined')", name=op.f("ck_mail_inbox_status_valid")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_mail_inbox_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_inbox")),
        sa.UniqueConstraint("sha256", name=op.f("uq_mail_inbox_sha256")),
    )
    op.create_index(op.f("ix_mail_inbox_message_id"), "mail_inbox", ["message_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_mail_inbox_message_id"), table_name="mail_inbox")
    op.drop_table("mail_inbox")
