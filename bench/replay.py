"""Replay: a seeded trace of GPU jobs planned by the epoch scheduler and *run* on the local kwok cluster
with Kueue, beside Kueue's FIFO run the same way, with model loads counted from what the pods did.

One GPU per fake node (so a node is a GPU; its time-slicing slots are its ``nvidia.com/gpu``), time
scaled down by ``--scale``. Two runs on one cluster, each in its own namespace:

- ours: each job is created at its planned start, pinned to its planned GPU (required node affinity
  to the node), and admitted by Kueue from a ClusterQueue whose GPU quota is every slot;
- FIFO: each job is created when it arrives, unpinned, and Kueue (BestEffortFIFO) and kube-scheduler
  place it: what a user gets without the epoch scheduler.

A load is counted when a pod of model M starts on a node where M is not resident (no pod of M
running there and M not the last model there), from the pods' nodes and start times. Planned and
observed loads of our run must agree within 5 %: otherwise the plan is not what the cluster does.

Usage::

    .venv/bin/python -m bench.replay                 # 240 jobs, 4 models, 4 GPUs x 4 slots, 40x time
    .venv/bin/python -m bench.replay --jobs 400 --scale 60 --json bench/out/replay.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from b00t_pulumi.epoch import GroupSettings, Job, Plan, fifo_warm, schedule
from b00t_pulumi.gpu.capacity import GPU_RESOURCE, GPU_TOLERATION, GpuCapacity
from b00t_pulumi.plan import kueue
from b00t_pulumi.plan.needs import GpuNeed
from b00t_pulumi.plan.objects import namespace_object
from b00t_pulumi.settings.model import SimulationSettings
from b00t_pulumi.settings.source import read_stack_config, settings_from_config
from b00t_pulumi.simulation.durations import pod_annotations
from bench.tracegen import TraceSpec, generate

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "toolchain"))
from localcluster import observe  # noqa: E402
from localcluster.api import Api  # noqa: E402
from localcluster.cluster import LocalCluster  # noqa: E402

MODEL_LABEL = "b00t.io/model-id"
GPU_TYPE = "nvidia-a100"
WINDOW_S = 900.0


@dataclass(frozen=True)
class Release:
    at_s: float  # simulated time the Job is created
    job: Job
    node: str | None  # pinned node (ours) or None (FIFO)


def count_loads(rows: Sequence[observe.Placement]) -> int:
    """Model loads from the pods' nodes and start times (see the module doc)."""
    loads = 0
    by_node: dict[str, list[observe.Placement]] = {}
    for r in rows:
        if r.node and r.started is not None:
            by_node.setdefault(r.node, []).append(r)
    for pods in by_node.values():
        pods.sort(key=lambda r: (r.started or 0, r.pod))
        last: str | None = None
        for i, p in enumerate(pods):
            model = p.labels.get(MODEL_LABEL)
            running = {q.labels.get(MODEL_LABEL) for q in pods[:i]
                       if (q.finished is None or (q.finished or 0) > (p.started or 0))}
            if model not in running and model != last:
                loads += 1
            last = model
    return loads


def cluster_settings(path: Path, gpus: int, slots: int) -> Path:
    nodes = [{"name": f"replay-gpu-{i}", "gpuType": GPU_TYPE, "gpus": 1, "slots": slots, "cpu": "64",
              "memory": "256Gi"} for i in range(gpus)]
    path.write_text(yaml.safe_dump({"config": {
        "b00t:gpuInventory": {"nodes": nodes},
        "b00t:kueue": {"clusterQueue": "replay", "cpu": "64", "memory": "256Gi"},
    }}))
    return path


def queue_objects(settings_path: Path, namespace: str) -> list[dict[str, Any]]:
    """The ClusterQueue, flavors and LocalQueue the planner makes for queued GPU work on these nodes."""
    from b00t_pulumi.datum.orchestration import GpuRequirements

    ours, _ = read_stack_config(settings_path)
    s = settings_from_config(ours)
    need = GpuNeed(GpuRequirements(count=1, gpu_type=GPU_TYPE, shared=True), None, None)
    queued = [kueue.Queued("replay job", "bench/replay.py", namespace, "gpu", need)]
    return kueue.plan_kueue(queued, GpuCapacity.from_inventory(s.gpu_inventory), s.kueue, admission_check=False)


