from __future__ import annotations

from pathlib import Path

import pytest

from b00t_pulumi.datum import Catalog
from b00t_pulumi.plan import Planner
from b00t_pulumi.settings import load_environment


@pytest.fixture(scope="session")
def catalog(repo: Path) -> Catalog:
    cat = Catalog.load([repo / "stacks", repo / "components"])
    cat.raise_for_errors()
    return cat


@pytest.fixture(params=["dev", "prod"], scope="session")
def env_name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def env_planner(env_name: str, catalog: Catalog, repo: Path) -> Planner:
    return Planner(catalog, load_environment(env_name, repo), environ={})


@pytest.fixture(scope="session")
def dev_planner(catalog: Catalog, repo: Path) -> Planner:
    return Planner(catalog, load_environment("dev", repo), environ={})
