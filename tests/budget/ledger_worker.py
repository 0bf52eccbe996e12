"""One process of the concurrency test: N reservations (plus shared ids) against one ledger URL.

    python ledger_worker.py URL WORKER N

Opens the ledger, prints "ready", waits for a line on stdin (so every process starts at once), then
prints one JSON object: the outcome of each call and when the calls started and ended.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal

from b00t_pulumi.budget.ledger import open_ledger
from b00t_pulumi.budget.money import Money

CONSTRAINT = "concurrency.stack"
WINDOW = datetime(2026, 11, 22, tzinfo=UTC)
LIMIT = Money.of("60.00")
SHARED = 5  # ids every worker reserves too: they must be counted once


def amount(worker: int, i: int) -> Money:
    return Money(Decimal("0.10") * (1 + (worker * 7 + i) % 5))  # 0.10 .. 0.50


def main() -> None:
    url, worker, n = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    calls = [(f"w{worker}-{i}", amount(worker, i)) for i in range(n)]
    # the shared ids, interleaved with the worker's own
    for k in range(SHARED):
        calls.insert((k * 11 + worker) % len(calls), (f"shared-{k}", Money.of("0.25")))
    t_open = time.time()
    with open_ledger(url) as ledger:
        opened = time.time() - t_open
        print("ready", flush=True)
        sys.stdin.readline()
        t_start = time.time()
        out = []
        for rid, amt in calls:
            r = ledger.reserve(CONSTRAINT, WINDOW, rid, amt, LIMIT)
            out.append({"id": rid, "amount": str(amt.amount), "approved": r.approved, "replayed": r.replayed})
        t_end = time.time()
    print(json.dumps({"worker": worker, "open_s": opened, "t_start": t_start, "t_end": t_end, "calls": out}))


if __name__ == "__main__":
    main()
