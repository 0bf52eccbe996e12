"""The scheduler's working state: GPUs, groups and open epochs while a plan is being made.

Internal to :mod:`b00t_pulumi.epoch.scheduler` (mutable, fast, slot classes); the plan it returns
is made of the immutable types of :mod:`b00t_pulumi.epoch.model`.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from itertools import pairwise
from operator import attrgetter

from b00t_pulumi.epoch.model import Epoch, Gpu, GroupSettings, Job, Placement

INF = float("inf")


class OpenEpoch:
    """An epoch being built: a GPU given to a group at ``load_start`` for ``load_s`` seconds."""

    __slots__ = ("end", "frozen", "gpu", "group", "id", "jobs", "load_s", "load_start", "n_frozen")

    def __init__(self, gpu: GpuState, group: GroupState, load_start: float, load_s: float) -> None:
        self.gpu = gpu
        self.group = group
        self.load_start = load_start
        self.load_s = load_s
        self.jobs: list[Placement] = []
        self.end = load_start + load_s
        self.id = ""
        self.frozen: Epoch | None = None  # the epoch of the previous plan it continues (re-planning)
        self.n_frozen = 0


class GpuState:
    __slots__ = (
        "busy", "drain", "epoch", "free", "held", "i", "id", "idle_at", "last_start", "level", "slots", "type",
    )

    def __init__(self, i: int, gpu: Gpu, now: float) -> None:
        self.i = i
        self.id = gpu.id
        self.type = gpu.gpu_type
        self.slots = gpu.slots
        self.free = [now] * gpu.slots  # a min-heap: when each slot is free again
        self.busy = now  # when every slot is free (the GPU may change model from then on)
        self.last_start = now  # the latest start planned here
        self.held: GroupState | None = None
        self.level = 0.0  # load seconds of the model version loaded here
        self.epoch: OpenEpoch | None = None
        self.idle_at = -INF  # when the pending "goes idle" event for it fires
        self.drain = False  # True: it takes no more jobs of its model and goes to a waiting queue once idle


class GroupState:
    __slots__ = (
        "due", "full", "gpus", "last", "load", "min_load", "mixed", "name", "per_gpu", "per_window", "queue", "rate",
        "seq", "tau", "tokens", "visit", "wait_type", "window",
    )

    def __init__(self, name: str, settings: GroupSettings, rate_windows: float) -> None:
        self.name = name
        self.window = float(settings.batch_window_s)
        self.load: dict[str, float] = {}  # GPU type -> the largest load a job of the group gives there
        self.min_load = 0.0  # the smallest of those (on the fastest type)
        self.mixed = False  # True when loads differ within the group (then levels are checked per job)
        self.gpus: list[GpuState] = []  # GPUs holding this group's model, in the order they got it
        self.queue: deque[Job] = deque()  # jobs waiting for a GPU: a held batch, or a backlog
        self.seq = 0  # identifies the live trigger of the queue in the event heap (-1: none)
        self.due = INF  # when that trigger fires
        self.visit = -INF  # the last time its queue was looked at
        self.wait_type: str | None = None  # while it waits: its head job's GPU type, whose GPUs wake it
        self.full = 1  # a held batch of this many jobs launches at once (it fills a GPU)
        self.per_gpu = settings.jobs_per_gpu  # at most this many of its jobs share one GPU at once
        m = settings.max_concurrent_jobs
        self.tokens: list[float] | None = None if m is None else [-INF] * m  # when each run slot frees
        self.rate = 0.0  # arrivals, an exponentially decaying count (time constant tau)
        self.last = -INF
        self.tau = max(rate_windows * self.window, 60.0)
        self.per_window = max(self.window, 60.0) / self.tau

    def slots_on(self, G: GpuState) -> int:
        """The slots of GPU G this group's epoch may use at once."""
        return G.slots if self.per_gpu is None else min(G.slots, self.per_gpu)

    def arrivals_per_window(self, t: float) -> float:
        """Expected arrivals per batch window, from the decaying count."""
        return self.rate * math.exp((self.last - t) / self.tau) * self.per_window

    def expected_arrivals(self, t: float, span: float, since: float) -> float:
        """Expected arrivals in the next ``span`` seconds, from the decaying count corrected for
        counting only since ``since``: a count that started less than ``tau`` ago has not built up
        yet (without the correction every model looks rare in the first hours). A count is taken
        to have run at least a second (with a batch window of 0 it has run none at its first job)."""
        built = 1.0 - math.exp(-max(t - since + self.window, 1.0) / self.tau)
        return self.rate * math.exp((self.last - t) / self.tau) / self.tau * span / built


def can_serve(h: GroupState, job: Job, G: GpuState) -> bool:
    """Whether GPU G, which holds h's model, can run h's ``job`` without a load."""
    return (
        not G.drain and (job.gpu_type is None or job.gpu_type == G.type)
        and (not h.mixed or job.load_on(G.type) <= G.level)
    )


def head_key(g: GroupState) -> tuple[float, str]:
    """Submit time and id of the oldest job in the group's queue: waiting queues go in this order."""
    j = g.queue[0]
    return (j.submit_s, j.id)


def queue_level(queue: Iterable[Job], gpu_type: str) -> float:
    """The load a new epoch needs so that every job of the queue that can run on this type fits."""
    return max(
        (j.load_on(gpu_type) for j in queue if j.gpus == 1 and (j.gpu_type is None or j.gpu_type == gpu_type)),
        default=0.0,
    )


def submit_order(jobs: Sequence[Job]) -> list[Job]:
    """Jobs by submit time, ties by id: the same order whatever order the caller gave."""
    order = sorted(jobs, key=_SUBMIT)
    sub = list(map(_SUBMIT, order))
    ties = [i for i, (a, b) in enumerate(pairwise(sub)) if a == b]  # order[i] and order[i + 1] tie
    k = 0
    n = len(ties)
    while k < n:
        lo = ties[k]
        while k + 1 < n and ties[k + 1] == ties[k] + 1:
            k += 1
        hi = ties[k] + 2  # the run of equal submit times is order[lo:hi]
        order[lo:hi] = sorted(order[lo:hi], key=_ID)
        k += 1
    return order


_SUBMIT = attrgetter("submit_s")
_ID = attrgetter("id")
