"""The operator's reads and writes through the official Kubernetes client (no framework).

- Workload and AdmissionCheck status: server-side apply (``application/apply-patch+yaml``) with the
  field manager ``b00t-operator``, of our list entry alone (``admissionChecks`` and ``conditions``
  are list-maps keyed by name/type), as Kueue's own check controllers do; other entries are untouched.
- Jobs, Deployments (``/scale``) and BudgetConstraint ``status``: JSON merge patches of the fields
  the operator owns.
"""

from __future__ import annotations

import base64
from typing import Any

from b00t_pulumi.operator import contract as c

APPLY = "application/apply-patch+yaml"
MERGE = "application/merge-patch+json"


def api_client(kubeconfig: str | None = None, context: str | None = None) -> Any:
    """A client from ``kubeconfig`` (else $KUBECONFIG, else ~/.kube/config), or in-cluster config."""
    import os

    from kubernetes import client, config

    path = kubeconfig or os.environ.get("KUBECONFIG")
    if path is None and not os.path.exists(os.path.expanduser("~/.kube/config")) \
            and os.environ.get("KUBERNETES_SERVICE_HOST"):
        cfg = client.Configuration()
        config.load_incluster_config(client_configuration=cfg)
        return client.ApiClient(cfg)
    return config.new_client_from_config(config_file=path, context=context, persist_config=False)


class KubeClient:
    """Implements ``reconciler.Kube`` and the alert sender's secret reader."""

    def __init__(self, api: Any, *, timeout_s: float = 10.0) -> None:
        from kubernetes import client

        self.api = api
        self.core = client.CoreV1Api(api)
        self.batch = client.BatchV1Api(api)
        self.apps = client.AppsV1Api(api)
        self.custom = client.CustomObjectsApi(api)
        self.timeout = timeout_s

    # -- reads ---------------------------------------------------------------------------------
    def job_pods(self, namespace: str, job_uid: str) -> list[dict[str, Any]]:
        pods = self.core.list_namespaced_pod(namespace, label_selector=f"{c.JOB_UID_LABEL}={job_uid}",
                                             _request_timeout=self.timeout)
        out: list[dict[str, Any]] = self.api.sanitize_for_serialization(pods).get("items", [])
        return out

    def read_secret(self, namespace: str, name: str, key: str) -> str | None:
        from kubernetes.client.exceptions import ApiException

        try:
            secret = self.core.read_namespaced_secret(name, namespace, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        raw = (secret.data or {}).get(key)
        return base64.b64decode(raw).decode("utf-8") if raw else None

    def read_budget(self, namespace: str, name: str) -> dict[str, Any] | None:
        from kubernetes.client.exceptions import ApiException

        try:
            out: dict[str, Any] = self.custom.get_namespaced_custom_object(
                c.B00T_GROUP, c.B00T_VERSION, namespace, c.BUDGETS, name, _request_timeout=self.timeout)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise
        return out

    def list_all(self, kind: str) -> list[dict[str, Any]]:
        """Every object of a kind the operator watches (the start-up listing), as JSON dicts."""
        from kubernetes.client.exceptions import ApiException

        try:
            if kind == "job":
                items = self.api.sanitize_for_serialization(
                    self.batch.list_job_for_all_namespaces(_request_timeout=self.timeout))["items"]
            elif kind == "deployment":
                items = self.api.sanitize_for_serialization(
                    self.apps.list_deployment_for_all_namespaces(_request_timeout=self.timeout))["items"]
            elif kind == "workload":
                items = self.custom.list_cluster_custom_object(c.KUEUE_GROUP, c.KUEUE_VERSION, c.WORKLOADS,
                                                               _request_timeout=self.timeout)["items"]
            elif kind == "check":
                items = self.custom.list_cluster_custom_object(c.KUEUE_GROUP, c.KUEUE_VERSION, c.ADMISSION_CHECKS,
                                                               _request_timeout=self.timeout)["items"]
            else:
                items = self.custom.list_cluster_custom_object(c.B00T_GROUP, c.B00T_VERSION, c.BUDGETS,
                                                               _request_timeout=self.timeout)["items"]
        except ApiException as exc:
            if exc.status == 404:  # the CRD is not installed (no Kueue, no budgets yet)
                return []
            raise
        out: list[dict[str, Any]] = items
        return out

    # -- writes --------------------------------------------------------------------------------
    def apply_workload_check(self, namespace: str, name: str, body: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object_status(
            c.KUEUE_GROUP, c.KUEUE_VERSION, namespace, c.WORKLOADS, name,
            {**body, "metadata": {"name": name, "namespace": namespace}},
            field_manager=c.FIELD_MANAGER, force=True, _content_type=APPLY, _request_timeout=self.timeout)

    def patch_workload(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object(
            c.KUEUE_GROUP, c.KUEUE_VERSION, namespace, c.WORKLOADS, name, patch,
            field_manager=c.FIELD_MANAGER, _content_type=MERGE, _request_timeout=self.timeout)

    def apply_admission_check(self, name: str, body: dict[str, Any]) -> None:
        self.custom.patch_cluster_custom_object_status(
            c.KUEUE_GROUP, c.KUEUE_VERSION, c.ADMISSION_CHECKS, name, {**body, "metadata": {"name": name}},
            field_manager=c.FIELD_MANAGER, force=True, _content_type=APPLY, _request_timeout=self.timeout)

    def patch_job(self, namespace: str, name: str, patch: dict[str, Any]) -> None:
        self.batch.patch_namespaced_job(name, namespace, patch, field_manager=c.FIELD_MANAGER,
                                        _content_type=MERGE, _request_timeout=self.timeout)

    def scale_deployment(self, namespace: str, name: str, replicas: int) -> None:
        self.apps.patch_namespaced_deployment_scale(name, namespace, {"spec": {"replicas": replicas}},
                                                    field_manager=c.FIELD_MANAGER, _content_type=MERGE,
                                                    _request_timeout=self.timeout)

    def patch_budget_status(self, namespace: str, name: str, status: dict[str, Any]) -> None:
        self.custom.patch_namespaced_custom_object_status(
            c.B00T_GROUP, c.B00T_VERSION, namespace, c.BUDGETS, name, {"status": status},
            field_manager=c.FIELD_MANAGER, _content_type=MERGE, _request_timeout=self.timeout)
