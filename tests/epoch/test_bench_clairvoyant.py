"""bench.clairvoyant: the reference takes over the GPU whose model is asked for again last."""

from __future__ import annotations

from b00t_pulumi.epoch import GroupSettings, Job, check_plan, schedule, uniform_inventory
from bench.clairvoyant import clairvoyant_schedule


def test_the_reference_evicts_the_model_asked_for_last_where_the_rate_estimate_guesses_wrong() -> None:
    gpus = uniform_inventory(2, 1)
    default = GroupSettings(batch_window_s=900.0)
    # "a" was asked for ten times and never again; "b" once, and again soon after "c" comes.
    jobs = [Job(f"a{i}", "a", 90.0 * i, 10.0, 20.0) for i in range(10)]
    jobs += [Job("b1", "b", 0.0, 10.0, 20.0), Job("c1", "c", 2000.0, 10.0, 20.0), Job("b2", "b", 2900.0, 10.0, 20.0)]
    online = schedule(jobs, gpus, default=default)
    reference = clairvoyant_schedule(jobs, gpus, default=default)  # Belady: load_power 0
    assert check_plan(online, jobs, gpus, default=default) == []
    assert check_plan(reference, jobs, gpus, default=default) == []
    # online, "a" looks popular, so "c" takes b's GPU and b2 loads "b" again; the reference keeps "b"
    assert online.loads == 4
    assert reference.loads == 3
    gpu_of = {p.id: e.gpu for e in reference.epochs for p in e.jobs}
    assert gpu_of["c1"] == gpu_of["a0"] and gpu_of["b2"] == gpu_of["b1"]
