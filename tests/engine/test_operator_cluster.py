"""The operator on the executing local cluster (kube-scheduler, kwok GPU nodes, job controller, Kueue).

Real processes, no mocks: Jobs planned from datums, admitted by Kueue through the ``b00t-budget``
AdmissionCheck the operator answers, run by kwok, settled in a real SQLite ledger; every sum the
ledger shows is recomputed here from the pods' own times.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from b00t_pulumi.budget.ledger import open_ledger
from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.observed import parse_time
from tests.engine.engine import Cluster, cluster
from tests.engine.operator_env import Api, OperatorProcess, iso, metered_cost, wait_for
from tests.engine.scenario import base_objects, job_datum, job_objects, planned, pool_stack, settings_file

NS = "op"
PRICE = Decimal("0.50")
SETTINGS: dict[str, Any] = {
    "namespace": NS,
    "prices": {"currency": "USD", "gpuHour": {"nvidia-a100": str(PRICE)}, "cpuHour": "0.03",
               "memoryGibHour": "0.004"},
    "gpuInventory": {"nodes": [{"name": "gpu-0", "gpuType": "nvidia-a100", "gpus": 1, "slots": 4},
                               {"name": "gpu-1", "gpuType": "nvidia-a100", "gpus": 1, "slots": 4}]},
    "kueue": {"clusterQueue": "b00t-op", "cpu": "64", "memory": "256Gi", "gpus": {"nvidia-a100": 8}},
    "simulation": {"timeScale": 10},  # a "30s" job runs 3 s on kwok
}


@pytest.fixture(scope="module")
def kwok_cluster(tool_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    where = tmp_path_factory.mktemp("kwok")
    with cluster(where / "cluster", tool_env, settings_file(where, SETTINGS)) as cl:
        yield cl


@pytest.fixture()
def api(kwok_cluster: Cluster) -> Api:
    return Api(kwok_cluster.api())


@pytest.fixture()
def op(kwok_cluster: Cluster, tmp_path: Path) -> Iterator[OperatorProcess]:
    p = OperatorProcess(kwok_cluster.kubeconfig, f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "operator.log",
                        settings={"prices": SETTINGS["prices"]})
    yield p
    p.kill()


@pytest.fixture(autouse=True)
def clean(api: Api) -> Iterator[None]:
    yield
    from kubernetes import client

    for j in api.jobs(NS):
        api.batch.delete_namespaced_job(j["metadata"]["name"], NS, propagation_policy="Background")
    wait_for(lambda: not api.jobs(NS) and not api.workloads(NS), 60, "the Jobs and Workloads to go")
    for b in api.custom.list_namespaced_custom_object("b00t.io", "v1", NS, "budgetconstraints")["items"]:
        api.custom.delete_namespaced_custom_object("b00t.io", "v1", NS, "budgetconstraints", b["metadata"]["name"])
    assert client  # imported for the deletes above


class Watcher:
    """Watches Workloads (every version: a Rejected check lasts only until Kueue reacts) and polls Jobs,
    recording our check's messages per Job and when each Job was unsuspended."""

    def __init__(self, api: Api) -> None:
        self.api = api
        self.messages: dict[str, set[str]] = {}
        self.released: dict[str, float] = {}
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._workloads, daemon=True),
                         threading.Thread(target=self._jobs, daemon=True)]
        for t in self._threads:
            t.start()

    def _workloads(self) -> None:
        from kubernetes import watch

        while not self._stop.is_set():
            w = watch.Watch()
            try:
                for ev in w.stream(self.api.custom.list_namespaced_custom_object, c.KUEUE_GROUP, c.KUEUE_VERSION,
                                   NS, c.WORKLOADS, timeout_seconds=2):
                    obj = ev["object"]
                    owner = next((o["name"] for o in obj["metadata"].get("ownerReferences", [])),
                                 obj["metadata"]["name"])
                    for e in (obj.get("status") or {}).get("admissionChecks") or []:
                        if e["name"] == c.ADMISSION_CHECK_NAME and e.get("message"):
                            self.messages.setdefault(owner, set()).add(f"{e['state']}: {e['message']}")
                    if self._stop.is_set():
                        break
            except Exception:  # the stream ended or the server is busy: watch again
                time.sleep(0.1)
            finally:
                w.stop()

    def _jobs(self) -> None:
        while not self._stop.is_set():
            try:
                for j in self.api.jobs(NS):
                    if not j["spec"].get("suspend") and j["metadata"]["name"] not in self.released:
                        self.released[j["metadata"]["name"]] = time.time()
            except Exception:
                pass
            time.sleep(0.1)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(5)


def _succeeded(api: Api, names: set[str]) -> bool:
    done = {j["metadata"]["name"] for j in api.jobs(NS)
            if any(x["type"] == "Complete" and x["status"] == "True" for x in (j.get("status") or {}).get(
                "conditions") or [])}
    return names <= done


