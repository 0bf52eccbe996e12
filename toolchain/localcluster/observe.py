"""What runs where on the local cluster: each pod with its node, the node's GPU product, the Job or
Deployment it belongs to and the ClusterQueue that admitted it (``cluster.py summary``, the engine
tests and the replay benchmark read the cluster through this)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from localcluster.api import Api

SYSTEM_NAMESPACES = ("kube-system", "kube-public", "kube-node-lease", "kueue-system")
PRODUCT_LABEL = "nvidia.com/gpu.product"


@dataclass(frozen=True)
class Placement:
    namespace: str
    pod: str
    phase: str
    node: str | None
    gpu_product: str | None
    owner: str  # "Job/name", "Deployment/name" (through its ReplicaSet) or "Pod"
    admitted_by: str | None  # ClusterQueue of the pod's Kueue Workload, when queued
    started: float | None  # pod start (Unix seconds)
    finished: float | None  # container finish (Unix seconds), when done
    labels: dict[str, str]
    gated: bool  # Kueue's scheduling gates still on it


def _ts(value: str | None) -> float | None:
    if not value:
        return None
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _owner(pod: dict[str, Any]) -> str:
    for ref in pod["metadata"].get("ownerReferences") or []:
        if ref["kind"] == "ReplicaSet":
            return "Deployment/" + str(ref["name"]).rsplit("-", 1)[0]
        return f"{ref['kind']}/{ref['name']}"
    return "Pod"


def placements(api: Api) -> list[Placement]:
    products = {n["metadata"]["name"]: n["metadata"].get("labels", {}).get(PRODUCT_LABEL)
                for n in api.items("/api/v1/nodes")}
    admitted: dict[tuple[str, str], str] = {}
    for w in api.items("/apis/kueue.x-k8s.io/v1beta2/workloads"):
        cq = ((w.get("status") or {}).get("admission") or {}).get("clusterQueue")
        for ref in w["metadata"].get("ownerReferences") or []:
            if cq:
                admitted[(w["metadata"]["namespace"], f"{ref['kind']}/{ref['name']}")] = cq
    out: list[Placement] = []
    for p in api.items("/api/v1/pods"):
        m, st = p["metadata"], p.get("status") or {}
        if m["namespace"] in SYSTEM_NAMESPACES:
            continue
        node = p["spec"].get("nodeName")
        owner = _owner(p)
        finished = None
        for cs in st.get("containerStatuses") or []:
            term = (cs.get("state") or {}).get("terminated")
            if term:
                finished = _ts(term.get("finishedAt"))
        cq = admitted.get((m["namespace"], owner)) or admitted.get((m["namespace"], f"Pod/{m['name']}"))
        out.append(Placement(m["namespace"], m["name"], st.get("phase", "?"), node, products.get(node or ""),
                             owner, cq, _ts(st.get("startTime")), finished, dict(m.get("labels") or {}),
                             bool(p["spec"].get("schedulingGates"))))
    return sorted(out, key=lambda x: (x.namespace, x.owner, x.pod))


def settled(api: Api, timeout: float = 90) -> list[Placement]:
    """Placements once no pod is Pending but those Kueue gates (they wait for admission: a budget,
    an epoch or quota holds them on purpose), or after ``timeout`` s."""
    t0 = time.monotonic()
    while True:
        rows = placements(api)
        if all(r.phase != "Pending" or r.gated for r in rows) or time.monotonic() - t0 > timeout:
            return rows
        time.sleep(1)


def table(rows: list[Placement]) -> str:
    head = f"{'NAMESPACE/POD':52} {'PHASE':10} {'NODE':14} {'GPU PRODUCT':30} {'OWNER':36} ADMITTED BY"
    lines = [head]
    for r in rows:
        lines.append(f"{r.namespace + '/' + r.pod:52} {r.phase:10} {r.node or '-':14} {r.gpu_product or '-':30} "
                     f"{r.owner:36} {r.admitted_by or ('gated by Kueue' if r.gated else '-')}")
    return "\n".join(lines)
