"""pulumi_policy wrappers of the rules (imported by policy/__main__.py only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyPack,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

from b00t_pulumi.budget.money import Money
from b00t_pulumi.errors import B00tError
from b00t_pulumi.policy.rules import POLICIES, Resource, budget_within_daily_limit

PACK_NAME = "b00t-budget"

_LEDGER_SCHEMA = PolicyConfigSchema(
    properties={"ledgerUrl": {"type": "string", "description": "budget ledger to add current-window spend from"}},
)


def project_ledger_url(url: str, cwd: Path | None = None) -> str:
    """``ledgerUrl`` as the project sees it: a relative ``sqlite:///`` path is relative to the project
    directory, which is the parent of a policy pack kept inside it (Pulumi runs a pack in its own
    directory); elsewhere, to the working directory."""
    from b00t_pulumi.gates.inputs import absolute_ledger_url

    here = cwd or Path.cwd()
    project = here.parent if (here / "PulumiPolicy.yaml").exists() and (here.parent / "Pulumi.yaml").exists() else here
    return absolute_ledger_url(url, project)


def ledger_spend_lookup(url: str, now: datetime | None = None) -> Any:
    """spend(BudgetConstraint resource, its item ids) -> the current window's ledger spend that is not
    those items' own reservations (they are counted from the plan), or None when unknown."""
    from b00t_pulumi.budget import open_ledger, reservation_id
    from b00t_pulumi.budget.api import spec_window

    ledger = open_ledger(url)

    def spend(b: Resource, item_ids: Sequence[str]) -> Money | None:
        spec = b.props.get("spec") or {}
        try:
            window = spec_window(spec, now or datetime.now(UTC))
            currency = str(spec.get("currency", "USD"))
            total: Money = ledger.spend(b.name, window.start, currency)
            mine = {reservation_id(b.name, i, window.key) for i in item_ids}
            for r in ledger.records(b.name, window.start):
                if r.counted and r.id in mine:
                    total = total - r.amount
        except B00tError:
            return None
        return total

    return spend


def _resources(args: StackValidationArgs) -> list[Resource]:
    """The Kubernetes objects of the stack (the rules read nothing else): a component's or the stack's
    outputs may be unknown during a preview, and reading them would stop every rule."""
    return [Resource(r.resource_type, r.props, r.urn) for r in args.resources
            if r.resource_type.startswith("kubernetes:")]


def _policy(name: str) -> StackValidationPolicy:
    rule, description = POLICIES[name]

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        config: Mapping[str, Any] = args.get_config()
        if name == "budget-within-daily-limit":
            url = config.get("ledgerUrl")
            spend = ledger_spend_lookup(project_ledger_url(str(url))) if url else None
            violations = budget_within_daily_limit(_resources(args), config, spend)
        else:
            violations = rule(_resources(args), config)
        for v in violations:
            report_violation(v.message, v.urn or None)

    return StackValidationPolicy(
        name=name,
        description=description,
        validate=validate,
        enforcement_level=EnforcementLevel.MANDATORY,
        config_schema=_LEDGER_SCHEMA if name == "budget-within-daily-limit" else None,
    )


def policies() -> list[StackValidationPolicy]:
    return [_policy(name) for name in POLICIES]


def build_pack() -> PolicyPack:
    return PolicyPack(name=PACK_NAME, policies=list(policies()), enforcement_level=EnforcementLevel.MANDATORY)
