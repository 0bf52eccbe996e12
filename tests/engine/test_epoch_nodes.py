"""The epoch plan runs where it was planned (engine test, real Pulumi, executing local cluster).

Four models, two Jobs each, on four GPU nodes of two time-sliced slots: the epoch plan puts each
model's Jobs on one GPU (one load), and each Job's pod runs on the node of its planned GPU. Without
the planned node's preference the scheduler places the models' pod pairs on the nodes in any order
(the batch group's pod affinity keeps a pair together, not on its planned node): 1 in 24 orders
would pass by chance.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.engine import Cluster, Project, cluster, make_project, wait_until

REPO = Path(__file__).resolve().parents[2]
NS = "ai-ml-dev"
MODELS = ("model-a", "model-b", "model-c", "model-d")
NODES = [f"gpu-{i}" for i in range(len(MODELS))]


def settings_text() -> str:
    """Pulumi.dev.yaml with four GPU nodes of one time-sliced A100 (2 slots) each."""
    doc = yaml.safe_load((REPO / "Pulumi.dev.yaml").read_text())
    config = doc["config"]
    config["b00t:gpuInventory"] = {"nodes": [{"name": n, "gpuType": "nvidia-a100", "gpus": 1, "slots": 2,
                                              "cpu": "16", "memory": "64Gi"} for n in NODES]}
    config["b00t:kueue"]["gpus"] = {"nvidia-a100": 2 * len(NODES)}
    return yaml.safe_dump(doc, sort_keys=False)


def job_datum(name: str, model: str) -> str:
    return textwrap.dedent(f"""\
        [b00t]
        name = "{name}"
        type = "job"
        image = "busybox:1.36"
        command = ["sh", "-c", "echo {name}"]
        [b00t.orchestration]
        queue_name = "gpu-queue"
        estimated_duration = "10m"
        [b00t.orchestration.gpu_requirements]
        count = 1
        gpu_type = "nvidia-a100"
        shared = true
        [b00t.orchestration.gpu_epoch]
        model_id = "{model}"
        max_concurrent_jobs = 2
        load_time = "30s"
        """)


@pytest.fixture(scope="module")
def four_nodes(tool_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    d = tmp_path_factory.mktemp("four-nodes")
    settings = d / "Pulumi.dev.yaml"
    settings.write_text(settings_text())
    with cluster(d / "cluster", tool_env, settings=settings) as c:
        yield c


@pytest.fixture()
def project(four_nodes: Cluster, tmp_path: Path) -> Iterator[Project]:
    p = make_project(tmp_path, four_nodes)
    config = yaml.safe_load((tmp_path / "Pulumi.dev.yaml").read_text())["config"]
    doc = yaml.safe_load(settings_text())
    doc["config"]["kubernetes:kubeconfig"] = config["kubernetes:kubeconfig"]  # as make_project set it
    (tmp_path / "Pulumi.dev.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    for folder in ("stacks", "components"):
        for f in (tmp_path / folder).iterdir():
            f.unlink()
    for model in MODELS:
        for i in (1, 2):
            name = f"{model.removeprefix('model-')}{i}"
            (tmp_path / "stacks" / f"{name}.job.toml").write_text(job_datum(name, model))
    yield p
    p.pulumi("destroy", "--yes", "--stack", "dev", check=False)


def test_each_job_runs_on_the_node_of_its_planned_gpu(project: Project, four_nodes: Cluster) -> None:
    from kubernetes import client

    project.up()
    batch = client.BatchV1Api(four_nodes.api())
    core = client.CoreV1Api(four_nodes.api())
    jobs = {j.metadata.name: j for j in batch.list_namespaced_job(NS).items}
    assert len(jobs) == 2 * len(MODELS), sorted(jobs)
    planned = {name: j.metadata.annotations["b00t.io/planned-node"] for name, j in jobs.items()}
    # the plan: each model's two Jobs share one GPU (one load), the four models on the four nodes
    by_model: dict[str, set[str]] = {}
    for name, node in planned.items():
        by_model.setdefault(name[0], set()).add(node)
    assert all(len(nodes) == 1 for nodes in by_model.values()), planned
    assert sorted(n for nodes in by_model.values() for n in nodes) == NODES, planned

    def pods() -> dict[str, Any]:
        out: dict[str, Any] = {}
        for p in core.list_namespaced_pod(NS).items:
            owner = str((p.metadata.labels or {}).get("job-name"))
            if owner in jobs and p.spec.node_name:
                out[owner] = p
        return out

    wait_until("every Job's pod is scheduled", lambda: len(pods()) == len(jobs), timeout=120)
    placed = {name: p.spec.node_name for name, p in pods().items()}
    assert placed == planned
    wait_until("every Job succeeded", lambda: all((batch.read_namespaced_job(n, NS).status.succeeded or 0) >= 1
                                                  for n in jobs), timeout=180)
