"""Inputs and outputs of the GPU epoch scheduler.

Times are seconds (floats) on one clock shared by every job, usually seconds since the start of a
trace or Unix time. Money is :class:`~decimal.Decimal`. Every type here is immutable; a plan is a
value that can be compared, serialised to the ``--plan-out`` JSON shape and read back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from b00t_pulumi.errors import Problem, ScheduleError

DAY_S = 86_400.0


@dataclass(frozen=True, slots=True)
class Job:
    """One job: it needs its group's model (``group`` = batch group / model id) loaded on a GPU.

    ``gpus`` > 1 means a gang: the job runs at the same time on that many GPUs, using one slot of
    each, and every one of those GPUs must hold the group's model.

    ``load_s`` is how long its model takes to load; ``load_by_type`` overrides it per GPU type
    (``(("H100", 20.0),)``: the model loads faster there). :meth:`load_on` gives the one that applies.
    """

    id: str
    group: str
    submit_s: float
    duration_s: float
    load_s: float
    gpus: int = 1
    cost: Decimal | None = None
    gpu_type: str | None = None
    load_by_type: tuple[tuple[str, float], ...] = ()

    def load_on(self, gpu_type: str) -> float:
        """Seconds to load this job's model on a GPU of ``gpu_type``."""
        for t, s in self.load_by_type:
            if t == gpu_type:
                return s
        return self.load_s


@dataclass(frozen=True, slots=True)
class Gpu:
    """One physical GPU. ``slots`` = time-slicing replicas: jobs that can share it at once."""

    id: str
    node: str = ""
    gpu_type: str = "gpu"
    slots: int = 1


@dataclass(frozen=True, slots=True)
class GroupSettings:
    """Per batch group: how long a job may be held to batch it, a cap on its running jobs, and a cap
    on its jobs that share one GPU at once (a datum's ``gpu_epoch.max_concurrent_jobs``; at most the
    GPU's slots either way)."""

    batch_window_s: float = 900.0
    max_concurrent_jobs: int | None = None
    jobs_per_gpu: int | None = None


class Placement(NamedTuple):
    """A job inside an epoch: it holds one slot of the epoch's GPU during [start_s, end_s)."""

    id: str
    start_s: float
    end_s: float


class Assignment(NamedTuple):
    """Where and when one job runs: what a replay or a deploy pins the job to.

    ``gpus``, ``nodes`` and ``epochs`` have one entry per GPU of the job (several for a gang), in
    GPU id order.
    """

    id: str
    group: str
    gpus: tuple[str, ...]
    nodes: tuple[str, ...]
    epochs: tuple[str, ...]
    start_s: float
    end_s: float


@dataclass(frozen=True, slots=True)
class Epoch:
    """A stay of one model on one GPU: a load (0 s if the GPU already held the model), then jobs.

    The GPU is reserved for this model from ``load_start_s`` to ``end_s``;
    ``start_s = load_start_s + load_s``.
    """

    id: str
    gpu: str
    group: str
    load_start_s: float
    load_s: float
    start_s: float
    end_s: float
    jobs: tuple[Placement, ...]


