"""`make up` on the examples with the operator running: every budget's currentSpend is what its items
really cost, recomputed here from the cluster's own objects (engine test, real Pulumi, real cluster)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml

from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.observed import budget_ref
from tests.engine.engine import Cluster, Project, make_project
from tests.engine.operator_env import Api, OperatorProcess, metered_cost, wait_for

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture()
def project(module_cluster: Cluster, tmp_path: Path) -> Iterator[Project]:
    (tmp_path / "project").mkdir()
    p = make_project(tmp_path / "project", module_cluster)
    yield p
    p.pulumi("destroy", "--yes", "--stack", "dev", check=False)


def _finished(job: dict[str, Any]) -> bool:
    return any(x["type"] in ("Complete", "Failed") and x["status"] == "True"
               for x in (job.get("status") or {}).get("conditions") or [])


def test_examples_run_and_each_budget_spend_is_what_its_items_cost(project: Project, module_cluster: Cluster,
                                                                    tmp_path: Path) -> None:
    dev = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())["config"]
    prices = dev["b00t:prices"]
    assert dev["b00t:operator"] == {"local": True}
    op = project.operator  # started with the project, as `make up` starts it (cwd = the project, --env dev)
    assert isinstance(op, OperatorProcess)
    try:
        project.up()
        api = Api(module_cluster.api())
        jobs = wait_for(lambda: [j for j in api.client.sanitize_for_serialization(
            api.batch.list_job_for_all_namespaces())["items"] if c.BUDGET_CONSTRAINT in
            (j["metadata"].get("annotations") or {})], 60, "the examples' Jobs")
        assert {j["metadata"]["name"] for j in jobs} == {"llm-batch-job", "sentiment-scoring"}
        wait_for(lambda: all(_finished(j) for j in api.client.sanitize_for_serialization(
            api.batch.list_job_for_all_namespaces())["items"] if j["metadata"]["name"] in
            {"llm-batch-job", "sentiment-scoring"}), 180, f"the examples' Jobs to finish\n{op.tail()}")
        budgets = api.custom.list_cluster_custom_object("b00t.io", "v1", "budgetconstraints")["items"]
        assert len(budgets) == 3

        def expected(b: dict[str, Any]) -> Decimal:
            ref = budget_ref(b["metadata"]["name"], b["metadata"]["namespace"])
            total = Decimal(0)
            deps = api.client.sanitize_for_serialization(api.apps.list_deployment_for_all_namespaces())["items"]
            for d in deps:
                ann = d["metadata"].get("annotations") or {}
                if budget_ref(ann.get(c.BUDGET_CONSTRAINT), d["metadata"]["namespace"]) == ref and \
                        (d["spec"].get("replicas") or (d.get("status") or {}).get("replicas")):
                    total += Decimal(ann[c.ESTIMATED_DAILY_COST])
            for j in api.client.sanitize_for_serialization(api.batch.list_job_for_all_namespaces())["items"]:
                ann = j["metadata"].get("annotations") or {}
                if budget_ref(ann.get(c.BUDGET_CONSTRAINT), j["metadata"]["namespace"]) != ref:
                    continue
                flat = b["spec"].get("costPerJob")
                if flat is not None:
                    total += Decimal(flat)
                else:
                    total += metered_cost(api.pods_of(j["metadata"]["namespace"], j["metadata"]["uid"]),
                                          {"cpuHour": "0.031611", "memoryGibHour": "0.004237", **prices},
                                          ann.get(c.GPU_TYPE))  # OpenCost's defaults unless dev sets them
            return total

        for b in budgets:
            name, ns = b["metadata"]["name"], b["metadata"]["namespace"]
            want = expected(b)

            def shows(n: str = name, s: str = ns, w: Decimal = want) -> dict[str, Any] | None:
                status: dict[str, Any] = api.budget(s, n).get("status") or {}
                spend = status.get("currentSpend")
                return status if spend is not None and Decimal(spend) == w else None

            got = wait_for(shows, 60, f"{ns}/{name} currentSpend = {want}\n{op.tail()}")
            ref = budget_ref(name, ns)
            deps = api.client.sanitize_for_serialization(api.apps.list_deployment_for_all_namespaces())["items"]
            counted = sum(1 for d in deps if budget_ref((d["metadata"].get("annotations") or {}).get(
                c.BUDGET_CONSTRAINT), d["metadata"]["namespace"]) == ref)
            counted += sum(1 for j in jobs if budget_ref(j["metadata"]["annotations"][c.BUDGET_CONSTRAINT],
                                                         j["metadata"]["namespace"]) == ref)
            assert got["jobsRun"] == counted  # the API's jobsRun: the window's counted records, one per item
            assert got["observedGeneration"] == b["metadata"]["generation"]
    finally:
        project.stop_operator()
