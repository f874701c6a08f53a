"""API tokens and console sessions: one checked a moment ago is believed without reading it
again (a busy integration or console costs no read per request), and revoking it, logging out or
a new password here ends it at once."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from contactcenter.model import Role
from contactcenter.people import accounts as accounts_module
from contactcenter.people.accounts import Accounts
from contactcenter.store.db import Database


async def test_a_checked_token_is_believed_briefly_and_revoking_ends_it(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    accounts = Accounts(db=db)
    user = await accounts.create_user("crm", "a long password", Role.AGENT)
    secret, made = await accounts.create_token(user["id"], "crm sync")
    reads: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: reads.append(statement),
    )
    first = await accounts.from_token(secret)
    assert first is not None and first.username == "crm"
    counted = len(reads)
    for _ in range(20):
        assert await accounts.from_token(secret) == first
    assert len(reads) == counted  # no statement for the next twenty requests
    monkeypatch.setattr(accounts_module, "TOKEN_CACHE_SECONDS", 0.0)
    assert await accounts.from_token(secret) == first  # read again once the moment is past
    assert len(reads) > counted
    monkeypatch.setattr(accounts_module, "TOKEN_CACHE_SECONDS", 60.0)
    await accounts.revoke_token(made["id"])
    assert await accounts.from_token(secret) is None


async def test_an_unknown_token_is_never_remembered(db: Database) -> None:
    accounts = Accounts(db=db)
    assert await accounts.from_token("cc_not-a-token") is None
    assert await accounts.from_token("cc_not-a-token") is None


async def test_a_session_is_believed_briefly_and_ends_at_once_on_logout_or_new_password(
    db: Database,
) -> None:
    accounts = Accounts(db=db)
    await accounts.create_user("ana", "a long password", Role.AGENT)
    reads: list[str] = []
    event.listen(
        db.engine.sync_engine,
        "before_cursor_execute",
        lambda _c, _cur, statement, *_: reads.append(statement),
    )
    logged_in = await accounts.login("ana", "a long password")
    assert logged_in is not None
    secret, _ = logged_in
    first = await accounts.from_session(secret)
    assert first is not None and first.username == "ana"
    counted = len(reads)
    for _ in range(20):  # a console's requests
        assert await accounts.from_session(secret) == first
    assert len(reads) == counted
    await accounts.logout(secret)
    assert await accounts.from_session(secret) is None

    again = await accounts.login("ana", "a long password")
    assert again is not None
    assert await accounts.from_session(again[0]) is not None
    await accounts.set_password("ana", "another long password")
    assert await accounts.from_session(again[0]) is None  # the old session ended with it
