"""Order status for phone self-service: an interface, a configured HTTP service, and the demo's.

The IVR reads back whatever status text the provider gives. A provider that cannot answer (down,
slow, nonsense) raises `OrderStatusUnavailable`; the caller then goes to an agent."""

from __future__ import annotations

import csv
import io
from importlib.resources import files
from typing import Protocol

import aiohttp
import structlog

from contactcenter.model import Customer

log = structlog.get_logger(__name__)


class OrderStatusUnavailable(RuntimeError):
    """The provider could not be asked; not the same as an unknown order."""


class OrderStatusProvider(Protocol):
    async def status(self, order: str, customer: Customer, language: str) -> str | None:
        """The order's status as a sentence to read out, or None for an unknown order."""


class HttpOrderStatus:
    """`GET {url}?order=N&customer_id=C&language=L`: 200 with JSON `{"status": "..."}`, or
    404 for an order it does not know."""

    def __init__(self, *, url: str, timeout: float = 3.0) -> None:
        self.url = url
        self.timeout = aiohttp.ClientTimeout(total=timeout)

    async def status(self, order: str, customer: Customer, language: str) -> str | None:
        query = {"order": order, "customer_id": str(customer.id), "language": language}
        try:
            async with (
                aiohttp.ClientSession(timeout=self.timeout) as session,
                session.get(self.url, params=query) as response,
            ):
                if response.status == 404:
                    return None
                if response.status != 200:
                    raise OrderStatusUnavailable(f"order service answered {response.status}")
                body = await response.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise OrderStatusUnavailable(f"order service: {exc!r}") from exc
        text = body.get("status") if isinstance(body, dict) else None
        if not isinstance(text, str) or not text.strip():
            raise OrderStatusUnavailable("order service gave no status text")
        return text.strip()[:500]


class DemoOrderStatus:
    """The demo's orders (`demo/orders.csv`), in English and Chinese."""

    def __init__(self) -> None:
        text = files("contactcenter.demo").joinpath("orders.csv").read_text(encoding="utf-8")
        self.orders = {row["order"]: row for row in csv.DictReader(io.StringIO(text))}

    async def status(self, order: str, customer: Customer, language: str) -> str | None:
        row = self.orders.get(order.strip())
        if row is None:
            return None
        return row.get(f"status_{language}") or row["status"]


def order_status_provider(url: str) -> OrderStatusProvider:
    return HttpOrderStatus(url=url) if url else DemoOrderStatus()
