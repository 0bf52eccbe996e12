"""BudgetGate provider methods called directly, against a real sqlite ledger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pulumi.runtime.rpc import UNKNOWN

from b00t_pulumi.budget import open_ledger
from b00t_pulumi.errors import B00tError
from b00t_pulumi.gates.budget_gate import BudgetGateProvider
from b00t_pulumi.gates.decisions import GateFields, apply_fields, gate_fields, hpa_floor

NOW = "2026-11-22T21:30:00Z"


def outs(result: Any) -> dict[str, Any]:
    assert result.outs is not None
    out: dict[str, Any] = result.outs
    return out


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("B00T_NOW", NOW)


def gate(ledger: str, policy: str = "fail", jobs: int = 5, cost: str = "2.50", limit: str = "100.00",
         threshold: float | None = None, webhook: str | None = None) -> dict[str, Any]:
    return {
        "constraint_id": "llm-inference-pipeline-budget",
        "subject": "stack llm-inference-pipeline",
        "constraint": {"daily_limit": limit, "currency": "USD", "cost_per_job": cost, "alert_threshold": threshold,
                       "n8n_webhook": webhook, "on_budget_exceeded": policy, "reset_schedule": "0 0 * * *",
                       "timezone": "UTC"},
        "items": [{"id": f"job/batch-{i}", "kind": "job", "name": f"batch-{i}", "cost": cost} for i in range(jobs)],
        "ledger": ledger,
    }


@pytest.fixture()
def ledger(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ledger.db'}"


def spend_so_far(url: str, amount: str) -> None:
    from datetime import UTC, datetime

    from b00t_pulumi.budget import Money

    with open_ledger(url) as led:
        led.reserve("llm-inference-pipeline-budget", datetime(2026, 11, 22, tzinfo=UTC), "earlier-run",
                    Money.of(amount, "USD"), None)


def test_over_the_limit_fails_check_with_the_actionable_message(ledger: str) -> None:
    spend_so_far(ledger, "100.00")
    result = BudgetGateProvider().check({}, gate(ledger, jobs=5))
    assert len(result.failures) == 1
    assert result.failures[0].reason == ("stack llm-inference-pipeline: projected 112.50 USD of 100.00 USD daily "
                                         "limit (5 jobs x 2.50 over); window resets 2026-11-23T00:00:00Z")


@pytest.mark.parametrize(("spent", "fails"), [("87.50", False), ("87.51", True), ("0", False)])
def test_at_and_under_the_limit(ledger: str, spent: str, fails: bool) -> None:
    if spent != "0":
        spend_so_far(ledger, spent)
    assert bool(BudgetGateProvider().check({}, gate(ledger, jobs=5)).failures) == fails


def test_defer_does_not_fail_and_lists_the_jobs_beyond(ledger: str) -> None:
    spend_so_far(ledger, "95.00")
    p = BudgetGateProvider()
    news = gate(ledger, policy="defer", jobs=4)
    assert p.check({}, news).failures == []
    got = outs(p.create(news))
    assert got["reserved"] == ["llm-inference-pipeline-budget:job/batch-0:2026-11-22T00:00:00Z",
                                "llm-inference-pipeline-budget:job/batch-1:2026-11-22T00:00:00Z"]
    assert got["deferred"] == {"batch-2": "2026-11-23T00:00:00Z", "batch-3": "2026-11-23T00:00:00Z"}
    assert got["spend"] == "100.00" and got["outcome"] == "deferred"
    job = {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "batch-3"}, "spec": {"template": {}}}
    deferred = apply_fields(job, gate_fields("batch-3", epoch=False, budget=True, assignment=None,
                                             deferred=got["deferred"]))
    assert deferred["spec"]["suspend"] is True
    assert deferred["metadata"]["annotations"]["b00t.io/deferred-until"] == "2026-11-23T00:00:00Z"
    runs = apply_fields(job, gate_fields("batch-0", epoch=False, budget=True, assignment=None,
                                         deferred=got["deferred"]))
    assert runs["spec"]["suspend"] is False and runs["metadata"]["annotations"]["b00t.io/deferred-until"] == ""


def test_update_twice_reserves_once(ledger: str) -> None:
    p = BudgetGateProvider()
    news = gate(ledger, jobs=3)
    first = outs(p.create(news))
    again = outs(p.update("id", first, news))
    assert again["reserved"] == first["reserved"] and again["spend"] == "7.50"
    # check of the same inputs does not count its own reservations
    assert p.check(first, news).failures == []
    with open_ledger(ledger) as led:
        assert len(led.records("llm-inference-pipeline-budget")) == 3


def test_update_releases_dropped_items_and_delete_releases_the_rest(ledger: str) -> None:
    p = BudgetGateProvider()
    first = outs(p.create(gate(ledger, jobs=3)))
    fewer = outs(p.update("id", first, gate(ledger, jobs=1)))
    assert len(fewer["released"]) == 2 and fewer["spend"] == "2.50"
    p.delete("id", fewer)
    with open_ledger(ledger) as led:
        from datetime import UTC, datetime

        left = led.spend("llm-inference-pipeline-budget", datetime(2026, 11, 22, tzinfo=UTC), "USD")
        assert left.amount == 0


def test_alert_policy_goes_on_past_the_limit(ledger: str) -> None:
    spend_so_far(ledger, "99.00")
    p = BudgetGateProvider()
    news = gate(ledger, policy="alert", jobs=2, threshold=0.8)
    assert p.check({}, news).failures == []
    got = outs(p.create(news))
    assert len(got["reserved"]) == 2 and got["outcome"] == "alert" and got["spend"] == "104.00"


def test_unknown_inputs_during_preview_are_not_checked(ledger: str) -> None:
    news = gate(ledger)
    news["items"] = UNKNOWN
    assert BudgetGateProvider().check({}, news).failures == []


def test_corrupt_ledger_is_a_check_failure_not_a_crash(tmp_path: Path) -> None:
    bad = tmp_path / "ledger.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    result = BudgetGateProvider().check({}, gate(f"sqlite:///{bad}"))
    assert result.failures and result.failures[0].reason.startswith("stack llm-inference-pipeline: ")


def test_reserve_race_fails_the_update(ledger: str) -> None:
    p = BudgetGateProvider()
    news = gate(ledger, jobs=2, cost="60.00")  # check would fail; simulate spend arriving after check
    with pytest.raises(B00tError, match="stack llm-inference-pipeline"):
        p.create(news)


def test_deferral_holds_for_a_deployment_an_hpa_scales() -> None:
    dep = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "vllm", "namespace": "ns"},
           "spec": {"template": {}}}  # no replicas: the HPA owns them
    hpa = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "vllm",
           "namespace": "ns"}, "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "vllm"},
                                        "minReplicas": 2, "maxReplicas": 5}}
    floor = hpa_floor(dep, [dep, hpa])
    assert floor == 2
    held = gate_fields("vllm", epoch=False, budget=True, assignment=None, deferred={"vllm": "2026-11-23T00:00:00Z"},
                       kind="Deployment")
    out = apply_fields(dep, held, floor)
    assert out["spec"]["replicas"] == 0  # the HPA does not scale a target at 0: its floor cannot lift it
    assert out["metadata"]["annotations"]["b00t.io/deferred-until"] == "2026-11-23T00:00:00Z"
    runs = apply_fields(dep, gate_fields("vllm", epoch=False, budget=True, assignment=None, deferred={},
                                         kind="Deployment"), floor)
    assert runs["spec"]["replicas"] == 2  # back at the HPA's floor; the HPA takes it from there
    no_budget: GateFields = gate_fields("vllm", epoch=True, budget=False, assignment=None, deferred=None,
                                        kind="Deployment")
    assert "replicas" not in apply_fields(dep, no_budget, None)["spec"]  # without a budget the HPA keeps them


def test_an_update_that_changes_an_items_cost_re_prices_it_and_releases_what_no_longer_fits(ledger: str) -> None:
    """A deploy that changes a Job's or Deployment's cost in the same window (a datum edit, new
    prices) counts the new estimate instead of the old; before, the ledger refused the update."""
    p = BudgetGateProvider()
    first = outs(p.create(gate(ledger, policy="defer", jobs=2, cost="2.50", limit="6.00")))
    assert first["spend"] == "5.00" and first["deferred"] == {}
    second = outs(p.update("x", first, gate(ledger, policy="defer", jobs=2, cost="3.00", limit="6.00")))
    assert (second["spend"], second["deferred"], len(second["reserved"])) == ("6.00", {}, 2)
    third = outs(p.update("x", second, gate(ledger, policy="defer", jobs=2, cost="3.50", limit="6.00")))
    # batch-0 fits at 3.50; batch-1 does not: deferred, and its 3.00 from before no longer counted
    assert third["spend"] == "3.50" and list(third["deferred"]) == ["batch-1"]
    assert [r.split(":")[1] for r in third["reserved"]] == ["job/batch-0"]
    with open_ledger(ledger) as led:
        states = {r.id.split(":")[1]: (r.state, str(r.amount.amount)) for r in led.records()}
    assert states == {"job/batch-0": ("reserved", "3.50"), "job/batch-1": ("released", "3.00")}
