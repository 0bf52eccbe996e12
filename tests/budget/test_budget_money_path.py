"""Money counted right, end to end (issue 11): datums + settings -> planner -> gate, policy pack, CLI.

Each test is a case a new user hit: a budget in another currency than the prices, a job in another
namespace, a job nothing prices, CPU-only jobs, a GPU job without a type, the whole day in
``budget check``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import yaml

from b00t_pulumi.budget import Money, budget_items
from b00t_pulumi.cli import common
from b00t_pulumi.cli.main import main
from b00t_pulumi.datum import Catalog
from b00t_pulumi.errors import PlanError
from b00t_pulumi.gates.budget_gate import BudgetGateProvider
from b00t_pulumi.gates.inputs import budget_inputs
from b00t_pulumi.plan import Planner
from b00t_pulumi.plan.render import materialize
from b00t_pulumi.policy import rules
from b00t_pulumi.policy.rules import Resource
from b00t_pulumi.settings import load_environment

NOW = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)

STACK = """
[b00t]
name = "pipe"
type = "stack"
members = ["api.docker"]

[b00t.orchestration.gpu_requirements]
count = 1
gpu_type = "nvidia-a100"

[b00t.orchestration.resource_requirements]
cpu = "2"
memory = "4Gi"

[b00t.orchestration.budget_constraint]
daily_limit = {limit}
currency = "{currency}"
{extra}
on_budget_exceeded = "{policy}"

[b00t.orchestration.k8s]
namespace = "serving"
replicas = 1
"""

API = """
[b00t]
name = "api"
type = "docker"
image = "ghcr.io/example/api:1.0"
docker_args = ["-p", "8080:8080"]
"""

JOB = """
[b00t]
name = "{name}"
type = "job"
image = "ghcr.io/example/batch:1.0"

[b00t.orchestration]
requires_stacks = ["pipe"]
{orch}