@dataclass(frozen=True, slots=True)
class Deferred:
    """A job left out of the plan, and why (always a sentence a user can act on)."""

    id: str
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Epochs (sorted by load start, then GPU) and deferred jobs (sorted by id)."""

    gpus: tuple[Gpu, ...] = ()
    epochs: tuple[Epoch, ...] = ()
    deferred: tuple[Deferred, ...] = field(default=())

    @property
    def loads(self) -> int:
        """Model loads: epochs whose load takes time (a 0 s epoch continues a resident model)."""
        return sum(1 for e in self.epochs if e.load_s > 0)

    @property
    def load_gpu_seconds(self) -> float:
        return float(sum(e.load_s for e in self.epochs))

    def placements(self) -> dict[str, Placement]:
        """Job id -> its placement (a gang job appears once, with its common start and end)."""
        out: dict[str, Placement] = {}
        for e in self.epochs:
            for p in e.jobs:
                out.setdefault(p.id, p)
        return out

    def assignments(self) -> dict[str, Assignment]:
        """Job id -> its GPU(s), node(s), epoch(s), start and end (placed jobs only)."""
        node = {g.id: g.node for g in self.gpus}
        where: dict[str, list[tuple[str, str]]] = {}
        first: dict[str, tuple[str, Placement]] = {}
        for e in self.epochs:
            for p in e.jobs:
                where.setdefault(p.id, []).append((e.gpu, e.id))
                first.setdefault(p.id, (e.group, p))
        out: dict[str, Assignment] = {}
        for jid, places in where.items():
            places.sort()
            group, p = first[jid]
            out[jid] = Assignment(
                jid, group, tuple(g for g, _ in places), tuple(node.get(g, "") for g, _ in places),
                tuple(e for _, e in places), p.start_s, p.end_s,
            )
        return out

    def to_dict(self) -> dict[str, Any]:
        """The ``--plan-out`` JSON shape (issue 4)."""
        return {
            "gpus": [{"id": g.id, "node": g.node, "gpu_type": g.gpu_type, "slots": g.slots} for g in self.gpus],
            "epochs": [
                {
                    "id": e.id,
                    "gpu": e.gpu,
                    "group": e.group,
                    "load_start_s": _num(e.load_start_s),
                    "load_s": _num(e.load_s),
                    "start_s": _num(e.start_s),
                    "end_s": _num(e.end_s),
                    "jobs": [{"id": p.id, "start_s": _num(p.start_s), "end_s": _num(p.end_s)} for p in e.jobs],
                }
                for e in self.epochs
            ],
            "deferred": [{"id": d.id, "reason": d.reason} for d in self.deferred],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str = "plan") -> Plan:
        """Read the ``--plan-out`` shape back. Raises ScheduleError naming the bad key."""
        try:
            gpus = tuple(
                Gpu(id=str(g["id"]), node=str(g.get("node", "")), gpu_type=str(g.get("gpu_type", "gpu")),
                    slots=int(g["slots"]))
                for g in data.get("gpus", [])
            )
            epochs = tuple(
                Epoch(
                    id=str(e["id"]),
                    gpu=str(e["gpu"]),
                    group=str(e["group"]),
                    load_start_s=float(e["load_start_s"]),
                    load_s=float(e["load_s"]),
                    start_s=float(e["start_s"]),
                    end_s=float(e["end_s"]),
                    jobs=tuple(
                        Placement(str(p["id"]), float(p["start_s"]), float(p["end_s"])) for p in e["jobs"]
                    ),
                )
                for e in data.get("epochs", [])
            )
            deferred = tuple(Deferred(str(d["id"]), str(d["reason"])) for d in data.get("deferred", []))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ScheduleError([Problem(source, "", f"not a plan: {type(exc).__name__}: {exc}")]) from exc
        return cls(gpus=gpus, epochs=epochs, deferred=deferred)


def _num(x: float) -> float | int:
    """Whole seconds print as integers in JSON (15 rather than 15.0)."""
    return int(x) if float(x).is_integer() and abs(x) < 2**53 else float(x)


def uniform_inventory(n_gpus: int, slots: int, *, gpu_type: str = "gpu", gpus_per_node: int = 8) -> tuple[Gpu, ...]:
    """``n_gpus`` identical GPUs named gpu00, gpu01... on nodes of ``gpus_per_node``."""
    width = max(2, len(str(max(n_gpus - 1, 0))))
    return tuple(
        Gpu(id=f"gpu{i:0{width}d}", node=f"node{i // gpus_per_node}", gpu_type=gpu_type, slots=slots)
        for i in range(n_gpus)
    )


def job_index(jobs: Iterable[Job]) -> dict[str, Job]:
    return {j.id: j for j in jobs}


def total_slots(gpus: Sequence[Gpu]) -> int:
    return sum(g.slots for g in gpus)
