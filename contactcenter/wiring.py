"""The service's parts, built once from the settings and shared by the web app and the CLI."""

from __future__ import annotations

import os
import secrets
import socket
from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from contactcenter.channels.chat.channel import ChatChannel
from contactcenter.channels.chat.survey import ChatSurvey
from contactcenter.channels.email.channel import EmailChannel
from contactcenter.channels.email.imap_poller import ImapPoller
from contactcenter.channels.email.smtp_receiver import SmtpReceiver
from contactcenter.channels.fax.channel import FaxChannel
from contactcenter.channels.fax.gateways import DEFAULT_GATEWAYS, load_gateways
from contactcenter.channels.fax.page_previews import PagePreviews
from contactcenter.channels.voice.calls import CallRecords
from contactcenter.channels.voice.channel import VoiceChannel
from contactcenter.channels.voice.connect import CallConnector
from contactcenter.channels.voice.order_status import order_status_provider
from contactcenter.channels.voice.survey import CallSurvey
from contactcenter.channels.voice.twilio_rest import TwilioRest
from contactcenter.cluster.leadership import Leadership
from contactcenter.cluster.relay import EventRelay
from contactcenter.complaints.records import ComplaintRecords
from contactcenter.complaints.sweep import ComplaintSweep
from contactcenter.customers.lapsing import LapsedSweep
from contactcenter.customers.orders import OrderRecords
from contactcenter.customers.records import CustomerRecords
from contactcenter.customers.tier_review import TierReview
from contactcenter.customers.timeline import Timeline
from contactcenter.escalation.sweep import EscalationSweep
from contactcenter.events import EventBus
from contactcenter.interactions.records import InteractionRecords
from contactcenter.mail.compose import reply_address
from contactcenter.mail.outbox import Outbox
from contactcenter.people.accounts import Accounts
from contactcenter.people.agents import AgentDirectory
from contactcenter.queue.core import InteractionQueue
from contactcenter.settings import Mailbox, Settings
from contactcenter.store.blobs import BlobStore
from contactcenter.store.db import Database
from contactcenter.surveys.records import SurveyRecords
from contactcenter.surveys.sending import SurveyMail
from knowledge_base.records import ArticleRecords
from knowledge_base.search import ArticleSearch
from knowledge_base.semantic import VectorIndex, load_embedder
from knowledge_base.suggestions import Suggestions
from routing.policy import DEFAULT_POLICY, load_policy
from workflows.ivr import DEFAULT_FLOW, load_flow
from workflows.relationship_policy import (
    DEFAULT_RELATIONSHIP_POLICY,
    RelationshipPolicyError,
    load_relationship_policy,
)


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    customers: CustomerRecords
    interactions: InteractionRecords
    timeline: Timeline
    orders: OrderRecords  # purchases, and the lifecycle stage they move
    lapsing: LapsedSweep  # the daily sweep that lapses silent customers
    tier_review: TierReview  # tiers that customers' order value suggests
    complaints: ComplaintRecords  # complaint cases
    complaint_sweep: ComplaintSweep  # their acknowledgements, reminders and escalations
    surveys: SurveyRecords  # satisfaction surveys: decided, stored, answered
    survey_mail: SurveyMail  # surveys sent by mail with a link to the survey page
    escalation: EscalationSweep  # SLA escalation steps on work short of its target
    agents: AgentDirectory
    accounts: Accounts
    bus: EventBus
    queue: InteractionQueue
    voice: VoiceChannel
    email: EmailChannel
    fax: FaxChannel
    outbox: Outbox
    smtp: SmtpReceiver | None  # the SMTP receiver, when a port is set
    imap: ImapPoller | None  # the IMAP poller, when a mailbox is set
    articles: ArticleRecords
    suggestions: Suggestions
    chat: ChatChannel
    instance: str  # this process among several: host, pid and a random part
    leadership: Leadership  # whether this instance routes and runs the periodic jobs
    relay: EventRelay | None  # events to and from the other instances (PostgreSQL only)

    @classmethod
    def build(cls, settings: Settings) -> Services:
        """Every part, wired; raises PolicyError, FlowError, RelationshipPolicyError or
        GatewayError for a routing policy, an IVR flow, a relationship policy or a fax gateway
        list that cannot be used."""
        policy = load_policy(settings.routing_policy or DEFAULT_POLICY)
        relationship = load_relationship_policy(
            settings.relationship_policy or DEFAULT_RELATIONSHIP_POLICY
        )
        for step in relationship.escalation.steps:
            if step.group is not None and step.group not in policy.groups:
                known = ", ".join(sorted(policy.groups))
                raise RelationshipPolicyError(
                    f"escalation step {step.name!r} reassigns to {step.group!r}, which is not a "
                    f"group of the routing policy ({known})"
                )
        flow = load_flow(settings.ivr_flow or DEFAULT_FLOW)
        gateways = load_gateways(settings.fax_gateways or DEFAULT_GATEWAYS)
        db = Database(url=settings.sqlalchemy_url, pool_size=settings.db_pool_size)
        blobs = BlobStore(settings.blob_dir)
        customers = CustomerRecords(db=db, default_region=settings.default_region)
        interactions = InteractionRecords(db=db, blobs=blobs)
        agents = AgentDirectory(db)
        bus = EventBus()
        instance = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        leadership = Leadership(db=db, instance=instance)
        queue = InteractionQueue(
            db=db,
            interactions=interactions,
            agents=agents,
            policy=policy,
            bus=bus,
            customers=customers,
            leadership=leadership,
            instance=instance,
        )
        outbox = Outbox(
            db=db,
            blobs=blobs,
            interactions=interactions,
            relay_host=settings.mail_relay_host,
            relay_port=settings.mail_relay_port,
        )
        support = settings.support_mailboxes
        complaints = ComplaintRecords(
            db=db,
            policy=relationship.complaints,
            events=bus,
            on_open=lambda: complaint_sweep.wake(),  # built just below
        )
        complaint_sweep = ComplaintSweep(
            db=db,
            policy=relationship.complaints,
            outbox=outbox,
            events=bus,
            mail_from=reply_address(support),
            zone=ZoneInfo(settings.timezone),
            hours=policy.hours,
            records=complaints,
        )
        surveys = SurveyRecords(
            db=db, policy=relationship.surveys, events=bus, complaints=complaints
        )
        calls = CallRecords(db)
        rest = TwilioRest(
            account_sid=settings.twilio_account_sid,
            auth_token=settings.twilio_auth_token,
            api_url=settings.twilio_api_url,
        )
        connector = CallConnector(
            calls=calls,
            agents=agents,
            queue=queue,
            bus=bus,
            flow=flow,
            rest=rest,
            public_url=settings.public_url,
            record=settings.record_calls,
            callback_from=settings.twilio_number,
            survey=CallSurvey(surveys=surveys, flow=flow),
        )
        voice = VoiceChannel(
            customers=customers,
            interactions=interactions,
            queue=queue,
            calls=calls,
            flow=flow,
            orders=order_status_provider(settings.order_status_url),
            connector=connector,
            announce_seconds=settings.hold_announce_seconds,
        )
        fax = FaxChannel(
            db=db,
            customers=customers,
            interactions=interactions,
            queue=queue,
            gateways=gateways,
            outbox=outbox,
            previews=PagePreviews(db=db, blobs=blobs),
            send_from=reply_address(support),
        )
        email = EmailChannel(
            db=db,
            blobs=blobs,
            customers=customers,
            interactions=interactions,
            queue=queue,
            bus=bus,
            support=support,
            outbox=outbox,
            ack_period=timedelta(minutes=settings.ack_period_minutes),
            follow_up_period=timedelta(days=settings.follow_up_days),
            claimants=[fax],
        )
        smtp = (
            SmtpReceiver(
                channel=email,
                host=settings.smtp_host,
                port=settings.smtp_port,
                max_bytes=settings.smtp_max_bytes,
                max_connections=settings.smtp_max_connections,
                per_minute=settings.smtp_messages_per_minute,
                reuse_port=settings.reuse_port,
            )
            if settings.smtp_port
            else None
        )
        embedder = load_embedder() if settings.semantic_search else None
        search = ArticleSearch(
            db=db, vectors=VectorIndex(embedder) if embedder is not None else None
        )
        suggestions = Suggestions(
            db=db, search=search, bus=bus, self_served=queue.self_served, holder=queue.holder
        )
        return cls(
            settings=settings,
            db=db,
            blobs=blobs,
            customers=customers,
            interactions=interactions,
            timeline=Timeline(customers=customers, interactions=interactions),
            orders=OrderRecords(db=db, policy=relationship.lifecycle, events=bus),
            lapsing=LapsedSweep(db=db, policy=relationship.lifecycle, events=bus),
            tier_review=TierReview(
                db=db,
                policy=relationship.tier_review,
                events=bus,
                currency=relationship.lifecycle.currency,
            ),
            complaints=complaints,
            complaint_sweep=complaint_sweep,
            surveys=surveys,
            escalation=EscalationSweep(
                db=db,
                policy=relationship.escalation,
                queue=queue,
                outbox=outbox,
                events=bus,
                mail_from=reply_address(support),
            ),
            survey_mail=SurveyMail(
                records=surveys,
                outbox=outbox,
                mail_from=reply_address(support),
                public_url=settings.public_url,
            ),
            agents=agents,
            accounts=Accounts(db=db, session_hours=settings.session_hours),
            bus=bus,
            queue=queue,
            voice=voice,
            email=email,
            fax=fax,
            outbox=outbox,
            smtp=smtp,
            imap=ImapPoller(
                channel=email,
                mailbox=Mailbox.from_url(settings.imap_url),
                every=settings.imap_poll_seconds,
            )
            if settings.imap_url
            else None,
            articles=ArticleRecords(db=db, search=search),
            suggestions=suggestions,
            chat=ChatChannel(
                db=db,
                customers=customers,
                records=interactions,
                queue=queue,
                agents=agents,
                search=search,
                suggestions=suggestions,
                bus=bus,
                identity_secret=settings.chat_identity_secret,
                reconnect_seconds=settings.chat_reconnect_seconds,
                idle_minutes=settings.chat_idle_minutes,
                outbox=outbox,
                mail_from=reply_address(support),
                survey=ChatSurvey(surveys=surveys),
            ),
            instance=instance,
            leadership=leadership,
            relay=None
            if db.is_sqlite
            else EventRelay(db=db, bus=bus, instance=instance, alone=leadership.alone),
        )

    async def close(self) -> None:
        await self.db.dispose()
