"""The operator against a real local cluster (kwok nodes, Kueue): planned objects applied, the operator
as a real process, and the independent arithmetic the tests compare the ledger with.

Used by tests/engine/test_operator.py and bench/operator.py. Objects come from the planner (the same
objects Pulumi would create) and are applied with the Kubernetes client, so a test controls exactly
when each Job appears; the Pulumi path is covered by the examples test (``make up``).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Any

from b00t_pulumi.operator.observed import parse_time
from b00t_pulumi.plan.objects import K8sObject, sort_for_apply

REPO = Path(__file__).resolve().parents[2]
KWOK_DELAY = "pod-complete.stage.kwok.x-k8s.io/delay"
KWOK_JITTER = "pod-complete.stage.kwok.x-k8s.io/jitter-delay"


def iso(ts: float) -> str:
    return datetime.fromtimestamp(int(ts), UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Api:
    """Create and read objects of any kind with the official client (no kubectl needed)."""

    def __init__(self, api_client: Any) -> None:
        from kubernetes import client, dynamic

        self.client = api_client
        self.dyn = dynamic.DynamicClient(api_client)
        self.core = client.CoreV1Api(api_client)
        self.batch = client.BatchV1Api(api_client)
        self.apps = client.AppsV1Api(api_client)
        self.custom = client.CustomObjectsApi(api_client)

    def resource(self, api_version: str, kind: str) -> Any:
        return self.dyn.resources.get(api_version=api_version, kind=kind)

    def apply(self, obj: K8sObject) -> None:
        """Create, or server-side apply when it exists (field manager ``b00t-test``)."""
        body = _plain(obj)
        res = self.resource(body["apiVersion"], body["kind"])
        ns = body["metadata"].get("namespace")
        res.server_side_apply(body=body, name=body["metadata"]["name"], namespace=ns, field_manager="b00t-test",
                              force_conflicts=True)

    def apply_all(self, objs: Iterable[K8sObject]) -> None:
        for o in sort_for_apply(list(objs)):
            if o["kind"] == "CustomResourceDefinition":
                self.apply(o)
                self.wait_crd(o["metadata"]["name"])
            else:
                self.apply(o)

    def wait_crd(self, name: str, timeout: float = 30) -> None:
        from kubernetes import client

        ext = client.ApiextensionsV1Api(self.client)
        wait_for(lambda: any(c.type == "Established" and c.status == "True"
                             for c in (ext.read_custom_resource_definition(name).status.conditions or [])),
                 timeout, f"CRD {name} established")
        self.dyn = type(self.dyn)(self.client)  # fresh discovery

    def jobs(self, ns: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self.client.sanitize_for_serialization(self.batch.list_namespaced_job(ns))["items"]
        return out

    def pods_of(self, ns: str, job_uid: str) -> list[dict[str, Any]]:
        pods = self.core.list_namespaced_pod(ns, label_selector=f"batch.kubernetes.io/controller-uid={job_uid}")
        out: list[dict[str, Any]] = self.client.sanitize_for_serialization(pods)["items"]
        return out

    def workloads(self, ns: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = self.custom.list_namespaced_custom_object(
            "kueue.x-k8s.io", "v1beta2", ns, "workloads")["items"]
        return out

    def budget(self, ns: str, name: str) -> dict[str, Any]:
        out: dict[str, Any] = self.custom.get_namespaced_custom_object("b00t.io", "v1", ns, "budgetconstraints",
                                                                      name)
        return out


def _plain(obj: Any) -> Any:
    """A planner object as JSON (a SecretValue becomes its value, as Pulumi's Secret would hold it)."""
    from b00t_pulumi.plan.env import SecretValue

    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [_plain(v) for v in obj]
    return obj.value if isinstance(obj, SecretValue) else obj


def wait_for(cond: Callable[[], Any], timeout: float, what: str, every: float = 0.25) -> Any:
    deadline = time.monotonic() + timeout
    last: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = cond()
        except Exception as exc:  # an object not there yet
            last = exc
            value = None
        if value:
            return value
        time.sleep(every)
    why = f" (last error: {last})" if last else ""
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}{why}")


