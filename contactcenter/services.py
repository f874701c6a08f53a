"""The service's parts, built once from the settings and shared by the web app and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from contactcenter.agents import AgentDirectory
from contactcenter.auth import Accounts
from contactcenter.customers import CustomerRecords
from contactcenter.interactions import InteractionRecords
from contactcenter.settings import Settings
from contactcenter.store.blobs import BlobStore
from contactcenter.store.db import Database
from contactcenter.timeline import Timeline


@dataclass(frozen=True, slots=True)
class Services:
    settings: Settings
    db: Database
    blobs: BlobStore
    customers: CustomerRecords
    interactions: InteractionRecords
    timeline: Timeline
    agents: AgentDirectory
    accounts: Accounts

    @classmethod
    def build(cls, settings: Settings) -> Services:
        db = Database(settings.sqlalchemy_url, pool_size=settings.db_pool_size)
        blobs = BlobStore(settings.blob_dir)
        customers = CustomerRecords(db, settings.default_region)
        interactions = InteractionRecords(db, blobs)
        return cls(
            settings=settings,
            db=db,
            blobs=blobs,
            customers=customers,
            interactions=interactions,
            timeline=Timeline(customers, interactions),
            agents=AgentDirectory(db),
            accounts=Accounts(db, settings.session_hours),
        )

    async def close(self) -> None:
        await self.db.dispose()
