"""The operator in a real cluster: the program deploys it only when b00t:operator.image is set."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from b00t_pulumi.errors import SettingsError
from b00t_pulumi.settings import settings_from_config
from tests.deploy.harness import Registration, dev_config, run_program

pytestmark = pytest.mark.usefixtures("secret_env")
IMAGE = "registry.example/b00t-pulumi-operator:0.1.0"


def _kinds(regs: list[Registration]) -> list[str]:
    return [r.type.split(":")[-1] for r in regs if r.parent_type == "b00t:index:B00tOperator"]


def test_off_in_dev(kubeconfig: Path) -> None:
    regs = run_program(dev_config({"kubernetes:kubeconfig": str(kubeconfig)}))
    assert not [r for r in regs if r.type == "b00t:index:B00tOperator"]


def test_deployment_service_account_and_least_privilege(kubeconfig: Path) -> None:
    regs = run_program(dev_config({"kubernetes:kubeconfig": str(kubeconfig), "b00t:ledger": "k8s://ai-ml-dev",
                                   "b00t:operator": {"image": IMAGE}}))
    assert sorted(_kinds(regs)) == sorted(["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
                                           "Role", "RoleBinding", "Deployment"])
    dep = next(r for r in regs if r.type == "kubernetes:apps/v1:Deployment" and r.name.endswith("b00t-operator"))
    spec = dep.inputs["spec"]
    assert spec["replicas"] == 1 and spec["strategy"] == {"type": "Recreate"}  # never two deciding at once
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == "b00t-operator"
    ct = pod["containers"][0]
    assert ct["image"] == IMAGE and ct["command"] == ["b00t-pulumi"] and ct["args"][0] == "operator"
    settings = json.loads(next(e["value"] for e in ct["env"] if e["name"] == "B00T_OPERATOR_SETTINGS"))
    assert settings["ledger"] == "k8s://ai-ml-dev" and settings["prices"]["gpuHour"] == {"nvidia-a100": "0.50"}
    assert settings_from_config(settings).prices.gpu_hour["nvidia-a100"] == 0.5  # what the operator reads back
    role = next(r for r in regs if r.type == "kubernetes:rbac.authorization.k8s.io/v1:ClusterRole")
    verbs = {(g, res): set(rule["verbs"]) for rule in role.inputs["rules"]
             for g in rule["apiGroups"] for res in rule["resources"]}
    assert verbs[("batch", "jobs")] == {"get", "list", "watch", "patch"}
    assert verbs[("kueue.x-k8s.io", "workloads/status")] == {"patch"}
    assert verbs[("", "pods")] == {"list"}
    assert ("", "secrets") not in verbs  # only in the namespaces whose budgets have webhooks:
    secret_roles = [r for r in regs if r.type == "kubernetes:rbac.authorization.k8s.io/v1:Role"]
    assert [r.inputs["metadata"]["namespace"] for r in secret_roles] == ["ai-ml-dev"]
    assert secret_roles[0].inputs["rules"] == [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]


def test_a_cluster_operator_needs_a_shared_ledger() -> None:
    with pytest.raises(SettingsError, match="must share one ledger"):
        settings_from_config({"ledger": "sqlite:///.cache/ledger/dev.db", "operator": {"image": IMAGE}})


def test_a_budgeted_deployment_carries_its_planned_replicas_for_the_operator(kubeconfig: Path) -> None:
    """A deferred Deployment runs 0 replicas; b00t.io/replicas says how many the operator gives it back."""
    regs = run_program(dev_config({"kubernetes:kubeconfig": str(kubeconfig)}))
    deps = {r.name: r for r in regs if r.type == "kubernetes:apps/v1:Deployment"}
    ann = deps["ai-ml-dev-sentiment-api"].inputs["metadata"]["annotations"]
    assert ann["b00t.io/replicas"] == "1" and "b00t.io/budget-constraint" in ann