@dataclass
class OperatorProcess:
    """``b00t-pulumi operator`` as a child process with its own log; killed by pid only."""

    kubeconfig: Path
    ledger: str | None  # None: the one of ``env_name``'s settings, as `make up` runs it
    log: Path
    settings: dict[str, Any] = field(default_factory=dict)
    extra_args: list[str] = field(default_factory=list)
    cwd: Path = REPO
    env_name: str | None = None
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self, timeout: float = 60) -> None:
        self.starts += 1
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        if self.settings:
            env["B00T_OPERATOR_SETTINGS"] = json.dumps(self.settings)
        env.pop("B00T_NOW", None)
        before = self.log.read_text() if self.log.exists() else ""
        log = self.log.open("ab")
        cmd = [sys.executable, "-m", "b00t_pulumi.cli.main", "operator", "--kubeconfig", str(self.kubeconfig),
               *(["--ledger", self.ledger] if self.ledger else []),
               *(["--env", self.env_name] if self.env_name else []), *self.extra_args]
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.cwd)
        log.close()
        mark = "objects listed; reconciling"

        def ready() -> bool:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"the operator exited ({self.proc.returncode}):\n{self.tail()}")
            return self.log.read_text().count(mark) > before.count(mark)

        try:
            wait_for(ready, timeout, "the operator to list the cluster")
        except RuntimeError as exc:
            raise AssertionError(str(exc)) from None

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)
            self.proc.wait(30)
        self.proc = None

    def stop(self) -> None:
        self.kill(signal.SIGTERM)

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text().splitlines()[-n:]) if self.log.exists() else ""


# -- independent arithmetic ----------------------------------------------------------------------------
def pod_seconds(pod: dict[str, Any]) -> int:
    """How long a pod held its node: status.startTime to its last container's finishedAt."""
    st = pod.get("status") or {}
    start = parse_time(st.get("startTime"))
    ends = [parse_time(((cs.get("state") or {}).get("terminated") or {}).get("finishedAt"))
            for cs in st.get("containerStatuses") or []]
    if start is None or not ends or any(e is None for e in ends):
        return 0
    return max(0, round(max(e for e in ends if e is not None) - start))


def _cpu(q: str) -> Decimal:
    return Decimal(q[:-1]) / 1000 if q.endswith("m") else Decimal(q)


def _gib(q: str) -> Decimal:
    units = {"Ki": Decimal(2**10), "Mi": Decimal(2**20), "Gi": Decimal(2**30), "Ti": Decimal(2**40)}
    for u, f in units.items():
        if q.endswith(u):
            return Decimal(q[:-2]) * f / units["Gi"]
    return Decimal(q) / units["Gi"]


def hourly(pod: dict[str, Any], prices: dict[str, Any], gpu_type: str | None) -> Decimal:
    """The pod's containers' GPUs (limits), CPU and memory (requests) at ``b00t:prices``."""
    gpu = cpu = mem = Decimal(0)
    for ct in pod["spec"]["containers"]:
        res = ct.get("resources") or {}
        gpu += Decimal(str((res.get("limits") or {}).get("nvidia.com/gpu", 0)))
        cpu += _cpu(str((res.get("requests") or {}).get("cpu", "0")))
        mem += _gib(str((res.get("requests") or {}).get("memory", "0")))
    gpu_price = Decimal(str((prices.get("gpuHour") or {}).get(gpu_type or "", prices.get("defaultGpuHour", "0.95"))))
    return gpu * gpu_price + cpu * Decimal(str(prices["cpuHour"])) + mem * Decimal(str(prices["memoryGibHour"]))


def metered_cost(pods: list[dict[str, Any]], prices: dict[str, Any], gpu_type: str | None) -> Decimal:
    """Σ pod seconds x the pod's hourly price / 3600, rounded to a millionth like the ledger's records."""
    total = sum((Decimal(pod_seconds(p)) * hourly(p, prices, gpu_type) / 3600 for p in pods), Decimal(0))
    return total.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def ledger_rows(url: str, constraint: str) -> list[Any]:
    from b00t_pulumi.budget.ledger import open_ledger

    with open_ledger(url) as ledger:
        return ledger.records(constraint)


def percentile(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)
