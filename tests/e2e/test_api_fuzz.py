"""Schemathesis over the whole OpenAPI document of a running `contactcenter serve --demo`, on
both backends, with an admin token: no request it makes, valid or not (NUL characters, numbers
beyond 64 bits, missing and undeclared content types), may answer a 5xx or a status the document
does not list. A bounded number of examples per operation and a fixed seed keep it repeatable
(CONTACTCENTER_FUZZ_EXAMPLES and CONTACTCENTER_FUZZ_SEED change them for a longer hunt)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from .test_serve import _env, _free_port, _run, _wait_healthy

SCHEMATHESIS = str(Path(sys.executable).with_name("schemathesis"))
pytestmark = pytest.mark.slow


def test_no_request_makes_a_server_error_or_an_undocumented_status(
    tmp_path: Path, database_url: str
) -> None:
    env = _env(
        tmp_path,
        database_url,
        CONTACTCENTER_SEMANTIC_SEARCH="false",
        CONTACTCENTER_TWILIO_AUTH_TOKEN="fuzz-token-0123456789",
        CONTACTCENTER_TWILIO_ACCOUNT_SID="AC" + "0" * 32,
    )
    if "postgresql" in database_url:
        assert _run(env, "migrate").returncode == 0
    made = _run(
        env,
        "createuser",
        "fuzz",
        "--role",
        "admin",
        "--token",
        "fuzz",
        stdin="a long enough password\n",
    )
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().rsplit(" ", 1)[-1]
    port = _free_port()
    log = (tmp_path / "serve.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "contactcenter.cli", "serve", "--demo", "--port", str(port)],
        env=env,
        text=True,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        _wait_healthy(port, process)
        fuzz = subprocess.run(
            [
                SCHEMATHESIS,
                "run",
                f"http://127.0.0.1:{port}/api/v1/openapi.json",
                "-H",
                f"Authorization: Bearer {token}",
                "--checks",
                "not_a_server_error,status_code_conformance",
                "--max-examples",
                os.environ.get("CONTACTCENTER_FUZZ_EXAMPLES", "15"),
                "--seed",
                os.environ.get("CONTACTCENTER_FUZZ_SEED", "16"),
                "--generation-allow-x00",
                "true",
                "--continue-on-failure",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=env | {"NO_COLOR": "1"},
        )
    finally:
        process.kill()
        process.wait()
        log.close()
    errors = [
        line[:3000]
        for line in (tmp_path / "serve.log").read_text().splitlines()
        if '"level": "error"' in line
    ]
    assert fuzz.returncode == 0, "\n".join([fuzz.stdout[-6000:], *errors[:5]])
