"""The installed `contactcenter` command, run as an admin would run it."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from routing.policy import DEFAULT_POLICY

COMMAND = str(Path(sys.executable).with_name("contactcenter"))
pytestmark = pytest.mark.slow


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _env(tmp_path: Path, database_url: str, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONTACTCENTER_")}
    env.pop("DATABASE_URL", None)
    env |= {"CONTACTCENTER_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": database_url}
    return env | extra


def _run(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [COMMAND, *args], env=env, input=stdin, capture_output=True, text=True, timeout=60
    )


def _wait_healthy(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early: {process.stderr.read()}")  # type: ignore[union-attr]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError("serve did not answer /healthz within 30 s")


@pytest.fixture
def served(tmp_path: Path, database_url: str) -> Iterator[tuple[int, subprocess.Popen[str], str]]:
    env = _env(tmp_path, database_url, CONTACTCENTER_SHUTDOWN_TIMEOUT="10")
    made = _run(
        env,
        "createuser",
        "ops",
        "--role",
        "admin",
        "--token",
        "e2e",
        stdin="a long enough password\n",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().rsplit(" ", 1)[-1]
    port = _free_port()
    process = subprocess.Popen(
        [COMMAND, "serve", "--port", str(port)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_healthy(port, process)
        yield port, process, token
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_answers_and_a_request_in_flight_finishes_after_sigterm(served) -> None:
    port, process, token = served
    body = json.dumps(
        {"name": "Late Arrival", "identities": [{"kind": "email", "value": "late@example.com"}]}
    ).encode()
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(
        b"POST /api/v1/customers HTTP/1.1\r\nHost: localhost\r\n"
        b"Authorization: Bearer " + token.encode() + b"\r\n"
        b"Content-Type: application/json\r\nConnection: close\r\n"
        b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body[:10]
    )
    time.sleep(0.3)
    process.send_signal(signal.SIGTERM)
    time.sleep(0.5)
    sock.sendall(body[10:])
    answer = b""
    while chunk := sock.recv(65536):
        answer += chunk
    sock.close()
    assert answer.startswith(b"HTTP/1.1 201"), answer[:200]
    assert process.wait(timeout=20) == 0
    logs = [json.loads(line) for line in process.stderr.read().splitlines() if line.startswith("{")]  # type: ignore[union-attr]
    events = [entry["event"] for entry in logs]
    assert "service.stopping" in events and events[-1] == "service.stopped"
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)


def test_a_wrong_setting_stops_start_up_with_one_line(tmp_path: Path, database_url: str) -> None:
    result = _run(_env(tmp_path, database_url, CONTACTCENTER_PORT="eighty"), "serve")
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        "contactcenter: CONTACTCENTER_PORT: Input should be a valid integer, unable to parse "
        "string as an integer (got 'eighty')"
    ]


def test_customers_import_and_export_commands(tmp_path: Path, database_url: str) -> None:
    env = _env(tmp_path, database_url)
    if "postgresql" in database_url:
        assert _run(env, "migrate").returncode == 0
    source = tmp_path / "in.csv"
    source.write_text(
        "name,tier,phone,email\n"
        "Ana,key_account,+1 212 555 0142,ana@example.com\n"
        "Bad,platinum,,bad@example.com\n"
        "Bo,,,bo@example.com\n",
        encoding="utf-8",
    )
    result = _run(env, "customers", "import", str(source))
    assert result.returncode == 3
    assert "imported 2 rows (2 created, 0 updated); 1 bad rows" in result.stdout
    assert f"{source}:3: tier" in result.stderr
    out = tmp_path / "out.csv"
    assert _run(env, "customers", "export", str(out)).returncode == 0
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and lines[1].startswith("1,Ana,,key_account")
    assert "+12125550142" in lines[1]


def test_orders_import_command_moves_stages_and_reports_bad_rows(
    tmp_path: Path, database_url: str
) -> None:
    env = _env(tmp_path, database_url)
    if "postgresql" in database_url:
        assert _run(env, "migrate").returncode == 0
    source = tmp_path / "orders.csv"
    old = "2020-01-02T10:00:00+00:00"
    source.write_text(
        "email,external_ref,ordered_at,amount,products\n"
        "mei@example.com,SO-1,,120.50,laptop;dock\n"
        "mei@example.com,SO-2,,80,\n"
        "mei@example.com,SO-2,,80,\n"
        "bo@example.com,SO-3,2020-01-02,10,\n"
        f"bo@example.com,SO-4,{old},ten,\n"
        f"li@example.com,SO-5,{old},10,\n",
        encoding="utf-8",
    )
    result = _run(env, "orders", "import", str(source))
    assert result.returncode == 3, result.stderr
    assert (
        "imported 3 orders (1 reported before, 3 moved a lifecycle stage); 1 customers lapsed; "
        "2 bad rows" in result.stdout
    )
    assert f"{source}:5: ordered_at" in result.stderr  # no time zone
    assert f"{source}:6: amount" in result.stderr
    unknown = tmp_path / "bad.csv"
    unknown.write_text("customer,amount\n1,2\n", encoding="utf-8")
    refused = _run(env, "orders", "import", str(unknown))
    assert refused.returncode == 1 and "unknown column 'customer'" in refused.stderr


def test_routing_check_validates_a_policy_file(tmp_path: Path) -> None:
    good = subprocess.run(
        [COMMAND, "routing", "check", str(DEFAULT_POLICY)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert good.returncode == 0 and "valid; 3 groups, 3 tiers" in good.stdout
    bad = tmp_path / "policy.yaml"
    bad.write_text(
        "groups: [general]\ntiers:\n  t: {priority: 1}\nrules:\n  - targets: [{group: generl}]\n"
    )
    result = subprocess.run(
        [COMMAND, "routing", "check", str(bad)], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"contactcenter: {bad}:5: rules[0].targets[0].group: unknown group 'generl'; "
        "groups: general"
    )


def test_the_demo_has_a_knowledge_base_and_kb_commands_round_trip(tmp_path: Path) -> None:
    env = _env(tmp_path, f"sqlite:///{tmp_path / 'demo.db'}", CONTACTCENTER_SEMANTIC_SEARCH="false")
    port = _free_port()
    process = subprocess.Popen(
        [COMMAND, "serve", "--demo", "--port", str(port)],
        env=env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        _wait_healthy(port, process)
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        [password] = [ln.split()[3] for ln in lines if ln.split()[:2] == ["login", "agent"]]
        base = f"http://127.0.0.1:{port}"
        login = urllib.request.Request(
            f"{base}/api/v1/auth/login",
            method="POST",
            data=json.dumps({"username": "agent", "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(login, timeout=5) as answer:
            cookie = answer.headers["Set-Cookie"].split(";")[0]
        for question, title in [
            ("forgot my password", "Reset your password"),
            ("怎么开发票", "开具发票"),
        ]:
            asked = urllib.request.Request(
                f"{base}/api/v1/kb/search?q={urllib.parse.quote(question)}",
                headers={"Cookie": cookie},
            )
            with urllib.request.urlopen(asked, timeout=5) as answer:
                found = json.load(answer)
            assert found["mode"] == "lexical"
            assert title in [hit["title"] for hit in found["hits"][:3]]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)

    exported = _run(env, "kb", "export", str(tmp_path / "kb"))
    assert exported.returncode == 0 and "exported 59 articles" in exported.stdout
    (tmp_path / "kb" / "broken.md").write_text("---\ntitle: Broken\nstatus: later\n---\nBody.\n")
    imported = _run(env, "kb", "import", str(tmp_path / "kb"))
    assert imported.returncode == 3, imported.stderr
    assert "0 articles created, 0 updated, 59 unchanged; 1 bad files" in imported.stdout
    assert f"{tmp_path / 'kb'}/broken.md:3: status:" in imported.stderr
