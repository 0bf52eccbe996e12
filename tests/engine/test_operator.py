"""The b00t operator as a real process against a real API server (engine tests, no mocks)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from b00t_pulumi.datum.orchestration import BudgetConstraint as BudgetModel
from b00t_pulumi.operator import contract as c
from b00t_pulumi.plan import crds
from tests.engine.engine import Cluster
from tests.engine.operator_env import Api, OperatorProcess, iso, ledger_rows, wait_for

NS = "op-face"


@pytest.fixture()
def api(module_cluster: Cluster) -> Api:
    return Api(module_cluster.api())


@pytest.fixture()
def operator(module_cluster: Cluster, tmp_path: Path) -> Iterator[OperatorProcess]:
    op = OperatorProcess(module_cluster.kubeconfig, f"sqlite:///{tmp_path / 'ledger.db'}", tmp_path / "operator.log")
    yield op
    op.kill()


def _budget(name: str, ns: str, **kw: Any) -> dict[str, Any]:
    bc = BudgetModel.model_validate({"daily_limit": "10.00", "currency": "USD", **kw})
    return crds.budget_constraint_cr(name, ns, "Stack", name, bc, "USD", {}, None)


def _job(name: str, ns: str, ann: dict[str, str], *, suspend: bool = True) -> dict[str, Any]:
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": name, "namespace": ns, "annotations": ann},
            "spec": {"suspend": suspend, "template": {"spec": {"restartPolicy": "Never",
                                                                "containers": [{"name": "c", "image": "x"}]}}}}


def test_operator_writes_check_status_and_releases_on_a_real_api_server(
        api: Api, operator: OperatorProcess) -> None:
    """The AdmissionCheck's Active condition, the BudgetConstraint status, and a Job outside Kueue
    unsuspended at its epoch (test_operator_cluster.py has the Kueue Workloads)."""
    api.apply_all([crds.budget_constraint_crd(),
                   {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": NS}},
                   _budget("b", NS, cost_per_job="1.00", reset_schedule="* * * * *"),
                   {"apiVersion": c.KUEUE_API, "kind": "AdmissionCheck", "metadata": {"name": c.ADMISSION_CHECK_NAME},
                    "spec": {"controllerName": c.CONTROLLER_NAME}}])
    start = time.time() + 12
    api.apply(_job("later", NS, {c.BUDGET_CONSTRAINT: "b", c.ESTIMATED_COST: "1.00", c.BUDGET_CURRENCY: "USD",
                                 c.SUSPENDED_UNTIL: iso(start)}))
    operator.start()
    cond = wait_for(lambda: next((x for x in (api.custom.get_cluster_custom_object(
        c.KUEUE_GROUP, c.KUEUE_VERSION, c.ADMISSION_CHECKS, c.ADMISSION_CHECK_NAME).get("status") or {}).get(
        "conditions", []) if x["type"] == "Active"), None), 20, "the AdmissionCheck to become Active")
    assert cond["status"] == "True"
    reason = wait_for(lambda: (api.batch.read_namespaced_job("later", NS).metadata.annotations or {}).get(
        "b00t.io/hold-reason"), 20, "the hold reason on the Job")
    assert "waits for its GPU epoch" in reason and api.batch.read_namespaced_job("later", NS).spec.suspend is True
    wait_for(lambda: api.batch.read_namespaced_job("later", NS).spec.suspend is False, 30, "the release")
    released = time.time()
    assert released >= int(start), "released before its epoch"
    assert released - start < 5, f"released {released - start:.1f}s after its epoch"
    status = wait_for(lambda: (api.budget(NS, "b").get("status") or {}).get("currentSpend") == "1.00"
                      and api.budget(NS, "b")["status"], 20, "the budget status")
    assert status["remaining"] == "9.00" and status["observedGeneration"] == 1
    assert {x["type"]: x["status"] for x in status["conditions"]} == {
        "WithinBudget": "True", "AlertThresholdReached": "False", "Exceeded": "False"}
    assert operator.ledger is not None
    rows = ledger_rows(operator.ledger, "b")
    assert [(r.id, r.state) for r in rows] == [(api.batch.read_namespaced_job("later", NS).metadata.uid, "reserved")]
