"""Web chat: visitors answered from the knowledge base first, then by an agent.

A chat is an interaction on the chat channel, opened by the visitor's first message in the
status `bot`. The bot answers with the short answers of the best published articles and asks
"did this help?": yes ends the chat as `self_served`; no, asking for a person, or a question
the knowledge base has nothing for puts it in the queue (`enqueue_started`) with the transcript
so far on it. Every line (the visitor's, the bot's, an agent's) is a message on the interaction,
stored before anyone sees it, and published as `chat.line`; its message id is its sequence
number, so a widget that reconnects asks for the lines after the last one it showed and shows
none twice.

Who the visitor is: `chat_visitors.py`. How lines look to the widget and in a transcript:
`chat_lines.py`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import func, select

from contactcenter.channels.chat.lines import line, offered_ref, stored_line, transcript
from contactcenter.channels.chat.sockets import Inbox, VisitorSockets
from contactcenter.channels.chat.survey import ChatSurvey
from contactcenter.channels.chat.visitors import ChatVisitors, Visitor
from contactcenter.customers.records import CustomerRecords
from contactcenter.errors import Conflict, NotFound
from contactcenter.events import (
    AgentActed,
    ChatEnded,
    ChatLine,
    ChatTyping,
    Event,
    EventBus,
    InteractionActive,
    InteractionClosed,
    InteractionMessage,
    InteractionTransferred,
    InteractionWrapUp,
    Origin,
)
from contactcenter.interactions.records import InteractionRecords
from contactcenter.mail.compose import transcript_mail
from contactcenter.mail.outbox import Outbox
from contactcenter.model import Channel, Direction, Initiator, InteractionStatus
from contactcenter.people.agents import AgentDirectory
from contactcenter.queue.core import InteractionQueue
from contactcenter.runtime.clock import now
from contactcenter.runtime.rounds import Rounds
from contactcenter.store.db import Database
from contactcenter.store.tables import interactions, messages
from knowledge_base.search import PUBLISHED, ArticleSearch
from knowledge_base.suggestions import Suggestions

log = structlog.get_logger(__name__)
S = InteractionStatus
BOT_ANSWERS = 3
TRANSCRIPTS = 3  # mails of one chat's transcript at most
_WAITING = (S.QUEUED, S.OFFERED, S.CALLBACK_SCHEDULED)
# Statuses in which someone reads the visitor's lines (the bot, the queue, an agent).
_LISTENING = frozenset({S.BOT, S.QUEUED, S.OFFERED, S.ACTIVE, S.TRANSFERRED})
# Queue events that the visitor hears of, as notices on the transcript.
_NOTICES: dict[type[Event], str] = {
    InteractionActive: "{name} joined the chat.",
    InteractionTransferred: "{name} left the chat; another agent will take over.",
    InteractionWrapUp: "{name} closed the chat.",
    InteractionClosed: "{name} closed the chat.",
}
_CLOSING = frozenset({InteractionWrapUp, InteractionClosed})
SAYS = {
    "answers": "This may answer your question. Did it help?",
    "nothing": "I could not find an answer to that. Let me find a person for you.",
    "person": "Let me find a person for you; you keep your place in the conversation.",
    "helped": "Glad that helped. You can close this window, or write again at any time.",
}


class ChatChannel:
    """What visitors do in a chat; the WebSocket (`web/chat_socket.py`) carries it."""

    def __init__(
        self,
        *,
        db: Database,
        customers: CustomerRecords,
        records: InteractionRecords,
        queue: InteractionQueue,
        agents: AgentDirectory,
        search: ArticleSearch,
        suggestions: Suggestions,
        bus: EventBus,
        identity_secret: str,
        reconnect_seconds: float = 60.0,
        idle_minutes: float = 15.0,
        outbox: Outbox | None = None,
        mail_from: str = "",
        clock: Callable[[], float] = time.time,
        survey: ChatSurvey | None = None,
    ) -> None:
        self.db = db
        self.survey = survey
        self.agents = agents
        self.outbox = outbox
        self.mail_from = mail_from
        self.reconnect_seconds = reconnect_seconds
        self.idle_minutes = idle_minutes
        self.sweeps = Rounds(
            name="chat sweep",
            round_=self.sweep,
            every=min(30.0, idle_minutes * 60 / 4, reconnect_seconds),
        )
        self._task: asyncio.Task[None] | None = None
        self._relayed: asyncio.Task[None] | None = None
        self.sockets = VisitorSockets(reconnect_seconds=reconnect_seconds, gone=self._visitor_gone)
        self.customers = customers
        self.records = records
        self.queue = queue
        self.search = search
        self.suggestions = suggestions
        self.bus = bus
        self.visitors = ChatVisitors(
            customers=customers, identity_secret=identity_secret, clock=clock
        )
        self.clock = clock

    async def start(self) -> None:
        """Tell visitors what agents do (`run`), and what other instances tell their chats."""
        self._task = asyncio.create_task(self.run(), name="chat-notices")
        self._relayed = asyncio.create_task(self.relayed(), name="chat-relayed")
        await asyncio.sleep(0)  # subscribed before anything else is published

    async def start_sweeps(self) -> None:
        """Close idle chats from now on (one instance does: the leader)."""
        self.sweeps.start()

    async def stop_sweeps(self) -> None:
        await self.sweeps.stop()

    async def sweep(self) -> None:
        """Close idle chats, with a notice: with the bot, closed; with an agent, completed for
        them. And abandon waiting chats whose visitor is not connected and has said nothing
        for `reconnect_seconds` (after a restart no widget is connected until it reconnects)."""
        at = self.clock()
        idle_since = datetime.fromtimestamp(at - self.idle_minutes * 60, UTC)
        gone_since = datetime.fromtimestamp(at - self.reconnect_seconds, UTC)
        # The last line of each open chat only (by the messages' interaction index), not an
        # aggregate of every message ever written.
        last = (
            select(func.max(messages.c.created_at))
            .where(messages.c.interaction_id == interactions.c.id)
            .scalar_subquery()
            .label("last")
        )
        open_ = [S.BOT.value, S.ACTIVE.value, *(s.value for s in _WAITING)]
        async with self.db.connect() as conn:
            rows = (
                await conn.execute(
                    select(
                        interactions.c.id, interactions.c.status, interactions.c.agent_id, last
                    ).where(
                        interactions.c.channel == Channel.CHAT.value,
                        interactions.c.status.in_(open_),
                        last < gone_since,
                    )
                )
            ).all()
        for row in rows:
            status = S(row.status)
            try:
                if status in _WAITING and not self.sockets.connected(row.id):
                    await self.leave(row.id)
                elif status in (S.BOT, S.ACTIVE) and row.last < idle_since:
                    await self._close_idle(row.id, status, row.agent_id)
            except Exception:  # one chat's failure must not keep the others open
                log.exception("chat.sweep_failed", interaction_id=row.id)

    async def _close_idle(self, chat_id: int, status: S, agent_id: int | None) -> None:
        minutes = f"{self.idle_minutes:g}"
        await self._line(
            chat_id,
            f"This chat was closed after {minutes} minutes without a "
            "message. Write again at any time.",
            Initiator.SYSTEM,
            agent_id=agent_id,
        )
        if status is S.BOT:
            await self.records.transition(chat_id, S.CLOSED, reason="idle")
        elif agent_id is not None:
            await self.queue.complete(
                chat_id, agent_id, outcome={"disposition": "idle", "outcome": "closed idle"}
            )
        await self._ended(chat_id, S.CLOSED)
        log.info("chat.closed_idle", interaction_id=chat_id, agent_id=agent_id)

    def attach(self, chat_id: int, inbox: Inbox) -> None:
        """A connection of the chat's visitor is open (see `VisitorSockets.attach`)."""
        self.sockets.attach(chat_id, inbox)

    def detach(self, chat_id: int, inbox: Inbox, wait: bool = True) -> None:
        """A connection closed; with none left, the visitor has `reconnect_seconds` to come
        back before a chat still with the bot or waiting is abandoned (`wait`: False when the
        visitor ended it)."""
        self.sockets.detach(chat_id, inbox, wait)

    async def _visitor_gone(self, chat_id: int) -> None:
        status = await self.leave(chat_id)
        log.info("chat.visitor_gone", interaction_id=chat_id, status=status.value)

    async def stop(self) -> None:
        await self.sweeps.stop()
        self.sockets.stop()
        for task in (self._task, self._relayed):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._task = self._relayed = None

    async def resumable(self, visitor: Visitor, chat_id: int) -> bool:
        """Whether the visitor may go back to `chat_id` (its lines replayed after a reload):
        theirs, a chat, and not over for them (its agent may still be wrapping it up)."""
        row = await self._row(chat_id)
        return (
            row is not None
            and visitor.customer is not None
            and row.customer_id == visitor.customer.id
            and row.channel == Channel.CHAT.value
            and not S(row.status).is_final
        )

    async def chat_for(self, visitor: Visitor, chat_id: int | None, text: str) -> int:
        """The chat a line goes to: `chat_id` while someone is there to read it (the bot, the
        queue, an agent), else a new one with the bot, its subject the line's start, linked to
        the one before: a line written while the agent wraps up must reach someone."""
        assert visitor.customer is not None, "a visitor who speaks has a customer"
        earlier: int | None = None
        if chat_id is not None:
            if await self._status(chat_id) in _LISTENING:
                return chat_id
            earlier = chat_id
        attributes = {
            "visitor_id": visitor.visitor_id,
            "verified": visitor.verified,
            **({"visitor_name": visitor.name} if visitor.name else {}),
            **({"follows": earlier} if earlier is not None else {}),
        }
        chat_id = await self.records.open(
            visitor.customer.id,
            Channel.CHAT,
            status=S.BOT,
            subject=text[:200],
            attributes=attributes,
        )
        if earlier is not None:
            await self.records.link(chat_id, earlier)
        log.info(
            "chat.opened", interaction_id=chat_id, customer_id=visitor.customer.id, follows=earlier
        )
        return chat_id

    async def say(self, visitor: Visitor, chat_id: int, text: str) -> None:
        """The visitor's line on their open chat (`chat_for`), stored and published, then the
        bot's answer while the bot has the chat."""
        row = await self._existing(chat_id)
        await self._line(chat_id, text, Initiator.CUSTOMER, agent_id=row.agent_id)
        if S(row.status) is S.BOT:
            await self._bot_answers(visitor, chat_id, text)

    async def agent_says(self, chat_id: int, agent_id: int, text: str) -> int:
        """An agent's line on a chat they hold (active with them); its sequence number."""
        await self._held(chat_id, agent_id)
        return await self._line(chat_id, text, Initiator.AGENT, agent_id=agent_id)

    async def agent_typing(self, chat_id: int, agent_id: int) -> None:
        await self._held(chat_id, agent_id)
        await self.typing(chat_id, "agent", agent_id)

    async def _held(self, chat_id: int, agent_id: int) -> None:
        row = await self._existing(chat_id)
        if (
            row.channel != Channel.CHAT.value
            or S(row.status) is not S.ACTIVE
            or row.agent_id != agent_id
        ):
            raise Conflict(f"interaction {chat_id} is not a chat you are in", "interaction_id")

    async def typing(self, chat_id: int, by: str, agent_id: int | None = None) -> None:
        """Someone is typing in the chat: told to the other side (the visitor's sockets, and
        the agent who has the chat on the event stream)."""
        if agent_id is None:
            row = await self._existing(chat_id)
            agent_id = row.agent_id
        self._tell(chat_id, ChatTyping(interaction_id=chat_id, by=by, agent_id=agent_id))

    async def run(self) -> None:
        """Tell visitors when an agent joins or leaves their chat (notices on the transcript),
        from the queue's events, until cancelled."""
        while True:
            async with self.bus.subscribe(Origin.HERE) as events:
                async for event in events:
                    if type(event) not in _NOTICES:
                        continue
                    assert isinstance(event, InteractionTransferred | AgentActed)
                    try:
                        await self._notice(event.interaction_id, event.agent_id, type(event))
                    except Exception:  # one chat's failure must not stop the others'
                        log.exception("chat.notice_failed", interaction_id=event.interaction_id)
            await asyncio.sleep(0.1)  # the bus dropped us for falling behind: start again

    async def relayed(self) -> None:
        """A chat's lines, typing and end told on another instance reach its visitor's
        connections here (the visitor may be connected to any instance)."""
        while True:
            async with self.bus.subscribe(Origin.ELSEWHERE) as events:
                async for event in events:
                    if isinstance(event, ChatLine | ChatTyping | ChatEnded):
                        self.sockets.tell(event.interaction_id, event)
            await asyncio.sleep(0.1)  # the bus dropped us for falling behind: start again

    async def _notice(self, chat_id: int, agent_id: int, kind: type[Event]) -> None:
        row = await self._row(chat_id)
        if row is None or row.channel != Channel.CHAT.value:
            return
        name = (await self.agents.get_agent(agent_id))["name"]
        await self._line(
            chat_id, _NOTICES[kind].format(name=name), Initiator.SYSTEM, agent_id=agent_id
        )
        if kind in _CLOSING:
            await self._ended(chat_id, S.CLOSED)

    async def answered(self, visitor: Visitor, chat_id: int, article_id: int, helped: bool) -> None:
        """The visitor's answer to "did this help?"."""
        if await self._status(chat_id) is not S.BOT:
            return  # a person has it (or it is over): the question is behind them
        if helped:
            await self._line(chat_id, SAYS["helped"], Initiator.SYSTEM)
            await self.suggestions.customer_answered(chat_id, article_id, helped=True)
            await self._ended(chat_id, S.SELF_SERVED)
            return
        await self.suggestions.customer_answered(chat_id, article_id, helped=False)
        await self.ask_agent(visitor, chat_id)

    async def ask_agent(self, visitor: Visitor, chat_id: int) -> None:
        """The visitor wants a person: the chat enters the queue (once)."""
        if await self._status(chat_id) is S.BOT:
            await self.queue.enqueue_started(chat_id, visitor.customer)
            await self._line(chat_id, SAYS["person"], Initiator.SYSTEM)

    async def leave(self, chat_id: int) -> S:
        """The visitor ended the chat (or left for good): with the bot or still waiting it is
        abandoned, with the wait; with an agent it stays theirs to close. Its status after."""
        status = await self._status(chat_id)
        if status is S.BOT:
            await self.records.transition(chat_id, S.ABANDONED, reason="visitor left")
        elif status in _WAITING:
            await self.queue.abandon(chat_id)
        else:
            return status
        await self._ended(chat_id, S.ABANDONED)
        return S.ABANDONED

    async def mail_transcript(self, chat_id: int, to: str) -> None:
        """The chat so far, by mail to `to` (through the outbox, which keeps it until the relay
        takes it); at most `TRANSCRIPTS` a chat, so that a visitor cannot mail anyone at will."""
        if self.outbox is None or not self.mail_from:
            raise Conflict("the transcript by mail is not offered: no mail is sent", "type")
        if await self.outbox.count(chat_id, "transcript") >= TRANSCRIPTS:
            raise Conflict(f"a chat's transcript is mailed at most {TRANSCRIPTS} times", "email")
        body = transcript(await self.lines_after(chat_id, 0))
        message = transcript_mail(self.mail_from, to, chat_id, body)
        await self.outbox.put(message, "transcript", chat_id)
        log.info("chat.transcript_mailed", interaction_id=chat_id)

    async def lines_after(self, chat_id: int, after_seq: int) -> list[dict[str, Any]]:
        """The chat's lines after `after_seq`, in order, as the widget shows them."""
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(messages)
                .where(messages.c.interaction_id == chat_id, messages.c.id > after_seq)
                .order_by(messages.c.id)
            )
            return [stored_line(row) for row in rows]

    async def _bot_answers(self, visitor: Visitor, chat_id: int, text: str) -> None:
        hits = [h for h in await self.search.search(text, PUBLISHED, BOT_ANSWERS) if h.short_answer]
        if not hits:
            await self.queue.enqueue_started(chat_id, visitor.customer)
            await self._line(chat_id, SAYS["nothing"], Initiator.SYSTEM)
            return
        offered = [
            {"article_id": h.article_id, "title": h.title, "answer": h.short_answer} for h in hits
        ]
        text_ = SAYS["answers"] + "".join(f"\n• {a['title']} — {a['answer']}" for a in offered)
        await self._line(chat_id, text_, Initiator.SYSTEM, articles=offered)

    async def _line(
        self,
        chat_id: int,
        text: str,
        author: Initiator,
        articles: list[dict[str, Any]] | None = None,
        agent_id: int | None = None,
    ) -> int:
        """Store a line, then publish it (the visitor's as `interaction.message` too, which
        the agent's suggestions follow)."""
        direction = Direction.INBOUND if author is Initiator.CUSTOMER else Direction.OUTBOUND
        at = now()
        seq = await self.records.add_message(
            chat_id,
            text,
            direction=direction,
            author=author,
            at=at,
            agent_id=agent_id if author is Initiator.AGENT else None,
            external_id=offered_ref(articles),
        )
        # With the agent who has the chat, so that their console hears it too.
        self._tell(
            chat_id,
            ChatLine(
                interaction_id=chat_id,
                agent_id=agent_id,
                line=line(seq, author.value, text, at, articles),
            ),
        )
        if author is Initiator.CUSTOMER:
            self.bus.publish(InteractionMessage(interaction_id=chat_id, message_id=seq))
        return seq

    async def _ended(self, chat_id: int, status: S) -> None:
        """The chat is over: its visitor is told, with the survey when one is offered (after
        an agent ended it, or an article answered it)."""
        survey = None
        if self.survey is not None and status in (S.CLOSED, S.SELF_SERVED):
            survey = await self.survey.offered(chat_id)
        self._tell(chat_id, ChatEnded(interaction_id=chat_id, status=status.value, survey=survey))

    def _tell(self, chat_id: int, event: ChatLine | ChatTyping | ChatEnded) -> None:
        """An event of the chat: on the bus (agents, supervisors) and to its visitor's
        connections."""
        self.bus.publish(event)
        self.sockets.tell(chat_id, event)

    async def _row(self, chat_id: int) -> Any:
        async with self.db.connect() as conn:
            found = await conn.execute(select(interactions).where(interactions.c.id == chat_id))
            return found.one_or_none()

    async def _existing(self, chat_id: int) -> Any:
        row = await self._row(chat_id)
        if row is None:
            raise NotFound("interaction", chat_id)
        return row

    async def _status(self, chat_id: int) -> S:
        return S((await self._existing(chat_id)).status)
