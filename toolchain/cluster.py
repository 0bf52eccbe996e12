#!/usr/bin/env python3
"""The local k0s-like cluster of b00t-pulumi: it schedules and runs workloads on fake GPU nodes.

Usage (with the project's virtualenv python; the toolchain must be built: toolchain/build.sh):
  cluster.py up [--env NAME | --config FILE]  start (when up already: sync the fake nodes to the settings)
  cluster.py down      stop every process it started, by pid, and remove the data
  cluster.py status    print state; exit 0 when every process runs and the API server is ready
  cluster.py nodes [--env NAME | --config FILE]   the fake nodes the settings give, as JSON
  cluster.py check     create and delete one object of each kind the project uses
  cluster.py summary [--wait S]   what runs where: each pod, its node and GPU product, its Job or
                       Deployment and the ClusterQueue that admitted it (waits up to S s for Pending pods)

Processes, all on 127.0.0.1: etcd, kube-apiserver, kube-controller-manager (the controllers a real
cluster runs for our objects), kube-scheduler, kwok (fake nodes from b00t:gpuInventory, each with
the labels GPU feature discovery would give it, and pods that run and complete), and the Kueue
manager with its webhooks. docs/toolchain.md explains each piece.

Everything lives in .cache/cluster/ of the checkout (B00T_CLUSTER_DIR overrides it):
  kubeconfig   cluster `local`, context `Default`, user `user` (what `k0s kubeconfig admin` writes)
  state.json   ports, token and the processes; logs/ their output; etcd/, pki/ the data
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from localcluster.api import Api  # noqa: E402
from localcluster.cluster import LocalCluster  # noqa: E402
from localcluster.procs import ClusterError, log  # noqa: E402

STATE_DIR = Path(os.environ.get("B00T_CLUSTER_DIR") or ROOT / ".cache" / "cluster")

CHECK_OBJECTS = [
    ("/api/v1/namespaces/{ns}/configmaps", {"apiVersion": "v1", "kind": "ConfigMap",
     "metadata": {"name": "c"}, "data": {"k": "v"}}),
    ("/api/v1/namespaces/{ns}/secrets", {"apiVersion": "v1", "kind": "Secret",
     "metadata": {"name": "s"}, "stringData": {"k": "v"}}),
    ("/api/v1/namespaces/{ns}/services", {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "svc"}, "spec": {"selector": {"app": "a"}, "ports": [{"port": 80}]}}),
    ("/api/v1/namespaces/{ns}/persistentvolumeclaims", {"apiVersion": "v1",
     "kind": "PersistentVolumeClaim", "metadata": {"name": "pvc"}, "spec": {
         "accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": "1Gi"}}}}),
    ("/apis/apps/v1/namespaces/{ns}/deployments", {"apiVersion": "apps/v1", "kind": "Deployment",
     "metadata": {"name": "d", "labels": {"kueue.x-k8s.io/queue-name": "lq"}}, "spec": {
         "replicas": 1, "selector": {"matchLabels": {"app": "a"}}, "template": {
             "metadata": {"labels": {"app": "a"}},
             "spec": {"containers": [{"name": "c", "image": "busybox"}]}}}}),
    ("/apis/batch/v1/namespaces/{ns}/jobs", {"apiVersion": "batch/v1", "kind": "Job",
     "metadata": {"name": "j", "labels": {"kueue.x-k8s.io/queue-name": "lq"}}, "spec": {
         "suspend": True, "template": {"spec": {"restartPolicy": "Never",
                                                "containers": [{"name": "c", "image": "busybox"}]}}}}),
    ("/apis/autoscaling/v2/namespaces/{ns}/horizontalpodautoscalers", {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "h"},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "d"},
                 "minReplicas": 1, "maxReplicas": 2}}),
    ("/apis/kueue.x-k8s.io/v1beta2/resourceflavors", {"apiVersion": "kueue.x-k8s.io/v1beta2",
     "kind": "ResourceFlavor", "metadata": {"name": "{ns}-rf"},
     "spec": {"nodeLabels": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB"}}}),
    ("/apis/kueue.x-k8s.io/v1beta2/clusterqueues", {"apiVersion": "kueue.x-k8s.io/v1beta2",
     "kind": "ClusterQueue", "metadata": {"name": "{ns}-cq"}, "spec": {
         "namespaceSelector": {}, "queueingStrategy": "BestEffortFIFO",
         "resourceGroups": [{"coveredResources": ["cpu", "nvidia.com/gpu"], "flavors": [{
             "name": "{ns}-rf", "resources": [{"name": "cpu", "nominalQuota": "8"},
                                              {"name": "nvidia.com/gpu", "nominalQuota": "2"}]}]}]}}),
    ("/apis/kueue.x-k8s.io/v1beta2/namespaces/{ns}/localqueues", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "LocalQueue", "metadata": {"name": "lq"},
        "spec": {"clusterQueue": "{ns}-cq"}}),
    ("/apis/kueue.x-k8s.io/v1beta2/workloadpriorityclasses", {
        "apiVersion": "kueue.x-k8s.io/v1beta2", "kind": "WorkloadPriorityClass",
        "metadata": {"name": "{ns}-wpc"}, "value": 100, "description": "check"}),
]


def fake_nodes(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The fake nodes of the environment's settings (b00t_pulumi.simulation.nodes)."""
    from b00t_pulumi.errors import B00tError
    from b00t_pulumi.settings import EnvironmentSettings, load_environment
    from b00t_pulumi.settings.source import read_stack_config, settings_from_config
    from b00t_pulumi.simulation.nodes import fake_nodes as nodes_of

    try:
        if args.config:
            path = Path(args.config)
            ours, _ = read_stack_config(path)
            settings = settings_from_config(ours, source=str(path))
        elif args.env:
            settings = load_environment(args.env, ROOT)
        else:
            settings = EnvironmentSettings()
    except B00tError as exc:
        raise ClusterError(f"the settings for the fake nodes are invalid:\n{exc}") from None
    return nodes_of(settings)


