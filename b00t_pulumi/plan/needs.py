"""Which workloads get GPUs, how many of which type, whether they share, and how they batch.

A stack's ``gpu_requirements``, ``gpu_batch_group`` and ``gpu_epoch`` apply to its GPU members: a
member that declares its own ``gpu_requirements`` gives count, memory and type, and the stack's
``shared``, batch group and epoch apply unless the member sets its own. A job with a batch group or
an epoch but no ``gpu_requirements`` shares the GPU of the required stack that runs that batch group
(seed 001); without such a stack it is an error that says what to add.
"""

from __future__ import annotations

from dataclasses import dataclass

from b00t_pulumi.datum.catalog import Catalog
from b00t_pulumi.datum.models import Datum, DockerDatum, JobDatum, StackDatum
from b00t_pulumi.datum.orchestration import GpuEpoch, GpuRequirements, Orchestration
from b00t_pulumi.errors import PlanError, Problem, display_path


@dataclass(frozen=True)
class GpuNeed:
    """The GPUs a container gets, and how it batches."""

    requirements: GpuRequirements
    batch_group: str | None
    epoch: GpuEpoch | None
    source: str = ""  # where the requirements come from, for messages ("file: key")

    @property
    def model_id(self) -> str | None:
        return self.epoch.model_id if self.epoch else None

    @property
    def count(self) -> int:
        return self.requirements.count

    @property
    def gpu_type(self) -> str | None:
        return self.requirements.gpu_type

    @property
    def shared(self) -> bool:
        return self.requirements.shared


def where(d: Datum) -> str:
    return display_path(d.source) if d.source else d.id


def merge(member: GpuRequirements, stack: GpuRequirements | None) -> GpuRequirements:
    """The member's count, memory and type (its type, else the stack's); the stack's ``shared`` unless
    the member sets its own."""
    if stack is None:
        return member
    update: dict[str, object] = {}
    if member.gpu_type is None and stack.gpu_type is not None:
        update["gpu_type"] = stack.gpu_type
    if "shared" not in member.model_fields_set:
        update["shared"] = stack.shared
    return member.model_copy(update=update) if update else member


def member_needs(catalog: Catalog, stack: StackDatum, dockers: list[DockerDatum]) -> dict[str, GpuNeed]:
    """Which docker members get GPUs: their own ``gpu_requirements``, the stack's ``gpu_members``, or
    the only docker member of a stack with ``gpu_requirements``. Several members and no choice is an error."""
    so = stack.orch
    out: dict[str, GpuNeed] = {}
    for d in dockers:
        if d.orch.gpu_requirements:
            out[d.id] = GpuNeed(merge(d.orch.gpu_requirements, so.gpu_requirements),
                                d.orch.gpu_batch_group or so.gpu_batch_group, d.orch.gpu_epoch or so.gpu_epoch,
                                f"{where(d)}: b00t.orchestration.gpu_requirements")
    if so.gpu_requirements is None:
        return out
    stack_need = GpuNeed(so.gpu_requirements, so.gpu_batch_group, so.gpu_epoch,
                         f"{where(stack)}: b00t.orchestration.gpu_requirements")
    chosen = so.k8s.gpu_members if so.k8s and so.k8s.gpu_members is not None else None
    if chosen is not None:
        ids = {d.id: d for d in dockers}
        for i, ref in enumerate(chosen):
            target = catalog.find(ref)
            if target is None or target.id not in ids:
                raise PlanError([Problem(where(stack), f"b00t.orchestration.k8s.gpu_members[{i}]",
                                         f"{ref!r} is not a docker member of this stack; docker members: "
                                         f"{', '.join(sorted(ids)) or '(none)'}")])
            out.setdefault(target.id, stack_need)
        return out
    if out:
        return out  # members declared their own GPUs; the stack's requirements describe them
    if len(dockers) == 1:
        out[dockers[0].id] = stack_need
        return out
    if not dockers:
        return out
    names = ", ".join(d.id for d in dockers)
    raise PlanError([Problem(
        where(stack), "b00t.orchestration.gpu_requirements",
        f"the stack asks for GPUs but has {len(dockers)} docker members ({names}): say which get them "
        "with [b00t.orchestration.k8s] gpu_members = [\"<name>.docker\", ...], or put gpu_requirements "
        "in the member datums")])


def required_stacks(catalog: Catalog, job: JobDatum) -> list[StackDatum]:
    out: list[StackDatum] = []
    for ref in job.orch.requires_stacks:
        st = catalog.find(ref if ref.endswith(".stack") else f"{ref}.stack")
        if isinstance(st, StackDatum):
            out.append(st)
    return out


def _stack_group_need(catalog: Catalog, stack: StackDatum, group: str | None,
                      model_id: str | None) -> GpuNeed | None:
    """The GPU need of ``stack`` for batch group ``group`` (or model ``model_id``), if it runs one."""
    dockers = [m for m in catalog.members(stack) if isinstance(m, DockerDatum)]
    for need in member_needs(catalog, stack, dockers).values():
        if (group and need.batch_group == group) or (model_id and need.model_id == model_id):
            return need
    so = stack.orch
    if so.gpu_requirements and ((group and so.gpu_batch_group == group)
                                or (model_id and so.gpu_epoch and so.gpu_epoch.model_id == model_id)):
        return GpuNeed(so.gpu_requirements, so.gpu_batch_group, so.gpu_epoch,
                       f"{where(stack)}: b00t.orchestration.gpu_requirements")
    return None


def job_need(catalog: Catalog, job: JobDatum) -> GpuNeed | None:
    jo: Orchestration = job.orch
    stacks = required_stacks(catalog, job)
    if jo.gpu_requirements:
        group = jo.gpu_batch_group or next((s.orch.gpu_batch_group for s in stacks if s.orch.gpu_batch_group), None)
        epoch = jo.gpu_epoch or next((s.orch.gpu_epoch for s in stacks if s.orch.gpu_epoch), None)
        return GpuNeed(jo.gpu_requirements, group, epoch, f"{where(job)}: b00t.orchestration.gpu_requirements")
    if not (jo.gpu_batch_group or jo.gpu_epoch):
        return None
    model_id = jo.gpu_epoch.model_id if jo.gpu_epoch else None
    for st in stacks:
        need = _stack_group_need(catalog, st, jo.gpu_batch_group, model_id)
        if need is not None:
            return GpuNeed(need.requirements, jo.gpu_batch_group or need.batch_group, jo.gpu_epoch or need.epoch,
                           need.source)
    key = "b00t.orchestration.gpu_batch_group" if jo.gpu_batch_group else "b00t.orchestration.gpu_epoch"
    what = f"batch group {jo.gpu_batch_group!r}" if jo.gpu_batch_group else f"model {model_id!r}"
    stacks_txt = ", ".join(s.name for s in stacks) or "none"
    raise PlanError([Problem(where(job), key,
                             f"the job has no gpu_requirements and no required stack runs {what} on a GPU "
                             f"(required stacks: {stacks_txt}): add [b00t.orchestration.gpu_requirements] "
                             "(count, gpu_type, shared), or require the stack that runs it")])
