"""``b00t-pulumi validate [PATH...]``: every problem as ``FILE: KEY.PATH: message``; exit 0 or 1."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from b00t_pulumi.cli.common import EXIT_INVALID, EXIT_OK, datum_paths, load_settings
from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.datum.models import StackDatum
from b00t_pulumi.errors import B00tError, Problem


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("validate", help="check datum files; one line per problem, exit 1 when any is an error")
    p.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                   help="datum files or directories (default: the datum search path)")
    p.add_argument("--env", metavar="ENV", help="also plan with the settings of Pulumi.ENV.yaml")
    p.add_argument("-q", "--quiet", action="store_true", help="errors only, no warnings")
    p.add_argument("--offline", action="store_true",
                   help="do not read the budget ledger (skips the projections the budget gates check)")
    p.add_argument("-v", "--verbose", action="store_true", help="also list upstream keys ignored on purpose")
    p.set_defaults(func=run)


def validate(paths: list[Path] | None, args: argparse.Namespace) -> list[Problem]:
    """Problems of loading, references, cycles, and everything ``pulumi preview`` refuses for the
    environment (b00t_pulumi.gates.preflight: the program runs the same checks)."""
    catalog = Catalog.load(paths or None)
    problems = list(catalog.problems)
    if catalog.errors:
        return problems
    try:
        settings = load_settings(args)
    except B00tError as exc:
        return problems + exc.problems
    from b00t_pulumi.gates.preflight import preflight
    from b00t_pulumi.plan.planner import Planner

    planner = Planner(catalog, settings, environ=os.environ)
    if not args.env:
        # No environment, no whole-environment checks: each stack and job on its own.
        print("note: no --env: planning each stack and job on its own; the checks `pulumi preview` runs "
              "(Kueue coverage, GPU capacity, epochs, budgets) need --env NAME", file=sys.stderr)
        for stack in sorted(catalog.stacks(), key=lambda s: s.name):
            try:
                problems += planner.plan_stack(stack).warnings
            except B00tError as exc:
                problems += exc.problems
        for job in sorted(catalog.jobs(), key=lambda j: j.name):
            if job.image:
                try:
                    problems += planner.plan_job(job).warnings
                except B00tError as exc:
                    problems += exc.problems
        return list(dict.fromkeys(problems))
    pre = preflight(planner, Path.cwd(), ledgers=not args.offline)
    problems += pre.problems
    # Jobs outside the environment's selection are still checked one by one (workflow-style jobs
    # are b00t's own; nothing to plan).
    planned = {jp.job.name for jp in pre.plan.jobs} if pre.plan else set()
    for job in sorted(catalog.jobs(), key=lambda j: j.name):
        if job.image and job.name not in planned and pre.plan is not None:
            try:
                problems += planner.plan_job(job).warnings
            except B00tError as exc:
                problems += exc.problems
    return list(dict.fromkeys(problems))


def validate_stacks(names: list[str] | None, args: argparse.Namespace) -> dict[str, list[Problem]]:
    """``stack validate NAME|--all`` (upstream b00t's shape): per stack, the problems of its file and
    its members' files, of references, and of planning it. Datums of other stacks are not judged."""
    from b00t_pulumi.errors import display_path

    catalog = Catalog.load(datum_paths(args))
    if names is None:
        stacks = sorted(catalog.stacks(), key=lambda s: s.name)
        if not stacks and catalog.errors:
            return {"": list(catalog.problems)}
    else:
        found = [catalog.find(f"{n}.stack") for n in names]
        missing = [n for n, d in zip(names, found, strict=True) if d is None]
        if missing:
            raise B00tError([Problem("", "", catalog.not_found_message(f"{m}.stack", "stack")) for m in missing])
        stacks = [catalog.stack(n) for n in names]
    settings = load_settings(args)
    from b00t_pulumi.plan.planner import Planner

    planner = Planner(catalog, settings, environ=os.environ)
    out: dict[str, list[Problem]] = {}
    for stack in stacks:
        members = catalog.members(stack)
        files = {display_path(d.source) for d in (stack, *members) if d.source}
        # a member whose file did not load is known by its file name <name>.<type>.toml
        refs = {*stack.members, *(r for m in members if isinstance(m, StackDatum) for r in m.members)}
        problems = [p for p in catalog.problems
                    if p.file in files or Path(p.file).name.removesuffix(".toml") in refs]
        if not any(p.severity == "error" for p in problems):
            try:
                planner.plan_stack(stack)
            except B00tError as exc:
                problems += exc.problems
        out[stack.name] = list(dict.fromkeys(problems))
    return out


def report(results: dict[str, list[Problem]], *, quiet: bool = False) -> int:
    """One line per problem, then one summary line per stack; exit 1 when any has an error."""
    failed = False
    for name, problems in results.items():
        for p in problems:
            if not (quiet and p.severity == "warning"):
                print(p)
        errors = sum(p.severity == "error" for p in problems)
        warnings = len(problems) - errors
        failed = failed or errors > 0
        if name:
            state = f"{errors} error(s)" if errors else "valid"
            print(f"stack {name}: {state}" + (f", {warnings} warning(s)" if warnings else ""))
    return EXIT_INVALID if failed else EXIT_OK


def run(args: argparse.Namespace) -> int:
    problems = validate(list(args.paths), args)
    errors = [p for p in problems if p.severity == "error"]
    for p in problems:
        if p.severity == "warning" and args.quiet:
            continue
        print(p)
    if args.verbose:
        catalog = Catalog.load(list(args.paths) or None, check_refs=False)
        for d in sorted(catalog.datums.values(), key=lambda d: d.id):
            if d.ignored_keys:
                print(f"{d.source}: ignored on purpose (b00t keys with no Kubernetes meaning): "
                      f"{', '.join(d.ignored_keys)}")
    if errors:
        return EXIT_INVALID
    return EXIT_OK
