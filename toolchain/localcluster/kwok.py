"""kwok: fake nodes and the stages it plays on nodes, pods and volumes.

Plain ``kwok`` against our API server has no built-in stages: it gets the module's
``kustomize/stage/`` files (copied by toolchain/build.sh), joined into one ``--config`` file. Its
options are flags: a KwokConfiguration in that file would replace every default. The volume stages
come with a default StorageClass (``kwok-volume``) that binds each claim to a fake hostPath volume,
which is what the cluster's storage provisioner would do.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from localcluster.api import FIELD_MANAGER, Api
from localcluster.procs import ClusterError

NODE_SELECTOR = "kwok.x-k8s.io/node=fake"
MANAGED_BY = ("app.kubernetes.io/managed-by", "b00t-local-cluster")


def flags(kubeconfig: Path, stages: Path) -> list[str]:
    return [f"--kubeconfig={kubeconfig}", f"--config={stages}",
            f"--manage-nodes-with-annotation-selector={NODE_SELECTOR}",
            "--cidr=10.244.0.0/16", "--node-ip=10.1.0.1", "--node-lease-duration-seconds=40",
            "--node-port=0", "--server-address="]


def split_stages(stage_dir: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(Stage documents, other objects to create such as the StorageClass) of the stage files."""
    stages: list[dict[str, Any]] = []
    others: list[dict[str, Any]] = []
    files = sorted(stage_dir.glob("*.yaml"))
    if not files:
        raise ClusterError(f"no kwok stage files in {stage_dir} (run toolchain/build.sh)")
    for f in files:
        for doc in yaml.safe_load_all(f.read_text()):
            if not doc:
                continue
            (stages if doc.get("kind") == "Stage" else others).append(doc)
    return stages, others


def write_stages(stage_dir: Path, out: Path) -> list[dict[str, Any]]:
    stages, others = split_stages(stage_dir)
    out.write_text("---\n".join(yaml.safe_dump(s, sort_keys=False) for s in stages))
    return others


def node_path(name: str) -> str:
    return f"/api/v1/nodes/{name}"


def sync_nodes(api: Api, nodes: list[dict[str, Any]]) -> tuple[list[str], list[str]]:
    """Create or update our fake nodes (labels, taints, capacity) and delete ours that are not wanted."""
    wanted = {n["metadata"]["name"] for n in nodes}
    for node in nodes:
        name = node["metadata"]["name"]
        if api.get(node_path(name)) is None:
            # Created with its status: kwok's node-initialize stage keeps the capacity a new node has
            # (a node created without one gets kwok's defaults: 1k CPU, 1Ti memory).
            code, body = api.request("POST", f"/api/v1/nodes?fieldManager={FIELD_MANAGER}", dump(node))
            if code not in (201, 409):
                raise ClusterError(f"creating node {name}: HTTP {code} {body[:400]!r}")
        api.apply(node_path(name), {k: v for k, v in node.items() if k != "status"})
        api.apply(node_path(name), {"apiVersion": "v1", "kind": "Node", "metadata": {"name": name},
                                    "status": node["status"]}, subresource="status")
    removed = []
    key, value = MANAGED_BY
    for node in api.items(f"/api/v1/nodes?labelSelector={key}%3D{value}"):
        name = node["metadata"]["name"]
        if name not in wanted:
            api.delete(node_path(name))
            removed.append(name)
    return sorted(wanted), removed


def node_ready(node: dict[str, Any]) -> bool:
    conds = (node.get("status") or {}).get("conditions") or []
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in conds)
    taints = (node.get("spec") or {}).get("taints") or []
    return ready and not any(t.get("key", "").startswith("node.kubernetes.io/") for t in taints)


def nodes_ready(api: Api, names: list[str]) -> bool:
    for name in names:
        node = api.get(node_path(name))
        if node is None or not node_ready(node):
            return False
    return True


def describe(nodes: list[dict[str, Any]]) -> str:
    parts = []
    for n in nodes:
        cap = n["status"]["capacity"]
        gpu = cap.get("nvidia.com/gpu")
        product = n["metadata"]["labels"].get("nvidia.com/gpu.product")
        parts.append(f"{n['metadata']['name']} ({cap['cpu']} CPU, {cap['memory']}"
                     + (f", {gpu} x nvidia.com/gpu {product}" if gpu else "") + ")")
    return ", ".join(parts)


def dump(obj: Any) -> bytes:
    return json.dumps(obj).encode()
