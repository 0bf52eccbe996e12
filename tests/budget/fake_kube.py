"""An in-memory stand-in for kubernetes.client.CustomObjectsApi: resourceVersion and 409 Conflict.

Enough of the API server's behaviour for the k8s ledger's logic (optimistic concurrency included);
the real API server is exercised by the engine test.
"""

from __future__ import annotations

import copy
import threading
from typing import Any

from kubernetes.client.exceptions import ApiException


class FakeCustomObjects:
    def __init__(self, namespace: str = "budgets") -> None:
        self.namespace = namespace
        self._lock = threading.Lock()
        self._objs: dict[str, dict[str, Any]] = {}
        self._rv = 0
        self.conflicts = 0
        self.writes = 0

    def add(self, name: str, spec: dict[str, Any] | None = None, generation: int | None = None) -> None:
        with self._lock:
            self._rv += 1
            meta: dict[str, Any] = {"name": name, "namespace": self.namespace, "resourceVersion": str(self._rv)}
            if generation is not None:
                meta["generation"] = generation
            self._objs[name] = {
                "apiVersion": "b00t.io/v1",
                "kind": "BudgetConstraint",
                "metadata": meta,
                "spec": spec or {"dailyLimit": "100.00"},
            }

    def _check(self, group: str, version: str, namespace: str, plural: str) -> None:
        assert (group, version, plural) == ("b00t.io", "v1", "budgetconstraints")
        if namespace != self.namespace:
            raise ApiException(status=404, reason="Not Found")

    def get_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, name: str, **_: Any
    ) -> dict[str, Any]:
        self._check(group, version, namespace, plural)
        with self._lock:
            if name not in self._objs:
                raise ApiException(status=404, reason="Not Found")
            return copy.deepcopy(self._objs[name])

    def list_namespaced_custom_object(
        self, group: str, version: str, namespace: str, plural: str, **_: Any
    ) -> dict[str, Any]:
        self._check(group, version, namespace, plural)
        with self._lock:
            return {"items": [copy.deepcopy(o) for o in self._objs.values()]}

    def replace_namespaced_custom_object_status(
        self, group: str, version: str, namespace: str, plural: str, name: str, body: dict[str, Any], **_: Any
    ) -> dict[str, Any]:
        self._check(group, version, namespace, plural)
        with self._lock:
            cur = self._objs.get(name)
            if cur is None:
                raise ApiException(status=404, reason="Not Found")
            if body["metadata"].get("resourceVersion") != cur["metadata"]["resourceVersion"]:
                self.conflicts += 1
                raise ApiException(status=409, reason="Conflict")
            self._rv += 1
            self.writes += 1
            cur = copy.deepcopy(cur)
            cur["status"] = copy.deepcopy(body.get("status"))  # only status changes through /status
            cur["metadata"]["resourceVersion"] = str(self._rv)
            self._objs[name] = cur
            return copy.deepcopy(cur)
