"""`contactcenter serve | migrate | createuser | customers import|export | orders import |
kb import|export`.

Exit codes: 0 done; 1 failed; 2 a wrong setting or argument; 3 a CSV or knowledge-base import that
skipped bad rows or files (the good ones are imported).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import getpass
import signal
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

import structlog
from aiohttp import web
from sqlalchemy.engine import make_url

from contactcenter.app import create_app
from contactcenter.channels.fax.gateways import GatewayError
from contactcenter.customers.csv_file import CsvFormatError, CustomerCsv
from contactcenter.customers.orders_csv import OrderCsv, OrderCsvError
from contactcenter.demo import load_demo
from contactcenter.errors import ServiceError
from contactcenter.model import Role
from contactcenter.runtime import logs
from contactcenter.runtime.gc_tuning import tune_gc
from contactcenter.runtime.workers import Workers, worker_argv
from contactcenter.settings import Settings, SettingsError, load_settings
from contactcenter.store.migrate import current_revision, head_revision, migrate
from contactcenter.web.middleware import IN_FLIGHT
from contactcenter.wiring import Services
from routing.policy import PolicyError, load_policy
from workflows.ivr import FlowError
from workflows.relationship_policy import RelationshipPolicyError

log = structlog.get_logger("contactcenter")


class Refused(Exception):
    """A command that cannot go on; the message is shown as one line."""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contactcenter",
        description="One queue for phone, email, fax and chat, routed by customer tier.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    serve = commands.add_parser("serve", help="run the service")
    serve.add_argument("--demo", action="store_true", help="load the demo organisation")
    serve.add_argument("--host", help="address to listen on (CONTACTCENTER_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (CONTACTCENTER_PORT)")
    serve.add_argument(
        "--workers",
        type=int,
        default=1,
        metavar="N",
        help="run N instances sharing the port, to use every core (PostgreSQL only)",
    )

    commands.add_parser("migrate", help="bring the database schema up to date")

    user = commands.add_parser(
        "createuser", help="create a login; the password is asked for, or read from stdin"
    )
    user.add_argument("username")
    user.add_argument("--role", choices=[r.value for r in Role], default=Role.AGENT.value)
    user.add_argument("--agent-id", type=int, help="the agent this login works as")
    user.add_argument("--token", metavar="NAME", help="also create an API token and print it")

    routing_cmd = commands.add_parser("routing", help="routing policy tools")
    routing_actions = routing_cmd.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = routing_actions.add_parser("check", help="validate a routing policy file")
    check.add_argument("file", type=Path)

    cust = commands.add_parser("customers", help="import or export customers as CSV")
    cust_commands = cust.add_subparsers(dest="action", required=True, metavar="ACTION")
    imp = cust_commands.add_parser("import", help="import customers from a CSV file")
    imp.add_argument("file", type=Path)
    exp = cust_commands.add_parser("export", help="export customers to CSV (stdout by default)")
    exp.add_argument("file", type=Path, nargs="?")

    orders = commands.add_parser("orders", help="import orders (purchases) from CSV")
    order_commands = orders.add_subparsers(dest="action", required=True, metavar="ACTION")
    order_in = order_commands.add_parser(
        "import", help="import orders; stages move as through the API, then lapsed ones lapse"
    )
    order_in.add_argument("file", type=Path)

    kb = commands.add_parser("kb", help="import or export knowledge-base articles as Markdown")
    kb_commands = kb.add_subparsers(dest="action", required=True, metavar="ACTION")
    kb_in = kb_commands.add_parser(
        "import", help="import every *.md file of a folder (new slugs created, known updated)"
    )
    kb_in.add_argument("folder", type=Path)
    kb_out = kb_commands.add_parser("export", help="write every article as <slug>.md")
    kb_out.add_argument("folder", type=Path)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "routing":
        return _check_policy(args.file)
    try:
        settings = load_settings(host=getattr(args, "host", None), port=getattr(args, "port", None))
    except SettingsError as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level, settings.log_format, final=True)
    if args.command == "serve":
        if args.workers > 1:
            return _serve_workers(settings, args.demo, args.workers)
        return _serve(settings, args.demo)
    command: Callable[[Services], Awaitable[int]]
    if args.command == "migrate":
        command = _migrate
    elif args.command == "createuser":
        password = _read_password()
        command = lambda s: _createuser(s, args, password)  # noqa: E731
    elif args.command == "kb":
        action = _kb_import if args.action == "import" else _kb_export
        command = lambda s: action(s, args.folder)  # noqa: E731
    elif args.command == "orders":
        command = lambda s: _import_orders(s, args.file)  # noqa: E731
    elif args.action == "import":
        command = lambda s: _import(s, args.file)  # noqa: E731
    else:
        command = lambda s: _export(s, args.file)  # noqa: E731
    return asyncio.run(_run(settings, command))


def _check_policy(path: Path) -> int:
    """Validate a policy without settings, a database or a running service."""
    try:
        policy = load_policy(path)
    except PolicyError as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 1
    print(
        f"{path}: valid; {len(policy.groups)} groups, {len(policy.tiers)} tiers, "
        f"{len(policy.rules)} rules"
    )
    return 0


async def _run(settings: Settings, command: Callable[[Services], Awaitable[int]]) -> int:
    try:
        services = Services.build(settings)
    except (PolicyError, FlowError, RelationshipPolicyError, GatewayError) as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 1
    try:
        if command is not _migrate:
            await _ensure_schema(services)
        return await command(services)
    except (Refused, ServiceError, CsvFormatError, OrderCsvError, OSError) as exc:
        message = exc.message if isinstance(exc, ServiceError) else str(exc)
        print(f"contactcenter: {message}", file=sys.stderr)
        return 1
    finally:
        await services.close()


async def _ensure_schema(services: Services) -> None:
    """SQLite is migrated by the service itself; PostgreSQL must be migrated on purpose."""
    if services.db.is_sqlite:
        await migrate(services.db)
        return
    current, head = await current_revision(services.db), head_revision()
    if current != head:
        raise Refused(
            f"the database schema is at {current or 'nothing'} and this version needs {head}; "
            "run `contactcenter migrate` first"
        )


def _serve(settings: Settings, demo: bool) -> int:
    tune_gc()
    try:
        return asyncio.run(_serve_until_stopped(settings, demo))
    except (Refused, OSError, PolicyError, FlowError, RelationshipPolicyError, GatewayError) as exc:
        print(f"contactcenter: {exc}", file=sys.stderr)
        return 1


def _serve_workers(settings: Settings, demo: bool, workers: int) -> int:
    """N instances on this machine (see runtime/workers.py); on SQLite, one, as it must be."""
    if make_url(settings.sqlalchemy_url).get_backend_name() == "sqlite":
        print(
            "contactcenter: SQLite is served by one process; --workers needs PostgreSQL "
            "(DATABASE_URL). Serving with one.",
            file=sys.stderr,
        )
        return _serve(settings, demo)
    if demo:
        code = asyncio.run(_run(settings, _print_demo(settings)))
        if code:
            return code
    return Workers(
        count=workers,
        argv=worker_argv(settings.host, settings.port),
        grace_seconds=settings.shutdown_timeout,
    ).run()


def _print_demo(settings: Settings) -> Callable[[Services], Awaitable[int]]:
    async def load(services: Services) -> int:
        logins = await load_demo(services)
        print(f"Demo organisation ready. API: http://{settings.host}:{settings.port}/api/v1/")
        for login in logins:
            print(f"  login {login.username:<11} password {login.password}  ({login.role})")
        sys.stdout.flush()
        return 0

    return load


async def _serve_until_stopped(settings: Settings, demo: bool) -> int:
    """Serve until SIGTERM or SIGINT, then finish in-flight requests and close everything."""
    services = Services.build(settings)
    try:
        await _ensure_schema(services)
        logins = await load_demo(services) if demo else []
    except BaseException:
        await services.close()
        raise
    app = create_app(settings, services)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=settings.shutdown_timeout)
    await runner.setup()
    try:
        site = web.TCPSite(
            runner, settings.host, settings.port, reuse_port=settings.reuse_port or None
        )
        await site.start()
        if logins:
            print(f"Demo organisation ready. API: http://{settings.host}:{settings.port}/api/v1/")
            for login in logins:
                print(f"  login {login.username:<11} password {login.password}  ({login.role})")
            sys.stdout.flush()
        log.info("service.listening", host=settings.host, port=settings.port)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
        in_flight = app[IN_FLIGHT]
        log.info("service.stopping", in_flight=in_flight.count)
        await site.stop()
        try:
            async with asyncio.timeout(settings.shutdown_timeout):
                await in_flight.wait_idle()
        except TimeoutError:
            log.warning("service.shutdown_timeout", in_flight=in_flight.count)
    finally:
        await runner.cleanup()
    return 0


async def _migrate(services: Services) -> int:
    before = await current_revision(services.db)
    await migrate(services.db)
    after = await current_revision(services.db)
    print(f"database schema: {before or 'empty'} -> {after}")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise SystemExit("contactcenter: the passwords differ")
        return first
    return sys.stdin.readline().rstrip("\n")


async def _createuser(services: Services, args: argparse.Namespace, password: str) -> int:
    user = await services.accounts.create_user(
        args.username, password, Role(args.role), args.agent_id
    )
    print(f"created user {user['username']} ({user['role']}), id {user['id']}")
    if args.token:
        secret, _ = await services.accounts.create_token(user["id"], args.token)
        print(f"API token {args.token}: {secret}")
    return 0


async def _import(services: Services, path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        report = await CustomerCsv(records=services.customers).import_rows(handle)
    print(
        f"imported {report.imported} rows ({report.created} created, {report.updated} updated); "
        f"{len(report.errors)} bad rows"
    )
    for line, message in report.errors:
        print(f"{path}:{line}: {message}", file=sys.stderr)
    return 3 if report.errors else 0


async def _import_orders(services: Services, path: Path) -> int:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        report = await OrderCsv(orders=services.orders, customers=services.customers).import_rows(
            handle
        )
    lapsed = await services.lapsing.sweep()
    print(
        f"imported {report.stored} orders ({report.again} reported before, {report.moved} moved "
        f"a lifecycle stage); {lapsed} customers lapsed; {len(report.errors)} bad rows"
    )
    for line, message in report.errors:
        print(f"{path}:{line}: {message}", file=sys.stderr)
    return 3 if report.errors else 0


async def _export(services: Services, path: Path | None) -> int:
    handle: TextIO = path.open("w", encoding="utf-8", newline="") if path else sys.stdout
    try:
        writer = csv.writer(handle)
        count = -1
        async for row in CustomerCsv(records=services.customers).export_rows():
            writer.writerow(row)
            count += 1
    finally:
        if path:
            handle.close()
    if path:
        print(f"exported {count} customers to {path}")
    return 0


async def _kb_import(services: Services, folder: Path) -> int:
    report = await services.articles.import_dir(folder, None)
    print(
        f"{len(report.created)} articles created, {len(report.updated)} updated, "
        f"{len(report.unchanged)} unchanged; {len(report.errors)} bad files"
    )
    for error in report.errors:
        print(f"{folder}/{error}", file=sys.stderr)
    return 3 if report.errors else 0


async def _kb_export(services: Services, folder: Path) -> int:
    print(f"exported {await services.articles.export_dir(folder)} articles to {folder}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
