"""``bench schedule``: good and bad trace CSVs, the JSON metrics and a checkable --plan-out."""

from __future__ import annotations

import argparse
import json
from decimal import Decimal
from pathlib import Path

import pytest

from b00t_pulumi.cli import bench
from b00t_pulumi.epoch import Job, Plan, check_plan, read_trace, schedule, uniform_inventory, write_trace
from b00t_pulumi.errors import B00tError

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


def test_with_a_daily_limit_the_saving_is_against_fifo_on_the_jobs_placed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Ten 1.00 jobs and a limit of 4: six are deferred. FIFO-cold of the four placed loads 4 x 8 s.
    rows = "".join(f"j{i},{i * 10},m,60,8,1.00\n" for i in range(10))
    trace = write(tmp_path, "id,submit_s,group,duration_s,load_s,cost\n" + rows)
    argv = ["bench", "schedule", "--trace", str(trace), "--gpus", "1", "--slots", "4", "--daily-limit", "4"]
    assert run([*argv, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["deferred"] == 6 and out["placed"] == 4
    assert out["fifo_load_gpu_seconds"] == 4 * 8
    assert out["fifo_load_gpu_seconds_all_jobs"] == 10 * 8
    assert out["saving_vs_fifo"] == pytest.approx(1 - out["load_gpu_seconds"] / 32)
    assert run(argv) == 0
    assert "saving is against FIFO-cold on the 4 jobs placed (6 deferred by the daily limit)" in capsys.readouterr().out


def test_inventory_of_several_gpu_types_and_per_type_load_times(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = (
        "id,submit_s,group,duration_s,load_s,gpu_type,load_s_by_type\n"
        "a,0,llama-70b,300,84,H100,H100=30;A100=84\n"
        "b,0,llama-70b,300,84,A100,H100=30\n"
    )
    trace = write(tmp_path, text)
    plan_out = tmp_path / "plan.json"
    argv = ["bench", "schedule", "--trace", str(trace), "--inventory", "A100:1x4,H100:1x2", "--plan-out", str(plan_out)]
    assert run(argv) == 0
    assert "2 jobs in 1 groups on 1 A100 x 4 slots + 1 H100 x 2 slots" in capsys.readouterr().out
    plan = Plan.from_dict(json.loads(plan_out.read_text()))
    assert {e.gpu: e.load_s for e in plan.epochs} == {"a100-00": 84, "h100-00": 30}
    assert {g.gpu_type for g in plan.gpus} == {"A100", "H100"}
    assert check_plan(plan, read_trace(trace)) == []


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--inventory", "A100:4"], "expected TYPE:COUNTxSLOTS"),
        (["--inventory", "A100:1x1,A100:2x2"], "GPU type 'A100' is listed twice"),
    ],
)
def test_bad_inventory_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    trace = write(tmp_path, GOOD)
    with pytest.raises(SystemExit):
        run(["bench", "schedule", "--trace", str(trace), *flags])
    assert message in capsys.readouterr().err


def test_inventory_flags_must_be_one_or_the_other(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    trace = write(tmp_path, GOOD)
    assert run(["bench", "schedule", "--trace", str(trace), "--gpus", "2"]) == 2
    assert "give --gpus N and --slots S" in capsys.readouterr().err
    assert run(["bench", "schedule", "--trace", str(trace), "--gpus", "2", "--slots", "1",
                "--inventory", "A100:1x1"]) == 2
    assert "not both" in capsys.readouterr().err


def test_trace_with_gpu_types_round_trips_and_bad_per_type_loads_are_reported(tmp_path: Path) -> None:
    jobs = [Job("a", "m", 0.0, 10.0, 34.0, gpu_type="H100", load_by_type=(("A100", 34.0), ("H100", 20.5)))]
    path = tmp_path / "t.csv"
    write_trace(jobs, path)
    assert path.read_text().splitlines()[0] == "id,submit_s,group,duration_s,load_s,gpu_type,load_s_by_type"
    assert read_trace(path) == jobs
    bad = write(tmp_path, "id,submit_s,group,duration_s,load_s,load_s_by_type\na,0,m,10,5,H100:20\n", "bad.csv")
    with pytest.raises(B00tError, match=r"bad.csv: line 2: load_s_by_type: expected TYPE=SECONDS"):
        read_trace(bad)
