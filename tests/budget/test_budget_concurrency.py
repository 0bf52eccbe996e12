"""8 processes x 50 reservations (+ shared ids) against one ledger: the limit holds, no record is lost.

sqlite: one file. DynamoDB: a moto_server subprocess on 127.0.0.1. k8s: 8 threads against the fake
API (the real API server is the engine test's).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from b00t_pulumi.budget import Ledger, Money, open_ledger
from b00t_pulumi.budget.ledger.k8s import K8sLedger

from . import ledger_worker
from .fake_kube import FakeCustomObjects

WORKERS = 8
PER_WORKER = 50
WORKER = Path(__file__).with_name("ledger_worker.py")


def run_workers(url: str, env: dict[str, str] | None = None) -> list[dict[str, Any]]:
    procs = [
        subprocess.Popen(
            [sys.executable, str(WORKER), url, str(w), str(PER_WORKER)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **(env or {})},
        )
        for w in range(WORKERS)
    ]
    for p in procs:  # every process has imported and opened the ledger ...
        assert p.stdout is not None
        line = p.stdout.readline()
        assert line.strip() == "ready", line + (p.stderr.read() if p.stderr else "")
    for p in procs:  # ... then all go at once
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    return results


def check(ledger: Ledger, results: list[dict[str, Any]], label: str) -> dict[str, float]:
    calls = [c for r in results for c in r["calls"]]
    assert len(calls) == WORKERS * (PER_WORKER + ledger_worker.SHARED)
    new = [c for c in calls if c["approved"] and not c["replayed"]]
    records = ledger.records(ledger_worker.CONSTRAINT, ledger_worker.WINDOW)
    spend = ledger.spend(ledger_worker.CONSTRAINT, ledger_worker.WINDOW, "USD")
    # no lost record and no double count: one record per approval, ids unique
    assert len(records) == len(new)
    assert len({r.id for r in records}) == len(records)
    assert {r.id: r.amount.amount for r in records} == {c["id"]: Decimal(c["amount"]) for c in new}
    # spend is exactly the sum of the approvals, and never past the limit
    assert spend == sum((r.amount for r in records), Money.zero("USD"))
    assert spend <= ledger_worker.LIMIT
    # every shared id was newly counted at most once
    for k in range(ledger_worker.SHARED):
        assert sum(1 for c in new if c["id"] == f"shared-{k}") <= 1
    # the test means something: the limit was reached, so some calls were denied
    assert any(not c["approved"] for c in calls)
    assert ledger_worker.LIMIT - spend < Money.of("0.10")  # nothing smaller than 0.10 is ever asked
    wall = max(r["t_end"] for r in results) - min(r["t_start"] for r in results)
    rate = len(calls) / wall
    opens = [r.get("open_s", 0.0) for r in results]
    print(f"\n{label}: {len(calls)} reservations by {WORKERS} workers in {wall:.2f} s = {rate:.0f}/s; "
          f"{len(new)} approved, spend {spend}; open_ledger took up to {max(opens):.2f} s")
    return {"rate": rate, "wall": wall}


def test_sqlite_8_processes(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/ledger.db"
    open_ledger(url).close()  # create the schema once (workers racing to create it is tested below)
    results = run_workers(url)
    with open_ledger(url) as lg:
        check(lg, results, "sqlite")


def test_sqlite_schema_creation_race(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/fresh/ledger.db"
    results = run_workers(url)  # all 8 processes create the file and schema at once
    with open_ledger(url) as lg:
        check(lg, results, "sqlite (fresh file)")


def test_dynamodb_8_processes(moto_server: str) -> None:
    url = f"dynamodb://concurrency-{int(time.time() * 1000)}?region=us-east-1&endpoint={moto_server}"
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        open_ledger(url).close()  # create the table once
        results = run_workers(url, env)
        with open_ledger(url) as lg:
            check(lg, results, "dynamodb (moto_server)")
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def test_k8s_8_threads_with_conflicts() -> None:
    api = FakeCustomObjects("budgets")
    api.add(ledger_worker.CONSTRAINT)
    results: list[dict[str, Any]] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(WORKERS)

    def worker(w: int) -> Callable[[], None]:
        def run() -> None:
            try:
                lg = K8sLedger("budgets", api=api)
                calls = [(f"w{w}-{i}", ledger_worker.amount(w, i)) for i in range(PER_WORKER)]
                for k in range(ledger_worker.SHARED):
                    calls.insert((k * 11 + w) % len(calls), (f"shared-{k}", Money.of("0.25")))
                barrier.wait()
                t_start = time.time()
                out = []
                for rid, amt in calls:
                    r = lg.reserve(ledger_worker.CONSTRAINT, ledger_worker.WINDOW, rid, amt, ledger_worker.LIMIT)
                    out.append({"id": rid, "amount": str(amt.amount), "approved": r.approved, "replayed": r.replayed})
                results.append({"worker": w, "t_start": t_start, "t_end": time.time(), "calls": out})
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        return run

    threads = [threading.Thread(target=worker(w)) for w in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    check(K8sLedger("budgets", api=api), results, "k8s (fake API, threads)")
    assert api.conflicts > 0  # optimistic concurrency was exercised, and lost nothing


@pytest.mark.parametrize("n", [1])
def test_worker_amounts_are_deterministic(n: int) -> None:
    assert ledger_worker.amount(0, 0) == Money.of("0.10") and ledger_worker.amount(0, 4) == Money.of("0.50")
