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
         ("kueue.x-k8s.io/v1beta2", "LocalQueue"), ("kueue.x-k8s.io/v1beta2", "ResourceFlavor"),
         ("kueue.x-k8s.io/v1beta2", "AdmissionCheck")]
KUEUE_CRDS = "kueue.x-k8s.io"


# What each program decides about an object, as the API server keeps it. Fields the cluster's own
# controllers write (status, a PVC's bound volume, Kueue's admission of a Job) are not compared.
OURS = ("b00t.io/", "app.kubernetes.io/", "kueue.x-k8s.io/queue-name", "kueue.x-k8s.io/priority-class",
        "pulumi.com/")


def _ours(d: dict[str, str] | None) -> dict[str, str]:
    return {k: v for k, v in (d or {}).items() if k.startswith(OURS)}


def _key_fields(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj.get("spec") or {}
    out: dict[str, Any] = {"labels": _ours(obj["metadata"].get("labels")),
                           "annotations": _ours(obj["metadata"].get("annotations"))}
    if kind in ("Deployment", "Job"):
        pod = spec["template"]["spec"]
        out["pod"] = {"labels": _ours(spec["template"]["metadata"].get("labels")),
                      "containers": [{k: c.get(k) for k in ("name", "image", "env", "resources", "args", "command")}
                                     for c in pod["containers"]],
                      "affinity": pod.get("affinity"), "tolerations": pod.get("tolerations")}
        if kind == "Deployment":
            out["replicas"] = spec.get("replicas")
    elif kind == "Service":
        out["ports"], out["selector"] = spec.get("ports"), spec.get("selector")
    elif kind == "PersistentVolumeClaim":
        out["request"] = spec["resources"]["requests"]["storage"]
        out["accessModes"] = spec.get("accessModes")
    elif kind in ("ConfigMap", "Secret"):
        out["data"] = obj.get("data")
    elif kind in ("BudgetConstraint", "ClusterQueue", "LocalQueue", "ResourceFlavor", "HorizontalPodAutoscaler",
                  "CustomResourceDefinition", "AdmissionCheck"):
        out["spec"] = spec
    return out


def live_objects(cluster: Cluster) -> dict[tuple[str, str, str], dict[str, Any]]:
    """Every object of the kinds b00t deploys, outside the system namespaces (Kueue's own CRDs and
    the cluster's fake nodes' objects excluded), by (kind, namespace, name) -> its key fields."""
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
            if kind == "ConfigMap" and meta["name"] == "kube-root-ca.crt":
                continue
            out[(kind, ns, meta["name"])] = _key_fields(kind, obj)
    return out


def state_inputs(project: Any) -> dict[tuple[str, str], Any]:
    """(type, name) -> inputs of every resource the program registered (providers and the stack
    aside; engine-internal keys and the ledger path, which differs by design, dropped)."""
    state = json.loads(project.pulumi("stack", "export", "--stack", project.stack).stdout)
    out: dict[tuple[str, str], Any] = {}
    for r in state["deployment"]["resources"]:
        if r["type"].startswith(("pulumi:providers:", "pulumi:pulumi:Stack")):
            continue
        inputs = {k: v for k, v in (r.get("inputs") or {}).items() if not k.startswith("__") and k != "ledger"}
        out[(r["type"], r["urn"].rsplit("::", 1)[1])] = _sealed(inputs)
    return out


SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _sealed(value: Any) -> Any:
    """Secrets in state are ciphertexts with a fresh nonce each time: compare only that they are secrets."""
    if isinstance(value, dict):
        if SECRET_SIG in value:
            return "<secret>"
        return {k: _sealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_sealed(v) for v in value]
    return value


Snapshot = tuple[dict[tuple[str, str, str], dict[str, Any]], dict[tuple[str, str], Any]]


@pytest.fixture(scope="module")
def python_objects(module_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    """What the Python program creates (deployed, read back, destroyed again): live objects, and
    the inputs it registered."""
    project = make_project(tmp_path_factory.mktemp("python"), module_cluster, extra_env=NOW)
    project.up()
    try:
        return live_objects(module_cluster), state_inputs(project)
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
        python_objects: Snapshot, module_cluster: Cluster, tmp_path: Path) -> None:
    python_live, python_inputs = python_objects
    project = make_yaml_project(tmp_path, module_cluster, extra_env=NOW)
    policy = ["--policy-pack", "../../policy", "--policy-pack-config", "../../policy/dev.json"]
    try:
        project.pulumi("up", "--yes", "--stack", "dev", *policy)
        yaml_objects = live_objects(module_cluster)
        assert sorted(yaml_objects) == sorted(python_live)
        assert len(yaml_objects) > 30
        for key, fields in python_live.items():
            assert yaml_objects[key] == fields, key
        yaml_inputs = state_inputs(project)
        assert sorted(yaml_inputs) == sorted(python_inputs)
        for rkey, inputs in python_inputs.items():
            assert yaml_inputs[rkey] == inputs, rkey
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
