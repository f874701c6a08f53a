"""create_app(settings): the aiohttp application with every part started and stopped in order."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator

import structlog
from aiohttp import web

from contactcenter.people.login_throttle import LoginThrottle
from contactcenter.settings import Settings
from contactcenter.web import (
    api_agents,
    api_auth,
    api_board,
    api_customers,
    api_email,
    api_events,
    api_fax,
    api_interactions,
    api_kb,
    api_queue,
    api_voice,
    chat_socket,
    ops,
    pages,
    twilio_hooks,
)
from contactcenter.web.console_presence import ConsolePresence
from contactcenter.web.endpoints import SERVICES
from contactcenter.web.event_fanout import Fanout
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
ROUTE_TABLES = [ops.routes, api_auth.routes, api_customers.routes, api_interactions.routes,
                api_agents.routes, api_queue.routes, api_events.routes,
                api_email.routes, api_fax.routes, api_kb.routes, chat_socket.routes,
                api_board.routes, api_voice.routes, twilio_hooks.routes]  # fmt: skip


def create_app(settings: Settings, services: Services | None = None) -> web.Application:
    """The application; it closes the services it was given (or built) on cleanup."""
    app = web.Application(
        middlewares=[observe, authenticate], client_max_size=settings.max_body_bytes
    )
    app[SERVICES] = services or Services.build(settings)
    app[METRICS] = HttpMetrics()
    app[IN_FLIGHT] = InFlight()
    app[ops.ENDPOINTS] = [endpoint for table in ROUTE_TABLES for endpoint in table.endpoints]
    app[api_events.SOCKETS] = weakref.WeakSet()
    app[api_events.FANOUT] = Fanout(app[SERVICES].bus, app[SERVICES].queue.holder)
    app[api_events.CONSOLES] = ConsolePresence(
        queue=app[SERVICES].queue, grace_seconds=settings.console_grace_seconds
    )
    app[chat_socket.PACING] = chat_socket.Pacing(settings.chat_frames_per_address)
    app[api_auth.THROTTLE] = LoginThrottle()
    for table in ROUTE_TABLES:
        table.register(app)
    pages.register(app)
    app.cleanup_ctx.append(_lifetime)
    app.on_shutdown.append(api_events.close_sockets)
    return app


def _lexical_why(settings: Settings) -> str:
    if not settings.semantic_search:
        return "CONTACTCENTER_SEMANTIC_SEARCH is false"
    return "the semantic extra is not installed: pip install 'contactcenter[semantic]'"


async def _lifetime(app: web.Application) -> AsyncIterator[None]:
    services = app[SERVICES]
    await services.queue.start()
    await app[api_events.FANOUT].start()
    await services.voice.connector.start()
    await services.email.start()
    await services.outbox.start()
    vectors = services.articles.search.vectors
    if vectors is not None:
        await vectors.embedder.warm()
        # The model's hundreds of thousands of objects live as long as the process: out of the
        # cycle collector's passes, which otherwise walk them all at every full collection.
        gc.freeze()
    await services.suggestions.start()
    await services.chat.start()
    if services.smtp is not None:
        await services.smtp.start()
    if services.imap is not None:
        await services.imap.start()
    log.info(
        "service.started",
        database=services.db.dialect,
        data_dir=str(services.settings.data_dir),
        waiting=services.queue.waiting(),
        search=services.articles.search.mode.value,
    )
    if services.articles.search.vectors is None:
        log.warning("kb.lexical_only", why=_lexical_why(services.settings))
    yield
    if services.imap is not None:
        await services.imap.stop()
    if services.smtp is not None:
        await services.smtp.stop()
    await services.chat.stop()
    await services.suggestions.stop()
    await services.outbox.stop()
    await services.voice.connector.stop()
    await app[api_events.FANOUT].stop()
    await app[api_events.CONSOLES].stop()
    await services.queue.stop()
    await services.close()
    log.info("service.stopped")
