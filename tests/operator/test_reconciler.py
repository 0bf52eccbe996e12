"""The reconcile loop on an in-memory API server and a real SQLite ledger, with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from b00t_pulumi.budget.ledger import open_ledger
from b00t_pulumi.budget.ledger.base import Ledger
from b00t_pulumi.budget.money import Money
from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.alerts import AlertSender
from b00t_pulumi.operator.book import BudgetBook
from b00t_pulumi.operator.face import Runtime, initial_sync
from b00t_pulumi.operator.reconciler import HOLD_REASON, Key, Options, Reconciler, Store
from b00t_pulumi.settings.model import Prices
from tests.operator import objects as o
from tests.operator.fake_cluster import FakeCluster

T0 = o.T0
DAY0 = datetime(2027, 1, 15, tzinfo=UTC).timestamp()  # the daily window T0 is in
PRICES = Prices(currency="USD", gpu_hour={"nvidia-a100": Decimal("0.50")}, cpu_hour=Decimal("0.03"),
                memory_gib_hour=Decimal("0.004"))


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Env:
    def __init__(self, ledger_url: str, now: float = T0 + 1) -> None:
        self.url = ledger_url
        self.clock = Clock(now)
        self.ledger: Ledger = open_ledger(ledger_url)
        self.start()

    def start(self) -> None:
        """A fresh operator process: new store, new reconciler, the same cluster and ledger."""
        old = getattr(self, "cluster", None)
        self.store = Store()
        self.cluster = FakeCluster(self.store)
        if old is not None:
            self.cluster.objects, self.cluster.pods, self.cluster.secrets = old.objects, old.pods, old.secrets
        self.book = BudgetBook(self.ledger, PRICES)
        self.alerts = AlertSender(open_ledger(self.url), self.cluster.read_secret, alerter=RecordingAlerter())
        self.rec = Reconciler(self.store, self.cluster, self.book, alerts=self.alerts,
                              options=Options(status_refresh_s=900),
                              clock=self.clock)
        self.cluster.enqueue = self.rec.enqueue
        objs = list(self.cluster.objects.items())
        initial_sync(Runtime(self.store, self.rec,
                             lambda kind: [v for (k, _, _), v in objs if k == kind]))

    def add(self, kind: Any, obj: dict[str, Any]) -> dict[str, Any]:
        self.cluster.add(kind, obj)
        m = obj["metadata"]
        self.rec.enqueue([Key(kind, m.get("namespace", ""), m["name"])])
        return obj

    def run(self, until: float | None = None) -> None:
        """Reconcile everything due, moving the clock to ``until`` through each wake-up on the way."""
        target = self.clock.now if until is None else until
        for _ in range(10_000):
            self.rec.run_due()
            nxt = self.rec.next_due()
            if nxt is None or nxt > target:
                break
            self.clock.now = max(self.clock.now, nxt)
        self.clock.now = max(self.clock.now, target)
        self.rec.run_due()

    def spend(self, window_start: float = DAY0) -> Money:
        return self.ledger.spend("b", datetime.fromtimestamp(window_start, UTC), "USD")


class RecordingAlerter:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []

    def send(self, webhook: str, payload: Any) -> bool:
        self.sent.append((webhook, dict(payload)))
        return True


@pytest.fixture()
def env(tmp_path: Path) -> Iterator[Env]:
    e = Env(f"sqlite:///{tmp_path / 'ledger.db'}")
    yield e
    e.ledger.close()


def test_admission_check_is_made_active(env: Env) -> None:
    env.add("check", o.admission_check())
    env.add("check", {**o.admission_check(controller="other.io/x"), "metadata": {
        "name": "other", "generation": 1, "resourceVersion": "1"}})
    env.run()
    cond = env.cluster.get("check", "", c.ADMISSION_CHECK_NAME)["status"]["conditions"][0]
    assert cond["type"] == "Active" and cond["status"] == "True" and cond["observedGeneration"] == 1
    assert env.cluster.get("check", "", "other")["status"] == {}
    writes = len(env.cluster.writes)
    env.run()
    assert len(env.cluster.writes) == writes  # nothing more to write once Active


def test_budget_with_room_for_n_admits_n_and_the_rest_after_the_reset(env: Env) -> None:
    env.add("budget", o.budget(limit="5.00", schedule="* * * * *"))
    jobs = [env.add("job", o.job(f"j{i}", queue="q", cost="1.25")) for i in range(8)]
    wls = [env.add("workload", o.workload(j)) for j in jobs]
    env.run()
    states = [env.cluster.check_of("ai", w["metadata"]["name"]) for w in wls]
    assert [s["state"] for s in states].count(c.READY) == 4
    waiting = [w["metadata"]["name"] for w, s in zip(wls, states, strict=True) if s["state"] != c.READY]
    for name in waiting:  # out of the queue until the reset, with the reason on the check and the Workload
        st = env.cluster.check_of("ai", name)
        wl = env.cluster.get("workload", "ai", name)
        assert st["state"] == c.PENDING and "waits for the window reset at 2027-01-15T08:01:00Z" in st["message"]
        assert wl["spec"]["active"] is False and wl["metadata"]["annotations"][c.HELD_UNTIL] == "2027-01-15T08:01:00Z"
    assert env.spend(T0) == Money.of("5.00")
    env.run(until=T0 + 59)
    assert all(env.cluster.get("workload", "ai", n)["spec"]["active"] is False for n in waiting)  # not before
    env.run(until=T0 + 60)
    assert all(env.cluster.get("workload", "ai", n)["spec"]["active"] is True for n in waiting)
    for n in waiting:  # Kueue queues them again and reserves quota
        env.cluster.give_quota("ai", n)
    env.run()
    assert [env.cluster.check_of("ai", w["metadata"]["name"])["state"] for w in wls].count(c.READY) == 8
    assert env.spend(T0 + 60) == Money.of("5.00")
    assert {r.id for r in env.ledger.records("b")} == {w["metadata"]["uid"] for w in wls}  # id = Workload UID


def test_fail_budget_rejects_what_is_over_it(env: Env) -> None:
    env.add("budget", o.budget(limit="2.00", policy="fail"))
    wls = [env.add("workload", o.workload(env.add("job", o.job(f"j{i}", queue="q", cost="1.00"))))
           for i in range(3)]
    env.run()
    states = [env.cluster.check_of("ai", w["metadata"]["name"]) for w in wls]
    assert [s["state"] for s in states] == [c.READY, c.READY, c.REJECTED]
    assert "onBudgetExceeded=fail" in states[2]["message"]


def test_later_epoch_waits_then_is_released_at_its_start(env: Env) -> None:
    env.add("budget", o.budget())
    start = T0 + 120
    job = env.add("job", o.job("later", queue="q", suspended_until=start))
    wl = env.add("workload", o.workload(job))
    name = wl["metadata"]["name"]
    env.run()
    st = env.cluster.check_of("ai", name)
    assert st["state"] == c.PENDING and "planned start 2027-01-15T08:02:00Z" in st["message"]
    assert env.cluster.get("workload", "ai", name)["spec"]["active"] is False  # no quota while it waits
    assert env.spend() == Money.of("0")  # nothing counted while it waits
    env.run(until=start - 1)
    assert env.cluster.get("workload", "ai", name)["spec"]["active"] is False
    env.run(until=start)
    assert env.cluster.get("workload", "ai", name)["spec"]["active"] is True
    env.cluster.give_quota("ai", name)
    env.run()
    assert env.cluster.check_of("ai", name)["state"] == c.READY
    assert env.spend() == Money.of("2.50")


def test_kueue_quota_a_little_early_keeps_it_pending_and_wakes_at_the_start(env: Env) -> None:
    env.add("budget", o.budget())
    start = T0 + 4
    wl = env.add("workload", o.workload(env.add("job", o.job("soon", queue="q", suspended_until=start))))
    name = wl["metadata"]["name"]
    env.run()
    assert env.cluster.check_of("ai", name)["state"] == c.PENDING
    assert env.cluster.get("workload", "ai", name)["spec"]["active"] is True  # a few seconds: keeps its quota
    env.run(until=start)
    assert env.cluster.check_of("ai", name)["state"] == c.READY


def test_workload_waiting_for_a_job_is_back_in_the_queue_when_it_succeeds(env: Env) -> None:
    env.add("budget", o.budget())
    first = env.add("job", o.job("first", queue="q"))
    wl = env.add("workload", o.workload(env.add("job", o.job("second", queue="q", after="first"))))
    name = wl["metadata"]["name"]
    env.run(until=T0 + 30)
    assert env.cluster.get("workload", "ai", name)["spec"]["active"] is False
    assert env.cluster.get("workload", "ai", name)["metadata"]["annotations"][c.HELD_UNTIL] == ""
    env.add("job", o.finished(first, T0, T0 + 31))
    env.clock.now = T0 + 31
    env.run()
    assert env.cluster.get("workload", "ai", name)["spec"]["active"] is True  # at once, on the event


def test_job_outside_kueue_is_unsuspended_when_its_holds_end(env: Env) -> None:
    env.add("budget", o.budget())
    env.add("job", o.job("first"))
    env.add("job", o.job("second", suspend=True, suspended_until=T0 + 30, after="first"))
    env.run(until=T0 + 40)
    second = env.cluster.get("job", "ai", "second")
    assert second["spec"]["suspend"] is True
    assert "waits for Job ai/first to succeed" in second["metadata"]["annotations"][HOLD_REASON]
    env.add("job", o.finished(env.cluster.get("job", "ai", "first"), T0, T0 + 41))
    env.clock.now = T0 + 42
    env.run()
    second = env.cluster.get("job", "ai", "second")
    assert second["spec"]["suspend"] is False and HOLD_REASON not in second["metadata"]["annotations"]
    assert env.ledger.get(second["metadata"]["uid"]) is not None  # its estimate, under its UID


def test_gate_reservation_at_deploy_is_not_counted_twice(env: Env) -> None:
    env.add("budget", o.budget())
    wkey = "2027-01-15T00:00:00Z"
    env.ledger.reserve("b", datetime(2027, 1, 15, tzinfo=UTC), c.gate_job_id("b", "j", wkey), Money.of("2.50"),
                       Money.of("10"))
    job = env.add("job", o.job("j", queue="q"))
    wl = env.add("workload", o.workload(job))
    env.run()
    assert env.cluster.check_of("ai", wl["metadata"]["name"])["state"] == c.READY
    assert env.spend() == Money.of("2.50") and len(env.ledger.records("b")) == 1


def test_settlement_records_actual_once_and_releases_the_estimate(env: Env) -> None:
    env.add("budget", o.budget())  # metered: no costPerJob
    jd = env.add("job", o.job("gpu", queue="q", gpus=1, gpu_type="nvidia-a100", cost="9.00"))
    wl = env.add("workload", o.workload(jd))
    env.run()
    assert env.spend() == Money.of("9.00")
    env.cluster.pods[jd["metadata"]["uid"]] = [o.pod(jd, "gpu-1", T0 + 2, T0 + 3602)]  # one hour of it
    env.add("job", o.finished(jd, T0 + 2, T0 + 3602))
    env.clock.now = T0 + 3603
    env.run()
    # 1 A100 x 0.50 + 1 core x 0.03 + 1 GiB x 0.004 (the cost model's prices of what the pod requested)
    assert env.spend() == Money.of("0.534")
    actual = env.ledger.get(c.actual_id(jd["metadata"]["uid"]))
    assert actual is not None and actual.state == "spent" and actual.amount == Money.of("0.534")
    estimate = env.ledger.get(wl["metadata"]["uid"])
    assert estimate is not None and estimate.state == "released"
    status = env.cluster.get("budget", "ai", "b")["status"]
    assert Decimal(status["currentSpend"]) == Decimal("0.534") and status["jobsRun"] == 1
    env.start()  # a restarted operator settles nothing twice
    env.run()
    assert env.spend() == Money.of("0.534") and len(env.ledger.records("b")) == 2


def test_crash_between_the_settlement_writes_is_repaired(env: Env) -> None:
    env.add("budget", o.budget(cost_per_job="1.00"))
    jd = env.add("job", o.job("j", queue="q", cost="1.00"))
    wl = env.add("workload", o.workload(jd))
    env.run()
    # the old process counted the actual and died before marking it spent and releasing the estimate
    env.ledger.reserve("b", datetime.fromtimestamp(DAY0, UTC), c.actual_id(jd["metadata"]["uid"]), Money.of("1.00"),
                       None)
    assert env.spend() == Money.of("2.00")
    env.cluster.objects[("job", "ai", "j")] = o.finished(jd, T0 + 1, T0 + 5)
    env.start()
    env.run()
    assert env.spend() == Money.of("1.00")
    assert env.ledger.get(c.actual_id(jd["metadata"]["uid"])).state == "spent"  # type: ignore[union-attr]
    assert env.ledger.get(wl["metadata"]["uid"]).state == "released"  # type: ignore[union-attr]


def test_deferred_deployment_gets_its_replicas_back_and_accrues_each_window(env: Env) -> None:
    env.add("budget", o.budget(limit="10.00"))
    env.add("deployment", o.deployment("api", replicas=0, deferred_until=T0 + 3600 * 16, planned=2))
    env.run()
    assert env.cluster.get("deployment", "ai", "api")["spec"]["replicas"] == 0
    env.run(until=T0 + 3600 * 16 + 1)  # 2027-01-16T00:00:01Z: the next day's window
    assert env.cluster.get("deployment", "ai", "api")["spec"]["replicas"] == 2
    day2 = datetime(2027, 1, 16, tzinfo=UTC).timestamp()
    assert env.spend(day2) == Money.of("4.00")
    env.run(until=day2 + 86400 + 1)  # still running the day after: counted again, once
    assert env.spend(day2 + 86400) == Money.of("4.00")
    env.start()
    env.run()
    assert env.spend(day2 + 86400) == Money.of("4.00")


def test_alert_is_sent_once_off_the_reconcile_path(env: Env) -> None:
    env.add("budget", o.budget(limit="4.00", threshold=0.5, webhook=True))
    env.cluster.secrets[("ai", "b-webhook", "url")] = "http://127.0.0.1:9/hook"
    for i in range(3):
        env.add("workload", o.workload(env.add("job", o.job(f"j{i}", queue="q", cost="1.00"))))
    env.run()
    env.alerts.drain()
    env.run(until=env.clock.now + 20)
    env.alerts.drain()
    alerter = env.alerts.alerter
    assert isinstance(alerter, RecordingAlerter)
    assert [p["constraint_id"] for _, p in alerter.sent] == ["b"]
    assert alerter.sent[0][0] == "http://127.0.0.1:9/hook"


def test_orphaned_reservation_is_kept_as_spent(env: Env) -> None:
    env.add("budget", o.budget())
    jd = env.add("job", o.job("j", queue="q"))
    wl = env.add("workload", o.workload(jd))
    env.run()
    del env.cluster.objects[("job", "ai", "j")]
    del env.cluster.objects[("workload", "ai", wl["metadata"]["name"])]
    env.start()
    env.run()
    r = env.ledger.get(wl["metadata"]["uid"])
    assert r is not None and r.state == "spent" and env.spend() == Money.of("2.50")


class FlakyAlerter:
    """Fails the first ``fail`` sends (a dead webhook), then delivers."""

    def __init__(self, fail: int) -> None:
        self.fail = fail
        self.calls = 0

    def send(self, webhook: str, payload: Any) -> bool:
        self.calls += 1
        return self.calls > self.fail


def test_failed_alert_clears_its_marker_and_is_retried_off_the_loop(tmp_path: Path) -> None:
    import time

    from b00t_pulumi.operator.book import Budget
    from b00t_pulumi.operator.observed import BudgetView

    url = f"sqlite:///{tmp_path / 'a.db'}"
    ledger = open_ledger(url)
    budget = Budget.of(BudgetView.from_dict(o.budget(limit="4.00", threshold=0.5, webhook=True)))
    window = budget.window(T0)
    flaky = FlakyAlerter(fail=2)
    sender = AlertSender(ledger, lambda ns, name, key: "http://127.0.0.1:9/hook", alerter=flaky, backoff_s=0.05)
    sender.start()
    started = time.monotonic()
    assert sender.submit(budget, window, Decimal("0.5"), Money.of("3.00"))
    assert time.monotonic() - started < 0.05  # submit never waits for the webhook
    assert not sender.submit(budget, window, Decimal("0.5"), Money.of("3.00"))  # in flight: not queued twice
    deadline = time.monotonic() + 5
    while not sender.sent and time.monotonic() < deadline:
        time.sleep(0.02)
    sender.stop()
    assert flaky.calls == 3 and len(sender.sent) == 1
    assert not ledger.claim_alert("b", window.start, Decimal("0.5"))  # the marker of the sent alert stays


def test_workload_of_a_queued_deployments_pod_is_ready_at_once(env: Env) -> None:
    """Kueue's pod integration makes a Workload per pod of a queued Deployment: no gate holds those
    (the Deployment's budget is counted per window), so they must not wait for a Job that never comes."""
    pod_owned = o.workload(o.job("unused", queue="q"))
    pod_owned["metadata"]["ownerReferences"] = [{"apiVersion": "v1", "kind": "Pod", "name": "redis-5dbc-x",
                                                 "uid": o.uid()}]
    env.add("workload", pod_owned)
    env.run()
    assert env.cluster.check_of("ai", pod_owned["metadata"]["name"])["state"] == c.READY


def test_budget_created_after_the_operator_started_is_read_live(env: Env) -> None:
    """Found on the local cluster: kopf did not start watching BudgetConstraints whose CRD appeared
    after it started, and a Workload of that budget looped out of and back into the queue."""
    wl = env.add("workload", o.workload(env.add("job", o.job("j", queue="q"))))
    name = wl["metadata"]["name"]
    env.run()
    assert env.cluster.get("workload", "ai", name)["spec"]["active"] is False  # no budget yet: held a while
    spec_writes = sum(1 for k, _, _ in env.cluster.writes if k == "workload-spec")
    bud = o.budget()
    env.cluster.objects[("budget", "ai", "b")] = bud  # in the cluster, never seen by a watch
    env.run(until=T0 + 12)
    assert env.cluster.get("workload", "ai", name)["spec"]["active"] is True
    assert sum(1 for k, _, _ in env.cluster.writes if k == "workload-spec") == spec_writes + 1  # once, no loop
    env.cluster.give_quota("ai", name)
    env.run()
    assert env.cluster.check_of("ai", name)["state"] == c.READY and env.spend() == Money.of("2.50")
