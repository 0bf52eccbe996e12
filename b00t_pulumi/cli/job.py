"""``b00t-pulumi job list|to-k8s``."""

from __future__ import annotations

import argparse
from typing import Any

from b00t_pulumi.cli.common import EXIT_OK, add_datum_args, add_json_arg, print_json
from b00t_pulumi.cli.output import add_output_args, emit
from b00t_pulumi.cli.stack import planner_for


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    job = sub.add_parser("job", help="list and render jobs")
    js = job.add_subparsers(dest="job_command", metavar="SUBCOMMAND", required=True)
    p = js.add_parser("list", help="every job on the datum path")
    add_datum_args(p)
    add_json_arg(p)
    p.set_defaults(func=cmd_list)
    p = js.add_parser("to-k8s", help="the Job (with its waits for required stacks) as YAML")
    p.add_argument("name")
    add_datum_args(p)
    add_output_args(p)
    p.set_defaults(func=cmd_to_k8s)


def cmd_list(args: argparse.Namespace) -> int:
    catalog, planner = planner_for(args)
    rows: list[dict[str, Any]] = [
        {"name": j.name, "namespace": planner.namespace_for(j), "requires_stacks": j.orch.requires_stacks,
             "queue": j.orch.queue_name, "style": "orchestration" if j.image else "workflow",
             "estimated_cost": c.to_json() if (c := planner.job_cost(j)) is not None else None,
             "currency": c.currency if c is not None else None}
        for j in sorted(catalog.jobs(), key=lambda j: j.name)
    ]
    if args.json:
        print_json(rows)
        return EXIT_OK
    print(f"{'JOB':28} {'NAMESPACE':18} {'QUEUE':12} {'STYLE':14} REQUIRES")
    for r in rows:
        print(f"{r['name']:28} {r['namespace']:18} {r['queue'] or '-':12} {r['style']:14} "
              f"{', '.join(r['requires_stacks']) or '-'}")
    return EXIT_OK


def cmd_to_k8s(args: argparse.Namespace) -> int:
    _, planner = planner_for(args)
    plan = planner.plan_job(args.name)
    return emit(plan.standalone_objects(), args, plan.notes, default_name=plan.job.name)
