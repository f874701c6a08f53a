"""The demo organisation that `contactcenter serve --demo` loads into an empty database. Groups
`key-accounts`, `senior` and `general`; agents with skills and capacities; customers of every
tier and segment with identities on every channel (from `customers.csv`, through the same CSV
import admins use); a knowledge base of 59 articles in English and Chinese (`kb/`, through the
same import as `contactcenter kb import`); a few past interactions on their timelines; and the
logins to try it with."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta
from importlib.resources import as_file, files

from contactcenter.customers.csv_file import CustomerCsv
from contactcenter.model import Channel, Direction, Initiator, InteractionStatus, Role
from contactcenter.people.agents import AgentFields, GroupFields, Membership
from contactcenter.runtime.clock import now
from contactcenter.wiring import Services

GROUPS = {
    "key-accounts": "Account managers and the dedicated team for key accounts",
    "senior": "Senior agents for relationship customers",
    "general": "The general pool for transactional customers",
}
# name, email, groups with level, skills, capacity overrides
AGENTS: list[tuple[str, str, dict[str, int], list[str], dict[str, int]]] = [
    (
        "Grace Okafor",
        "grace.okafor@demo.example",
        {"key-accounts": 3, "senior": 3},
        ["lang:en", "lang:de", "enterprise"],
        {"chat": 2},
    ),
    (
        "Lin Wei",
        "lin.wei@demo.example",
        {"key-accounts": 3, "senior": 2},
        ["lang:zh", "lang:en", "enterprise"],
        {},
    ),
    (
        "Daniel Brooks",
        "daniel.brooks@demo.example",
        {"senior": 3, "general": 2},
        ["lang:en", "billing", "returns"],
        {},
    ),
    (
        "Ana Souza",
        "ana.souza@demo.example",
        {"senior": 2, "general": 2},
        ["lang:pt", "lang:es", "lang:en", "technical"],
        {"email": 8},
    ),
    (
        "Sam Patel",
        "sam.patel@demo.example",
        {"general": 1},
        ["lang:en", "technical", "orders"],
        {"chat": 4},
    ),
    (
        "Nora Lindqvist",
        "nora.lindqvist@demo.example",
        {"general": 1},
        ["lang:en", "lang:fr", "orders", "billing"],
        {},
    ),
]
LOGINS = [
    ("admin", Role.ADMIN, None),
    ("supervisor", Role.SUPERVISOR, None),
    ("agent", Role.AGENT, "sam.patel@demo.example"),
]


@dataclass(frozen=True, slots=True)
class DemoLogin:
    username: str
    password: str
    role: Role


async def load_demo(services: Services) -> list[DemoLogin]:
    """Load the demo once; every call gives the demo users fresh passwords and returns them."""
    if await services.agents.group_by_name("key-accounts") is None:
        await _load(services)
    logins = []
    for username, role, agent_email in LOGINS:
        password = secrets.token_urlsafe(12)
        if await services.accounts.user_exists(username):
            await services.accounts.set_password(username, password)
        else:
            agent_id = await _agent_id(services, agent_email) if agent_email else None
            await services.accounts.create_user(username, password, role, agent_id)
        logins.append(DemoLogin(username, password, role))
    return logins


async def _agent_id(services: Services, email: str) -> int | None:
    for agent in await services.agents.list_agents():
        if agent["email"] == email:
            return int(agent["id"])
    return None


async def _load(services: Services) -> None:
    group_ids = {}
    for name, description in GROUPS.items():
        group_ids[name] = (
            await services.agents.create_group(GroupFields(name=name, description=description))
        )["id"]
    for name, email, member_of, skills, capacity in AGENTS:
        await services.agents.create_agent(
            AgentFields.model_validate(
                {
                    "name": name,
                    "email": email,
                    "skills": skills,
                    "capacity": capacity,
                    # Calls ring the agent's softphone (Twilio Client), named after them.
                    "voice_client": email.split("@")[0],
                    "groups": [
                        Membership(group_id=group_ids[g], level=level)
                        for g, level in member_of.items()
                    ],
                }
            )
        )
    text = files("contactcenter.demo").joinpath("customers.csv").read_text(encoding="utf-8")
    report = await CustomerCsv(records=services.customers).import_rows(
        text.splitlines(keepends=True)
    )
    assert not report.errors, f"demo customers.csv has bad rows: {report.errors}"
    with as_file(files("contactcenter.demo").joinpath("kb")) as folder:
        articles = await services.articles.import_dir(folder, None)
    assert not articles.errors, f"demo knowledge base has bad files: {articles.errors}"
    await _history(services)


async def _history(services: Services) -> None:
    """A few past interactions so that timelines and lists are not empty."""
    records, customers = services.interactions, services.customers
    start = now() - timedelta(days=3)
    past = [
        ("phone", "+1 617 555 0143", Channel.VOICE, "Ward printers offline", "resolved", 5),
        (
            "email",
            "marcus@webbarchitects.example",
            Channel.EMAIL,
            "Quote for 6 workstations",
            "quote sent",
            4,
        ),
        ("phone", "+1 312 555 0166", Channel.VOICE, "Where is my order?", None, None),
        ("fax", "+1 646 555 0156", Channel.FAX, "Purchase order PO-7781", "order placed", None),
        (
            "chat_visitor",
            "visitor-chloe",
            Channel.CHAT,
            "Return a damaged keyboard",
            "return label sent",
            3,
        ),
    ]
    for n, (kind, value, channel, subject, outcome, score) in enumerate(past):
        customer = (await customers.resolve(kind, value)).customer
        at = start + timedelta(hours=7 * n)
        iid = await records.open(customer.id, channel, subject=subject, at=at)
        await records.add_message(
            iid, subject, direction=Direction.INBOUND, author=Initiator.CUSTOMER, at=at
        )
        if outcome is None:
            await records.transition(iid, InteractionStatus.ABANDONED, at=at + timedelta(minutes=2))
            continue
        await records.transition(iid, InteractionStatus.ACTIVE, at=at + timedelta(minutes=1))
        await records.transition(iid, InteractionStatus.WRAP_UP, at=at + timedelta(minutes=9))
        await records.transition(iid, InteractionStatus.CLOSED, at=at + timedelta(minutes=10))
        await records.record_outcome(
            iid, disposition="resolved", outcome=outcome, satisfaction=score
        )
