"""knowledge base: articles, their versions, and each backend's own search indexes

SQLite: two FTS5 tables, words (porter stemming over unicode61) and trigrams. PostgreSQL: a
weighted tsvector per article with a GIN index, and its plain text with a pg_trgm GIN index
(pg_trgm is a trusted extension: the database's owner may create it).

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import contactcenter.store.tables

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = contactcenter.store.tables.UTCDateTime(timezone=True)
_JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def _content(versioned: bool) -> list[sa.Column]:  # type: ignore[type-arg]
    return [
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("short_answer", sa.Text(), nullable=False),
        sa.Column("tags", _JSON, nullable=False),
        sa.Column("products", _JSON, nullable=False),
        sa.Column("locale", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        *([] if versioned else [sa.Column("version", sa.Integer(), nullable=False)]),
        sa.Column("author_user_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
    ]


def upgrade() -> None:
    op.create_table(
        "kb_articles",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("slug", sa.String(length=120), nullable=False),
        *_content(versioned=False),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'archived')",
            name=op.f("ck_kb_articles_status_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_kb_articles_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_articles")),
        sa.UniqueConstraint("slug", name=op.f("uq_kb_articles_slug")),
    )
    op.create_index(
        op.f("ix_kb_articles_status_locale"), "kb_articles", ["status", "locale"], unique=False
    )
    op.create_table(
        "kb_article_versions",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("article_id", _ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        *_content(versioned=True),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["kb_articles.id"],
            name=op.f("fk_kb_article_versions_article_id_kb_articles"),
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_kb_article_versions_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kb_article_versions")),
        sa.UniqueConstraint(
            "article_id", "version", name=op.f("uq_kb_article_versions_article_id_version")
        ),
    )
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE kb_search USING fts5(title, tags, body, "
            "tokenize = 'porter unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE VIRTUAL TABLE kb_search_trigram USING fts5(title, tags, body, "
            "tokenize = 'trigram')"
        )
    else:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute(
            "CREATE TABLE kb_search (article_id BIGINT PRIMARY KEY REFERENCES kb_articles (id), "
            "document TSVECTOR NOT NULL, plain TEXT NOT NULL)"
        )
        op.execute("CREATE INDEX ix_kb_search_document ON kb_search USING GIN (document)")
        op.execute("CREATE INDEX ix_kb_search_plain ON kb_search USING GIN (plain gin_trgm_ops)")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE kb_search_trigram")
    op.execute("DROP TABLE kb_search")
    op.drop_table("kb_article_versions")
    op.drop_index(op.f("ix_kb_articles_status_locale"), table_name="kb_articles")
    op.drop_table("kb_articles")
