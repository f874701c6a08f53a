"""The one interaction queue. Channels and the web ask it through `InteractionQueue`'s methods."""

from contactcenter.queue.core import InteractionQueue

__all__ = ["InteractionQueue"]