def _admitted_at(api: Api) -> dict[str, float]:
    out: dict[str, float] = {}
    for w in api.workloads(NS):
        owner = w["metadata"]["ownerReferences"][0]["name"]
        for x in (w.get("status") or {}).get("conditions") or []:
            if x["type"] == "Admitted" and x["status"] == "True":
                t = parse_time(x.get("lastTransitionTime"))
                if t is not None:
                    out[owner] = t
    return out


def _wait_for_fresh_minute(margin: float = 25.0) -> None:
    """Start a per-minute test with at least ``margin`` seconds left in the current minute."""
    left = 60 - time.time() % 60
    if left < margin:
        time.sleep(left + 0.5)


def test_budget_with_room_for_n_admits_n_then_the_rest_after_the_reset(api: Api, op: OperatorProcess,
                                                                        tmp_path: Path) -> None:
    n = 4
    datums = {"pool.stack.toml": pool_stack("pool", limit="4.00", cost_per_job="1.00", schedule="* * * * *")}
    datums |= {f"j{i}.job.toml": job_datum(f"j{i}", "pool", duration="20s") for i in range(2 * n)}
    _, plan = planned(tmp_path / "datums", datums, SETTINGS)
    api.apply_all(base_objects(plan))
    op.start()
    _wait_for_fresh_minute()
    watch = Watcher(api)
    first_window = time.time() // 60 * 60
    api.apply_all(job_objects(plan))
    names = {f"j{i}" for i in range(2 * n)}
    try:
        wait_for(lambda: len(_admitted_at(api)) >= n, 30, f"{n} admissions")
        time.sleep(3)
        early = {k for k, t in _admitted_at(api).items() if t < first_window + 60}
        assert len(early) == n, f"admitted in the first window: {sorted(early)}\n{op.tail()}"
        waiting = names - early
        for name in waiting:
            assert any("waits for the window reset at " + iso(first_window + 60) in m
                       for m in watch.messages.get(name, ())), (name, watch.messages.get(name))
        wait_for(lambda: _succeeded(api, names), 150, "every Job to succeed after the reset")
    finally:
        watch.stop()
    admitted = _admitted_at(api)
    later = {k: t for k, t in admitted.items() if k in waiting}
    assert all(t >= first_window + 60 for t in later.values()), later
    windows: dict[int, int] = {}
    for t in admitted.values():
        windows[int(t // 60)] = windows.get(int(t // 60), 0) + 1
    assert max(windows.values()) <= n, windows

    def settled() -> list[Any] | None:  # the operator settles a Job a moment after it succeeds
        with open_ledger(op.ledger) as ledger:
            rows = ledger.records("pool-budget")
        done = [r for r in rows if r.id.startswith(c.ACTUAL_PREFIX) and r.state == "spent"]
        return rows if len(done) >= 2 * n else None

    rows = wait_for(settled, 30, f"the {2 * n} Jobs settled")
    with open_ledger(op.ledger) as ledger:
        spent = {w: ledger.spend("pool-budget", datetime.fromtimestamp(w * 60, UTC), "USD") for w in windows}
    assert all(s.amount == Decimal(windows[w]) for w, s in spent.items()), (spent, windows)
    actual = [r for r in rows if r.id.startswith(c.ACTUAL_PREFIX)]
    assert len(actual) == 2 * n and all(r.state == "spent" for r in actual)


def test_fail_budget_rejects_the_workloads_over_it(api: Api, op: OperatorProcess, tmp_path: Path) -> None:
    datums = {"pool.stack.toml": pool_stack("pool", limit="2.00", cost_per_job="1.00", policy="fail")}
    datums |= {f"f{i}.job.toml": job_datum(f"f{i}", "pool", duration="10s") for i in range(3)}
    _, plan = planned(tmp_path / "datums", datums, SETTINGS)
    api.apply_all(base_objects(plan))
    op.start()
    watch = Watcher(api)
    try:
        for job in job_objects(plan):  # one by one: the first two fit, the third does not
            api.apply(job)
            time.sleep(1.5)

        def inactive() -> list[dict[str, Any]]:  # Kueue deactivates a Workload whose check is Rejected
            return [w for w in api.workloads(NS) if w["spec"].get("active") is False]

        wait_for(lambda: len(inactive()) == 1, 30, "Kueue to deactivate one Workload")
        wait_for(lambda: _succeeded(api, {"f0", "f1"}), 60, "the two within the budget to succeed")
    finally:
        watch.stop()
    wl = inactive()[0]
    assert wl["metadata"]["ownerReferences"][0]["name"] == "f2"
    seen = watch.messages.get("f2", set())
    assert any(m.startswith("Rejected: ") and "onBudgetExceeded=fail" in m and "3.00 USD of 2.00 USD" in m
               for m in seen), seen
    f2 = api.batch.read_namespaced_job("f2", NS)
    assert f2.spec.suspend is True and not api.pods_of(NS, f2.metadata.uid)
    with open_ledger(op.ledger) as ledger:
        assert ledger.get(wl["metadata"]["uid"]) is None  # a rejected Workload reserved nothing


def test_later_epoch_starts_at_its_epoch_not_before(api: Api, op: OperatorProcess, tmp_path: Path) -> None:
    datums = {"pool.stack.toml": pool_stack("pool", limit="100.00", cost_per_job="1.00"),
              "queued.job.toml": job_datum("queued", "pool", duration="10s"),
              "plain.job.toml": job_datum("plain", "pool", queue=None, duration="10s")}
    _, plan = planned(tmp_path / "datums", datums, SETTINGS)
    api.apply_all(base_objects(plan))
    op.start()
    start = time.time() + 25
    watch = Watcher(api)
    try:
        api.apply_all(job_objects(plan, starts={"queued": iso(start), "plain": iso(start)}))
        time.sleep(5)
        assert not watch.released, f"released before the epoch: {watch.released}"
        # the Workload's status may come a moment later than the Job under load
        held = wait_for(lambda: api.workloads(NS)[0]["status"]["admissionChecks"], 30, "the Workload's checks")
        assert any("waits for its GPU epoch" in e.get("message", "") or e["state"] == c.PENDING for e in held), held
        wait_for(lambda: len(watch.released) == 2, 60, "both Jobs released")
    finally:
        watch.stop()
    epoch = int(start)  # Kubernetes keeps whole seconds: the annotation says this second
    for name, t in watch.released.items():
        assert t >= epoch, f"{name} released {epoch - t:.1f}s before its epoch"
        assert t - epoch < 5, f"{name} released {t - epoch:.1f}s after its epoch\n{op.tail()}"
    for j in api.jobs(NS):
        for p in api.pods_of(NS, j["metadata"]["uid"]):
            created = parse_time(p["metadata"]["creationTimestamp"])
            assert created is not None and created >= epoch


def test_sigkill_three_times_during_thirty_jobs_counts_each_once(api: Api, op: OperatorProcess,
                                                                  tmp_path: Path) -> None:
    names = [f"g{i:02d}" for i in range(30)]
    datums = {"pool.stack.toml": pool_stack("pool", limit="1000.00")}  # metered: GPU time x price
    datums |= {f"{n}.job.toml": job_datum(n, "pool", duration=f"{20 + 3 * (i % 7)}s", gpus=1)
               for i, n in enumerate(names)}
    _, plan = planned(tmp_path / "datums", datums, SETTINGS)
    api.apply_all(base_objects(plan))
    op.start()
    api.apply_all(job_objects(plan))
    for pause in (3.0, 5.0, 6.0):  # while Jobs are admitted, run and are settled
        time.sleep(pause)
        op.kill()
        op.start()
    wait_for(lambda: _succeeded(api, set(names)), 240, "all 30 Jobs to succeed")
    jobs = {j["metadata"]["name"]: j for j in api.jobs(NS)}
    def cost(n: str) -> Decimal:  # pod time x (1 A100 x 0.50 + 1 core x 0.03 + 1 GiB x 0.004) per hour
        return metered_cost(api.pods_of(NS, jobs[n]["metadata"]["uid"]), SETTINGS["prices"], "nvidia-a100")

    expected = sum((cost(n) for n in names), Decimal(0))
    assert expected > 0

    def settled() -> bool:
        with open_ledger(op.ledger) as ledger:
            return sum(1 for r in ledger.records("pool-budget") if r.id.startswith(c.ACTUAL_PREFIX)) == 30
    wait_for(settled, 60, "30 settlements")
    with open_ledger(op.ledger) as ledger:
        rows = ledger.records("pool-budget")
        window = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        spend = ledger.spend("pool-budget", window, "USD")
    actual = [r for r in rows if r.id.startswith(c.ACTUAL_PREFIX)]
    assert sorted(r.id for r in actual) == sorted(c.actual_id(jobs[n]["metadata"]["uid"]) for n in names)
    assert all(r.state == "spent" for r in actual)
    assert [r.id for r in rows if r.state == "reserved"] == []  # every estimate settled or released
    for n in names:
        mine = [r for r in actual if r.id == c.actual_id(jobs[n]["metadata"]["uid"])]
        assert mine[0].amount.amount == cost(n), n
    assert spend.amount == expected
    status = wait_for(lambda: api.budget(NS, "pool-budget").get("status", {}).get("jobsRun") == 30
                      and api.budget(NS, "pool-budget")["status"], 30, "the budget status")
    assert Decimal(status["currentSpend"]) == expected and op.starts == 4
