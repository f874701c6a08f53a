"""knowledge base on PostgreSQL: the words of every article, for finding misspelt ones

A table of the lexemes in the articles' tsvectors with a pg_trgm index: a misspelt word in a
question is matched to the lexemes it resembles, and those are searched for. Much faster than
comparing the question with every article's text, which is dropped. SQLite's FTS5 trigram table does this already.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("CREATE TABLE kb_lexemes (lexeme TEXT PRIMARY KEY)")
    op.execute("CREATE INDEX ix_kb_lexemes_trigram ON kb_lexemes USING GIN (lexeme gin_trgm_ops)")
    op.execute(
        "INSERT INTO kb_lexemes SELECT DISTINCT lexeme FROM kb_search, unnest(document) "
        "ON CONFLICT DO NOTHING"
    )
    op.execute("DROP INDEX ix_kb_search_plain")  # the article texts are no longer compared
    op.execute("ALTER TABLE kb_search DROP COLUMN plain")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.execute("ALTER TABLE kb_search ADD COLUMN plain TEXT NOT NULL DEFAULT ''")
    op.execute("CREATE INDEX ix_kb_search_plain ON kb_search USING GIN (plain gin_trgm_ops)")
    op.execute("DROP TABLE kb_lexemes")
