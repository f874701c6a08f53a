"""mail_inbox: the content digest, so that a Message-ID reused with other content is a new mail

Revision ID: 0012
Revises: 0011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Mails read before have "": they stay duplicates of any mail with their Message-ID.
    with op.batch_alter_table("mail_inbox") as batch:
        batch.add_column(
            sa.Column("content_sha256", sa.String(length=64), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("mail_inbox") as batch:
        batch.drop_column("content_sha256")
