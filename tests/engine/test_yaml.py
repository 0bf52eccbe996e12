"""The b00t package from Pulumi YAML: `pulumi package add` of provider/, and examples/yaml's `up`
creates the same objects as the Python program; a second `up` changes nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.engine import Cluster, make_project, make_yaml_project

# Both runs plan epochs and budget windows at the same instant, so the gates decide the same.
NOW = {"B00T_NOW": "2026-11-22T21:00:00Z"}
SYSTEM_NAMESPACES = {"default", "kube-system", "kube-public", "kube-node-lease"}
KINDS = [("v1", "Namespace"), ("v1", "Secret"), ("v1", "ConfigMap"), ("v1", "Service"),
         ("v1", "PersistentVolumeClaim"), ("apps/v1", "Deployment"), ("batch/v1", "Job"),
         ("autoscaling/v2", "HorizontalPodAutoscaler"), ("apiextensions.k8s.io/v1", "CustomResourceDefinition"),
         ("b00t.io/v1", "BudgetConstraint"), ("kueue.x-k8s.io/v1beta2", "ClusterQueue"),
         ("kueue.x-k8s.io/v1beta2", "LocalQueue"), ("kueue.x-k8s.io/v1beta2", "ResourceFlavor")]
KUEUE_CRDS = "kueue.x-k8s.io"


def live_objects(cluster: Cluster) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every object of the kinds b00t deploys, outside the system namespaces (Kueue's own CRDs
    excluded), by (kind, namespace, name) -> labels, annotations and the fields below them."""
    from kubernetes import dynamic

    client = dynamic.DynamicClient(cluster.api())
    out: dict[tuple[str, str, str], dict[str, Any]] = {}
    for api_version, kind in KINDS:
        api = client.resources.get(api_version=api_version, kind=kind)
        for item in api.get().items:
            obj = item.to_dict()
            meta = obj["metadata"]
            ns = meta.get("namespace") or ""
            if ns in SYSTEM_NAMESPACES or (kind == "Namespace" and meta["name"] in SYSTEM_NAMESPACES):
                continue
            if kind == "CustomResourceDefinition" and meta["name"].endswith(KUEUE_CRDS):
                continue
            if kind == "Secret" and obj.get("type") == "kubernetes.io/service-account-token":
                continue
            body = _without_uids({k: v for k, v in obj.items() if k not in ("metadata", "status", "apiVersion",
                                                                              "kind")})
            if kind == "Service":
                body["spec"] = {k: v for k, v in body["spec"].items() if k not in ("clusterIP", "clusterIPs")}
            out[(kind, ns, meta["name"])] = {"labels": meta.get("labels") or {},
                                             "annotations": meta.get("annotations") or {}, **body}
    return out


def _without_uids(value: Any) -> Any:
    """Drop what the API server derives from an object's uid (a Job's controller-uid selector)."""
    if isinstance(value, dict):
        return {k: _without_uids(v) for k, v in value.items() if "controller-uid" not in k}
    if isinstance(value, list):
        return [_without_uids(v) for v in value]
    return value


@pytest.fixture(scope="module")
def python_objects(module_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory
                   ) -> dict[tuple[str, str, str], dict[str, Any]]:
    """What the Python program creates (deployed, read back, destroyed again)."""
    project = make_project(tmp_path_factory.mktemp("python"), module_cluster, extra_env=NOW)
    project.up()
    try:
        return live_objects(module_cluster)
    finally:
        project.pulumi("destroy", "--yes", "--stack", "dev")


def test_package_add_of_the_local_provider(module_cluster: Cluster, tmp_path: Path) -> None:
    project = make_yaml_project(tmp_path, module_cluster)
    doc = yaml.safe_load((project.dir / "Pulumi.yaml").read_text())
    del doc["packages"]
    (project.dir / "Pulumi.yaml").write_text(yaml.safe_dump(doc, sort_keys=False))
    out = project.pulumi("package", "add", "../../provider")
    assert "Added package" in out.stdout + out.stderr
    added = yaml.safe_load((project.dir / "Pulumi.yaml").read_text())
    assert added["packages"] == {"b00t": "../../provider"}
    schema = json.loads(project.pulumi("package", "get-schema", "../../provider").stdout)
    assert sorted(schema["resources"]) == ["b00t:index:B00tCluster", "b00t:index:B00tStack"]


def test_yaml_program_creates_what_the_python_program_creates(
        python_objects: dict[tuple[str, str, str], dict[str, Any]], module_cluster: Cluster,
        tmp_path: Path) -> None:
    project = make_yaml_project(tmp_path, module_cluster, extra_env=NOW)
    policy = ["--policy-pack", "../../policy", "--policy-pack-config", "../../policy/dev.json"]
    try:
        project.pulumi("up", "--yes", "--stack", "dev", *policy)
        yaml_objects = live_objects(module_cluster)
        assert sorted(yaml_objects) == sorted(python_objects)
        assert len(yaml_objects) > 30
        for key, fields in python_objects.items():
            assert yaml_objects[key] == fields, key
        out = project.outputs()
        assert out["stacks"]["llm-inference-pipeline"]["budget"]["outcome"] == "approved"
        assert out["jobs"]["llm-batch-job"]["queue"] == "gpu-queue"
        assert out["epochs"]["loads"] == 1
        # a second up changes nothing
        project.pulumi("up", "--yes", "--stack", "dev", "--expect-no-changes", *policy)
    finally:
        project.pulumi("destroy", "--yes", "--stack", "dev", check=False)


def test_yaml_program_reports_bad_datums_without_a_traceback(module_cluster: Cluster, tmp_path: Path) -> None:
    project = make_yaml_project(tmp_path, module_cluster)
    redis = tmp_path / "components" / "redis.docker.toml"
    redis.write_text(redis.read_text().replace("\nimage = ", "\nimagee = "))
    out = project.preview(policy=False, check=False)
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "b00t-pulumi: invalid input to b00t:index:B00tCluster 'b00t'" in text
    assert "redis.docker.toml: b00t.imagee" in text and "unknown key 'imagee'" in text
    assert "Traceback" not in text
