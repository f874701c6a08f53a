"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-24 22:46:00.873749
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import contactcenter.store.tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column(
            "skills",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "capacity",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("voice_blocks_other", sa.Boolean(), nullable=False),
        sa.Column("presence", sa.String(length=20), nullable=False),
        sa.Column(
            "presence_since", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "presence IN ('offline', 'available', 'away', 'wrap_up')",
            name=op.f("ck_agents_presence_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("email", name=op.f("uq_agents_email")),
    )
    op.create_table(
        "groups",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_groups")),
        sa.UniqueConstraint("name", name=op.f("uq_groups_name")),
    )
    op.create_table(
        "customers",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("organisation", sa.String(length=200), nullable=False),
        sa.Column("tier", sa.String(length=20), nullable=False),
        sa.Column("segment", sa.String(length=20), nullable=True),
        sa.Column("lifecycle_stage", sa.String(length=20), nullable=True),
        sa.Column(
            "account_manager_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("language", sa.String(length=35), nullable=True),
        sa.Column(
            "tags",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column(
            "merged_into_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "lifecycle_stage IN ('prospect', 'first_purchase', 'repeat', 'loyal', 'lapsed', 'won_back')",
            name=op.f("ck_customers_lifecycle_stage_valid"),
        ),
        sa.CheckConstraint(
            "segment IN ('home', 'small_business', 'large_enterprise', 'public_sector')",
            name=op.f("ck_customers_segment_valid"),
        ),
        sa.CheckConstraint(
            "tier IN ('key_account', 'relationship', 'transactional')",
            name=op.f("ck_customers_tier_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["account_manager_id"],
            ["agents.id"],
            name=op.f("fk_customers_account_manager_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["customers.id"], name=op.f("fk_customers_merged_into_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_table(
        "memberships",
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_memberships_agent_id_agents"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_memberships_group_id_groups"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("agent_id", "group_id", name=op.f("pk_memberships")),
    )
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_memberships_group_id"), ["group_id"], unique=False)

    op.create_table(
        "users",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "role IN ('agent', 'supervisor', 'admin')", name=op.f("ck_users_role_valid")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"], ["agents.id"], name=op.f("fk_users_agent_id_agents"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "last_used_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "revoked_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_api_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "customer_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_customer_events_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_events")),
    )
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_events_customer_id_at"), ["customer_id", "at"], unique=False
        )

    op.create_table(
        "identities",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("value", sa.String(length=254), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "kind IN ('phone', 'fax', 'email', 'chat_visitor', 'external_crm')",
            name=op.f("ck_identities_kind_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_identities_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identities")),
        sa.UniqueConstraint("kind", "value", name=op.f("uq_identities_kind_value")),
    )
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_identities_customer_id"), ["customer_id"], unique=False
        )

    op.create_table(
        "interactions",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("channel", sa.String(length=10), nullable=False),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("initiated_by", sa.String(length=10), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("topic", sa.String(length=100), nullable=True),
        sa.Column(
            "attributes",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column(
            "products",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("group_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("external_ref", sa.String(length=200), nullable=True),
        sa.Column(
            "linked_interaction_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            nullable=True,
        ),
        sa.Column("disposition", sa.String(length=100), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("complaint", sa.Boolean(), nullable=False),
        sa.Column("satisfaction", sa.SmallInteger(), nullable=True),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "answered_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("ended_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "updated_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "channel IN ('voice', 'email', 'fax', 'chat')",
            name=op.f("ck_interactions_channel_valid"),
        ),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_interactions_direction_valid")
        ),
        sa.CheckConstraint(
            "initiated_by IN ('customer', 'agent', 'system')",
            name=op.f("ck_interactions_initiated_by_valid"),
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'offered', 'active', 'wrap_up', 'closed', 'abandoned', 'self_served', 'callback_scheduled', 'transferred')",
            name=op.f("ck_interactions_status_valid"),
        ),
        sa.CheckConstraint(
            "satisfaction IS NULL OR satisfaction BETWEEN 1 AND 5",
            name=op.f("ck_interactions_satisfaction"),
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_interactions_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_interactions_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_interactions_group_id_groups"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["linked_interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interactions_linked_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint(
            "channel", "external_ref", name=op.f("uq_interactions_channel_external_ref")
        ),
    )
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interactions_created_at"), ["created_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_interactions_customer_id_created_at"),
            ["customer_id", "created_at"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_interactions_status_created_at"), ["status", "created_at"], unique=False
        )

    op.create_table(
        "sessions",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "expires_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("token_hash", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_user_id"), ["user_id"], unique=False)

    op.create_table(
        "interaction_events",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "interaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column(
            "data",
            sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
            nullable=False,
        ),
        sa.Column("at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_interaction_events_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interaction_events")),
    )
    with op.batch_alter_table("interaction_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_interaction_events_interaction_id"), ["interaction_id"], unique=False
        )

    op.create_table(
        "messages",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "interaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("direction", sa.String(length=10), nullable=False),
        sa.Column("author", sa.String(length=10), nullable=False),
        sa.Column("agent_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("external_id", sa.String(length=998), nullable=True),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_messages_direction_valid")
        ),
        sa.ForeignKeyConstraint(
            ["agent_id"],
            ["agents.id"],
            name=op.f("fk_messages_agent_id_agents"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_messages_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_messages")),
    )
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_messages_interaction_id"), ["interaction_id"], unique=False
        )

    op.create_table(
        "notes",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "customer_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "interaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column(
            "author_user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["author_user_id"],
            ["users.id"],
            name=op.f("fk_notes_author_user_id_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_notes_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_notes_interaction_id_interactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notes")),
    )
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_notes_customer_id_created_at"),
            ["customer_id", "created_at"],
            unique=False,
        )

    op.create_table(
        "attachments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "interaction_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "message_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column(
            "created_at", contactcenter.store.tables.UTCDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["interaction_id"],
            ["interactions.id"],
            name=op.f("fk_attachments_interaction_id_interactions"),
        ),
        sa.ForeignKeyConstraint(
            ["message_id"], ["messages.id"], name=op.f("fk_attachments_message_id_messages")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attachments")),
    )
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_attachments_interaction_id"), ["interaction_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attachments_interaction_id"))

    op.drop_table("attachments")
    with op.batch_alter_table("notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notes_customer_id_created_at"))

    op.drop_table("notes")
    with op.batch_alter_table("messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_messages_interaction_id"))

    op.drop_table("messages")
    with op.batch_alter_table("interaction_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interaction_events_interaction_id"))

    op.drop_table("interaction_events")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_user_id"))

    op.drop_table("sessions")
    with op.batch_alter_table("interactions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_interactions_status_created_at"))
        batch_op.drop_index(batch_op.f("ix_interactions_customer_id_created_at"))
        batch_op.drop_index(batch_op.f("ix_interactions_created_at"))

    op.drop_table("interactions")
    with op.batch_alter_table("identities", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_identities_customer_id"))

    op.drop_table("identities")
    with op.batch_alter_table("customer_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_events_customer_id_at"))

    op.drop_table("customer_events")
    with op.batch_alter_table("api_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_tokens_user_id"))

    op.drop_table("api_tokens")
    op.drop_table("users")
    with op.batch_alter_table("memberships", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_memberships_group_id"))

    op.drop_table("memberships")
    op.drop_table("customers")
    op.drop_table("groups")
    op.drop_table("agents")
