"""page previews: the page count of PDF and TIFF attachments and a PNG of each page (faxes)

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("attachments") as batch:
        batch.add_column(sa.Column("pages", sa.Integer(), nullable=True))
    op.create_table(
        "page_previews",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("attachment_id", _ID, nullable=False),
        sa.Column("page", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["attachment_id"],
            ["attachments.id"],
            name=op.f("fk_page_previews_attachment_id_attachments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_previews")),
        sa.UniqueConstraint(
            "attachment_id", "page", name=op.f("uq_page_previews_attachment_id_page")
        ),
    )


def downgrade() -> None:
    op.drop_table("page_previews")
    with op.batch_alter_table("attachments") as batch:
        batch.drop_column("pages")
