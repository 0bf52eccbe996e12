"""Helpers of the engine tests: the built toolchain, isolated API servers, Pulumi projects in tmp dirs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PASSPHRASE = "b00t-dev-local-only"  # the dev passphrase: Pulumi.dev.yaml carries its salt
SECRETS = {"N8N_BASIC_AUTH_PASSWORD": "engine-test-n8n-password",
           "N8N_BUDGET_WEBHOOK_URL": "http://127.0.0.1:9/webhook/engine-test"}


def toolchain_env() -> dict[str, str]:
    """The toolchain's environment (PATH, offline Pulumi settings). Fails, never skips, when missing."""
    out = subprocess.run(["bash", str(REPO / "toolchain" / "build.sh"), "--print-env"], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        pytest.fail(f"the engine toolchain is not built (run `make toolchain`): {out.stderr.strip() or out.stdout}")
    env: dict[str, str] = {}
    for line in out.stdout.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            env[key] = value
    return env


@dataclass
class Cluster:
    dir: Path
    kubeconfig: Path
    env: dict[str, str]

    def api(self) -> Any:
        from kubernetes import config

        return config.new_client_from_config(config_file=str(self.kubeconfig), context="Default",
                                             persist_config=False)


@contextmanager
def cluster(directory: Path, tool_env: dict[str, str], settings: Path | None = None) -> Iterator[Cluster]:
    """A local cluster of its own (toolchain/cluster.py: API server, controllers, scheduler, kwok nodes
    from ``settings`` (a Pulumi.<env>.yaml; default the repository's dev), Kueue), stopped afterwards."""
    env = {**os.environ, **tool_env, "B00T_CLUSTER_DIR": str(directory)}
    script = str(REPO / "toolchain" / "cluster.py")
    config = str(settings or REPO / "Pulumi.dev.yaml")
    up = subprocess.run([sys.executable, script, "up", "--config", config], env=env, capture_output=True, text=True,
                        check=False)
    if up.returncode != 0:
        subprocess.run([sys.executable, script, "down"], env=env, capture_output=True, check=False)
        pytest.fail(f"the local cluster did not start:\n{up.stdout}\n{up.stderr}")
    try:
        yield Cluster(directory, directory / "kubeconfig", env)
    finally:
        subprocess.run([sys.executable, script, "down"], env=env, capture_output=True, check=False)


def sync_nodes(c: Cluster, settings: Path) -> None:
    """Make the cluster's fake nodes those of ``settings`` (cluster.py up on a running cluster)."""
    out = subprocess.run([sys.executable, str(REPO / "toolchain" / "cluster.py"), "up", "--config", str(settings)],
                         env=c.env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        pytest.fail(f"syncing the fake nodes failed:\n{out.stdout}\n{out.stderr}")


@dataclass
class Project:
    """A copy of the Pulumi project (program, datums, policy pack) with its own backend and stack."""

    dir: Path
    env: dict[str, str]
    stack: str = "dev"
    runs: list[str] = field(default_factory=list)

    def pulumi(self, *args: str, check: bool = True, timeout: float = 900) -> subprocess.CompletedProcess[str]:
        cmd = ["pulumi", *args, "--non-interactive"]
        out = subprocess.run(cmd, cwd=self.dir, env=self.env, capture_output=True, text=True, timeout=timeout,
                             check=False)
        self.runs.append(f"$ {' '.join(cmd)}\n{out.stdout}\n{out.stderr}")
        if check and out.returncode != 0:
            raise AssertionError(f"pulumi {' '.join(args)} failed ({out.returncode}):\n{out.stdout}\n{out.stderr}")
        return out

    def up(self, *extra: str, policy: bool = True, check: bool = True) -> subprocess.CompletedProcess[str]:
        pack = ["--policy-pack", "policy", "--policy-pack-config", "policy/dev.json"] if policy else []
        return self.pulumi("up", "--yes", "--stack", self.stack, *pack, *extra, check=check)

    def preview(self, *extra: str, policy: bool = True, check: bool = True) -> subprocess.CompletedProcess[str]:
        pack = ["--policy-pack", "policy", "--policy-pack-config", "policy/dev.json"] if policy else []
        return self.pulumi("preview", "--stack", self.stack, *pack, *extra, check=check)

    def outputs(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.pulumi("stack", "output", "--stack", self.stack, "--json").stdout)
        return data

    def edit(self, relpath: str, old: str, new: str) -> None:
        f = self.dir / relpath
        text = f.read_text()
        assert old in text, f"{old!r} not in {relpath}"
        f.write_text(text.replace(old, new))


def make_project(directory: Path, cluster: Cluster, backend: str | None = None,
                 extra_env: dict[str, str] | None = None) -> Project:
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        shutil.copy2(REPO / name, directory / name)
    for name in ("stacks", "components", "policy"):
        shutil.copytree(REPO / name, directory / name, ignore=shutil.ignore_patterns("__pycache__"))
    (directory / ".venv").symlink_to(REPO / ".venv")
    (directory / "state").mkdir()
    project = Project(directory, project_env(directory, cluster, backend, extra_env))
    project.pulumi("stack", "init", "dev")
    project.pulumi("config", "set", "--stack", "dev", "kubernetes:kubeconfig", str(cluster.kubeconfig))
    return project


def project_env(directory: Path, cluster: Cluster, backend: str | None = None,
                extra_env: dict[str, str] | None = None) -> dict[str, str]:
    env = {**cluster.env, "PULUMI_BACKEND_URL": backend or f"file://{directory / 'state'}",
           "PULUMI_CONFIG_PASSPHRASE": PASSPHRASE, "KUBECONFIG": str(cluster.kubeconfig),
           "PYTHONUNBUFFERED": "1", **SECRETS, **(extra_env or {})}
    env.pop("B00T_DATUMS", None)
    return env


def make_yaml_project(directory: Path, cluster: Cluster, extra_env: dict[str, str] | None = None) -> Project:
    """examples/yaml in a copy of the repository's layout (datums, the provider, the virtualenv)."""
    for name in ("stacks", "components", "policy"):
        shutil.copytree(REPO / name, directory / name, ignore=shutil.ignore_patterns("__pycache__"))
    (directory / "provider").mkdir()
    for name in ("__main__.py", "PulumiPlugin.yaml"):
        shutil.copy2(REPO / "provider" / name, directory / "provider" / name)
    (directory / ".venv").symlink_to(REPO / ".venv")
    here = directory / "examples" / "yaml"
    here.mkdir(parents=True)
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml"):
        shutil.copy2(REPO / "examples" / "yaml" / name, here / name)
    (here / "state").mkdir()
    project = Project(here, project_env(here, cluster, extra_env=extra_env))
    project.pulumi("stack", "init", "dev")
    project.pulumi("config", "set", "--stack", "dev", "kubernetes:kubeconfig", str(cluster.kubeconfig))
    return project


def kube_apply(c: Cluster, objects: list[dict[str, Any]], field_manager: str = "b00t-engine-test") -> None:
    """Server-side apply of planned objects in apply order (Secret values materialized)."""
    from kubernetes import dynamic

    from b00t_pulumi.plan.objects import sort_for_apply
    from b00t_pulumi.plan.render import materialize

    dc = dynamic.DynamicClient(c.api())
    objs = sort_for_apply([materialize(o, show_secrets=True) for o in objects])
    namespaces = {o["metadata"]["namespace"] for o in objs if o["metadata"].get("namespace")}
    ns_res = dc.resources.get(api_version="v1", kind="Namespace")
    for ns in sorted(namespaces):
        dc.server_side_apply(ns_res, body={"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}},
                             name=ns, field_manager=field_manager, force_conflicts=True)
    for obj in objs:
        res = dc.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        dc.server_side_apply(res, body=obj, name=obj["metadata"]["name"],
                             namespace=obj["metadata"].get("namespace"), field_manager=field_manager,
                             force_conflicts=True)


def observer(c: Cluster) -> Any:
    """The local cluster's own client (toolchain/localcluster/api.py) for observe.placements and raw calls."""
    tool = str(REPO / "toolchain")
    if tool not in sys.path:
        sys.path.insert(0, tool)
    from localcluster.api import Api

    state = json.loads((c.dir / "state.json").read_text())
    return Api(state["server"], state["token"])


def wait_until(what: str, check: Any, timeout: float = 120, every: float = 0.5) -> Any:
    """Poll ``check()`` until it returns something truthy; fail the test with ``what`` after ``timeout`` s."""
    import time

    t0 = time.monotonic()
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() - t0 > timeout:
            pytest.fail(f"{what}: not after {timeout:.0f}s")
        time.sleep(every)
