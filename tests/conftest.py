"""Shared fixtures: the repository, the upstream corpus in ../shared, Kueue CRD schemas."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.engine.engine import Cluster, cluster, toolchain_env

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("B00T_SHARED", REPO.parent / "shared"))
CORPUS = SHARED / "corpus" / "b00t-upstream"
KUEUE_VERSION = "v0.19.2"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.fail(f"the upstream datum corpus is missing: {CORPUS} (clone beside ../shared, or set B00T_SHARED)")
    return CORPUS


@pytest.fixture()
def in_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(REPO)
    monkeypatch.delenv("B00T_DATUMS", raising=False)
    return REPO


def _kueue_module_dir() -> Path:
    cache = Path(os.environ.get("B00T_CACHE", Path.home() / ".cache" / "b00t-pulumi"))
    for candidate in (cache / "toolchain" / f"kueue-{KUEUE_VERSION}" / "crds",):
        if candidate.is_dir() and any(candidate.glob("*.yaml")):
            return candidate
    go = shutil.which("go")
    if go is None:
        pytest.fail("Go is needed to fetch the Kueue CRDs from the module proxy (sigs.k8s.io/kueue)")
    out = subprocess.run([go, "mod", "download", "-json", f"sigs.k8s.io/kueue@{KUEUE_VERSION}"],
                         capture_output=True, text=True, check=False, env={**os.environ, "GOFLAGS": "-mod=mod"})
    if out.returncode != 0:
        pytest.fail(f"go mod download sigs.k8s.io/kueue@{KUEUE_VERSION} failed: {out.stderr or out.stdout}")
    return Path(json.loads(out.stdout)["Dir"]) / "config" / "components" / "crd" / "bases"


@pytest.fixture(scope="session")
def kueue_schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of every Kueue CRD version."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for f in sorted(_kueue_module_dir().glob("*.yaml")):
        for doc in yaml.safe_load_all(f.read_text()):
            if not doc or doc.get("kind") != "CustomResourceDefinition":
                continue
            group, kind = doc["spec"]["group"], doc["spec"]["names"]["kind"]
            for v in doc["spec"]["versions"]:
                out[(f"{group}/{v['name']}", kind)] = v["schema"]["openAPIV3Schema"]
    assert out, "no Kueue CRDs found"
    return out


# -- engine fixtures (the real toolchain and API servers; tests marked `engine`) ---------------------
@pytest.fixture(scope="session")
def tool_env() -> dict[str, str]:
    return toolchain_env()


@pytest.fixture(scope="session")
def shared_cluster(tool_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """One API server for engine tests that only need objects in their own namespaces."""
    with cluster(tmp_path_factory.mktemp("shared-cluster"), tool_env) as c:
        yield c


@pytest.fixture(scope="module")
def module_cluster(tool_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """An API server of the module's own: Pulumi stacks of different modules never meet."""
    with cluster(tmp_path_factory.mktemp("cluster"), tool_env) as c:
        yield c
