"""Fixtures of the budget tests: ledgers of every backend, a moto server, a webhook server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from b00t_pulumi.budget import Ledger, open_ledger
from b00t_pulumi.budget.ledger.k8s import K8sLedger

from .fake_kube import FakeCustomObjects

CONSTRAINTS = ("a.stack", "b.stack", "llm-inference-pipeline.stack", "job-x.job")


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials, so nothing can ever reach a real AWS account."""
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    monkeypatch.delenv("AWS_PROFILE", raising=False)


def fake_k8s_ledger(namespace: str = "budgets") -> tuple[K8sLedger, FakeCustomObjects]:
    api = FakeCustomObjects(namespace)
    for name in CONSTRAINTS:
        api.add(name)
    return K8sLedger(namespace, api=api), api


@pytest.fixture(params=["sqlite", "dynamodb", "k8s"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path, aws_env: None) -> Iterator[Ledger]:
    """The same ledger contract, on every backend (dynamodb: moto in-process; k8s: a fake API)."""
    if request.param == "sqlite":
        with open_ledger(f"sqlite:///{tmp_path}/ledger.db") as lg:
            yield lg
    elif request.param == "dynamodb":
        from moto import mock_aws

        with mock_aws(), open_ledger("dynamodb://b00t-ledger?region=us-east-1") as lg:
            yield lg
    else:
        lg, _ = fake_k8s_ledger()
        yield lg


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture(scope="session")
def moto_server() -> Iterator[str]:
    """A moto server subprocess on 127.0.0.1: one DynamoDB endpoint several processes share.

    It serves moto's application on one thread (see moto_serial_server.py for why not ``moto_server``).
    """
    port = free_port()
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}
    proc = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("moto_serial_server.py")), str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                urllib.request.urlopen(f"{url}/moto-api/", timeout=1).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail("the moto server did not start")
                time.sleep(0.1)
        yield url
    finally:
        proc.kill()  # a test server with nothing to save
        proc.wait()


class Webhook:
    """A local HTTP server recording POSTs; ``statuses`` is the queue of status codes to answer."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.paths: list[str] = []
        self.statuses: list[int] = []
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                hook.paths.append(self.path)
                status = hook.statuses.pop(0) if hook.statuses else 200
                if status == 200:
                    hook.requests.append(json.loads(body))
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/webhook/budget-alert?token=s3cr3t"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.close()


@pytest.fixture
def no_sleep() -> Callable[[float], None]:
    return lambda _s: None
