"""What the k8s ledger writes into BudgetConstraint status: small, summarized, pruned, schema-valid."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from b00t_pulumi.budget import Money
from b00t_pulumi.budget.ledger.k8s import STATUS_SCHEMA, K8sLedger

from .fake_kube import FakeCustomObjects

DAY0 = datetime(2026, 11, 1, tzinfo=UTC)


def status(api: FakeCustomObjects, name: str) -> dict[str, object]:
    obj = api.get_namespaced_custom_object("b00t.io", "v1", "budgets", "budgetconstraints", name)
    s: dict[str, object] = obj["status"]
    return s


def test_status_layout_and_schema() -> None:
    api = FakeCustomObjects()
    api.add("llm.stack", {"dailyLimit": "100.00"})
    lg = K8sLedger("budgets", api=api)
    lg.reserve("llm.stack", DAY0, "j1", Money.of("2.5"), Money.of(100))
    lg.reserve("llm.stack", DAY0, "j2", Money.of("2.5"), Money.of(100))
    lg.release("j2")
    lg.claim_alert("llm.stack", DAY0, 0.8)
    s = status(api, "llm.stack")
    jsonschema.validate(s, STATUS_SCHEMA)
    assert s["ledger"] == "b00t-ledger/1"
    assert s["windowStart"] == s["lastReset"] == "2026-11-01T00:00:00Z"
    assert s["currentSpend"] == "2.50" and s["reserved"] == "2.50" and s["jobsRun"] == 1
    assert s["alertsSent"] == ["0.8"]
    assert s["windows"] == {"2026-11-01T00:00:00Z": {"currency": "USD", "spend": "2.50", "alerts": ["0.8"]}}
    res = s["reservations"]
    assert isinstance(res, dict)
    assert {rid: (r["window"], r["amount"], r["state"]) for rid, r in res.items()} == {
        "j1": ("2026-11-01T00:00:00Z", "2.50", "reserved"),
        "j2": ("2026-11-01T00:00:00Z", "2.50", "released"),
    }
    lg.mark_spent("j1")
    s = status(api, "llm.stack")
    assert s["reserved"] == "0.00" and s["currentSpend"] == "2.50"
    # spec is never written by the ledger
    obj = api.get_namespaced_custom_object("b00t.io", "v1", "budgets", "budgetconstraints", "llm.stack")
    assert obj["spec"] == {"dailyLimit": "100.00"}


def test_old_windows_are_pruned() -> None:
    api = FakeCustomObjects()
    api.add("llm.stack")
    lg = K8sLedger("budgets", api=api, keep_windows=3)
    for day in range(6):
        lg.reserve("llm.stack", DAY0 + timedelta(days=day), f"d{day}", Money.of(1), None)
    s = status(api, "llm.stack")
    windows = s["windows"]
    assert isinstance(windows, dict)
    assert [k[:10] for k in windows] == ["2026-11-04", "2026-11-05", "2026-11-06"]
    assert [r.id for r in lg.records("llm.stack")] == ["d3", "d4", "d5"]
    assert s["windowStart"] == "2026-11-06T00:00:00Z"
    jsonschema.validate(s, STATUS_SCHEMA)


def test_status_fits_the_planner_crd() -> None:
    """The status this ledger writes validates against the BudgetConstraint CRD the planner deploys."""
    crds = pytest.importorskip("b00t_pulumi.plan.crds")
    api = FakeCustomObjects()
    api.add("llm.stack")
    lg = K8sLedger("budgets", api=api)
    lg.reserve("llm.stack", DAY0, "j1", Money.of("2.5"), None)
    lg.reserve("llm.stack", DAY0, "j2", Money.of("0.125"), None)
    lg.claim_alert("llm.stack", DAY0, 0.8)
    crd = crds.budget_constraint_crd()
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    jsonschema.validate(status(api, "llm.stack"), schema)
    assert crd["spec"]["versions"][0]["subresources"] == {"status": {}}


def test_alert_marker_before_any_spend_keeps_the_currency_open() -> None:
    api = FakeCustomObjects()
    api.add("eu.stack")
    lg = K8sLedger("budgets", api=api)
    assert lg.claim_alert("eu.stack", DAY0, 1)
    assert lg.reserve("eu.stack", DAY0, "r", Money.of(1, "EUR"), None).approved
    assert lg.spend("eu.stack", DAY0, "EUR") == Money.of(1, "EUR")
    jsonschema.validate(status(api, "eu.stack"), STATUS_SCHEMA)
