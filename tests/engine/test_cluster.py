"""The executing local cluster: fake GPU nodes from the settings, Kueue quota and admission checks
that really hold work. Real processes (API server, controllers, scheduler, kwok, Kueue), no mocks."""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from b00t_pulumi.datum import Catalog
from b00t_pulumi.gpu.capacity import GpuCapacity
from b00t_pulumi.plan import Planner
from b00t_pulumi.settings.source import read_stack_config, settings_from_config
from tests.engine.engine import REPO, Cluster, cluster, kube_apply, observer, sync_nodes, wait_until

sys.path.insert(0, str(REPO / "toolchain"))
from localcluster import observe

NS = "quota-test"


def settings_file(path: Path, config: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump({"config": {f"b00t:{k}": v for k, v in config.items()}}))
    return path


def planner_for(datums: Path, settings: Path) -> Planner:
    cat = Catalog.load([datums])
    cat.raise_for_errors()
    ours, _ = read_stack_config(settings)
    return Planner(cat, settings_from_config(ours, source=str(settings)), environ={})


def gpu_jobs(root: Path, n: int, minutes: int, extra: str = "") -> Path:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (root / f"gpu-{i}.job.toml").write_text(textwrap.dedent(f"""
            [b00t]
            name = "gpu-{i}"
            type = "job"
            image = "busybox:1.36"
            command = ["sh", "-c", "nvidia-smi"]
            [b00t.orchestration]
            queue_name = "gpu-queue"
            estimated_duration = "{minutes}m"
            [b00t.orchestration.resource_requirements]
            cpu = "1"
            memory = "1Gi"
            [b00t.orchestration.gpu_requirements]
            count = 1
            gpu_type = "nvidia-a100"
            shared = true
            {extra}
        """))
    return root


BASE: dict[str, Any] = {
    "namespace": NS,
    "simulation": {"timeScale": 60},
    "gpuInventory": {"nodes": [{"name": "gpu-a", "gpuType": "nvidia-a100", "gpus": 1, "slots": 4}]},
    "kueue": {"clusterQueue": "test-cq", "cpu": "8", "memory": "32Gi"},
}


@pytest.fixture(scope="module")
def quota_cluster(tool_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Cluster, Path]]:
    d = tmp_path_factory.mktemp("quota")
    settings = settings_file(d / "Pulumi.test.yaml", {**BASE, "kueue": {**BASE["kueue"], "gpus": {"nvidia-a100": 1}}})
    with cluster(d / "cluster", tool_env, settings) as c:
        yield c, settings


def test_fake_nodes_carry_what_gpu_feature_discovery_would_and_follow_the_settings(
        quota_cluster: tuple[Cluster, Path], tmp_path: Path) -> None:
    c, settings = quota_cluster
    api = observer(c)
    nodes = {n["metadata"]["name"]: n for n in api.items("/api/v1/nodes")}
    ours, _ = read_stack_config(settings)
    capacity = GpuCapacity.from_inventory(settings_from_config(ours).gpu_inventory)
    gpu = nodes["gpu-a"]
    node = capacity.classes[0].nodes[0]
    assert capacity.node_labels(node).items() <= gpu["metadata"]["labels"].items()
    assert gpu["status"]["allocatable"]["nvidia.com/gpu"] == "4"  # 1 GPU x 4 time-slicing replicas
    assert {t["key"] for t in gpu["spec"]["taints"]} == {"nvidia.com/gpu"}  # no not-ready taint left
    assert nodes["b00t-cpu-0"]["status"]["allocatable"]["cpu"] == "8"  # sized from the Kueue quota
    # another inventory: the cluster's nodes follow (cluster.py up on a running cluster)
    other = settings_file(tmp_path / "Pulumi.other.yaml", {**BASE, "gpuInventory": {"nodes": [
        {"name": "gpu-a", "gpuType": "nvidia-a100", "gpus": 1, "slots": 4},
        {"name": "t4-x", "gpuType": "nvidia-t4", "gpus": 2, "slots": 1}]}})
    sync_nodes(c, other)
    t4 = api.get("/api/v1/nodes/t4-x")
    assert t4 is not None and t4["metadata"]["labels"]["nvidia.com/gpu.product"] == "Tesla-T4"  # not shared
    assert t4["metadata"]["labels"]["nvidia.com/gpu.sharing-strategy"] == "none"
    assert t4["status"]["allocatable"]["nvidia.com/gpu"] == "2"
    sync_nodes(c, settings)
    assert api.get("/api/v1/nodes/t4-x") is None


