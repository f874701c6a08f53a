"""knowledge base: the articles' vocabulary, for misspelt words and for weighing a question's words

`kb_lexemes` holds every word of the published and unpublished articles with the number of
articles that have it (`df`), and under the empty word the number of articles: a question's words found in thousands of articles say little and are
searched for last, and a word no article has is looked up among the vocabulary's words by
trigrams (pg_trgm's index on PostgreSQL, an FTS5 trigram table on SQLite) and replaced by the
words it resembles. PostgreSQL keeps tsvector lexemes (stemmed), SQLite the words as written.
This replaces comparing the question with every article's whole text by trigrams, which took
most of the search time at 10,000 articles: the trigram table of article texts (SQLite) and the
plain-text column with its pg_trgm index (PostgreSQL) are dropped.

Revision ID: 0010
Revises: 0009
"""

import re
from collections import Counter
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The text function as it was when this migration was written: a migration keeps its own copy,
# so that later changes to the live one cannot change what it did.
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")


def searchable(text: str) -> str:
    """Runs of Chinese, Japanese or Korean characters as their overlapping pairs."""

    def pairs(run: re.Match[str]) -> str:
        chars = run.group(0)
        if len(chars) == 1:
            return f" {chars} "
        return " " + " ".join(chars[i : i + 2] for i in range(len(chars) - 1)) + " "

    return _CJK.sub(pairs, text)


def upgrade() -> None:
    bind = op.get_bind()
    op.execute("CREATE TABLE kb_lexemes (lexeme TEXT PRIMARY KEY, df INTEGER NOT NULL)")
    if bind.dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE kb_lexemes_trigram USING fts5(lexeme, tokenize = 'trigram')"
        )
        counts: Counter[str] = Counter()
        for title, tags, body in bind.execute(text("SELECT title, tags, body FROM kb_search")):
            counts.update(set(re.findall(r"\w+", searchable(f"{title} {tags} {body}").lower())))
        counts[""] = bind.execute(text("SELECT count(*) FROM kb_search")).scalar_one()
        for word, df in counts.items():
            bind.execute(text("INSERT INTO kb_lexemes VALUES (:w, :df)"), {"w": word, "df": df})
            if word:
                bind.execute(
                    text("INSERT INTO kb_lexemes_trigram (lexeme) VALUES (:w)"), {"w": word}
                )
        op.execute("DROP TABLE kb_search_trigram")
        return
    # On an expression: pg_trgm answers equality too, and the planner took this index (3 ms a
    # word) over the primary key for the lookups of a question's words.
    op.execute(
        "CREATE INDEX ix_kb_lexemes_trigram ON kb_lexemes USING GIN (lower(lexeme) gin_trgm_ops)"
    )
    op.execute(
        "INSERT INTO kb_lexemes SELECT lexeme, count(*) FROM kb_search, unnest(document) "
        "GROUP BY lexeme"
    )
    op.execute("INSERT INTO kb_lexemes SELECT '', count(*) FROM kb_search")
    op.execute("DROP INDEX ix_kb_search_plain")
    op.execute("ALTER TABLE kb_search DROP COLUMN plain")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "CREATE VIRTUAL TABLE kb_search_trigram USING fts5(title, tags, body, "
            "tokenize = 'trigram')"
        )
        op.execute(
            "INSERT INTO kb_search_trigram (rowid, title, tags, body) "
            "SELECT rowid, title, tags, body FROM kb_search"
        )
        op.execute("DROP TABLE kb_lexemes_trigram")
    else:
        op.execute("ALTER TABLE kb_search ADD COLUMN plain TEXT NOT NULL DEFAULT ''")
        op.execute("CREATE INDEX ix_kb_search_plain ON kb_search USING GIN (plain gin_trgm_ops)")
    op.execute("DROP TABLE kb_lexemes")
