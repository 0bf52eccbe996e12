"""The k8s:// ledger against a real API server (engine tests).

Runs against ``B00T_TEST_KUBECONFIG`` (a kubeconfig path; optional ``B00T_TEST_KUBECONTEXT``) when set,
else against the local API server of the engine toolchain (``shared_cluster``). Uses a fresh
namespace per test. When the cluster has no BudgetConstraint CRD yet, it installs the one API
definition (``budget_api.crd()``, what the planner deploys) and removes it afterwards.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from b00t_pulumi.budget import Money, open_ledger
from b00t_pulumi.budget import api as budget_api
from b00t_pulumi.budget.api import GROUP, KIND, PLURAL, VERSION

from . import ledger_worker

pytestmark = pytest.mark.engine

CRD_NAME = f"{PLURAL}.{GROUP}"
W = datetime(2026, 11, 22, tzinfo=UTC)


@dataclass
class Kube:
    kubeconfig: str
    context: str | None
    api_client: Any

    def url(self, namespace: str) -> str:
        url = f"k8s://{namespace}?kubeconfig={self.kubeconfig}"
        return url + (f"&context={self.context}" if self.context else "")


@pytest.fixture(scope="session")
def kube_api(request: pytest.FixtureRequest) -> Iterator[Kube]:
    path = os.environ.get("B00T_TEST_KUBECONFIG")
    if not path:
        path = str(request.getfixturevalue("shared_cluster").kubeconfig)
    from kubernetes import client, config
    from kubernetes.client.exceptions import ApiException

    context = os.environ.get("B00T_TEST_KUBECONTEXT") or None
    api_client = config.new_client_from_config(config_file=path, context=context, persist_config=False)
    ext = client.ApiextensionsV1Api(api_client)
    created = False
    try:
        ext.read_custom_resource_definition(CRD_NAME)
    except ApiException as exc:
        if exc.status != 404:
            raise
        ext.create_custom_resource_definition(budget_api.crd())
        created = True
        deadline = time.monotonic() + 60
        while True:
            conds = ext.read_custom_resource_definition(CRD_NAME).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conds):
                break
            assert time.monotonic() < deadline, "the BudgetConstraint CRD never became Established"
            time.sleep(0.2)
    try:
        yield Kube(path, context, api_client)
    finally:
        if created:
            ext.delete_custom_resource_definition(CRD_NAME)


@pytest.fixture
def namespace(kube_api: Kube) -> Iterator[str]:
    from kubernetes import client

    core = client.CoreV1Api(kube_api.api_client)
    name = f"b00t-budget-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    try:
        yield name
    finally:
        core.delete_namespace(name)


def add_constraint(kube: Kube, namespace: str, name: str) -> None:
    from kubernetes import client

    client.CustomObjectsApi(kube.api_client).create_namespaced_custom_object(
        GROUP,
        VERSION,
        namespace,
        PLURAL,
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": KIND,
            "metadata": {"name": name},
            "spec": {"dailyLimit": "60.00", "currency": "USD", "onBudgetExceeded": "defer"},
        },
    )


def test_reserve_release_idempotent_on_a_real_api_server(kube_api: Kube, namespace: str) -> None:
    add_constraint(kube_api, namespace, "engine.stack")
    limit = Money.of("10")
    with open_ledger(kube_api.url(namespace)) as lg:
        assert lg.reserve("engine.stack", W, "r1", Money.of("6"), limit).approved
        again = lg.reserve("engine.stack", W, "r1", Money.of("6"), limit)
        assert again.approved and again.replayed
        assert lg.reserve("engine.stack", W, "r2", Money.of("4"), limit).approved
        assert not lg.reserve("engine.stack", W, "r3", Money.of("0.01"), limit).approved
        assert lg.release("r2") is not None
        assert lg.spend("engine.stack", W, "USD") == Money.of(6)
        assert lg.mark_spent("r1").state == "spent"
        assert lg.claim_alert("engine.stack", W, 0.8) and not lg.claim_alert("engine.stack", W, 0.8)
        assert {r.id for r in lg.records("engine.stack")} == {"r1", "r2"}

    from kubernetes import client

    obj = client.CustomObjectsApi(kube_api.api_client).get_namespaced_custom_object(
        GROUP, VERSION, namespace, PLURAL, "engine.stack"
    )
    status = obj["status"]
    assert status["ledger"] == "b00t-ledger/1"
    assert status["currentSpend"] == "6.00" and status["jobsRun"] == 1
    assert status["windows"]["2026-11-22T00:00:00Z"]["alerts"] == ["0.8"] == status["alertsSent"]
    assert set(status["reservations"]) == {"r1", "r2"}
    assert obj["spec"]["dailyLimit"] == "60.00"  # the ledger never touches spec


def test_missing_constraint_object_is_a_clear_error(kube_api: Kube, namespace: str) -> None:
    from b00t_pulumi.errors import BudgetError

    with open_ledger(kube_api.url(namespace)) as lg, pytest.raises(BudgetError, match="not found"):
        lg.reserve("absent.stack", W, "r", Money.of(1), None)


def test_8_processes_against_the_api_server(kube_api: Kube, namespace: str) -> None:
    from .test_budget_concurrency import check, run_workers

    add_constraint(kube_api, namespace, ledger_worker.CONSTRAINT)
    url = kube_api.url(namespace)
    results = run_workers(url)
    with open_ledger(url) as lg:
        check(lg, results, "k8s (real API server)")
