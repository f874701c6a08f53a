"""The visitors' open connections, per chat: where a chat's lines go, and how long a chat waits
for its visitor to come back once the last connection has closed."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from contactcenter.events import ChatEnded, ChatLine, ChatTyping

log = structlog.get_logger(__name__)
INBOX_LIMIT = 500  # lines a connection may fall behind before it is told to reconnect
Told = ChatLine | ChatTyping | ChatEnded


class Inbox(asyncio.Queue[Told]):
    """What one connection is to send its visitor, at most `INBOX_LIMIT` behind."""

    def __init__(self) -> None:
        super().__init__(maxsize=INBOX_LIMIT)
        self.overflowed = False

    def put_nowait_overflow(self) -> None:
        self.overflowed = True


class VisitorSockets:
    """Each chat's open connections; `gone(chat_id)` runs when a visitor has been away
    `reconnect_seconds` with no connection left."""

    def __init__(self, *, reconnect_seconds: float, gone: Callable[[int], Awaitable[None]]) -> None:
        self.reconnect_seconds = reconnect_seconds
        self._gone_handler = gone
        self._open: dict[int, set[Inbox]] = {}  # chat id: its visitor's open connections
        self._waiting: dict[int, asyncio.Task[None]] = {}  # chats waiting for their visitor

    def connected(self, chat_id: int) -> bool:
        """Whether the chat's visitor has a connection open, or may still come back."""
        return chat_id in self._open or chat_id in self._waiting

    def attach(self, chat_id: int, inbox: Inbox) -> None:
        """A connection of the chat's visitor is open: the chat's lines go to its `inbox`
        (only to the connections of that chat: a line is not handed to every visitor's socket
        to be filtered), and a reconnect stops the wait for the visitor."""
        self._open.setdefault(chat_id, set()).add(inbox)
        waiting = self._waiting.pop(chat_id, None)
        if waiting is not None:
            waiting.cancel()

    def detach(self, chat_id: int, inbox: Inbox, wait: bool = True) -> None:
        """A connection closed; with none left, the visitor has `reconnect_seconds` to come
        back (`wait`: False when the visitor ended the chat)."""
        inboxes = self._open.get(chat_id, set())
        inboxes.discard(inbox)
        if inboxes:
            return
        self._open.pop(chat_id, None)
        if wait and chat_id not in self._waiting:
            self._waiting[chat_id] = asyncio.create_task(
                self._wait_for_visitor(chat_id), name=f"chat-{chat_id}-gone"
            )

    def tell(self, chat_id: int, event: Told) -> None:
        """An event of the chat to its visitor's connections; one that has fallen
        `INBOX_LIMIT` behind is told to reconnect (and replay)."""
        for inbox in list(self._open.get(chat_id, ())):
            if inbox.full():
                inbox.put_nowait_overflow()
            else:
                inbox.put_nowait(event)

    def stop(self) -> None:
        for waiting in list(self._waiting.values()):
            waiting.cancel()
        self._waiting.clear()

    async def _wait_for_visitor(self, chat_id: int) -> None:
        try:
            await asyncio.sleep(self.reconnect_seconds)
            if chat_id not in self._open:
                await self._gone_handler(chat_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("chat.visitor_gone_failed", interaction_id=chat_id)
        finally:
            if self._waiting.get(chat_id) is asyncio.current_task():
                del self._waiting[chat_id]
