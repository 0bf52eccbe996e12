"""The operator on the executing local cluster (kwok nodes, Kueue): how fast it settles, how late it releases.

    .venv/bin/python -m bench.operator [--jobs 200] [--epoch-jobs 20]

* Reconcile throughput: N Jobs outside Kueue, budgeted and metered, run to completion by kwok while
  no operator runs; then the operator starts and settles them all (list, price from pod times,
  record, release): Jobs settled per second, from its start to the last record. Side by side on the
  ``sqlite://`` ledger (``make up``) and the ``k8s://`` ledger (spend in the BudgetConstraint status,
  every write a compare-and-swap on one object), as a ratio.
* Release delay: M Jobs through Kueue and M outside it, each held for an epoch starting a few
  seconds apart; the delay from the epoch start to the moment the Job is unsuspended (Kueue admits
  it; the operator unsuspends it), p50 and p95 per path, observed by a watcher polling at 0.1 s.

Prints a table and writes bench/out/operator.json.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from tests.engine.engine import cluster, toolchain_env
from tests.engine.operator_env import Api, OperatorProcess, iso, percentile, wait_for
from tests.engine.scenario import base_objects, job_datum, job_objects, planned, pool_stack, settings_file

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "bench" / "out"
NS = "bench-op"
SETTINGS: dict[str, Any] = {
    "namespace": NS,
    "prices": {"currency": "USD", "gpuHour": {"nvidia-a100": "0.50"}},
    "gpuInventory": {"nodes": [{"name": f"gpu-{i}", "gpuType": "nvidia-a100", "gpus": 1, "slots": 8}
                               for i in range(4)]},
    "kueue": {"clusterQueue": "b00t-bench", "cpu": "256", "memory": "1Ti", "gpus": {"nvidia-a100": 32}},
    "simulation": {"timeScale": 20},  # a "20s" job runs 1 s
}


def _complete(api: Api, names: set[str]) -> bool:
    done = {j["metadata"]["name"] for j in api.jobs(NS)
            if any(x["type"] == "Complete" and x["status"] == "True"
                   for x in (j.get("status") or {}).get("conditions") or [])}
    return names <= done


def _clear(api: Api) -> None:
    for j in api.jobs(NS):
        api.batch.delete_namespaced_job(j["metadata"]["name"], NS, propagation_policy="Background")
    wait_for(lambda: not api.jobs(NS), 120, "the Jobs to be deleted")


def throughput(api: Api, kubeconfig: Path, work: Path, n: int, ledger: str) -> dict[str, Any]:
    """Settle n finished Jobs from a cold start of the operator."""
    names = [f"s{i:03d}" for i in range(n)]
    datums = {"pool.stack.toml": pool_stack("pool", limit="100000.00")}
    datums |= {f"{x}.job.toml": job_datum(x, "pool", queue=None, duration="20s", gpus=1) for x in names}
    _, plan = planned(work / "datums", datums, SETTINGS)
    api.apply_all(base_objects(plan))
    started = time.monotonic()
    api.apply_all(job_objects(plan))
    wait_for(lambda: _complete(api, set(names)), 600, f"{n} Jobs to complete on kwok", every=1.0)
    ran_s = time.monotonic() - started
    op = OperatorProcess(kubeconfig, ledger, work / "operator.log", settings={"prices": SETTINGS["prices"]})
    from b00t_pulumi.budget.ledger import open_ledger

    t0 = time.monotonic()
    op.start(timeout=120)

    def settled() -> int:
        with open_ledger(ledger) as lg:
            return sum(1 for r in lg.records("pool-budget") if r.id.startswith("actual:"))

    try:
        wait_for(lambda: settled() == n, 900, f"{n} settlements", every=0.2)
    finally:
        op.stop()
    took = time.monotonic() - t0
    _clear(api)
    return {"jobs": n, "ledger": ledger.split(":", 1)[0], "seconds": round(took, 2),
            "settled_per_s": round(n / took, 1), "kwok_run_s": round(ran_s, 1)}


def release_delay(api: Api, kubeconfig: Path, work: Path, m: int) -> dict[str, Any]:
    names = [f"q{i:02d}" for i in range(m)] + [f"p{i:02d}" for i in range(m)]
    datums = {"pool.stack.toml": pool_stack("pool", limit="100000.00", cost_per_job="0.10")}
    datums |= {f"{x}.job.toml": job_datum(x, "pool", queue="q" if x[0] == "q" else None, duration="10s")
               for x in names}
    _, plan = planned(work / "datums-epoch", datums, SETTINGS)
    api.apply_all(base_objects(plan))
    op = OperatorProcess(kubeconfig, f"sqlite:///{work / 'epoch.db'}", work / "operator-epoch.log",
                         settings={"prices": SETTINGS["prices"]})
    op.start()
    now = time.time()
    starts = {x: now + 20 + 1.5 * (i % m) for i, x in enumerate(names)}
    released: dict[str, float] = {}
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            for j in api.jobs(NS):
                name = j["metadata"]["name"]
                if name not in released and not j["spec"].get("suspend"):
                    released[name] = time.time()
            time.sleep(0.1)

    t = threading.Thread(target=watch, daemon=True)
    t.start()
    try:
        api.apply_all(job_objects(plan, starts={x: iso(s) for x, s in starts.items()}))
        wait_for(lambda: len(released) == len(names), 180, "every Job released", every=0.5)
    finally:
        stop.set()
        t.join(5)
        op.stop()
    out: dict[str, Any] = {}
    for path, prefix in (("kueue", "q"), ("suspend", "p")):
        delays = [released[x] - int(starts[x]) for x in names if x[0] == prefix]  # epochs are whole seconds
        out[path] = {"jobs": len(delays), "p50_s": round(percentile(delays, 0.5), 2),
                     "p95_s": round(percentile(delays, 0.95), 2), "min_s": round(min(delays), 2),
                     "early": sum(1 for d in delays if d < 0)}
    _clear(api)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=200)
    ap.add_argument("--k8s-jobs", type=int, default=100, help="Jobs for the k8s:// ledger run (it is slower)")
    ap.add_argument("--epoch-jobs", type=int, default=20)
    args = ap.parse_args()
    env = toolchain_env()
    with tempfile.TemporaryDirectory(prefix="b00t-bench-op-") as tmp:
        work = Path(tmp)
        with cluster(work / "cluster", env, settings_file(work, SETTINGS)) as cl:
            api = Api(cl.api())
            res: dict[str, Any] = {"throughput": [throughput(api, cl.kubeconfig, work / "sqlite", args.jobs,
                                             f"sqlite:///{work / 'settle.db'}"),
                                  throughput(api, cl.kubeconfig, work / "k8s", args.k8s_jobs,
                                             f"k8s://{NS}?kubeconfig={cl.kubeconfig}")],
                   "release_delay": release_delay(api, cl.kubeconfig, work / "epoch", args.epoch_jobs)}
    sq, k8 = res["throughput"]
    res["ratio_sqlite_over_k8s"] = round(float(sq["settled_per_s"]) / float(k8["settled_per_s"]), 1)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "operator.json").write_text(json.dumps(res, indent=2) + "\n")
    print(f"{'settle throughput':<24}{'jobs':>6}{'seconds':>10}{'jobs/s':>10}")
    for r in res["throughput"]:
        print(f"{r['ledger'] + ' ledger':<24}{r['jobs']:>6}{r['seconds']:>10}{r['settled_per_s']:>10}")
    print(f"sqlite / k8s: {res['ratio_sqlite_over_k8s']}x")
    print(f"{'epoch start -> release':<24}{'jobs':>6}{'p50 s':>10}{'p95 s':>10}{'early':>8}")
    for path, r in res["release_delay"].items():
        print(f"{path:<24}{r['jobs']:>6}{r['p50_s']:>10}{r['p95_s']:>10}{r['early']:>8}")


if __name__ == "__main__":
    main()
