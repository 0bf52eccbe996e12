"""``bench schedule``: good and bad trace CSVs, the JSON metrics and a checkable --plan-out."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

import pytest

from b00t_pulumi.cli import bench
from b00t_pulumi.epoch import Job, Plan, check_plan, read_trace, schedule, uniform_inventory, write_trace

GOOD = """id,submit_s,group,duration_s,load_s,gpus,cost
a,0,llama-7b,120,8,,0.10
b,30,llama-7b,60,8,1,0.05
c,45,llama-70b,300,84,2,1.00
d,900,llama-7b,120,8,,
"""


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="b00t-pulumi")
    sub = parser.add_subparsers(dest="command")
    bench.register(sub)
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


def write(tmp_path: Path, text: str, name: str = "trace.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_good_trace_prints_the_metrics_as_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write(tmp_path, GOOD)
    plan_out = tmp_path / "plan.json"
    argv = ["bench", "schedule", "--trace", str(trace), "--gpus", "2", "--slots", "4", "--window", "15m"]
    assert run([*argv, "--plan-out", str(plan_out), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out)[:11] == list(bench.METRIC_KEYS)
    assert out["jobs"] == 4 and out["budget_overruns"] == 0
    assert out["fifo_load_gpu_seconds"] == 8 * 3 + 84 * 2
    assert out["loads"] <= out["fifo_loads"]
    assert 0 <= out["saving_vs_fifo"] <= 1

    # The plan file has the documented shape and passes the checker on its own.
    data = json.loads(plan_out.read_text())
    assert set(data) == {"gpus", "epochs", "deferred"}
    assert data["gpus"] == [
        {"id": "gpu00", "node": "node0", "gpu_type": "gpu", "slots": 4},
        {"id": "gpu01", "node": "node0", "gpu_type": "gpu", "slots": 4},
    ]
    plan = Plan.from_dict(data)
    assert check_plan(plan, read_trace(trace)) == []


def test_text_output_and_window_forms(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write(tmp_path, GOOD)
    argv = ["bench", "schedule", "--trace", str(trace), "--gpus", "2", "--slots", "2"]
    assert run([*argv, "--window", "1h30m", "--daily-limit", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "4 jobs in 2 groups on 2 GPUs x 2 slots, window 5400 s" in out
    assert "budget_overruns" in out and "loads vs FIFO-warm" in out
    with pytest.raises(SystemExit):
        run([*argv, "--window", "soon"])
    assert "expected a duration" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("id,submit_s,group,duration_s,load_s\na,0,m,10,5\nb,x,m,10,5\n", "line 3: submit_s: expected a number"),
        ("id,submit_s,group,duration_s,load_s\na,0,m,-3,5\n", "line 2: duration_s: expected a finite number > 0"),
        ("id,submit_s,group,duration_s,load_s\na,0,m,10,5\na,1,m,10,5\n", "line 3: id: duplicate job id 'a'"),
        ("id,submit_s,group,duration_s,load_s,gpus\na,0,m,10,5,two\n", "line 2: gpus: expected a whole number"),
        ("id,submit_s,group,duration_s,load_s,cost\na,0,m,10,5,$3\n", "line 2: cost: expected an amount"),
        ("id,submit_s,group,duration_s,load_s\na,0,m,10\n", "line 2: has 4 fields, the header has 5"),
        ("id,submit_s,group,duration_s\n", "line 1: load_s: missing column"),
        ("id,submit_s,group,duration_s,load_s,gpu\n", "line 1: gpu: unknown column"),
        ("", "line 1: empty file"),
    ],
)
def test_bad_trace_exits_1_with_file_line_column(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, message: str
) -> None:
    trace = write(tmp_path, text, "bad.csv")
    code = run(["bench", "schedule", "--trace", str(trace), "--gpus", "1", "--slots", "1", "--window", "15m"])
    err = capsys.readouterr().err
    assert code == 1
    assert f"bad.csv: {message}" in err
    assert "Traceback" not in err


def test_missing_trace_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = run(["bench", "schedule", "--trace", str(tmp_path / "nope.csv"), "--gpus", "1", "--slots", "1"])
    assert code == 1
    assert "nope.csv: cannot read" in capsys.readouterr().err


def test_trace_round_trip(tmp_path: Path) -> None:
    jobs = [
        Job("a", "m", 0.0, 12.5, 8.0),
        Job("b", "n", 3.0, 60.0, 84.0, gpus=2, cost=Decimal("1.25")),
    ]
    path = tmp_path / "t.csv"
    write_trace(jobs, path)
    assert path.read_text().splitlines()[0] == "id,submit_s,group,duration_s,load_s,gpus,cost"
    assert read_trace(path) == jobs


def test_gang_trace_is_feasible_on_the_cli_inventory(tmp_path: Path) -> None:
    jobs = read_trace(write(tmp_path, GOOD))
    gpus = uniform_inventory(2, 4)
    assert check_plan(schedule(jobs, gpus), jobs, gpus) == []
