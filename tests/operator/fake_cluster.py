"""An in-memory stand-in for the API server for the reconciler's unit tests (engine tests use a real one).

Writes change the stored dicts the way the API server would (apply of our check entry, merge patches)
and are fed back into the store, as the watch would. Every write is recorded in ``writes``.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from b00t_pulumi.operator import contract as c
from b00t_pulumi.operator.reconciler import Kind, Store

_rv = itertools.count(10_000)


class FakeCluster:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.objects: dict[tuple[Kind, str, str], dict[str, Any]] = {}
        self.pods: dict[str, list[dict[str, Any]]] = {}
        self.writes: list[tuple[str, str, Any]] = []
        self.secrets: dict[tuple[str, str, str], str] = {}
        self.enqueue: Any = None  # the reconciler's, as a watch event would


    def add(self, kind: Kind, obj: dict[str, Any]) -> dict[str, Any]:
        m = obj["metadata"]
        self.objects[(kind, m.get("namespace", ""), m["name"])] = obj
        keys = self.store.upsert(kind, obj)
        if self.enqueue is not None:
            self.enqueue(keys)
        return obj

    def get(self, kind: Kind, ns: str, name: str) -> dict[str, Any]:
        return self.objects[(kind, ns, name)]

    def _changed(self, kind: Kind, ns: str, name: str, change: Any) -> None:
        obj = copy.deepcopy(self.objects[(kind, ns, name)])
        change(obj)
        obj["metadata"]["resourceVersion"] = str(next(_rv))
        self.add(kind, obj)

    # -- Kube ---------------------------------------------------------------------------------------
    def job_pods(self, namespace: str, job_uid: str) -> list[dict[str, Any]]:
        return copy.deepcopy(self.pods.get(job_uid, []))

    def apply_workload_check(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        entry = body["status"]["admissionChecks"][0]
        self.writes.append(("workload", f"{namespace}/{name}", entry))

        def change(obj: dict[str, Any]) -> None:
            checks = [e for e in obj["status"].get("admissionChecks", []) if e["name"] != entry["name"]]
            obj["status"]["admissionChecks"] = sorted([*checks, entry], key=lambda e: e["name"])
        self._changed("workload", namespace, name, change)

    def patch_workload(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        """What Kueue does with ``spec.active``: false evicts (no quota), true queues it again (quota later)."""
        self.writes.append(("workload-spec", f"{namespace}/{name}", patch))

        def change(obj: dict[str, Any]) -> None:
            _merge_patch(obj, patch)
            if obj["spec"].get("active") is False:
                obj["status"]["conditions"] = [x for x in obj["status"]["conditions"] if x["type"] != "QuotaReserved"]
        self._changed("workload", namespace, name, change)

    def give_quota(self, namespace: str, name: str) -> None:
        """Kueue reserves quota for a queued Workload again."""
        def change(obj: dict[str, Any]) -> None:
            obj["status"]["conditions"] = [*obj["status"]["conditions"], {"type": "QuotaReserved", "status": "True"}]
        self._changed("workload", namespace, name, change)

    def apply_admission_check(self, name: str, body: dict[str, Any]) -> None:
        self.writes.append(("check", name, body))
        self._changed("check", "", name, lambda o: o.update(status=body["status"]))

    def patch_job(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.writes.append(("job", f"{namespace}/{name}", patch))
        self._changed("job", namespace, name, lambda o: _merge_patch(o, patch))

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        self.writes.append(("scale", f"{namespace}/{name}", replicas))
        self._changed("deployment", namespace, name, lambda o: o["spec"].update(replicas=replicas))

    def patch_budget_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.writes.append(("budget", f"{namespace}/{name}", status))
        self._changed("budget", namespace, name, lambda o: o.update(status={**o.get("status", {}), **status}))

    def read_budget(self, namespace: str, name: str) -> dict[str, Any] | None:
        found = self.objects.get(("budget", namespace, name))
        return copy.deepcopy(found) if found is not None else None

    def read_secret(self, namespace: str, name: str, key: str) -> str | None:
        return self.secrets.get((namespace, name, key))

    # -- helpers --------------------------------------------------------------------------------------
    def check_of(self, ns: str, workload: str) -> dict[str, Any]:
        entries = self.get("workload", ns, workload)["status"]["admissionChecks"]
        found: dict[str, Any] = next(e for e in entries if e["name"] == c.ADMISSION_CHECK_NAME)
        return found


def _merge_patch(obj: dict[str, Any], patch: dict[str, Any]) -> None:
    """A JSON merge patch of annotations (None removes one) and spec fields, as the API server applies it."""
    ann = obj["metadata"].setdefault("annotations", {})
    for k, v in (patch.get("metadata", {}).get("annotations") or {}).items():
        if v is None:
            ann.pop(k, None)
        else:
            ann[k] = v
    obj["spec"].update(patch.get("spec", {}))
