"""bench.schedule.tuned: the alternatives the docs cite run the shipped code one constant away."""

from __future__ import annotations

import pytest

from b00t_pulumi.epoch import Job, schedule, scheduler, uniform_inventory
from bench.schedule import tuned


def test_tuned_changes_a_constant_for_the_block_and_restores_it() -> None:
    gpus = uniform_inventory(1, 4)
    # "a" is asked for every minute: the new "b" batch is held, unless EAGER takes any idle GPU.
    jobs = [Job(f"a{i}", "a", 60.0 * i, 10.0, 10.0) for i in range(50)]
    jobs.append(Job("b1", "b", 3030.0, 100.0, 10.0))
    held = schedule(jobs, gpus).placements()["b1"].start_s
    with tuned(EAGER=1.0):
        assert scheduler.EAGER == 1.0
        at_once = schedule(jobs, gpus).placements()["b1"].start_s
    assert scheduler.EAGER == 0.2
    assert at_once < held - 600


def test_tuned_refuses_a_constant_the_scheduler_does_not_have() -> None:
    with pytest.raises(AttributeError, match="no constant NOPE"), tuned(NOPE=1.0):
        pass
    assert not hasattr(scheduler, "NOPE")