def test_kueue_holds_gpu_work_beyond_the_quota_and_admits_it_as_jobs_finish(
        quota_cluster: tuple[Cluster, Path], tmp_path: Path) -> None:
    c, settings = quota_cluster
    planner = planner_for(gpu_jobs(tmp_path / "datums", 3, minutes=6), settings)
    plan = planner.plan_cluster()
    kube_apply(c, plan.all_objects())
    api = observer(c)

    def done() -> list[observe.Placement] | None:
        rows = [r for r in observe.placements(api) if r.owner.startswith("Job/gpu-")]
        return rows if len(rows) == 3 and all(r.phase == "Succeeded" for r in rows) else None

    rows = wait_until("3 GPU jobs succeeded", done, timeout=180)
    assert {r.admitted_by for r in rows} == {"test-cq"}
    assert {r.node for r in rows} == {"gpu-a"}
    spans = sorted((r.started or 0, r.finished or 0) for r in rows)
    # a GPU quota of 1 (of the node's 4 slices): one at a time, each admitted once the one before finished
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert start >= end, spans
    for start, end in spans:
        assert 5 <= end - start <= 12, spans  # 6 simulated minutes at 60x: 6 s on the fake node


def test_an_admission_check_holds_a_queued_job_until_it_is_answered(tool_env: dict[str, str], tmp_path: Path) -> None:
    """Kueue unsuspends any admitted Job, so a hold of ours must be an AdmissionCheck: the Job gets its
    quota but no pod while the b00t-budget check is Pending. (Here the test answers the check; the b00t
    operator does in a deployment, at the job's epoch start.)"""
    settings = settings_file(tmp_path / "Pulumi.test.yaml", {**BASE, "operator": {"local": True}})
    planner = planner_for(gpu_jobs(tmp_path / "datums", 1, minutes=3, extra=(
        '[b00t.orchestration.gpu_epoch]\nmodel_id = "m"\nmax_concurrent_jobs = 4')), settings)
    plan = planner.plan_cluster()
    assert any(o["kind"] == "AdmissionCheck" for o in plan.kueue)
    with cluster(tmp_path / "cluster", tool_env, settings) as c:
        kube_apply(c, plan.all_objects())
        api = observer(c)
        base = "/apis/kueue.x-k8s.io/v1beta2"
        check = {"apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "AdmissionCheck", "metadata": {"name": "b00t-budget"},
                 "status": {"conditions": [{"type": "Active", "status": "True", "reason": "Active",
                                            "message": "answered by the test", "lastTransitionTime": now()}]}}
        api.apply(f"{base}/admissionchecks/b00t-budget", check, subresource="status")

        def pending_check() -> dict[str, Any] | None:
            # Kueue writes the check's state and the quota reservation in separate status updates:
            # wait for both (under load the first can be seen alone)
            for w in api.items(f"{base}/namespaces/{NS}/workloads"):
                status = w.get("status") or {}
                states = {s["name"]: s["state"] for s in status.get("admissionChecks") or []}
                conds = {x["type"]: x["status"] for x in status.get("conditions") or []}
                if states.get("b00t-budget") == "Pending" and conds.get("QuotaReserved") == "True":
                    return dict(w)
            return None

        w = wait_until("the Workload has its quota and waits on the b00t-budget check", pending_check, timeout=120)
        conds = {x["type"]: x["status"] for x in w["status"]["conditions"]}
        assert conds.get("Admitted") != "True"
        import time

        time.sleep(5)
        job = api.get(f"/apis/batch/v1/namespaces/{NS}/jobs/gpu-0")
        assert job is not None and job["spec"]["suspend"] is True
        assert not [p for p in observe.placements(api) if p.owner == "Job/gpu-0"]  # no pod while held
        m = w["metadata"]
        api.apply(f"{base}/namespaces/{NS}/workloads/{m['name']}", {
            "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "Workload",
            "metadata": {"name": m["name"], "namespace": NS},
            "status": {"admissionChecks": [{"name": "b00t-budget", "state": "Ready", "message": "epoch begun",
                                            "lastTransitionTime": now()}]}}, subresource="status")
        rows = wait_until("the released job succeeds", lambda: [
            p for p in observe.placements(api) if p.owner == "Job/gpu-0" and p.phase == "Succeeded"], timeout=150)
        assert rows[0].node == "gpu-a" and rows[0].admitted_by == "test-cq"


def now() -> str:
    from datetime import UTC, datetime

    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_up_starts_again_on_other_ports_when_a_picked_port_is_taken(tool_env: dict[str, str], tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """free_ports releases the ports before the processes bind them, so a cluster starting at the same
    moment may take one (it failed a CI run with four engine tests at a time): up tries other ports."""
    import socket

    from localcluster import cluster as lc

    for k, v in tool_env.items():
        monkeypatch.setenv(k, v)
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    taken = busy.getsockname()[1]
    picked: list[list[int]] = []
    real = lc.free_ports

    def first_one_taken(n: int) -> list[int]:
        ports = real(n)
        if not picked:
            ports[0] = taken  # etcd's client port
        picked.append(ports)
        return ports

    monkeypatch.setattr(lc, "free_ports", first_one_taken)
    c = lc.LocalCluster(tmp_path / "cluster", REPO / "toolchain" / "build.sh")
    try:
        st = c.up([])
        assert len(picked) == 2 and st.data["etcd_port"] == picked[1][0] != taken
        assert st.data["complete"]
    finally:
        c.down(quiet=True)
        busy.close()
