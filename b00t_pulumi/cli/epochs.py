"""``b00t-pulumi gpu-epochs`` and ``show-epoch GROUP``: the epoch plan the EpochPlan gate would make."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from typing import Any

from b00t_pulumi.cli.common import EXIT_INVALID, EXIT_OK, add_datum_args, add_json_arg, print_json
from b00t_pulumi.cli.stack import planner_for
from b00t_pulumi.epoch.deploy import clock_now, epoch_inputs, iso, plan_epochs


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("gpu-epochs", help="the GPU epoch plan of the environment's GPU jobs")
    _common(p)
    p.set_defaults(func=cmd_epochs)
    p = sub.add_parser("show-epoch", help="the epochs of one batch group (model) and their jobs")
    p.add_argument("group", help="batch group or model id, e.g. llama-70b-q4")
    _common(p)
    p.set_defaults(func=cmd_show)


def _common(p: argparse.ArgumentParser) -> None:
    add_datum_args(p)
    add_json_arg(p)
    p.add_argument("--now", metavar="ISO", help="plan as of this time (default: now, or $B00T_NOW)")


def _plan(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], float]:
    inputs, outs, now, _ = _plan_with_groups(args)
    return inputs, outs, now


def _plan_with_groups(args: argparse.Namespace) -> tuple[dict[str, Any], dict[str, Any], float, dict[str, str]]:
    """The plan, and each batch group name -> the epoch group (model id) its jobs are planned under."""
    _, planner = planner_for(args)
    plan = planner.plan_cluster()
    inputs = epoch_inputs(planner, plan)
    now = datetime.fromisoformat(args.now.replace("Z", "+00:00")).replace(tzinfo=UTC).timestamp() \
        if args.now else clock_now()
    group_of = {j["id"]: j["group"] for j in inputs["jobs"]}
    aliases: dict[str, str] = {}
    for jp in plan.jobs:
        need = planner.job_gpu_need(jp.job)
        if need and need.batch_group and jp.job.name in group_of:
            aliases.setdefault(need.batch_group, group_of[jp.job.name])
    return inputs, plan_epochs(inputs, None, now), now, aliases


def _rows(outs: dict[str, Any], group: str | None = None) -> list[dict[str, Any]]:
    node_of = {g["id"]: g.get("node", "") for g in outs["gpus"]}
    rows = []
    for e in outs["plan"]["epochs"]:
        if group and e["group"] != group:
            continue
        rows.append({"epoch": e["id"], "gpu": e["gpu"], "node": node_of.get(e["gpu"], ""), "group": e["group"],
                     "load_start": iso(e["load_start_s"]), "load_s": e["load_s"], "start": iso(e["start_s"]),
                     "end": iso(e["end_s"]),
                     "jobs": [{"id": j["id"], "start": iso(j["start_s"]), "end": iso(j["end_s"])} for j in e["jobs"]]})
    return rows


def cmd_epochs(args: argparse.Namespace) -> int:
    inputs, outs, now = _plan(args)
    rows = _rows(outs)
    deferred = outs["plan"]["deferred"]
    if args.json:
        print_json({"planned_at": iso(now), "loads": outs["loads"], "jobs": len(inputs["jobs"]),
                    "gpus": inputs["gpus"], "epochs": rows, "deferred": deferred})
        return EXIT_OK
    if not inputs["jobs"]:
        print("no GPU jobs to plan")
        return EXIT_OK
    print(f"planned at {iso(now)}: {len(inputs['jobs'])} GPU jobs, {len(rows)} epochs, {outs['loads']} model loads")
    print(f"{'EPOCH':20} {'GPU':18} {'GROUP':18} {'LOAD':>6}  {'START':20} {'END':20} JOBS")
    for r in rows:
        print(f"{r['epoch']:20} {r['gpu']:18} {r['group']:18} {r['load_s']:>5}s  {r['start']:20} {r['end']:20} "
              + ", ".join(j["id"] for j in r["jobs"]))
    for d in deferred:
        print(f"deferred {d['id']}: {d['reason']}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    """``show-epoch GROUP``: GROUP is a model id (the epoch's group) or a batch group name (seed 000:
    ``show-epoch llama-70b``)."""
    inputs, outs, _, aliases = _plan_with_groups(args)
    groups = sorted({j["group"] for j in inputs["jobs"]})
    group = aliases.get(args.group, args.group)
    if group not in groups:
        import sys

        known = sorted(set(groups) | set(aliases))
        print(f"show-epoch: no GPU job in batch group {args.group!r}; groups: {', '.join(known) or '(none)'}",
              file=sys.stderr)
        return EXIT_INVALID
    rows = _rows(outs, group)
    if args.json:
        print_json(rows)
        return EXIT_OK
    for r in rows:
        print(f"epoch {r['epoch']} on {r['gpu']} ({r['node']}): model {r['group']} loads at {r['load_start']} "
              f"({r['load_s']}s), runs {r['start']} .. {r['end']}")
        for j in r["jobs"]:
            print(f"  {j['id']:28} {j['start']} .. {j['end']}")
    return EXIT_OK