def status(cluster: LocalCluster) -> int:
    st = cluster.state()
    if cluster.is_up(st):
        assert st is not None
        print(f"up {st.data['server']}")
        for name, p in st.procs.items():
            print(f"  {name:24} pid {p.pid}")
        print(f"KUBECONFIG={cluster.kubeconfig}")
        return 0
    print("down" + (" (stale state: run `down` or `up`)" if st else ""))
    if st is not None:
        for why in cluster.dead(st):
            print(why)
    return 1


def check(cluster: LocalCluster) -> int:
    st = cluster.state()
    if not cluster.is_up(st):
        raise ClusterError("the cluster is not up (run: cluster.py up)")
    assert st is not None
    api = Api(st.data["server"], st.data["token"])
    ns = f"b00t-check-{secrets.token_hex(3)}"
    code, body = api.request("POST", "/api/v1/namespaces", json.dumps(
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": ns}}).encode())
    if code != 201:
        raise ClusterError(f"creating namespace {ns}: HTTP {code} {body[:300]!r}")
    created, failed = [], []
    for path, obj in CHECK_OBJECTS:
        text = json.dumps(obj).replace("{ns}", ns)
        obj = json.loads(text)
        p = path.format(ns=ns)
        code, body = api.request("POST", p, text.encode())
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if code == 201:
            created.append(f"{p}/{obj['metadata']['name']}")
            print(f"ok   {name}")
        else:
            failed.append(name)
            print(f"FAIL {name}: HTTP {code} {body[:400]!r}")
    for p in reversed(created):
        api.request("DELETE", p)
    api.request("DELETE", f"/api/v1/namespaces/{ns}")
    t0 = time.monotonic()
    while api.request("GET", f"/api/v1/namespaces/{ns}")[0] != 404:
        if time.monotonic() - t0 > 60:
            failed.append(f"Namespace/{ns} deletion (still there after 60s)")
            print(f"FAIL namespace {ns} still exists 60s after its deletion")
            break
        time.sleep(0.5)
    else:
        print(f"ok   Namespace/{ns} deleted in {time.monotonic() - t0:.1f}s")
    print(f"check: {len(created)} kinds accepted, {len(failed)} rejected")
    return 1 if failed else 0


def summary(cluster: LocalCluster, wait: float) -> int:
    from localcluster import observe

    st = cluster.state()
    if not cluster.is_up(st):
        raise ClusterError("the cluster is not up (run: cluster.py up)")
    assert st is not None
    rows = observe.settled(Api(st.data["server"], st.data["token"]), timeout=wait)
    print(observe.table(rows))
    pending = [r for r in rows if r.phase == "Pending"]
    if pending:
        print(f"{len(pending)} pod(s) still Pending: " + ", ".join(f"{r.namespace}/{r.pod}" for r in pending))
    return 0


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="cluster.py", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    for name in ("up", "nodes"):
        p = sub.add_parser(name)
        g = p.add_mutually_exclusive_group()
        g.add_argument("--env", help="read b00t:gpuInventory and b00t:kueue from Pulumi.NAME.yaml")
        g.add_argument("--config", help="read them from this Pulumi.<env>.yaml file")
    for name in ("down", "status", "check"):
        sub.add_parser(name)
    p = sub.add_parser("summary")
    p.add_argument("--wait", type=float, default=0, metavar="S", help="wait up to S seconds for Pending pods")
    args = parser.parse_args(argv[1:])
    cluster = LocalCluster(STATE_DIR, HERE / "build.sh")
    try:
        if args.cmd == "up":
            cluster.up(fake_nodes(args))
            print(f"KUBECONFIG={cluster.kubeconfig}")
        elif args.cmd == "nodes":
            print(json.dumps(fake_nodes(args), indent=2))
        elif args.cmd == "down":
            cluster.down()
        elif args.cmd == "status":
            return status(cluster)
        elif args.cmd == "check":
            return check(cluster)
        elif args.cmd == "summary":
            return summary(cluster, args.wait)
    except ClusterError as exc:
        log(f"error: {exc}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
