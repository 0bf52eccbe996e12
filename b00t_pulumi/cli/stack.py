"""``b00t-pulumi stack list|show|to-k8s|to-crd|to-argo|to-tekton``."""

from __future__ import annotations

import argparse
import os
from typing import Any

from b00t_pulumi.cli.common import (
    EXIT_OK,
    UsageError,
    add_datum_args,
    add_json_arg,
    load_catalog,
    load_settings,
    print_json,
)
from b00t_pulumi.cli.output import add_output_args, emit
from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.datum.models import DockerDatum, StackDatum
from b00t_pulumi.datum.quantities import format_duration
from b00t_pulumi.errors import display_path
from b00t_pulumi.plan.crds import money_str
from b00t_pulumi.plan.env import is_secret
from b00t_pulumi.plan.objects import K8sObject
from b00t_pulumi.plan.planner import Planner


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stack = sub.add_parser("stack", help="list, show and render stacks")
    ss = stack.add_subparsers(dest="stack_command", metavar="SUBCOMMAND", required=True)

    p = ss.add_parser("list", help="every stack on the datum path")
    add_datum_args(p)
    add_json_arg(p)
    p.set_defaults(func=cmd_list)

    p = ss.add_parser("show", help="what a stack becomes: members, GPUs, epoch, budget")
    p.add_argument("name")
    add_datum_args(p)
    add_json_arg(p)
    p.set_defaults(func=cmd_show)

    p = ss.add_parser("validate", help="check a stack (or --all) and its members; exit 1 on an error")
    p.add_argument("name", nargs="?", help="stack name (omit with --all)")
    p.add_argument("--all", action="store_true", help="every stack on the datum path")
    add_datum_args(p)
    p.add_argument("-q", "--quiet", action="store_true", help="errors only, no warnings")
    p.set_defaults(func=cmd_validate)

    for verb, helptext, func in (
        ("to-k8s", "Kubernetes objects (multi-document YAML)", cmd_to_k8s),
        ("to-crd", "the AiMlPipeline CRD and CR of seed 000", cmd_to_crd),
        ("to-argo", "an Argo Workflow running the stack's jobs as a DAG", cmd_to_argo),
        ("to-tekton", "a Tekton Pipeline running the stack's jobs", cmd_to_tekton),
    ):
        p = ss.add_parser(verb, help=helptext)
        p.add_argument("name", nargs="?" if verb == "to-k8s" else None,
                       help="stack name" + (" (omit with --all)" if verb == "to-k8s" else ""))
        if verb == "to-k8s":
            p.add_argument("--all", action="store_true",
                           help="everything the environment deploys: stacks, jobs, Kueue, time-slicing")
        if verb == "to-crd":
            p.add_argument("--pod-only", action="store_true",
                           help="only the stack as one pod: a v1 PodTemplate (upstream b00t's --pod-only)")
        add_datum_args(p)
        add_output_args(p)
        p.set_defaults(func=func)


def planner_for(args: argparse.Namespace) -> tuple[Catalog, Planner]:
    catalog = load_catalog(args)
    return catalog, Planner(catalog, load_settings(args), environ=os.environ)


def _summary(planner: Planner, s: StackDatum) -> dict[str, Any]:
    o = s.orch
    bc = o.budget_constraint
    return {
        "name": s.name,
        "file": display_path(s.source) if s.source else None,
        "namespace": planner.namespace_for(s),
        "members": list(s.members),
        "schedule_type": o.schedule_type,
        "gpu_batch_group": o.gpu_batch_group,
        "daily_limit": f"{money_str(bc.daily_limit)} {o.currency}" if bc else None,
    }


def cmd_list(args: argparse.Namespace) -> int:
    catalog, planner = planner_for(args)
    rows = [_summary(planner, s) for s in sorted(catalog.stacks(), key=lambda s: s.name)]
    if args.json:
        print_json(rows)
        return EXIT_OK
    print(f"{'STACK':32} {'NAMESPACE':18} {'MEMBERS':>7}  {'SCHEDULE':14} BUDGET")
    for r in rows:
        print(f"{r['name']:32} {r['namespace']:18} {len(r['members']):>7}  {r['schedule_type'] or '-':14} "
              f"{r['daily_limit'] or '-'}")
    return EXIT_OK