def job_object(r: Release, namespace: str, scale: float) -> dict[str, Any]:
    annotations = pod_annotations(r.job.duration_s, SimulationSettings(time_scale=scale))
    pod: dict[str, Any] = {
        "restartPolicy": "Never",
        "containers": [{"name": "run", "image": "busybox:1.36",
                        "resources": {"requests": {"cpu": "100m", "memory": "64Mi"},
                                      "limits": {GPU_RESOURCE: "1", "memory": "64Mi"}}}],
        "tolerations": [dict(GPU_TOLERATION)],
    }
    if r.node:
        pod["affinity"] = {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": "kubernetes.io/hostname", "operator": "In", "values": [r.node]}]}]}}}
    labels = {"kueue.x-k8s.io/queue-name": "gpu", MODEL_LABEL: r.job.group}
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": r.job.id, "namespace": namespace, "labels": labels},
            "spec": {"backoffLimit": 0, "template": {"metadata": {"labels": labels,
                                                                  "annotations": annotations},
                                                     "spec": pod}}}


def run(api: Api, releases: list[Release], namespace: str, scale: float, timeout: float) -> list[observe.Placement]:
    """Create each Job at its (scaled) release time; wait until all succeeded; the pods' placements."""
    api.apply(f"/api/v1/namespaces/{namespace}", namespace_object(namespace))
    t0 = time.monotonic()
    errors: list[str] = []

    def release() -> None:
        for r in sorted(releases, key=lambda x: x.at_s):
            wait = t0 + r.at_s / scale - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            code, body = api.request("POST", f"/apis/batch/v1/namespaces/{namespace}/jobs",
                                     json.dumps(job_object(r, namespace, scale)).encode())
            if code != 201:
                errors.append(f"{r.job.id}: HTTP {code} {body[:200]!r}")

    thread = threading.Thread(target=release, daemon=True)
    thread.start()
    ids = {r.job.id for r in releases}
    last = 0.0
    while True:
        rows = [p for p in observe.placements(api) if p.namespace == namespace and p.owner[4:] in ids]
        done = sum(1 for p in rows if p.phase == "Succeeded")
        if done == len(ids) and not thread.is_alive():
            return rows
        if errors:
            raise SystemExit(f"creating jobs failed: {errors[:3]}")
        if time.monotonic() - t0 > timeout:
            raise SystemExit(f"{namespace}: {done}/{len(ids)} jobs succeeded after {timeout:.0f}s")
        if time.monotonic() - last > 15:
            print(f"  [{namespace}] {time.monotonic() - t0:5.0f}s: {done}/{len(ids)} succeeded", flush=True)
            last = time.monotonic()
        time.sleep(1)


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--jobs", type=int, default=240)
    ap.add_argument("--groups", type=int, default=4)
    ap.add_argument("--hours", type=float, default=2.0, help="simulated span of the arrivals")
    ap.add_argument("--gpus", type=int, default=4, help="fake GPU nodes, one GPU each")
    ap.add_argument("--slots", type=int, default=4)
    ap.add_argument("--scale", type=float, default=40.0, help="simulated seconds per real second")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", type=Path, help="write the results here")
    args = ap.parse_args(argv)

    jobs = generate(TraceSpec(seed=args.seed, groups=args.groups, days=args.hours / 24, jobs=args.jobs))
    gpus = [g for g in _gpus(args.gpus, args.slots)]
    default = GroupSettings(batch_window_s=WINDOW_S)
    plan: Plan = schedule(jobs, gpus, default=default)
    warm = fifo_warm(jobs, gpus, default=default)
    node_of = {g.id: g.node for g in gpus}
    placed = plan.placements()
    gpu_of = {p.id: e.gpu for e in plan.epochs for p in e.jobs}
    ours = [Release(placed[j.id].start_s, j, node_of[gpu_of[j.id]]) for j in jobs if j.id in placed]
    fifo = [Release(j.submit_s, j, None) for j in jobs]
    span = max(r.at_s for r in ours) + max(j.duration_s for j in jobs)
    print(f"replay: {len(jobs)} jobs of {args.groups} models over {args.hours} h, {args.gpus} GPUs x {args.slots} "
          f"slots, {args.scale:g}x time (about {2 * span / args.scale / 60:.1f} min for both runs); "
          f"{len(plan.deferred)} deferred by the plan", flush=True)
    with tempfile.TemporaryDirectory(prefix="b00t-replay-") as tmp:
        settings = cluster_settings(Path(tmp) / "Pulumi.replay.yaml", args.gpus, args.slots)
        from b00t_pulumi.simulation.nodes import fake_nodes

        ours_s, _ = read_stack_config(settings)
        lc = LocalCluster(Path(tmp) / "cluster", REPO / "toolchain" / "build.sh")
        st = lc.up(fake_nodes(settings_from_config(ours_s)))
        try:
            api = Api(st.data["server"], st.data["token"])
            for obj in queue_objects(settings, "replay-ours") + queue_objects(settings, "replay-fifo")[-1:]:
                ns = obj["metadata"].get("namespace")
                if ns:
                    api.apply(f"/api/v1/namespaces/{ns}", namespace_object(ns))
                api.apply(_path(obj), obj)
            t = time.monotonic()
            ours_rows = run(api, ours, "replay-ours", args.scale, timeout=3 * span / args.scale + 120)
            ours_s_real = time.monotonic() - t
            t = time.monotonic()
            fifo_rows = run(api, fifo, "replay-fifo", args.scale, timeout=6 * span / args.scale + 120)
            fifo_s_real = time.monotonic() - t
        finally:
            lc.down(quiet=True)
    observed, fifo_observed = count_loads(ours_rows), count_loads(fifo_rows)
    agree = abs(observed - plan.loads) <= 0.05 * plan.loads
    result = {
        "jobs": len(jobs), "groups": args.groups, "gpus": args.gpus, "slots": args.slots, "scale": args.scale,
        "planned_loads": plan.loads, "observed_loads": observed,
        "fifo_observed_loads": fifo_observed, "fifo_warm_model_loads": warm.loads,
        "observed_over_planned": round(observed / plan.loads, 4) if plan.loads else None,
        "observed_over_fifo": round(observed / fifo_observed, 4) if fifo_observed else None,
        "agree_within_5pct": agree, "ours_real_s": round(ours_s_real, 1), "fifo_real_s": round(fifo_s_real, 1),
    }
    print(f"{'run':28} {'model loads':>12}")
    print(f"{'ours, as planned':28} {plan.loads:>12}")
    print(f"{'ours, observed on kwok':28} {observed:>12}   observed/planned = {result['observed_over_planned']}")
    print(f"{'Kueue FIFO, observed':28} {fifo_observed:>12}   ours/FIFO = {result['observed_over_fifo']}")
    print(f"{'FIFO keeping the last model':28} {warm.loads:>12}   (the scheduler's model of it, not run)")
    print(f"planned and observed agree within 5 %: {'yes' if agree else 'NO'}; "
          f"runs took {ours_s_real:.0f} s and {fifo_s_real:.0f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        result["ours_pods"] = [{"job": r.owner[4:], "node": r.node, "model": r.labels.get(MODEL_LABEL),
                                "started": r.started, "finished": r.finished} for r in ours_rows]
        result["ours_plan"] = [{"job": x.job.id, "node": x.node, "model": x.job.group, "start_s": x.at_s,
                                "duration_s": x.job.duration_s} for x in ours]
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0 if agree else 1


def _gpus(n: int, slots: int) -> list[Any]:
    from b00t_pulumi.epoch import Gpu

    return [Gpu(id=f"replay-gpu-{i}-gpu0", node=f"replay-gpu-{i}", gpu_type="gpu", slots=slots) for i in range(n)]


def _path(obj: dict[str, Any]) -> str:
    plural = {"ResourceFlavor": "resourceflavors", "ClusterQueue": "clusterqueues", "LocalQueue": "localqueues"}
    ns = obj["metadata"].get("namespace")
    base = f"/apis/{obj['apiVersion']}"
    kind = plural[obj["kind"]]
    name = obj["metadata"]["name"]
    return f"{base}/namespaces/{ns}/{kind}/{name}" if ns else f"{base}/{kind}/{name}"


if __name__ == "__main__":
    sys.exit(main())
