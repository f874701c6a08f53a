"""create_app(settings): the aiohttp application with every part started and stopped in order."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable

import structlog
from aiohttp import web

from contactcenter.people.login_throttle import LoginThrottle
from contactcenter.settings import Settings
from contactcenter.store.db import Database
from contactcenter.web import chat_socket, ops, pages, survey_page
from contactcenter.web.api import (
    agents,
    auth,
    board,
    complaints,
    customers,
    email,
    events,
    fax,
    interactions,
    kb,
    queue,
    relationship,
    surveys,
    voice,
)
from contactcenter.web.console_presence import ConsolePresence
from contactcenter.web.endpoints import SERVICES
from contactcenter.web.event_fanout import Fanout
from contactcenter.web.hooks import twilio
from contactcenter.web.middleware import (
    IN_FLIGHT,
    METRICS,
    HttpMetrics,
    InFlight,
    authenticate,
    observe,
)
from contactcenter.wiring import Services

log = structlog.get_logger(__name__)
ROUTE_TABLES = [
    ops.routes,
    auth.routes,
    customers.routes,
    relationship.routes,
    complaints.routes,
    surveys.routes,
    interactions.routes,
    agents.routes,
    queue.routes,
    events.routes,
    email.routes,
    fax.routes,
    kb.routes,
    chat_socket.routes,
    board.routes,
    voice.routes,
    twilio.routes,
]


def create_app(settings: Settings, services: Services | None = None) -> web.Application:
    """The application; it closes the services it was given (or built) on cleanup."""
    app = web.Application(
        middlewares=[observe, authenticate], client_max_size=settings.max_body_bytes
    )
    app[SERVICES] = services or Services.build(settings)
    app[METRICS] = HttpMetrics()
    app[IN_FLIGHT] = InFlight()
    app[ops.ENDPOINTS] = [endpoint for table in ROUTE_TABLES for endpoint in table.endpoints]
    app[events.SOCKETS] = weakref.WeakSet()
    app[events.FANOUT] = Fanout(bus=app[SERVICES].bus, holder=app[SERVICES].queue.holder)
    app[events.CONSOLES] = ConsolePresence(
        queue=app[SERVICES].queue, grace_seconds=settings.console_grace_seconds
    )
    app[chat_socket.PACING] = chat_socket.Pacing(settings.chat_frames_per_address)
    app[auth.THROTTLE] = LoginThrottle()
    for table in ROUTE_TABLES:
        table.register(app)
    pages.register(app)
    survey_page.register(app)
    app.cleanup_ctx.append(_lifetime)
    app.on_shutdown.append(events.close_sockets)
    return app


def _lexical_why(settings: Settings) -> str:
    if not settings.semantic_search:
        return "CONTACTCENTER_SEMANTIC_SEARCH is false"
    return "the semantic extra is not installed: pip install 'contactcenter[semantic]'"


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    leadership = services.leadership
    if services.relay is not None:
        await services.relay.start()
        await leadership.join(
            "relayed events sweep", services.relay.lead, services.relay.stand_down
        )
    await services.queue.start()
    # Before anything enqueues: this instance routes now if no other does (always on SQLite).
    await leadership.start()
    await app[events.FANOUT].start()
    await services.voice.start()
    await services.email.start()
    # The periodic jobs run on the one instance that leads (see cluster/leadership.py).
    await leadership.join("outbox", _started(services.outbox.start), services.outbox.stop)
    await leadership.join("lapsed sweep", services.lapsing.lead, services.lapsing.stand_down)
    await leadership.join("tier review", services.tier_review.lead, services.tier_review.stand_down)
    sweep = services.complaint_sweep
    await leadership.join("complaint sweep", sweep.lead, sweep.stand_down)
    escalation = services.escalation
    await leadership.join("escalation sweep", escalation.lead, escalation.stand_down)
    vectors = services.articles.search.vectors
    if vectors is not None:
        await vectors.embedder.warm()
        # The model's hundreds of thousands of objects live as long as the process: out of the
        # cycle collector's passes, which otherwise walk them all at every full collection.
        gc.freeze()
    await services.suggestions.start()
    await services.chat.start()
    await leadership.join(
        "chat sweeps", _started(services.chat.start_sweeps), services.chat.stop_sweeps
    )
    if services.smtp is not None:
        await services.smtp.start()
    if services.imap is not None:
        await leadership.join("imap", _started(services.imap.start), services.imap.stop)
    log.info(
        "service.started",
        database=services.db.dialect,
        data_dir=str(services.settings.data_dir),
        instance=services.instance,
        routes=services.queue.routes(),
        waiting=services.queue.waiting(),
        search=services.articles.search.mode.value,
    )
    if services.articles.search.vectors is None:
        log.warning("kb.lexical_only", why=_lexical_why(services.settings))
    yield
    await leadership.stop()
    if services.smtp is not None:
        await services.smtp.stop()
    await services.chat.stop()
    await services.suggestions.stop()
    await services.voice.stop()
    await app[events.FANOUT].stop()
    await app[events.CONSOLES].stop()
    await services.queue.stop()
    if services.relay is not None:
        await services.relay.stop()
    await services.close()
    log.info("service.stopped")


def _started(start: Callable[[], Awaitable[None]]) -> Callable[[Database], Awaitable[None]]:
    """A job's start as a leader's part (the job writes through its own database handle)."""

    async def lead(_db: Database) -> None:
        await start()

    return lead
