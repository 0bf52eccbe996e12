"""The operator as Kubernetes objects (pure): what the Pulumi program creates when ``b00t:operator.image``
is set. One replica (``Recreate``: never two operators deciding at once), a ServiceAccount and the
least privilege it needs:

- watch Jobs, Deployments, Workloads, AdmissionChecks, BudgetConstraints (get, list, watch);
- patch Jobs (unsuspend, hold reason), Workloads (``spec.active`` of a held one),
  ``deployments/scale`` (replicas of a deferred Deployment),
  ``workloads/status`` and ``admissionchecks/status`` (server-side apply of its own entries),
  ``budgetconstraints/status`` (status, and the ``k8s://`` ledger's book: get, patch, update);
- list pods (a finished Job's pod times); watch CRDs (kopf starts a watch when a CRD appears);
- get Secrets only in the namespaces whose budgets have an alert webhook (a Role per namespace).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from b00t_pulumi.operator import contract as c
from b00t_pulumi.plan.objects import MANAGED_BY, K8sObject, meta
from b00t_pulumi.settings import EnvironmentSettings

NAME = "b00t-operator"
SETTINGS_ENV = "B00T_OPERATOR_SETTINGS"
PROBE_PORT = 8080

_WATCH = ["get", "list", "watch"]


def rules() -> list[dict[str, Any]]:
    return [
        {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": [*_WATCH, "patch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
        {"apiGroups": ["apps"], "resources": ["deployments"], "verbs": _WATCH},
        {"apiGroups": ["apps"], "resources": ["deployments/scale"], "verbs": ["get", "patch"]},
        {"apiGroups": [c.KUEUE_GROUP], "resources": [c.WORKLOADS], "verbs": [*_WATCH, "patch"]},
        {"apiGroups": [c.KUEUE_GROUP], "resources": [c.ADMISSION_CHECKS], "verbs": _WATCH},
        {"apiGroups": [c.KUEUE_GROUP], "resources": [f"{c.WORKLOADS}/status", f"{c.ADMISSION_CHECKS}/status"],
         "verbs": ["patch"]},
        {"apiGroups": [c.B00T_GROUP], "resources": [c.BUDGETS], "verbs": _WATCH},
        {"apiGroups": [c.B00T_GROUP], "resources": [f"{c.BUDGETS}/status"], "verbs": ["get", "patch", "update"]},
        # kopf starts watching a kind when its CRD appears (the BudgetConstraint CRD comes with a deploy)
        {"apiGroups": ["apiextensions.k8s.io"], "resources": ["customresourcedefinitions"], "verbs": _WATCH},
    ]


def operator_settings_json(settings: EnvironmentSettings) -> str:
    """What the in-cluster operator reads from ``$B00T_OPERATOR_SETTINGS``: prices and the ledger."""
    data: dict[str, Any] = {"prices": settings.prices.model_dump(mode="json", by_alias=True)}
    if settings.ledger:
        data["ledger"] = settings.ledger
    return json.dumps(data, sort_keys=True)


def operator_objects(settings: EnvironmentSettings, webhook_namespaces: Iterable[str] = ()) -> list[K8sObject]:
    """The operator's objects, or none when ``b00t:operator.image`` is not set."""
    op = settings.operator
    if op is None or not op.image:
        return []
    ns = op.namespace
    labels = {"app.kubernetes.io/name": NAME, "app.kubernetes.io/managed-by": MANAGED_BY}
    objs: list[K8sObject] = []
    if op.create_namespace:
        objs.append({"apiVersion": "v1", "kind": "Namespace", "metadata": meta(ns, labels=labels)})
    subject = [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}]
    objs += [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": meta(NAME, ns, labels=labels)},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": meta(NAME, labels=labels),
         "rules": rules()},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": meta(NAME, labels=labels),
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": NAME},
         "subjects": subject},
    ]
    for wns in sorted(set(webhook_namespaces)):
        objs += [
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
             "metadata": meta(f"{NAME}-webhooks", wns, labels=labels),
             "rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]},
            {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
             "metadata": meta(f"{NAME}-webhooks", wns, labels=labels),
             "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{NAME}-webhooks"},
             "subjects": subject},
        ]
    args = ["operator", "--liveness", f"http://0.0.0.0:{PROBE_PORT}/healthz",
            "--pending-max", f"{op.pending_max_s:g}", "--poll", str(op.poll_s)]
    container = {
        "name": NAME, "image": op.image, "imagePullPolicy": op.image_pull_policy,
        "command": ["b00t-pulumi"], "args": args,
        "env": [{"name": SETTINGS_ENV, "value": operator_settings_json(settings)}],
        "ports": [{"name": "probe", "containerPort": PROBE_PORT}],
        "livenessProbe": {"httpGet": {"path": "/healthz", "port": PROBE_PORT}, "periodSeconds": 20},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}, "limits": {"memory": "512Mi"}},
        "securityContext": {"runAsNonRoot": True, "allowPrivilegeEscalation": False,
                            "readOnlyRootFilesystem": True, "capabilities": {"drop": ["ALL"]}},
    }
    objs.append({
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta(NAME, ns, labels=labels),
        "spec": {"replicas": 1, "strategy": {"type": "Recreate"},
                 "selector": {"matchLabels": {"app.kubernetes.io/name": NAME}},
                 "template": {"metadata": {"labels": labels},
                              "spec": {"serviceAccountName": NAME, "containers": [container]}}},
    })
    return objs
