"""`pulumi up` of the example stacks with the real engine against a real kube-apiserver."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import pytest

from b00t_pulumi.datum import Catalog
from b00t_pulumi.plan import Planner
from b00t_pulumi.settings import load_environment
from tests.engine.engine import SECRETS, Cluster, Project, make_project

NS = "ai-ml-dev"


@pytest.fixture(scope="module")
def deployed(module_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    project = make_project(tmp_path_factory.mktemp("project"), module_cluster)
    project.up()
    yield project
    project.pulumi("destroy", "--yes", "--stack", "dev", check=False)


def kube(c: Cluster) -> Any:
    from kubernetes import client

    api = c.api()
    return client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api), client.CustomObjectsApi(api)


def planned(project: Project) -> list[dict[str, Any]]:
    cat = Catalog.load([project.dir / "stacks", project.dir / "components"])
    return Planner(cat, load_environment("dev", project.dir), environ=SECRETS).plan_cluster().all_objects()


def test_up_creates_every_planned_object(deployed: Project, module_cluster: Cluster) -> None:
    from kubernetes import dynamic

    client = dynamic.DynamicClient(module_cluster.api())
    objs = planned(deployed)
    assert objs
    for o in objs:
        api = client.resources.get(api_version=o["apiVersion"], kind=o["kind"])
        meta = o["metadata"]
        live = api.get(name=meta["name"], namespace=meta.get("namespace"))
        assert live.metadata.name == meta["name"]
        for k, v in (meta.get("labels") or {}).items():
            assert live.metadata.labels[k] == v, (o["kind"], meta["name"], k)


def test_objects_read_back(deployed: Project, module_cluster: Cluster) -> None:
    core, apps, batch, custom = kube(module_cluster)
    deps = {d.metadata.name: d for d in apps.list_namespaced_deployment(NS).items}
    assert set(deps) == {"n8n", "pytorch", "vllm-server", "redis", "sentiment-api"}
    vllm = deps["vllm-server"]
    assert vllm.spec.template.spec.containers[0].resources.limits["nvidia.com/gpu"] == "1"
    assert vllm.metadata.annotations["pulumi.com/skipAwait"] == "true"
    assert vllm.metadata.annotations["pulumi.com/deletionPropagationPolicy"] == "background"
    secret = core.read_namespaced_secret("n8n-env", NS)
    assert base64.b64decode(secret.data["N8N_BASIC_AUTH_PASSWORD"]).decode() == SECRETS["N8N_BASIC_AUTH_PASSWORD"]
    env = {e.name: e for e in deps["n8n"].spec.template.spec.containers[0].env}
    assert env["N8N_BASIC_AUTH_PASSWORD"].value is None
    assert env["N8N_BASIC_AUTH_PASSWORD"].value_from.secret_key_ref.name == "n8n-env"
    job = batch.read_namespaced_job("llm-batch-job", NS)
    assert job.metadata.labels["kueue.x-k8s.io/queue-name"] == "gpu-queue"
    assert job.metadata.labels["b00t.io/epoch"]  # the EpochPlan gate's epoch
    assert job.metadata.annotations["b00t.io/planned-node"] == "dev-gpu-0"
    cq = custom.get_cluster_custom_object("kueue.x-k8s.io", "v1beta2", "clusterqueues", "b00t-dev")
    assert cq["spec"]["resourceGroups"][1]["flavors"][0]["name"] == "nvidia-a100"
    bcs = custom.list_namespaced_custom_object("b00t.io", "v1", NS, "budgetconstraints")["items"]
    assert {b["metadata"]["name"] for b in bcs} == {"llm-inference-pipeline-budget", "llm-batch-job-budget",
                                                   "marketing-sentiment-analysis-budget"}
    cm = core.read_namespaced_config_map("time-slicing-config", "gpu-operator")
    assert "replicas: 4" in cm.data["nvidia-a100"]


def test_outputs(deployed: Project) -> None:
    out = deployed.outputs()
    llm = out["stacks"]["llm-inference-pipeline"]
    assert llm["namespace"] == NS
    assert llm["endpoints"]["vllm-server"] == f"http://vllm-server.{NS}.svc.cluster.local:8000"
    # dev prices (A100, 8 CPU, 32 GiB a pod): vllm-server 42.65 a day (HPA max 2), pytorch 21.33, n8n 0.97
    assert llm["budget"]["outcome"] == "approved" and llm["budget"]["spend"] == "64.95"
    assert out["jobs"]["llm-batch-job"]["queue"] == "gpu-queue"
    assert out["epochs"]["loads"] == 1


def test_second_up_changes_nothing_and_reserves_nothing(deployed: Project) -> None:
    from b00t_pulumi.budget import open_ledger

    db = deployed.dir / ".cache" / "ledger" / "dev.db"
    from b00t_pulumi.gates.inputs import budget_inputs

    cat = Catalog.load([deployed.dir / "stacks", deployed.dir / "components"])
    planner = Planner(cat, load_environment("dev", deployed.dir), environ=SECRETS)
    items = sum(len(g["items"]) for g in budget_inputs(planner, planner.plan_cluster(), "sqlite:///x"))
    with open_ledger(f"sqlite:///{db}") as led:
        before = len(led.records())
    assert before == items == 7  # every costed deployment and job, once
    deployed.up("--expect-no-changes")
    with open_ledger(f"sqlite:///{db}") as led:
        assert len(led.records()) == before


def test_editing_a_datum_previews_exactly_its_change(deployed: Project) -> None:
    deployed.edit("components/redis.docker.toml", "redis:7.2-alpine", "redis:7.4-alpine")
    try:
        out = deployed.preview("--json")
        steps = [s for s in json.loads(out.stdout)["steps"] if s["op"] != "same"]
        assert [(s["op"], s["urn"].rsplit("::", 1)[1]) for s in steps] == [("update", "ai-ml-dev-redis")]
    finally:
        deployed.edit("components/redis.docker.toml", "redis:7.4-alpine", "redis:7.2-alpine")


def test_schema_validation_rejects_bad_custom_resources(deployed: Project, module_cluster: Cluster) -> None:
    from kubernetes.client.exceptions import ApiException

    _, _, _, custom = kube(module_cluster)
    bad_budget = {"apiVersion": "b00t.io/v1", "kind": "BudgetConstraint", "metadata": {"name": "bad"},
                  "spec": {"dailyLimit": "lots", "currency": "usd", "onBudgetExceeded": "panic"}}
    with pytest.raises(ApiException) as exc:
        custom.create_namespaced_custom_object("b00t.io", "v1", NS, "budgetconstraints", bad_budget)
    assert exc.value.status == 422
    bad_cq = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "ClusterQueue", "metadata": {"name": "bad-cq"},
              "spec": {"resourceGroups": [{"coveredResources": ["cpu"], "flavors": [{"name": "default-flavor",
                       "resources": [{"name": "cpu", "nominalQuota": "1", "borrowingLimit": "1"}]}]}]}}
    with pytest.raises(ApiException) as exc:  # Kueue's CEL rule: borrowingLimit needs a cohort
        custom.create_cluster_custom_object("kueue.x-k8s.io", "v1beta2", "clusterqueues", bad_cq)
    assert exc.value.status == 422


def test_destroy_removes_everything(deployed: Project, module_cluster: Cluster) -> None:
    core, apps, batch, custom = kube(module_cluster)
    deployed.pulumi("destroy", "--yes", "--stack", "dev")
    assert apps.list_namespaced_deployment(NS).items == []
    assert batch.list_namespaced_job(NS).items == []
    assert [s for s in core.list_namespaced_secret(NS).items if s.metadata.name.endswith("-env")] == []
    assert custom.list_cluster_custom_object("kueue.x-k8s.io", "v1beta2", "clusterqueues")["items"] == []
    from b00t_pulumi.budget import open_ledger

    with open_ledger(f"sqlite:///{deployed.dir / '.cache' / 'ledger' / 'dev.db'}") as led:
        assert led.records() and all(r.state == "released" for r in led.records())
