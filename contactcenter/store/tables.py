"""The schema: one set of SQLAlchemy Core tables for both SQLite and PostgreSQL.

Alembic migrations under `migrations/versions` create exactly these tables; a test compares the two.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from contactcenter.model import (
    CallStage,
    Channel,
    Direction,
    IdentityKind,
    Initiator,
    InteractionStatus,
    LifecycleStage,
    Presence,
    Role,
    Segment,
    Tier,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
Id = BigInteger().with_variant(Integer(), "sqlite")
Json = JSON().with_variant(JSONB(), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on both backends (SQLite keeps no zone, so it stores naive UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum_check(column: str, enum: type) -> CheckConstraint:
    values = ", ".join(f"'{member.value}'" for member in enum)
    return CheckConstraint(f"{column} IN ({values})", name=f"{column}_valid")


def _pk() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _created() -> Column[datetime]:
    return Column("created_at", UTCDateTime(), nullable=False)


users = Table(
    "users",
    metadata,
    _pk(),
    Column("username", String(150), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Column("active", Boolean, nullable=False, default=True),
    _created(),
    _enum_check("role", Role),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    _created(),
    Column("expires_at", UTCDateTime(), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    _pk(),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(100), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("prefix", String(16), nullable=False),
    _created(),
    Column("last_used_at", UTCDateTime(), nullable=True),
    Column("revoked_at", UTCDateTime(), nullable=True),
)

agents = Table(
    "agents",
    metadata,
    _pk(),
    Column("name", String(200), nullable=False),
    Column("email", String(254), nullable=True, unique=True),
    Column("skills", Json, nullable=False, default=list),
    Column("capacity", Json, nullable=False, default=dict),
    Column("voice_blocks_other", Boolean, nullable=False, default=True),
    Column("presence", String(20), nullable=False, default=Presence.OFFLINE.value),
    Column("presence_since", UTCDateTime(), nullable=False),
    # Why, when the service set the presence itself ("missed 2 offers", "console closed")
    Column("presence_reason", String(200), nullable=False, server_default=""),
    _created(),
    # Where calls are put through to: a phone number (E.164), or a Twilio Client identity.
    Column("phone", String(32), nullable=True),
    Column("voice_client", String(100), nullable=True),
    _enum_check("presence", Presence),
)

# Every change of an agent's presence, for occupancy over time; `agents.presence` is the latest.
agent_presence = Table(
    "agent_presence",
    metadata,
    _pk(),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="CASCADE"), nullable=False),
    Column("presence", String(20), nullable=False),
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "agent_id", "at"),
    _enum_check("presence", Presence),
)

groups = Table(
    "groups",
    metadata,
    _pk(),
    Column("name", String(100), nullable=False, unique=True),
    Column("description", Text, nullable=False, default=""),
    _created(),
)

memberships = Table(
    "memberships",
    metadata,
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="CASCADE"), primary_key=True),
    Column("group_id", Id, ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("level", SmallInteger, nullable=False, default=1),
    Index(None, "group_id"),
)

customers = Table(
    "customers",
    metadata,
    _pk(),
    Column("name", String(200), nullable=False, default=""),
    Column("organisation", String(200), nullable=False, default=""),
    Column("tier", String(20), nullable=False, default=Tier.TRANSACTIONAL.value),
    Column("segment", String(20), nullable=True),
    Column("lifecycle_stage", String(20), nullable=True),
    Column("account_manager_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Column("language", String(35), nullable=True),
    Column("tags", Json, nullable=False, default=list),
    Column("verified", Boolean, nullable=False, default=False),
    Column("merged_into_id", Id, ForeignKey("customers.id"), nullable=True),
    # The newest order's time, kept as orders arrive: the lapsed sweep reads this, not orders.
    Column("last_order_at", UTCDateTime(), nullable=True, index=True),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    _enum_check("tier", Tier),
    _enum_check("segment", Segment),
    _enum_check("lifecycle_stage", LifecycleStage),
)

identities = Table(
    "identities",
    metadata,
    _pk(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("kind", String(20), nullable=False),
    Column("value", String(254), nullable=False),
    Column("verified", Boolean, nullable=False, default=False),
    _created(),
    # One identity belongs to exactly one customer; this is also the lookup index.
    UniqueConstraint("kind", "value"),
    _enum_check("kind", IdentityKind),
)

# Purchases the order system reports: they move the lifecycle stage and feed the tier review.
# Amounts are whole cents of the relationship policy's one currency.
orders = Table(
    "orders",
    metadata,
    _pk(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("external_ref", String(100), nullable=True, unique=True),  # the order system's number
    Column("ordered_at", UTCDateTime(), nullable=False),
    Column("amount_cents", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("products", Json, nullable=False, default=list),
    _created(),
    Index(None, "customer_id", "ordered_at"),
    Index(None, "ordered_at"),
)

# The tier review: customers whose recent order value suggests another tier, each waiting for a
# supervisor to accept (the tier changes) or dismiss it. A review run replaces the open ones.
tier_reviews = Table(
    "tier_reviews",
    metadata,
    _pk(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("current_tier", String(20), nullable=False),
    Column("suggested_tier", String(20), nullable=False),
    Column("value_cents", BigInteger, nullable=False),
    Column("status", String(20), nullable=False),  # open, accepted, dismissed
    Column("computed_at", UTCDateTime(), nullable=False),
    Column("decided_by_user_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("decided_at", UTCDateTime(), nullable=True),
    Index(None, "status", "id"),
    CheckConstraint("status IN ('open', 'accepted', 'dismissed')", name="status"),
)

# Complaint cases (workflows/complaints.py decides how they move). The times of the
# acknowledgement, the reminder and the escalation are kept, so that each is sent once even
# across restarts; the sweep sends what is due.
complaints = Table(
    "complaints",
    metadata,
    _pk(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("source", String(20), nullable=False),  # wrap_up, survey, api
    Column("summary", Text, nullable=False, default=""),
    Column("products", Json, nullable=False, default=list),
    Column("owner_agent_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Column("opened_by_user_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("tier", String(20), nullable=False),  # the customer's when opened: the due date's
    Column("opened_at", UTCDateTime(), nullable=False),
    Column("due_at", UTCDateTime(), nullable=False),
    Column("acknowledged_at", UTCDateTime(), nullable=True),
    Column("reminded_at", UTCDateTime(), nullable=True),
    Column("escalated_at", UTCDateTime(), nullable=True),
    Column("resolution", Text, nullable=True),
    Column("outcome", String(20), nullable=True),
    Column("resolved_at", UTCDateTime(), nullable=True),
    Column("closed_at", UTCDateTime(), nullable=True),
    Column("followup_interaction_id", Id, ForeignKey("interactions.id"), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "status", "due_at"),
    CheckConstraint(
        "status IN ('open', 'investigating', 'resolved', 'closed')", name="status_valid"
    ),
    CheckConstraint(
        "outcome IS NULL OR outcome IN ('upheld', 'not_upheld', 'compensation')",
        name="outcome_valid",
    ),
)

# The interactions a complaint concerns; an interaction's wrap-up opens at most one case.
complaint_interactions = Table(
    "complaint_interactions",
    metadata,
    Column("complaint_id", Id, ForeignKey("complaints.id"), primary_key=True),
    Column("interaction_id", Id, ForeignKey("interactions.id"), primary_key=True, index=True),
)

# Satisfaction surveys: one per interaction at most. A survey sent by mail is reached through a
# link whose token is kept only as its SHA-256 (the link itself is the customer's credential).
surveys = Table(
    "surveys",
    metadata,
    _pk(),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=False, unique=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True, index=True),
    Column("channel", String(10), nullable=False),
    Column("tier", String(20), nullable=False),
    Column("ask", String(10), nullable=False),  # survey, solved
    Column("language", String(10), nullable=False),
    Column("token_sha256", String(64), nullable=True, unique=True),
    Column("sent_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("answered_at", UTCDateTime(), nullable=True),
    Column("csat", SmallInteger, nullable=True),
    Column("effort", SmallInteger, nullable=True),
    Column("nps", SmallInteger, nullable=True),
    Column("solved", Boolean, nullable=True),
    Column("comment", Text, nullable=False, default=""),
    Index(None, "customer_id", "sent_at"),
    Index(None, "sent_at"),
)

# SLA escalation steps taken: one row per interaction and step, written before the step acts,
# so each step fires once however often the sweep runs and across restarts.
escalations = Table(
    "escalations",
    metadata,
    _pk(),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=False),
    Column("step", String(100), nullable=False),
    Column("action", String(20), nullable=False),
    Column("data", Json, nullable=False, default=dict),
    Column("at", UTCDateTime(), nullable=False, index=True),
    UniqueConstraint("interaction_id", "step"),
)

customer_events = Table(
    "customer_events",
    metadata,
    _pk(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("type", String(50), nullable=False),
    Column("data", Json, nullable=False, default=dict),
    Column("at", UTCDateTime(), nullable=False),
    Index(None, "customer_id", "at"),
)

interactions = Table(
    "interactions",
    metadata,
    _pk(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("channel", String(10), nullable=False),
    Column("direction", String(10), nullable=False, default=Direction.INBOUND.value),
    Column("initiated_by", String(10), nullable=False, default=Initiator.CUSTOMER.value),
    Column("status", String(20), nullable=False),
    Column("subject", String(500), nullable=False, default=""),
    Column("topic", String(100), nullable=True),
    Column("attributes", Json, nullable=False, default=dict),
    Column("products", Json, nullable=False, default=list),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Column("group_id", Id, ForeignKey("groups.id", ondelete="SET NULL"), nullable=True),
    Column("external_ref", String(200), nullable=True),
    Column("linked_interaction_id", Id, ForeignKey("interactions.id"), nullable=True),
    Column("disposition", String(100), nullable=True),
    Column("outcome", String(200), nullable=True),
    Column("complaint", Boolean, nullable=False, default=False),
    Column("satisfaction", SmallInteger, nullable=True),
    _created(),
    Column("answered_at", UTCDateTime(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    # Routing: the place in the queue (kept across transfers and restarts) and how far the
    # interaction has overflowed through its targets, and since when.
    Column("queued_at", UTCDateTime(), nullable=True),
    Column("routing_step", SmallInteger, nullable=False, server_default="0"),
    Column("routing_since", UTCDateTime(), nullable=True),
    # Email and fax: the first agent reply, which their service level is measured to.
    Column("first_response_at", UTCDateTime(), nullable=True),
    Column("updated_at", UTCDateTime(), nullable=False),
    _enum_check("channel", Channel),
    _enum_check("direction", Direction),
    _enum_check("initiated_by", Initiator),
    _enum_check("status", InteractionStatus),
    CheckConstraint("satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5", name="satisfaction"),
    UniqueConstraint("channel", "external_ref"),
    Index(None, "customer_id", "created_at"),
    Index(None, "status", "created_at"),
    Index(None, "created_at"),
    Index(None, "queued_at"),
    # The few flagged as complaints: the complaint sweep finds any whose case is missing.
    Index(
        "ix_interactions_flagged",
        "id",
        postgresql_where=text("complaint"),
        sqlite_where=text("complaint"),
    ),
)

messages = Table(
    "messages",
    metadata,
    _pk(),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=False, index=True),
    Column("direction", String(10), nullable=False),
    Column("author", String(10), nullable=False),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    Column("body", Text, nullable=False, default=""),
    Column("external_id", String(998), nullable=True),
    _created(),
    _enum_check("direction", Direction),
)

attachments = Table(
    "attachments",
    metadata,
    _pk(),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=False, index=True),
    Column("message_id", Id, ForeignKey("messages.id"), nullable=True),
    Column("filename", String(255), nullable=False),
    Column("content_type", String(255), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    _created(),
    Column("pages", Integer, nullable=True),  # PDF and TIFF documents: their page count
)

# A PNG of each page of a document (fax pages, for the console), in the blob store.
page_previews = Table(
    "page_previews",
    metadata,
    _pk(),
    Column("attachment_id", Id, ForeignKey("attachments.id"), nullable=False),
    Column("page", Integer, nullable=False),  # from 1
    Column("sha256", String(64), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    UniqueConstraint("attachment_id", "page"),
)

interaction_events = Table(
    "interaction_events",
    metadata,
    _pk(),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=False, index=True),
    Column("type", String(50), nullable=False),
    Column("from_status", String(20), nullable=True),
    Column("to_status", String(20), nullable=True),
    Column("data", Json, nullable=False, default=dict),
    Column("at", UTCDateTime(), nullable=False),
)

notes = Table(
    "notes",
    metadata,
    _pk(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=True),
    Column("author_user_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    Column("body", Text, nullable=False),
    _created(),
    Index(None, "customer_id", "created_at"),
)

# Phone calls as the voice channel follows them: one row per Twilio CallSid, so that a retried
# webhook finds the call it already knows, and the state between webhooks survives a restart.
calls = Table(
    "calls",
    metadata,
    _pk(),
    Column("call_sid", String(64), nullable=False, unique=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=True, index=True),
    Column("from_number", String(32), nullable=False, default=""),  # E.164; "" when hidden
    Column("to_number", String(32), nullable=False, default=""),
    Column("language", String(10), nullable=False),
    Column("stage", String(20), nullable=False),
    Column("attempts", SmallInteger, nullable=False, default=0),
    Column("path", Json, nullable=False, default=list),  # the menu choices, in order
    Column("announced_at", UTCDateTime(), nullable=True),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
    _enum_check("stage", CallStage),
)

# Every inbound mail, stored as it came before anything is done with it: the SMTP receiver says
# 250 (and the IMAP poller marks a message seen) only once its row and bytes are here. A mail
# that cannot be used is kept as `quarantined` with the reason; `new` ones are (re)processed.
mail_inbox = Table(
    "mail_inbox",
    metadata,
    _pk(),
    Column("sha256", String(64), nullable=False, unique=True),
    Column("size", BigInteger, nullable=False),
    Column("source", String(200), nullable=False),  # smtp:<peer> or imap:<mailbox>
    Column("message_id", String(998), nullable=True, index=True),
    # SHA-256 of what the sender wrote (a Message-ID reused with other content is a new mail)
    Column("content_sha256", String(64), nullable=False, server_default=""),
    Column("status", String(20), nullable=False),
    Column("reason", Text, nullable=False, default=""),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=True),
    Column("received_at", UTCDateTime(), nullable=False),
    Column("processed_at", UTCDateTime(), nullable=True),
    CheckConstraint("status IN ('new', 'done', 'quarantined')", name="status_valid"),
)

# Every outgoing mail (acknowledgements, agents' replies) until the relay accepts it: the bytes in
# the blob store, retried with growing pauses, nothing lost across a restart.
outbox = Table(
    "outbox",
    metadata,
    _pk(),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=True, index=True),
    Column("kind", String(20), nullable=False),  # ack, reply
    Column("sender", String(254), nullable=False),
    Column("recipient", String(254), nullable=False),
    Column("message_id", String(998), nullable=False, unique=True),
    Column("sha256", String(64), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", SmallInteger, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime(), nullable=False),
    Column("last_error", Text, nullable=False, default=""),
    _created(),
    Column("sent_at", UTCDateTime(), nullable=True),
    CheckConstraint("status IN ('pending', 'sent', 'failed')", name="status_valid"),
    Index(None, "status", "next_attempt_at"),
    Index(None, "recipient", "kind", "created_at"),
)

# The knowledge base. Its search indexes are each backend's own (FTS5 tables on SQLite, a
# tsvector table with pg_trgm on PostgreSQL), made by migration 0008 and kept by
# knowledge_base/search.py; they are not declared here (`SEARCH_TABLES` names them).
kb_articles = Table(
    "kb_articles",
    metadata,
    _pk(),
    Column("slug", String(120), nullable=False, unique=True),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("short_answer", Text, nullable=False),
    Column("tags", Json, nullable=False),
    Column("products", Json, nullable=False),
    Column("locale", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("version", Integer, nullable=False),
    Column("author_user_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    _created(),
    Column("updated_at", UTCDateTime(), nullable=False),
    CheckConstraint("status IN ('draft', 'published', 'archived')", name="status_valid"),
    Index(None, "status", "locale"),
)

# Every version of every article, the current one included: who changed what, and when.
kb_article_versions = Table(
    "kb_article_versions",
    metadata,
    _pk(),
    Column("article_id", Id, ForeignKey("kb_articles.id"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("short_answer", Text, nullable=False),
    Column("tags", Json, nullable=False),
    Column("products", Json, nullable=False),
    Column("locale", String(20), nullable=False),
    Column("status", String(10), nullable=False),
    Column("author_user_id", Id, ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
    _created(),
    UniqueConstraint("article_id", "version"),
)

# What agents and customers said of an article on an interaction; summed per article it is a
# ranking signal (knowledge_base/feedback.py).
kb_feedback = Table(
    "kb_feedback",
    metadata,
    _pk(),
    Column("article_id", Id, ForeignKey("kb_articles.id"), nullable=False, index=True),
    Column("interaction_id", Id, ForeignKey("interactions.id"), nullable=True, index=True),
    Column("verdict", String(20), nullable=False),
    Column("agent_id", Id, ForeignKey("agents.id", ondelete="SET NULL"), nullable=True),
    _created(),
    CheckConstraint(
        "verdict IN ('used', 'helpful', 'not_relevant', 'helped', 'not_helped')",
        name="verdict_valid",
    ),
)

# The articles last suggested for an interaction, best first: what the console shows, and what a
# new computation is compared with to tell whether they changed.
kb_suggestions = Table(
    "kb_suggestions",
    metadata,
    Column("interaction_id", Id, ForeignKey("interactions.id"), primary_key=True),
    Column("article_ids", Json, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)

# Each article's sentence embedding (float32, little-endian), written with the article when the
# semantic extra is installed; `model` names what made it, so a new model re-embeds.
kb_embeddings = Table(
    "kb_embeddings",
    metadata,
    Column("article_id", Id, ForeignKey("kb_articles.id"), primary_key=True),
    Column("model", String(100), nullable=False),
    Column("vector", LargeBinary, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Index(None, "model", "updated_at"),  # whether the embeddings changed, without reading them
)

SEARCH_TABLES = frozenset({"kb_search", "kb_lexemes"})

# Several instances on one PostgreSQL (contactcenter/cluster/). Used on PostgreSQL only; SQLite
# is one process and keeps the tables empty.
# The router's fencing epoch: one row, raised by each newly elected router; every write the
# router makes first checks (and share-locks) it, so a router that lost the election writes
# nothing (cluster/fence.py).
router_epoch = Table(
    "router_epoch",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("epoch", BigInteger, nullable=False),
    Column("instance", String(200), nullable=False),
    Column("elected_at", UTCDateTime(), nullable=False),
)
# What an instance that does not route asks the router to do (queue/commands.py): taken by the
# router, answered in `result`; an arrival is answered in its own transaction.
queue_commands = Table(
    "queue_commands",
    metadata,
    _pk(),
    Column("instance", String(200), nullable=False),
    Column("verb", String(40), nullable=False),
    Column("args", Json, nullable=False),
    _created(),
    Column("done_at", UTCDateTime(), nullable=True),
    Column("result", Json, nullable=True),
    Index("ix_queue_commands_pending", "id", postgresql_where=Column("done_at").is_(None)),
    Index(None, "done_at"),
)
# What routing knows now, as the router last wrote it, for the instances that do not route
# (queue/view.py). Derived data: UNLOGGED on PostgreSQL, rewritten by each router.
routing_view = Table(
    "routing_view",
    metadata,
    Column("id", SmallInteger, primary_key=True, autoincrement=False),
    Column("epoch", BigInteger, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
)
# Events too large for one NOTIFY (8,000 bytes): the notification carries this row's id
# (cluster/relay.py). UNLOGGED on PostgreSQL; rows older than an hour are deleted.
relayed_events = Table(
    "relayed_events",
    metadata,
    _pk(),
    Column("body", Text, nullable=False),
    _created(),
)
