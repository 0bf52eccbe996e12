"""``b00t-pulumi budget``: check, status, reserve and release against the budget ledger.

The ledger URL is ``--ledger``, else ``b00t:ledger`` of ``Pulumi.<env>.yaml`` (``--env``), else the
project-local ``sqlite:///.cache/ledger.db`` under the working directory.
Exit codes: 0 approved (or nothing to decide), 1 invalid input or ledger error, 3 deferred or rejected.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from b00t_pulumi.budget import (
    BudgetController,
    BudgetItem,
    BudgetStatus,
    Money,
    PriceList,
    QuotaTranslation,
    budget_items,
    constraint_id_for,
    default_ledger_url,
    jobs_per_window,
    open_ledger,
    parse_time,
    price_list,
    redact_url,
    reservation_id,
    translate,
)
from b00t_pulumi.budget._errors import budget_error
from b00t_pulumi.budget.money import to_decimal
from b00t_pulumi.cli.common import (
    EXIT_OK,
    EXIT_USAGE,
    add_datum_args,
    add_json_arg,
    load_catalog,
    load_settings,
    print_json,
)
from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.datum.models import Datum
from b00t_pulumi.datum.orchestration import BudgetConstraint
from b00t_pulumi.errors import B00tError, DatumError
from b00t_pulumi.settings import EnvironmentSettings


@dataclass(frozen=True)
class Target:
    """A stack or job datum with a budget_constraint."""

    datum: Datum
    constraint: BudgetConstraint
    currency: str

    @property
    def id(self) -> str:
        return constraint_id_for(self.datum.name)


def _target(datum: Datum) -> Target | None:
    orch = datum.orch
    if orch.budget_constraint is None:
        return None
    return Target(datum, orch.budget_constraint, orch.currency)


def find_target(catalog: Catalog, name: str) -> Target:
    """A stack (or a job) by name or id, which must have a budget_constraint."""
    datum: Datum | None = catalog.find(name) if name.endswith((".stack", ".job")) else None
    if datum is None and not name.endswith(".job"):
        try:
            datum = catalog.stack(name)
        except DatumError:
            datum = catalog.find(f"{name}.job")
            if datum is None:
                raise
    if datum is None:
        datum = catalog.job(name)
    target = _target(datum)
    if target is None:
        raise budget_error(
            f"{datum.id} has no [b00t.orchestration.budget_constraint]: nothing to check", "budget"
        )
    return target


def all_targets(catalog: Catalog) -> list[Target]:
    out = [t for d in sorted(catalog.datums.values(), key=lambda d: d.id) if (t := _target(d)) is not None]
    return [t for t in out if t.datum.type in ("stack", "job")]


def ledger_url(args: argparse.Namespace) -> str:
    if getattr(args, "ledger", None):
        url: str = args.ledger
        return url
    settings = load_settings(args)
    if settings.ledger:
        return settings.ledger
    return default_ledger_url()


def _now(args: argparse.Namespace) -> Any:
    return parse_time(args.now) if getattr(args, "now", None) else None


def _add_common(p: argparse.ArgumentParser) -> None:
    add_datum_args(p)
    add_json_arg(p)
    p.add_argument(
        "--ledger",
        metavar="URL",
        help="sqlite:///path.db, dynamodb://TABLE?region=R[&endpoint=URL] or k8s://NAMESPACE; "
        "default b00t:ledger of --env, else sqlite:///.cache/ledger.db in the working directory",
    )
    p.add_argument("--now", metavar="TIME", help="decide as if it were TIME (ISO 8601 with a zone); default now")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("budget", help="daily budgets: check, status, reserve, release")
    p.set_defaults(func=lambda a: _usage(p))
    bsub = p.add_subparsers(dest="budget_command", metavar="SUBCOMMAND")

    c = bsub.add_parser("check", help="the whole window: limit, spend, the Deployments' cost, the jobs that fit "
                        "in what is left, and its Kueue translation")
    c.add_argument("stack", metavar="STACK", help="stack (or job) name or id")
    _add_common(c)
    c.set_defaults(func=cmd_check)

    s = bsub.add_parser("status", help="spend of one budget, or of every stack and job with a budget")
    s.add_argument("stack", metavar="STACK", nargs="?", help="stack (or job) name or id; default all")
    _add_common(s)
    s.set_defaults(func=cmd_status)

    r = bsub.add_parser("reserve", help="reserve an amount atomically (exit 0 approved, 3 deferred or rejected)")
    r.add_argument("stack", metavar="STACK", help="stack (or job) name or id")
    r.add_argument("--amount", required=True, metavar="X", help="amount in the budget's currency, e.g. 2.50")
    r.add_argument(
        "--id", required=True, dest="rid", metavar="RID", help="reservation id (re-running never counts twice)"
    )
    _add_common(r)
    r.set_defaults(func=cmd_reserve)

    rl = bsub.add_parser("release", help="release a reservation that is not spent")
    rl.add_argument("--id", required=True, dest="rid", metavar="RID", help="reservation id")
    add_json_arg(rl)
    rl.add_argument("--ledger", metavar="URL", help="ledger URL (see budget check --help)")
    rl.add_argument("--env", metavar="ENV", help="read b00t:ledger from Pulumi.ENV.yaml")
    rl.set_defaults(func=cmd_release)


def _usage(p: argparse.ArgumentParser) -> int:
    p.print_help()
    return EXIT_USAGE


# -- commands -----------------------------------------------------------------------------------------


def _planned_objects(catalog: Catalog, settings: EnvironmentSettings, target: Target) -> tuple[list[Any], list[str]]:
    """What a deploy with these settings plans (the objects the gates price), and warnings.

    The whole plan when it can be made; otherwise datum by datum, so a broken datum elsewhere does
    not hide this budget (a datum that counts in this budget and cannot be planned is an error)."""
    from b00t_pulumi.plan.planner import Planner

    planner = Planner(catalog, settings, environ=os.environ)
    try:
        return planner.plan_cluster().all_objects(), []
    except B00tError as exc:
        first = exc
    objects: list[Any] = []
    warnings = [f"the whole plan fails ({first.problems[0]}): planned datum by datum"]
    stacks = planner.selected_stacks()
    for st in stacks:
        try:
            objects += planner.plan_stack(st).all_objects()
        except B00tError as exc:
            if st.id == target.datum.id:
                raise
            warnings.append(f"{st.id} not planned: {exc.problems[0]}")
    for job in planner.selected_jobs(stacks):
        try:
            objects += planner.plan_job(job).all_objects()
        except B00tError as exc:
            budget = planner.job_budget(job)
            if job.id == target.datum.id or (budget and budget[0] == target.id):
                raise
            warnings.append(f"{job.id} not planned: {exc.problems[0]}")
    unique = {(o.get("kind"), o["metadata"].get("namespace"), o["metadata"].get("name")): o for o in objects}
    return list(unique.values()), warnings


@dataclass(frozen=True)
class Day:
    """The whole window of a budget: its items, what the Deployments take, what is left for jobs."""

    items: list[BudgetItem]
    deployments: Money  # the Deployments' cost per window
    unreserved: Money  # the part of it not yet reserved in the ledger's current window
    left_now: Money  # remaining - unreserved: what jobs may still spend in this window
    translation: QuotaTranslation
    jobs_left: dict[str, int]  # cost_per_job / job name -> runs that fit in left_now
    prices_problem: str | None


def whole_day(target: Target, st: BudgetStatus, objects: list[Any], settings: EnvironmentSettings) -> Day:
    """The Deployments' cost per window first, then how many jobs fit in what is left, and the Kueue
    translation of that (the gate's item list: ``budget_items``)."""
    items = budget_items(target.id, objects, currency=target.currency, window_hours=st.window.hours)
    bad = [i.problem for i in items if i.problem]
    if bad:
        raise budget_error("; ".join(bad))
    zero = Money.zero(target.currency)
    deps = [i for i in items if i.kind == "deployment" and i.cost is not None]
    held = {r.id for r in st.records if r.counted}
    deployments = sum((i.cost for i in deps if i.cost), zero)
    unreserved = sum((i.cost for i in deps if i.cost and reservation_id(target.id, i.id, st.window.key) not in held),
                     zero)
    left_now = st.remaining - unreserved
    listed = price_list(settings.prices, target.currency)
    prices: PriceList | None = None if listed.error else listed
    problem = listed.error.message if listed.error else None
    gpu = target.datum.orch.gpu_requirements
    tr = translate(target.constraint, prices=prices, gpu_type=gpu.gpu_type if gpu else None,
                   window_hours=st.window.hours, currency=target.currency, committed=deployments)
    jobs_left: dict[str, int] = {}
    if tr.cost_per_job is not None:
        jobs_left["cost_per_job"] = jobs_per_window(left_now, tr.cost_per_job)
    else:
        for i in items:
            if i.kind == "job" and i.cost is not None:
                jobs_left[i.name] = jobs_per_window(left_now, i.cost)
    return Day(items, deployments, unreserved, left_now, tr, jobs_left, problem)


def _day_text(day: Day, target: Target) -> list[str]:
    deps = [i for i in day.items if i.kind == "deployment"]
    jobs = [i for i in day.items if i.kind == "job"]
    per = "day" if day.translation.period == "day" else "window"
    lines = []
    if deps:
        parts = ", ".join(f"{i.name} {i.cost.display if i.cost else '?'}" for i in deps)
        note = "" if not day.unreserved.amount else f"; {day.unreserved} of it not yet reserved in this window"
        lines.append(f"  deployed   {day.deployments} per {per} ({parts}){note}")
    else:
        lines.append(f"  deployed   no Deployment in this budget (0.00 {target.currency} per {per})")
    lines.append(f"  left       {max(day.left_now, Money.zero(target.currency))} for jobs in this window")
    tr = day.translation
    if tr.jobs_text:
        lines.append(f"  jobs       {tr.jobs_text} ({day.jobs_left.get('cost_per_job', 0)} more in this window)")
    elif day.jobs_left:
        runs = ", ".join(f"{name} {next(i.cost for i in jobs if i.name == name)}: {n}"
                         for name, n in day.jobs_left.items())
        lines.append(f"  jobs       no cost_per_job; runs that fit in this window: {runs}")
    else:
        lines.append("  jobs       no cost_per_job and no planned job in this budget")
    if tr.gpus_text:
        lines.append(f"  Kueue      {tr.gpus_text}")
    else:
        lines.append(f"  Kueue      no GPU quota: {day.prices_problem or 'no price list'}")
    return lines


def _status_text(st: BudgetStatus, target: Target) -> list[str]:
    c = target.constraint
    alert = ""
    if c.alert_threshold is not None:
        alert = f", alert at {(Decimal(str(c.alert_threshold)) * 100).normalize():f} %"
    return [
        f"{target.datum.type} {target.datum.name} (budget {st.constraint_id}): {st.limit} per "
        f"{'day' if 23 <= st.window.hours <= 25 else 'window'}, on_budget_exceeded = {st.policy}{alert}",
        f"  window     {st.window.to_dict()['start']} .. {st.window.to_dict()['end']} "
        f'(reset "{c.reset_schedule}" {c.timezone})',
        f"  spend      {st.spend} ({st.counted} reservation{'s' if st.counted != 1 else ''})",
        f"  remaining  {st.remaining} ({st.percentage_used.quantize(Decimal('0.01'))} % used)",
    ]


def cmd_check(args: argparse.Namespace) -> int:
    catalog = load_catalog(args, strict=False)  # a broken reference elsewhere must not hide a budget
    target = find_target(catalog, args.stack)
    settings = load_settings(args)
    objects, warnings = _planned_objects(catalog, settings, target)
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    url = ledger_url(args)
    with open_ledger(url) as ledger:
        st = BudgetController(ledger).status(target.id, target.constraint, now=_now(args), currency=target.currency)
    day = whole_day(target, st, objects, settings)
    if args.json:
        print_json(
            {
                **st.to_dict(),
                "datum": target.datum.id,
                "kind": target.datum.type,
                "name": target.datum.name,
                "ledger": redact_url(url),
                "reset_schedule": target.constraint.reset_schedule,
                "timezone": target.constraint.timezone,
                "items": [i.to_dict() for i in day.items],
                "deployments_per_window": day.deployments.to_json(),
                "deployments_unreserved": day.unreserved.to_json(),
                "left_for_jobs_in_window": day.left_now.to_json(),
                "jobs_left_in_window": day.jobs_left.get("cost_per_job") if day.translation.cost_per_job
                else dict(day.jobs_left),
                "quota": day.translation.to_dict(),
                "prices_problem": day.prices_problem,
            }
        )
        return EXIT_OK
    lines = _status_text(st, target) + _day_text(day, target)
    lines.append(f"  ledger     {redact_url(url)}")
    print("\n".join(lines))
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    catalog = load_catalog(args, strict=False)  # a broken reference elsewhere must not hide a budget
    targets = [find_target(catalog, args.stack)] if args.stack else all_targets(catalog)
    url = ledger_url(args)
    now = _now(args)
    with open_ledger(url) as ledger:
        ctl = BudgetController(ledger)
        rows = [(t, ctl.status(t.id, t.constraint, now=now, currency=t.currency)) for t in targets]
    if args.json:
        print_json({"ledger": redact_url(url), "budgets": [st.to_dict() for _, st in rows]})
        return EXIT_OK
    if not rows:
        print("no stack or job has a budget_constraint")
        return EXIT_OK
    if args.stack:
        print("\n".join(_status_text(rows[0][1], rows[0][0])))
        return EXIT_OK
    header = ("BUDGET", "LIMIT", "SPEND", "REMAINING", "USED", "POLICY", "RESETS")
    table = [header] + [
        (
            st.constraint_id,
            str(st.limit),
            str(st.spend),
            str(st.remaining),
            f"{st.percentage_used.quantize(Decimal('0.1'))}%",
            st.policy,
            st.window.to_dict()["end"],
        )
        for _, st in rows
    ]
    widths = [max(len(r[i]) for r in table) for i in range(len(header))]
    for r in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())
    return EXIT_OK


def cmd_reserve(args: argparse.Namespace) -> int:
    catalog = load_catalog(args, strict=False)  # a broken reference elsewhere must not hide a budget
    target = find_target(catalog, args.stack)
    amount = to_decimal(args.amount, "--amount")
    if amount < 0:
        raise budget_error(f"--amount cannot be negative, got {args.amount}")
    url = ledger_url(args)
    with open_ledger(url) as ledger:
        decision = BudgetController(ledger).reserve(
            target.id, target.constraint, Money(amount, target.currency), args.rid, now=_now(args),
            currency=target.currency,
        )
    if args.json:
        print_json({**decision.to_dict(), "ledger": redact_url(url)})
    else:
        print(decision.summary())
    return decision.exit_code


def cmd_release(args: argparse.Namespace) -> int:
    url = ledger_url(args)
    with open_ledger(url) as ledger:
        record = ledger.release(args.rid)
    if args.json:
        print_json({"reservation": record.to_dict() if record else None, "ledger": redact_url(url)})
    elif record is None:
        print(f"no reservation {args.rid!r} in {redact_url(url)}")
    else:
        print(f"{record.id}: {record.state} ({record.amount} of {record.constraint_id})")
    return EXIT_OK
