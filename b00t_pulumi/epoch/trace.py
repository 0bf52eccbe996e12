"""Job traces as CSV: ``id,submit_s,group,duration_s,load_s`` and optional ``gpus``, ``cost``,
``gpu_type`` and ``load_s_by_type`` (per GPU type load seconds: ``H100=20;A100=34``).

Every bad row is reported as ``FILE: line N: column: message`` (all of them, up to 50), never as
a traceback. Columns may come in any order; an unknown column is an error (a misspelt optional
column would otherwise be dropped silently).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from pathlib import Path

from b00t_pulumi.epoch.model import Job
from b00t_pulumi.errors import Problem, ScheduleError, display_path

REQUIRED = ("id", "submit_s", "group", "duration_s", "load_s")
OPTIONAL = ("gpus", "cost", "gpu_type", "load_s_by_type")
_MAX_PROBLEMS = 50


def read_trace(path: Path | str) -> list[Job]:
    """Jobs of a trace CSV. Raises ScheduleError with one problem per bad row or column."""
    name = display_path(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ScheduleError([Problem(name, "", f"cannot read: {exc.strerror or exc}")]) from exc
    except UnicodeDecodeError as exc:
        raise ScheduleError([Problem(name, "", f"not UTF-8 text: {exc.reason} at byte {exc.start}")]) from exc
    return parse_trace(text.splitlines(), name)


def parse_trace(lines: Iterable[str], name: str = "trace") -> list[Job]:
    reader = csv.reader(lines)
    problems: list[Problem] = []
    header: list[str] | None = None
    for row in reader:
        if row and any(c.strip() for c in row):
            header = [c.strip() for c in row]
            break
    if header is None:
        raise ScheduleError([Problem(name, "line 1", f"empty file: expected a header {','.join(REQUIRED)}")])
    hline = reader.line_num
    for c in REQUIRED:
        if c not in header:
            problems.append(Problem(name, f"line {hline}: {c}", f"missing column (required: {', '.join(REQUIRED)})"))
    for c in header:
        if c not in REQUIRED and c not in OPTIONAL:
            problems.append(
                Problem(
                    name,
                    f"line {hline}: {c or '(empty)'}",
                    f"unknown column (allowed: {', '.join(REQUIRED + OPTIONAL)})",
                )
            )
    if len(set(header)) != len(header):
        problems.append(Problem(name, f"line {hline}", "a column is named twice"))
    if problems:
        raise ScheduleError(problems)
    col = {c: i for i, c in enumerate(header)}
    jobs: list[Job] = []
    seen: dict[str, int] = {}
    for row in reader:
        n = reader.line_num
        if not row or not any(c.strip() for c in row):
            continue
        if len(row) != len(header):
            problems.append(Problem(name, f"line {n}", f"has {len(row)} fields, the header has {len(header)}"))
        else:
            job = _row(row, col, name, n, problems, seen)
            if job is not None:
                jobs.append(job)
        if len(problems) >= _MAX_PROBLEMS:
            break
    if problems:
        raise ScheduleError(problems[:_MAX_PROBLEMS])
    return jobs


def _row(
    row: list[str], col: dict[str, int], name: str, n: int, problems: list[Problem], seen: dict[str, int]
) -> Job | None:
    before = len(problems)

    def err(column: str, message: str) -> None:
        problems.append(Problem(name, f"line {n}: {column}", message))

    def number(column: str, *, minimum: float, strict: bool) -> float:
        text = row[col[column]].strip()
        try:
            x = float(text)
        except ValueError:
            err(column, f"expected a number of seconds, got {text!r}")
            return 0.0
        if not math.isfinite(x) or x < minimum or (strict and x == minimum):
            op = ">" if strict else ">="
            err(column, f"expected a finite number {op} {minimum:g}, got {text!r}")
        return x

    jid = row[col["id"]].strip()
    if not jid:
        err("id", "must not be empty")
    elif jid in seen:
        err("id", f"duplicate job id {jid!r} (first on line {seen[jid]})")
    else:
        seen[jid] = n
    group = row[col["group"]].strip()
    if not group:
        err("group", "must not be empty")
    submit = number("submit_s", minimum=-math.inf, strict=False)
    duration = number("duration_s", minimum=0.0, strict=True)
    load = number("load_s", minimum=0.0, strict=False)
    gpus = 1
    if "gpus" in col and row[col["gpus"]].strip():
        text = row[col["gpus"]].strip()
        try:
            gpus = int(text)
            if gpus < 1:
                err("gpus", f"expected a whole number >= 1, got {text!r}")
        except ValueError:
            err("gpus", f"expected a whole number >= 1, got {text!r}")
    cost: Decimal | None = None
    if "cost" in col and row[col["cost"]].strip():
        text = row[col["cost"]].strip()
        try:
            cost = Decimal(text)
            if not cost.is_finite() or cost < 0:
                err("cost", f"expected an amount >= 0, got {text!r}")
        except InvalidOperation:
            err("cost", f"expected an amount such as 2.50, got {text!r}")
    gpu_type = row[col["gpu_type"]].strip() or None if "gpu_type" in col else None
    by_type: list[tuple[str, float]] = []
    if "load_s_by_type" in col and row[col["load_s_by_type"]].strip():
        for part in row[col["load_s_by_type"]].split(";"):
            kind, sep, secs = part.partition("=")
            try:
                x = float(secs)
            except ValueError:
                x = -1.0
            if not sep or not kind.strip() or not (math.isfinite(x) and x >= 0):
                err("load_s_by_type", f"expected TYPE=SECONDS;TYPE=SECONDS such as H100=20;A100=34, got {part!r}")
                continue
            by_type.append((kind.strip(), x))
        if len({t for t, _ in by_type}) != len(by_type):
            err("load_s_by_type", "a GPU type is listed twice")
    if len(problems) > before:
        return None
    return Job(
        id=jid, group=group, submit_s=submit, duration_s=duration, load_s=load, gpus=gpus, cost=cost,
        gpu_type=gpu_type, load_by_type=tuple(sorted(by_type)),
    )


def write_trace(jobs: Iterable[Job], path: Path | str) -> None:
    """Write jobs as a trace CSV (the optional columns only when some job needs them)."""
    rows = list(jobs)
    with_gpus = any(j.gpus != 1 for j in rows)
    with_cost = any(j.cost is not None for j in rows)
    with_type = any(j.gpu_type is not None for j in rows)
    with_by_type = any(j.load_by_type for j in rows)
    header = [
        *REQUIRED, *(["gpus"] if with_gpus else []), *(["cost"] if with_cost else []),
        *(["gpu_type"] if with_type else []), *(["load_s_by_type"] if with_by_type else []),
    ]
    with Path(path).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for j in rows:
            out: list[object] = [j.id, _fmt(j.submit_s), j.group, _fmt(j.duration_s), _fmt(j.load_s)]
            if with_gpus:
                out.append(j.gpus)
            if with_cost:
                out.append("" if j.cost is None else str(j.cost))
            if with_type:
                out.append(j.gpu_type or "")
            if with_by_type:
                out.append(";".join(f"{t}={_fmt(x)}" for t, x in j.load_by_type))
            w.writerow(out)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))