[b00t.orchestration.k8s]
namespace = "{namespace}"
"""


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(common, "_SETTINGS_CACHE", {})


def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, currency: str = "USD", limit: str = "100.00",
            extra: str = "", policy: str = "defer", jobs: dict[str, tuple[str, str]] | None = None,
            prices: dict[str, Any] | None = None, inventory: list[dict[str, Any]] | None = None) -> Path:
    """Datums under tmp_path/stacks, settings in tmp_path/Pulumi.test.yaml; cwd is tmp_path."""
    d = tmp_path / "stacks"
    d.mkdir()
    (d / "pipe.stack.toml").write_text(STACK.format(limit=limit, currency=currency, extra=extra, policy=policy))
    (d / "api.docker.toml").write_text(API)
    for name, (orch, ns) in (jobs or {}).items():
        (d / f"{name}.job.toml").write_text(JOB.format(name=name, orch=orch, namespace=ns))
    config: dict[str, Any] = {"b00t:prices": prices or {"currency": "USD", "gpuHour": {"nvidia-a100": "2.00"},
                                                        "cpuHour": "0.05", "memoryGibHour": "0.01"},
                              "b00t:datumPaths": ["stacks"]}
    if inventory:
        config["b00t:gpuInventory"] = {"nodes": inventory}
    (tmp_path / "Pulumi.test.yaml").write_text(yaml.safe_dump({"config": config}))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("B00T_DATUMS", raising=False)
    return tmp_path


def planner(root: Path) -> Planner:
    cat = Catalog.load([root / "stacks"])
    cat.raise_for_errors()
    return Planner(cat, load_environment("test", root), environ={})


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def resources(p: Planner) -> list[Resource]:
    objs = [materialize(o, show_secrets=False) for o in p.plan_cluster().all_objects()]
    out = []
    for o in objs:
        api = o["apiVersion"]
        out.append(Resource(f"kubernetes:{'core/' + api if '/' not in api else api}:{o['kind']}", o,
                            f"urn:{o['kind']}:{o['metadata']['name']}"))
    return out


# -- a price in one currency against a budget in another -------------------------------------------


def test_a_budget_in_yen_against_prices_in_dollars_is_an_error_at_validate(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path, monkeypatch, currency="JPY", limit="15000")
    code, out, _ = run(capsys, "validate", "stacks", "--env", "test")
    assert code == 1
    line = next(ln for ln in out.splitlines() if "Deployment api" in ln)
    assert line.startswith("stacks/pipe.stack.toml: b00t.orchestration.budget_constraint.currency: ")
    assert "the budget is in JPY but b00t:prices are in USD (b00t:prices.currency)" in line
    assert "b00t:prices.rates.JPY" in line
    # the program refuses exactly the same (validate refuses what preview refuses)
    with pytest.raises(PlanError, match=r"b00t\.orchestration\.budget_constraint\.currency"):
        planner(tmp_path).plan_cluster()


def test_an_explicit_rate_converts_and_the_gate_reserves_yen(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path, monkeypatch, currency="JPY", limit="15000",
            prices={"currency": "USD", "gpuHour": {"nvidia-a100": "2.00"}, "cpuHour": "0.05",
                    "memoryGibHour": "0.01", "rates": {"JPY": "150"}})
    assert run(capsys, "validate", "stacks", "--env", "test")[0] == 0
    p = planner(tmp_path)
    plan = p.plan_cluster()
    dep = next(o for o in plan.all_objects() if o["kind"] == "Deployment")
    ann = dep["metadata"]["annotations"]
    # (1 A100 x 2.00 + 2 CPU x 0.05 + 4 GiB x 0.01) x 24 h = 51.36 USD a day = 7704 JPY
    assert (ann["b00t.io/estimated-daily-cost"], ann["b00t.io/budget-currency"]) == ("7704.00", "JPY")
    assert any("converted to JPY at 150 JPY per 1 USD (b00t:prices.rates.JPY)" in n for n in plan.all_notes())
    (gate,) = budget_inputs(p, plan, "sqlite:///x", now=NOW)
    assert gate["items"][0]["currency"] == "JPY" and gate["constraint"]["currency"] == "JPY"


# -- every workload that names a budget counts in it, whatever its namespace ------------------------


def test_a_job_in_another_namespace_counts_in_gate_policy_and_check(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path, monkeypatch, limit="55.00", extra="cost_per_job = 7.00",
            jobs={"batch": ('estimated_duration = "10m"', "batch-jobs")})
    p = planner(tmp_path)
    plan = p.plan_cluster()
    job = next(o for o in plan.all_objects() if o["kind"] == "Job")
    assert job["metadata"]["namespace"] == "batch-jobs"
    assert job["metadata"]["annotations"]["b00t.io/budget-constraint"] == "pipe-budget"
    want = [("deployment/api", "serving", "51.36"), ("job/batch", "batch-jobs", "7.00")]
    # the gate
    (gate,) = budget_inputs(p, plan, "sqlite:///x", now=NOW)
    assert [(i["id"], i["namespace"], i["cost"]) for i in gate["items"]] == want
    # the policy pack: 51.36 + 7.00 = 58.36 > 55.00 (before: the job was left out, 51.36 passed)
    (v,) = rules.budget_within_daily_limit(resources(p), {})
    assert "estimated 58.36 USD per day is over the daily limit of 55.00 USD" in v.message
    assert "Job batch-jobs/batch 7.00" in v.message
    # budget check
    code, out, _ = run(capsys, "budget", "check", "pipe", "--env", "test", "--json", "--now", NOW.isoformat(),
                       "--ledger", f"sqlite:///{tmp_path / 'l.db'}")
    assert code == 0
    assert [(i["id"], i["namespace"], i["cost"]) for i in json.loads(out)["items"]] == want
    # ... through one function
    assert [(i.id, i.namespace, i.cost) for i in budget_items("pipe-budget", plan.all_objects(), currency="USD")] \
        == [(a, b, Money.of(c)) for a, b, c in want]


# -- what cannot be priced is an error; CPU and memory are priced -----------------------------------


def test_a_job_nothing_prices_is_an_error_naming_it_and_the_keys(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path, monkeypatch, jobs={"batch": ("", "serving")})
    code, out, _ = run(capsys, "validate", "stacks", "--env", "test")
    assert code == 1
    (line,) = [ln for ln in out.splitlines() if "batch" in ln]
    assert line.startswith("stacks/batch.job.toml: b00t.orchestration.estimated_duration: Job batch (budget "
                           "pipe-budget): has no price")
    assert "b00t.orchestration.budget_constraint.cost_per_job" in line


def test_cpu_only_jobs_carry_their_cost_and_a_fail_budget_refuses_them(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the case: a 1 USD fail budget and three 8-hour 32-CPU jobs; no GPU, no cost_per_job
    orch = 'estimated_duration = "8h"\n\n[b00t.orchestration.resource_requirements]\ncpu = "32"'
    root = project(tmp_path, monkeypatch, limit="1.00", policy="fail",
                   jobs={f"crunch-{i}": (orch, "serving") for i in range(3)},
                   prices={"currency": "USD", "cpuHour": "0.05", "memoryGibHour": "0.01"})
    (root / "stacks" / "pipe.stack.toml").write_text(  # a stack of no workloads of its own
        STACK.format(limit="1.00", currency="USD", extra="", policy="fail").replace(
            'members = ["api.docker"]', "members = []"))
    p = planner(root)
    plan = p.plan_cluster()
    (gate,) = budget_inputs(p, plan, f"sqlite:///{root / 'ledger.db'}", now=NOW)
    # 32 CPU x 0.05 x 8 h = 12.80 a run (cpuHour from the settings)
    assert [(i["name"], i["cost"]) for i in gate["items"]] == [(f"crunch-{i}", "12.80") for i in range(3)]
    monkeypatch.setenv("B00T_NOW", NOW.isoformat())
    failures = BudgetGateProvider().check({}, gate).failures
    assert len(failures) == 1 and "projected 38.40 USD of 1.00 USD daily limit" in failures[0].reason


def test_a_gpu_job_without_a_type_is_priced_as_the_dearest_gpu_it_may_land_on(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    orch = 'estimated_duration = "1h"\n\n[b00t.orchestration.gpu_requirements]\ncount = 1'
    root = project(tmp_path, monkeypatch, jobs={"infer": (orch, "serving")},
                   prices={"currency": "USD", "gpuHour": {"nvidia-a100": "2.74", "nvidia-h100": "6.88"},
                           "cpuHour": "0.05", "memoryGibHour": "0.01"},
                   inventory=[{"name": "gpu-a", "gpuType": "nvidia-a100", "gpus": 1},
                              {"name": "gpu-h", "gpuType": "nvidia-h100", "gpus": 2}])
    plan = planner(root).plan_job("infer")
    # it may land on an A100 or an H100: priced as the dearer H100, 6.88, not OpenCost's default 0.95 (before)
    assert plan.job_object["metadata"]["annotations"]["b00t.io/estimated-cost"] == "6.88"
    (note,) = [n for n in plan.notes if "no gpu_type" in n]
    assert "infer.job: no gpu_type: priced as nvidia-h100 at 6.88 USD per GPU-hour" in note
    assert "b00t.orchestration.gpu_requirements.gpu_type" in note


# -- budget check states the whole day ---------------------------------------------------------------


def test_budget_check_takes_the_deployments_off_before_counting_jobs(
        in_repo: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    args = ["budget", "check", "llm-inference-pipeline", "--env", "dev", "--now", NOW.isoformat(),
            "--ledger", f"sqlite:///{tmp_path / 'l.db'}"]
    code, out, _ = run(capsys, *args)
    assert code == 0
    # 100.00 a day, 64.95 of it the Deployments' (vllm-server 42.65, pytorch 21.33, n8n 0.97): 14 jobs at 2.50,
    # not 40
    assert "  deployed   64.95 USD per day (n8n 0.97, pytorch 21.33, vllm-server 42.65)" in out
    assert "  left       35.05 USD for jobs in this window" in out
    assert "$100/day - $64.95/day of Deployments = $35.05/day at $2.50/job -> 14 jobs/day (14 more in this window)" \
        in out
    assert "floor(35.05 / (0.50 per GPU-hour x 24 h)) = 2 nvidia-a100 GPUs of Kueue nominalQuota" in out
    code, out, _ = run(capsys, *args, "--json")
    d = json.loads(out)
    assert d["deployments_per_window"] == "64.95" and d["jobs_left_in_window"] == 14
    assert d["quota"]["jobs_per_period"] == 14 and d["quota"]["left_for_jobs"] == "35.05"


def test_a_flat_cost_per_job_in_another_currency_needs_no_rate(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    orch = ('[b00t.orchestration.budget_constraint]\ndaily_limit = 30\ncurrency = "EUR"\ncost_per_job = 3\n'
            'on_budget_exceeded = "fail"')
    root = project(tmp_path, monkeypatch, jobs={"eu-batch": ("", "serving")})
    text = JOB.format(name="eu-batch", orch="", namespace="eu")
    (root / "stacks" / "eu-batch.job.toml").write_text(
        text.replace("[b00t.orchestration.k8s]", orch + "\n\n[b00t.orchestration.k8s]"))
    ann = planner(root).plan_job("eu-batch").job_object["metadata"]["annotations"]
    assert (ann["b00t.io/budget-constraint"], ann["b00t.io/estimated-cost"], ann["b00t.io/budget-currency"]) == \
        ("eu-batch-budget", "3.00", "EUR")
