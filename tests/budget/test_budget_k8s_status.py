"""What the k8s ledger writes into BudgetConstraint status: small, summarized, pruned, schema-valid."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import jsonschema
import pytest

from b00t_pulumi.budget import Money
from b00t_pulumi.budget import api as budget_api
from b00t_pulumi.budget.api import STATUS_SCHEMA
from b00t_pulumi.budget.ledger.k8s import K8sLedger

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


SPEC = {"dailyLimit": "10.00", "currency": "USD", "onBudgetExceeded": "alert", "alertThreshold": 0.8,
        "resetSchedule": "0 0 * * *", "timezone": "UTC"}


def _column(obj: dict[str, object], path: str) -> object:
    """The value of a printer column's jsonPath (the two forms the CRD uses: .a.b, .a.list[?(@.type=="X")].b)."""
    m = re.fullmatch(r'(.*)\[\?\(@\.type=="([^"]+)"\)\](.*)', path)
    head, wanted, tail = (m.group(1), m.group(2), m.group(3)) if m else (path, None, "")
    node: object = obj
    for part in head.lstrip(".").split("."):
        assert isinstance(node, dict)
        node = node.get(part)
    if wanted is not None:
        assert isinstance(node, list)
        node = next(c for c in node if c["type"] == wanted)
        for part in tail.lstrip(".").split("."):
            assert isinstance(node, dict)
            node = node.get(part)
    return node


def test_status_has_conditions_and_observed_generation_the_kubernetes_way() -> None:
    api = FakeCustomObjects()
    api.add("llm-budget", SPEC, generation=3)
    lg = K8sLedger("budgets", api=api)
    lg.reserve("llm-budget", DAY0, "a", Money.of(5), None)
    s = status(api, "llm-budget")
    jsonschema.validate(s, STATUS_SCHEMA)
    assert s["observedGeneration"] == 3
    assert s["windowEnd"] == "2026-11-02T00:00:00Z" and s["remaining"] == "5.00"
    conds = {c["type"]: c for c in s["conditions"]}  # type: ignore[attr-defined]
    assert {k: (c["status"], c["reason"]) for k, c in conds.items()} == {
        "WithinBudget": ("True", "WithinLimit"), "AlertThresholdReached": ("False", "BelowThreshold"),
        "Exceeded": ("False", "WithinLimit")}
    assert all(c["observedGeneration"] == 3 for c in conds.values())
    assert conds["WithinBudget"]["message"] == "5.00 of 10.00 USD spent in the window starting 2026-11-01T00:00:00Z"
    since = conds["WithinBudget"]["lastTransitionTime"]
    lg.reserve("llm-budget", DAY0, "b", Money.of(4), None)  # 9.00: past the 0.8 threshold
    conds = {c["type"]: c for c in status(api, "llm-budget")["conditions"]}  # type: ignore[attr-defined]
    assert conds["AlertThresholdReached"]["status"] == "True"
    assert conds["WithinBudget"]["lastTransitionTime"] == since  # unchanged status: no transition
    lg.reserve("llm-budget", DAY0, "c", Money.of(2), None)  # 11.00 under `alert`: past the limit
    s = status(api, "llm-budget")
    conds = {c["type"]: c for c in s["conditions"]}  # type: ignore[attr-defined]
    assert (conds["WithinBudget"]["status"], conds["Exceeded"]["status"]) == ("False", "True")
    assert s["remaining"] == "-1.00"
    jsonschema.validate(s, STATUS_SCHEMA)


def test_printer_columns_show_window_spend_limit_remaining_policy() -> None:
    api = FakeCustomObjects()
    api.add("llm-budget", SPEC, generation=1)
    K8sLedger("budgets", api=api).reserve("llm-budget", DAY0, "a", Money.of("2.5"), None)
    obj = api.get_namespaced_custom_object("b00t.io", "v1", "budgets", "budgetconstraints", "llm-budget")
    columns = budget_api.crd()["spec"]["versions"][0]["additionalPrinterColumns"]
    shown = {c["name"]: _column(obj, c["jsonPath"]) for c in columns if c["name"] != "Age"}
    assert shown == {"Window": "2026-11-01T00:00:00Z", "Spend": "2.50", "Limit": "10.00", "Remaining": "7.50",
                     "Currency": "USD", "On-Exceeded": "alert", "Within": "True", "Resets": "2026-11-02T00:00:00Z",
                     "Reserved": "2.50", "Jobs": 1}
    # the ledger's and the planner's CRD are one definition
    from b00t_pulumi.plan.crds import budget_constraint_crd

    assert budget_constraint_crd() == budget_api.crd()