def cmd_show(args: argparse.Namespace) -> int:
    catalog, planner = planner_for(args)
    stack = catalog.stack(args.name)
    plan = planner.plan_stack(stack)
    o = stack.orch
    members = catalog.members(stack)
    needs = planner.gpu_members(stack, [m for m in members if isinstance(m, DockerDatum)])
    info: dict[str, Any] = _summary(planner, stack)
    # upstream b00t's `stack show --json` keys first (name, hint, members as ids, env, depends_on)
    info["type"] = stack.type
    info["hint"] = stack.hint
    info["env"] = {k: "set (secret)" if is_secret(k, v) else v for k, v in sorted(stack.env.items())}
    info["depends_on"] = list(stack.depends_on)
    info["member_details"] = [
        {"id": m.id, "type": m.kind,
         "becomes": _becomes(m.id, m.kind, plan.objects),
         "gpus": needs[m.id].requirements.count if m.id in needs else 0}
        for m in members
    ]
    if o.gpu_requirements:
        g = o.gpu_requirements
        info["gpu"] = {"count": g.count, "type": g.gpu_type, "memory": g.memory, "shared": g.shared}
    if o.gpu_epoch:
        e = o.gpu_epoch
        info["epoch"] = {"model_id": e.model_id, "batch_window": format_duration(e.batch_window),
                         "max_concurrent_jobs": e.max_concurrent_jobs, "load_time": format_duration(e.load_time)}
        if e.load_time_by_type:
            info["epoch"]["load_time_by_type"] = {t: format_duration(v) for t, v in sorted(e.load_time_by_type.items())}
    if o.budget_constraint:
        b = o.budget_constraint
        info["budget"] = {"daily_limit": str(b.daily_limit), "currency": o.currency,
                          "cost_per_job": str(b.cost_per_job) if b.cost_per_job is not None else None,
                          "alert_threshold": b.alert_threshold, "on_budget_exceeded": b.on_budget_exceeded,
                          "reset_schedule": b.reset_schedule, "timezone": b.timezone,
                          "webhook": "set (secret)" if b.n8n_webhook else None}
    info["jobs"] = [j.name for j in catalog.jobs_requiring(stack)]
    info["objects"] = [f"{x['kind']}/{x['metadata']['name']}" for x in plan.all_objects()]
    info["notes"] = plan.notes
    if args.json:
        print_json(info)
        return EXIT_OK
    print(f"stack {stack.name}  ({info['file']})")
    print(f"  namespace: {info['namespace']}   schedule: {o.schedule_type or '-'}   "
          f"batch group: {o.gpu_batch_group or '-'}")
    print("  members:")
    for m in info["member_details"]:
        gpus = f"  [{m['gpus']} GPU]" if m["gpus"] else ""
        print(f"    {m['id']:28} {m['becomes']}{gpus}")
    for section in ("gpu", "epoch", "budget"):
        if section in info:
            print(f"  {section}: " + ", ".join(f"{k}={v}" for k, v in info[section].items() if v is not None))
    print(f"  jobs requiring it: {', '.join(info['jobs']) or '-'}")
    print("  objects: " + ", ".join(info["objects"]))
    for n in plan.notes:
        print(f"  note: {n}")
    return EXIT_OK


def _becomes(member_id: str, kind: str, objects: list[K8sObject]) -> str:
    if kind == "cli":
        return "host tool: not deployed"
    if kind == "k8s":
        return "Helm chart: not rendered"
    if kind == "ai_model":
        pvcs = [o["metadata"]["name"] for o in objects
                if o["kind"] == "PersistentVolumeClaim" and "b00t.io/ai-model" in o["metadata"].get("labels", {})]
        return "PVC " + ", ".join(pvcs) if pvcs else "PVC"
    kinds = [o["kind"] for o in objects if o["metadata"].get("labels", {}).get("b00t.io/member") == member_id]
    svc = any(o["kind"] == "Service" and o["metadata"]["name"] == member_id.rpartition(".")[0] for o in objects)
    return " + ".join(kinds + (["Service"] if svc else [])) or "-"


def cmd_validate(args: argparse.Namespace) -> int:
    from b00t_pulumi.cli.validate import report, validate_stacks

    if bool(args.name) == bool(args.all):
        raise UsageError("stack validate: give a stack name, or --all")
    results = validate_stacks(None if args.all else [args.name], args)
    return report(results, quiet=args.quiet)


def cmd_to_k8s(args: argparse.Namespace) -> int:
    _, planner = planner_for(args)
    if args.all:
        if args.name:
            raise UsageError("stack to-k8s: give a stack name or --all, not both")
        cp = planner.plan_cluster()
        return emit(cp.all_objects(), args, cp.all_notes(), default_name="b00t")
    if not args.name:
        raise UsageError("stack to-k8s: give a stack name, or --all")
    plan = planner.plan_stack(args.name)
    return emit(plan.standalone_objects(), args, plan.notes, default_name=plan.stack.name)


def cmd_to_crd(args: argparse.Namespace) -> int:
    from b00t_pulumi.plan.workflows import to_crd, to_pod_template

    catalog, planner = planner_for(args)
    stack = catalog.stack(args.name)
    objects = [to_pod_template(planner, stack)] if args.pod_only else to_crd(planner, stack)
    return emit(objects, args, default_name=stack.name)


def cmd_to_argo(args: argparse.Namespace) -> int:
    from b00t_pulumi.plan.workflows import to_argo

    catalog, planner = planner_for(args)
    stack = catalog.stack(args.name)
    return emit([to_argo(planner, stack)], args, default_name=stack.name)


def cmd_to_tekton(args: argparse.Namespace) -> int:
    from b00t_pulumi.plan.workflows import to_tekton, to_tekton_run

    catalog, planner = planner_for(args)
    stack = catalog.stack(args.name)
    return emit([to_tekton(planner, stack), to_tekton_run(planner, stack)], args, default_name=stack.name)
