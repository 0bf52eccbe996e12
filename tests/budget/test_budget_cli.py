"""``b00t-pulumi budget ...``: check, status, reserve (exit 0 / 3 / 1), release, --json."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from b00t_pulumi.cli import common
from b00t_pulumi.cli.main import main

STACK = """
[b00t]
name = "llm-inference-pipeline"
type = "stack"
members = []

[b00t.orchestration]
gpu_batch_group = "llama-70b"

[b00t.orchestration.gpu_requirements]
count = 1
gpu_type = "nvidia-a100"

[b00t.orchestration.budget_constraint]
daily_limit = 100.00
currency = "USD"
cost_per_job = 2.50
alert_threshold = 0.80
on_budget_exceeded = "defer"
"""

JOB = """
[b00t]
name = "nightly-eval"
type = "job"
image = "ghcr.io/example/eval:1.0"

[b00t.orchestration]
budget_currency = "EUR"

[b00t.orchestration.budget_constraint]
daily_limit = 5
on_budget_exceeded = "fail"
reset_schedule = "0 0 * * *"
timezone = "Australia/Sydney"
"""

PLAIN = """
[b00t]
name = "no-budget"
type = "stack"
members = []
"""

NOW = "2026-11-22T20:00:00Z"


@pytest.fixture(autouse=True)
def fresh_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """cli.common caches settings by env name only: keep our Pulumi.<env>.yaml out of other tests."""
    monkeypatch.setattr(common, "_SETTINGS_CACHE", {})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    datums = tmp_path / "stacks"
    datums.mkdir()
    (datums / "llm-inference-pipeline.stack.toml").write_text(STACK)
    (datums / "nightly-eval.job.toml").write_text(JOB)
    (datums / "no-budget.stack.toml").write_text(PLAIN)
    (tmp_path / "Pulumi.prod.yaml").write_text(
        "config:\n  b00t:prices:\n    currency: USD\n    gpuHour:\n      nvidia-a100: '2.74'\n"
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_text(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "budget", "check", "llm-inference-pipeline", "--now", NOW)
    assert code == 0
    assert (
        "stack llm-inference-pipeline (budget llm-inference-pipeline-budget): 100.00 USD per day, "
        "on_budget_exceeded = defer, alert at 80 %"
    ) in out
    assert "$100/day at $2.50/job -> 40 jobs/day (40 more in this window)" in out
    # default prices (OpenCost's 0.95 per GPU-hour): floor(100 / 22.80) = 4
    assert "floor(100.00 / (0.95 per GPU-hour x 24 h)) = 4 nvidia-a100 GPUs of Kueue nominalQuota" in out
    assert f"sqlite:///{project.resolve()}/.cache/ledger.db" in out
    assert (project / ".cache" / "ledger.db").exists()


def test_check_json_with_env_prices(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "budget", "check", "llm-inference-pipeline", "--env", "prod", "--json", "--now", NOW)
    assert code == 0
    d = json.loads(out)
    assert d["limit"] == "100.00" and d["spend"] == "0.00" and d["remaining"] == "100.00"
    assert d["quota"]["jobs_per_period"] == 40 and d["quota"]["kueue_gpu_quota"] == 1
    assert d["quota"]["price_per_gpu_hour"] == "2.74"
    assert d["window"] == {"start": "2026-11-22T00:00:00Z", "end": "2026-11-23T00:00:00Z"}


def test_reserve_exit_codes(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["budget", "reserve", "llm-inference-pipeline", "--now", NOW]
    code, out, _ = run(capsys, *base, "--amount", "60", "--id", "batch-1")
    assert code == 0 and out.startswith("approved:")
    code, out, _ = run(capsys, *base, "--amount", "60", "--id", "batch-1")  # re-run: counted once
    assert code == 0
    code, out, _ = run(capsys, *base, "--amount", "25", "--id", "batch-2", "--json")
    d = json.loads(out)
    assert code == 0 and d["decision"] == "alert" and d["spend"] == "85.00"
    code, out, _ = run(capsys, *base, "--amount", "20", "--id", "batch-3", "--json")
    d = json.loads(out)
    assert code == 3 and d["decision"] == "deferred" and d["next_window_start"] == "2026-11-23T00:00:00Z"
    code, out, _ = run(capsys, "budget", "status", "llm-inference-pipeline", "--now", NOW, "--json")
    d = json.loads(out)
    assert d["budgets"][0]["spend"] == "85.00" and d["budgets"][0]["reservations"] == 2


def test_reserve_rejected_in_sydney(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["budget", "reserve", "nightly-eval", "--now", NOW]
    code, out, _ = run(capsys, *base, "--amount", "5", "--id", "a")
    assert code == 0 and "EUR" in out  # budget_currency of the datum
    code, out, _ = run(capsys, *base, "--amount", "0.01", "--id", "b", "--json")
    d = json.loads(out)
    assert code == 3 and d["decision"] == "rejected" and "on_budget_exceeded = fail" in d["reason"]
    assert d["window"]["start"] == "2026-11-22T13:00:00Z"  # midnight in Sydney


def test_reserve_invalid(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "budget", "reserve", "llm-inference-pipeline", "--amount", "lots", "--id", "x")
    assert code == 1 and "--amount: expected an amount" in err
    code, _, err = run(capsys, "budget", "reserve", "llm-inference-pipeline", "--amount", "-1", "--id", "x")
    assert code == 1 and "negative" in err
    code, _, err = run(capsys, "budget", "reserve", "no-budget", "--amount", "1", "--id", "x")
    assert code == 1 and "no-budget.stack has no [b00t.orchestration.budget_constraint]" in err
    code, _, err = run(capsys, "budget", "reserve", "nope", "--amount", "1", "--id", "x")
    assert code == 1 and "not found" in err
    code, _, err = run(capsys, "budget", "reserve", "llm-inference-pipeline", "--amount", "1", "--id", "bad id")
    assert code == 1 and "reservation id" in err
    code, _, err = run(capsys, "budget", "reserve", "llm-inference-pipeline", "--amount", "1")
    assert code == 2  # usage: --id is required
    assert "Traceback" not in err


def test_corrupt_ledger_is_exit_1(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = project / "bad.db"
    bad.write_text("not sqlite" * 100)
    code, _, err = run(capsys, "budget", "check", "llm-inference-pipeline", "--ledger", f"sqlite:///{bad}")
    assert code == 1 and f"ledger sqlite:///{bad}: not a usable SQLite ledger" in err
    assert "Traceback" not in err


def test_status_all(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "budget", "reserve", "llm-inference-pipeline", "--amount", "10", "--id", "r", "--now", NOW)
    code, out, _ = run(capsys, "budget", "status", "--now", NOW)
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split() == ["BUDGET", "LIMIT", "SPEND", "REMAINING", "USED", "POLICY", "RESETS"]
    assert lines[1].startswith("llm-inference-pipeline-budget") and "10.00 USD" in lines[1] and "10.0%" in lines[1]
    assert lines[2].startswith("nightly-eval-budget") and "EUR" in lines[2]
    assert len(lines) == 3  # no-budget.stack has no budget
    code, out, _ = run(capsys, "budget", "status", "--json", "--now", NOW)
    ids = [b["constraint_id"] for b in json.loads(out)["budgets"]]
    assert ids == ["llm-inference-pipeline-budget", "nightly-eval-budget"]


def test_release(project: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    ledger = f"sqlite:///{tmp_path}/other.db"
    run(capsys, "budget", "reserve", "llm-inference-pipeline", "--amount", "10", "--id", "r", "--ledger", ledger)
    code, out, _ = run(capsys, "budget", "release", "--id", "r", "--ledger", ledger, "--json")
    assert code == 0 and json.loads(out)["reservation"]["state"] == "released"
    code, out, _ = run(capsys, "budget", "release", "--id", "nope", "--ledger", ledger)
    assert code == 0 and "no reservation 'nope'" in out


def test_cli_counts_what_the_gates_reserve(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A gate reserves under the CR name <stack>-budget; budget check must see that spend."""
    from b00t_pulumi.budget import (
        BudgetController,
        Money,
        constraint_id_for,
        default_ledger_url,
        open_ledger,
        parse_time,
    )
    from b00t_pulumi.datum.orchestration import BudgetConstraint

    c = BudgetConstraint.model_validate({"daily_limit": 100})
    with open_ledger(default_ledger_url()) as lg:
        ctl = BudgetController(lg)
        ctl.reserve(constraint_id_for("llm-inference-pipeline"), c, Money.of(30), "gate:j1:w", now=parse_time(NOW))
    code, out, _ = run(capsys, "budget", "check", "llm-inference-pipeline", "--json", "--now", NOW)
    assert code == 0 and json.loads(out)["spend"] == "30.00"


def test_ledger_from_env_settings(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "Pulumi.dev.yaml").write_text("config:\n  b00t:ledger: sqlite:///dev-ledger.db\n")
    code, out, _ = run(capsys, "budget", "check", "llm-inference-pipeline", "--env", "dev", "--json")
    assert code == 0 and json.loads(out)["ledger"] == "sqlite:///dev-ledger.db"
    assert (project / "dev-ledger.db").exists()


def test_budget_without_subcommand(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "budget")
    assert code == 2 and "check" in out and "reserve" in out


def test_check_plans_around_a_broken_datum_but_not_one_of_its_budget(
        project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # nightly-eval has no cost_per_job and no estimated_duration: nothing prices it
    code, out, err = run(capsys, "budget", "check", "llm-inference-pipeline", "--now", NOW)
    assert code == 0 and "40 jobs/day" in out
    assert "nightly-eval.job not planned: " in err and "has no price" in err
    code, _, err = run(capsys, "budget", "check", "nightly-eval", "--now", NOW)
    assert code == 1
    assert "Job nightly-eval (budget nightly-eval-budget): has no price" in err
    assert "b00t.orchestration.estimated_duration" in err and "Traceback" not in err
