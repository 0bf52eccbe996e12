"""The CLI's YAML piped into a real kubectl against a real API server: two phases apply cleanly the
first time, one stream with a CRD and its custom resources does not, and the Secrets the CLI
leaves out are created by the commands it prints, never with a placeholder."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.engine import REPO, SECRETS, Cluster

CLI = str(Path(sys.executable).parent / "b00t-pulumi")


def kubectl(c: Cluster) -> list[str]:
    exe = c.env.get("KUBECTL", "")
    if not exe or not Path(exe).exists():
        pytest.fail("kubectl is not built: run toolchain/build.sh (step 9)")
    return [exe, "--kubeconfig", str(c.kubeconfig)]


def pipe(c: Cluster, cli_args: list[str], kubectl_args: list[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **SECRETS}
    env.pop("B00T_DATUMS", None)
    cli = subprocess.run([CLI, *cli_args], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    out = subprocess.run([*kubectl(c), *kubectl_args], input=cli.stdout, capture_output=True, text=True,
                         check=False)
    return subprocess.CompletedProcess(out.args, out.returncode, out.stdout, cli.stderr + out.stderr)


APPLY = ["apply", "--server-side", "--field-manager=b00t-pulumi", "-f", "-"]


def test_one_stream_with_crd_and_crs_fails_the_first_apply(module_cluster: Cluster) -> None:
    out = pipe(module_cluster, ["stack", "to-k8s", "llm-inference-pipeline", "--env", "dev"], APPLY)
    assert out.returncode != 0
    assert 'no matches for kind "BudgetConstraint"' in out.stderr
    assert "Apply in two phases" in out.stderr  # the CLI said so on stderr
    clean(module_cluster)


def clean(c: Cluster) -> None:
    """Remove what the CLI's YAML created, so each test starts without the BudgetConstraint CRD."""
    for args in (["namespace", "ai-ml-dev", "gpu-operator"], ["crd", "budgetconstraints.b00t.io"],
                 ["clusterqueue,resourceflavor", "--all"]):
        subprocess.run([*kubectl(c), "delete", "--ignore-not-found", "--wait=true", *args], check=True,
                       capture_output=True)


def test_two_phases_apply_first_time_and_secrets_come_from_the_hint(module_cluster: Cluster) -> None:
    try:
        _two_phases(module_cluster)
    finally:
        clean(module_cluster)


def _two_phases(module_cluster: Cluster) -> None:
    from kubernetes import client

    crds = pipe(module_cluster, ["stack", "to-k8s", "--all", "--env", "dev", "--crds-only"], APPLY)
    assert crds.returncode == 0, crds.stderr
    wait = subprocess.run([*kubectl(module_cluster), "wait", "--for=condition=Established", "--timeout=60s",
                           "crd/budgetconstraints.b00t.io"], capture_output=True, text=True, check=False)
    assert wait.returncode == 0, wait.stderr
    rest = pipe(module_cluster, ["stack", "to-k8s", "--all", "--env", "dev", "--skip-crds"], APPLY)
    assert rest.returncode == 0, rest.stderr
    core = client.CoreV1Api(module_cluster.api())
    names = {s.metadata.name for s in core.list_namespaced_secret("ai-ml-dev").items}
    assert not {"n8n-env", "vllm-server-env"} & names  # left out, not written with a placeholder
    assert client.AppsV1Api(module_cluster.api()).read_namespaced_deployment("vllm-server", "ai-ml-dev")
    hints = [ln.strip() for ln in rest.stderr.splitlines() if ln.strip().startswith("kubectl create secret")]
    assert len(hints) == 5
    kubectl_dir = Path(kubectl(module_cluster)[0]).parent
    env = {"PATH": f"{kubectl_dir}:/usr/bin:/bin", "KUBECONFIG": str(module_cluster.kubeconfig), **SECRETS}
    for line in hints:
        subprocess.run(["sh", "-c", line], env=env, check=True, capture_output=True)
    secret = core.read_namespaced_secret("n8n-env", "ai-ml-dev")
    assert base64.b64decode(secret.data["N8N_BASIC_AUTH_PASSWORD"]).decode() == SECRETS["N8N_BASIC_AUTH_PASSWORD"]
    webhook = core.read_namespaced_secret("llm-inference-pipeline-budget-webhook", "ai-ml-dev")
    assert base64.b64decode(webhook.data["url"]).decode() == SECRETS["N8N_BUDGET_WEBHOOK_URL"]
    # a second apply of the same phases changes nothing
    again = pipe(module_cluster, ["stack", "to-k8s", "--all", "--env", "dev", "--skip-crds"], APPLY)
    assert again.returncode == 0 and "serverside-applied" in again.stdout


def test_objects_applied_by_kubectl_are_taken_over_by_pulumi_up(module_cluster: Cluster, tmp_path: Path) -> None:
    """The hand-off of docs/cli.md: objects applied server-side by kubectl (field manager
    b00t-pulumi), then `pulumi up` of the program on the same cluster: it co-owns them. Jobs are
    the exception: the gates label their pod template, which is immutable, so they are deleted first."""
    from kubernetes import client

    from tests.engine.engine import make_project

    try:
        _two_phases(module_cluster)
        project = make_project(tmp_path, module_cluster)
        failed = project.up(policy=False, check=False)
        assert failed.returncode != 0 and "field is immutable" in failed.stdout + failed.stderr
        subprocess.run([*kubectl(module_cluster), "delete", "jobs", "--all", "-n", "ai-ml-dev", "--wait=true"],
                       check=True, capture_output=True)
        project.up(policy=False)
        dep = client.AppsV1Api(module_cluster.api()).read_namespaced_deployment("vllm-server", "ai-ml-dev")
        managers = {f.manager for f in dep.metadata.managed_fields}
        assert "b00t-pulumi" in managers and any(m.startswith("pulumi-kubernetes") for m in managers), managers
        assert dep.metadata.labels["b00t.io/stack"] == "llm-inference-pipeline"
        project.up("--expect-no-changes", policy=False)
        project.pulumi("destroy", "--yes", "--stack", "dev")
    finally:
        clean(module_cluster)
