"""PNG previews of a document's pages (faxes), kept in the blob store beside the attachment."""

from __future__ import annotations

from sqlalchemy import insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from contactcenter.channels.fax.documents import MAX_PREVIEWS, Preview
from contactcenter.errors import NotFound
from contactcenter.store.blobs import BlobStore
from contactcenter.store.db import Database
from contactcenter.store.tables import page_previews


class PagePreviews:
    def __init__(self, *, db: Database, blobs: BlobStore) -> None:
        self.db = db
        self.blobs = blobs

    async def add(self, attachment_id: int, previews: list[Preview], conn: AsyncConnection) -> None:
        """Keep the pages' images (blobs first, then rows in the caller's transaction)."""
        if not previews:
            return
        digests = [await self.blobs.put(p.png) for p in previews]
        await conn.execute(
            insert(page_previews),
            [
                {
                    "attachment_id": attachment_id,
                    "page": n,
                    "sha256": digest,
                    "width": p.width,
                    "height": p.height,
                }
                for n, (p, digest) in enumerate(zip(previews, digests, strict=True), start=1)
            ],
        )

    async def png(self, attachment_id: int, page: int) -> bytes:
        if not 1 <= page <= MAX_PREVIEWS:  # no preview beyond those drawn (and no int4 overflow)
            raise NotFound("page preview", f"{attachment_id}/{page}")
        async with self.db.connect() as conn:
            digest = (
                await conn.execute(
                    select(page_previews.c.sha256).where(
                        page_previews.c.attachment_id == attachment_id,
                        page_previews.c.page == page,
                    )
                )
            ).scalar_one_or_none()
        if digest is None:
            raise NotFound("page preview", f"{attachment_id}/{page}")
        return await self.blobs.get(digest)
