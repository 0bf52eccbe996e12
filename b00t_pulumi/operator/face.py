"""The kopf face of the operator: watch events into the store, one worker thread that reconciles.

The only module that imports kopf (``b00t-pulumi operator`` imports it when it runs). kopf watches
(with re-listing and reconnects), logs and serves the liveness probe; it writes nothing to the
objects (only ``on.event`` handlers: no progress annotations, no finalizers, no Events posted).
Before the watches start, every watched kind is listed once, so decisions that need the whole
picture (orphaned reservations) wait until the store is complete.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.reconciler import KINDS, Kind, Reconciler, Store

log = logging.getLogger("b00t_pulumi.operator")

#: kind -> (group, version, plural) as kopf names a resource
RESOURCES: dict[Kind, tuple[str, str, str]] = {
    "check": (c.KUEUE_GROUP, c.KUEUE_VERSION, c.ADMISSION_CHECKS),
    "budget": (c.B00T_GROUP, c.B00T_VERSION, c.BUDGETS),
    "deployment": ("apps", "v1", "deployments"),
    "job": ("batch", "v1", "jobs"),
    "workload": (c.KUEUE_GROUP, c.KUEUE_VERSION, c.WORKLOADS),
}


@dataclass
class Runtime:
    store: Store
    reconciler: Reconciler
    list_all: Any  # kind -> list of object dicts (KubeClient.list_all)
    start_alerts: Any = None
    stop_alerts: Any = None
    stop: threading.Event = field(default_factory=threading.Event)
    worker: threading.Thread | None = None


def initial_sync(rt: Runtime) -> int:
    """List every watched kind into the store and queue everything; the number of objects."""
    n = 0
    for kind in KINDS:
        for obj in rt.list_all(kind):
            rt.reconciler.enqueue(rt.store.upsert(kind, obj))
            n += 1
    rt.store.synced = True
    return n


def start_worker(rt: Runtime) -> None:
    rt.worker = threading.Thread(target=rt.reconciler.run_forever, args=(rt.stop,), name="b00t-reconcile",
                                 daemon=True)
    rt.worker.start()


def run(rt: Runtime, *, namespaces: list[str], liveness: str | None, verbose: bool) -> None:
    """Run kopf until SIGINT/SIGTERM (standalone: one operator, no peering)."""
    import kopf

    registry = kopf.OperatorRegistry()

    def handler(kind: Kind) -> Any:
        def on_event(event: dict[str, Any], **_: Any) -> None:
            obj = event.get("object") or {}
            if event.get("type") == "DELETED":
                rt.store.delete(kind, obj)
            else:
                rt.reconciler.enqueue(rt.store.upsert(kind, obj))
        return on_event

    for kind, (group, version, plural) in RESOURCES.items():
        kopf.on.event(group, version, plural, id=f"b00t-{kind}", registry=registry)(handler(kind))

    @kopf.on.login(registry=registry)
    def login(**kwargs: Any) -> Any:
        return kopf.login_via_client(**kwargs)

    @kopf.on.startup(registry=registry)
    def startup(settings: kopf.OperatorSettings, **_: Any) -> None:
        settings.posting.enabled = False  # no Kubernetes Events from kopf's own logging
        settings.watching.server_timeout = 300
        settings.networking.request_timeout = 30
        n = initial_sync(rt)
        log.info("b00t operator: %d objects listed; reconciling", n)
        start_worker(rt)
        if rt.start_alerts:
            rt.start_alerts()

    @kopf.on.cleanup(registry=registry)
    def cleanup(**_: Any) -> None:
        rt.stop.set()
        if rt.stop_alerts:
            rt.stop_alerts()
        if rt.worker is not None:
            rt.worker.join(10)

    kopf.configure(verbose=verbose, log_format=kopf.LogFormat.FULL)
    if not verbose:  # kopf logs every handled event at INFO: keep the operator's own lines
        logging.getLogger("kopf").setLevel(logging.WARNING)
    kopf.run(registry=registry, standalone=True, clusterwide=not namespaces, namespaces=namespaces,
             liveness_endpoint=liveness)
