"""A clairvoyant reference: the epoch scheduler told when each model is asked for next.

No online scheduler can have this: it is the same scheduler (``b00t_pulumi.epoch.scheduler``),
with one change. When a batch must take a GPU over, it takes the one whose model is asked for
again last (Belady's rule for caches: evict what is needed furthest in the future), read from the
trace instead of estimated from the arrival rate. Everything else (the hold, the warm slots, the
queues) stays online. It tells apart the two reasons a plan is above the windowed lower bound:
the bound is loose (a clairvoyant victim choice is above it too), or the online estimate of the
next arrival is wrong (the clairvoyant one is closer). bench/schedule.py prints it beside ours.

It reaches into the scheduler's private class on purpose: it is a measurement, never a plan.
"""

from __future__ import annotations

import bisect
import gc
import math
from collections.abc import Sequence

from b00t_pulumi.epoch import GroupSettings, Job, Plan
from b00t_pulumi.epoch.model import Gpu
from b00t_pulumi.epoch.scheduler import VALUE_K, _Scheduler
from b00t_pulumi.epoch.state import GpuState


class _Clairvoyant(_Scheduler):
    def __init__(
        self, jobs: Sequence[Job], gpus: Sequence[Gpu], default: GroupSettings, load_power: float, horizon_s: float
    ) -> None:
        super().__init__(jobs, gpus, {}, default, None, None, None)
        self.load_power = load_power
        self.horizon_s = horizon_s
        self.arrivals: dict[str, list[float]] = {}
        for j in self.order:
            self.arrivals.setdefault(j.group, []).append(j.submit_s)

    def victim_value(self, G: GpuState, t: float) -> float:
        """(load seconds + VALUE_K) ** load_power / (seconds until G's model is asked for again +
        horizon_s), shared among its copies; 0 if it is never asked for again."""
        h = G.held
        if h is None:
            return -1.0
        s = self.arrivals.get(h.name, [])
        i = bisect.bisect_right(s, t)
        if i == len(s):
            return 0.0
        return math.pow(h.load[G.type] + VALUE_K, self.load_power) / (s[i] - t + self.horizon_s) / len(h.gpus)


def clairvoyant_schedule(
    jobs: Sequence[Job],
    gpus: Sequence[Gpu],
    *,
    default: GroupSettings,
    load_power: float = 0.0,
    horizon_s: float = 1.0,
) -> Plan:
    """The reference plan (see the module doc). ``load_power`` 0 is Belady's rule (the model asked
    for last goes); 1 weighs the next arrival by the load it would cost, 2 by its square."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _Clairvoyant(jobs, gpus, default, load_power, horizon_s).run()
    finally:
        if collecting:
            gc.enable()
