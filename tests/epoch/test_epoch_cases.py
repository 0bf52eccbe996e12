"""Edge cases of the epoch scheduler, its baselines, bounds, checker and metrics."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from b00t_pulumi.epoch import (
    Deferred,
    Epoch,
    Gpu,
    GroupSettings,
    Job,
    Placement,
    Plan,
    check_plan,
    check_stability,
    evaluate,
    fifo_cold,
    fifo_warm,
    lower_bound_loads,
    makespan_lower_bound,
    percentile,
    schedule,
    uniform_inventory,
    windowed_lower_bound_loads,
)
from b00t_pulumi.errors import ScheduleError


def job(jid: str, group: str, submit: float, duration: float = 100.0, load: float = 10.0, **kw: object) -> Job:
    return Job(id=jid, group=group, submit_s=submit, duration_s=duration, load_s=load, **kw)  # type: ignore[arg-type]


def feasible(plan: Plan, jobs: list[Job], gpus: tuple[Gpu, ...] | list[Gpu], **kw: object) -> None:
    assert check_plan(plan, jobs, gpus, **kw) == []  # type: ignore[arg-type]


def test_empty_input_gives_an_empty_plan() -> None:
    gpus = uniform_inventory(2, 4)
    plan = schedule([], gpus)
    assert plan.epochs == () and plan.deferred == () and plan.gpus == gpus
    assert schedule([], []).epochs == ()
    assert fifo_cold([], gpus).epochs == () and fifo_warm([], gpus).epochs == ()
    m = evaluate(plan, [], gpus)
    assert (m.jobs, m.loads, m.p95_added_wait_s, m.makespan_s) == (0, 0, 0.0, 0.0)


def test_jobs_without_gpus_is_an_error() -> None:
    with pytest.raises(ScheduleError, match="no GPUs"):
        schedule([job("a", "m", 0)], [])


def test_unknown_gpu_type_is_a_clear_error() -> None:
    gpus = [Gpu("g0", gpu_type="A100", slots=2)]
    with pytest.raises(ScheduleError) as err:
        schedule([job("a", "m", 0, gpu_type="H100")], gpus)
    assert "job 'a': gpu_type: no GPU of type 'H100' in the inventory (types there: A100)" in str(err.value)
    with pytest.raises(ScheduleError, match="H100"):
        fifo_warm([job("a", "m", 0, gpu_type="H100")], gpus)


def test_invalid_jobs_and_settings_are_listed_together() -> None:
    bad = [job("a", "m", 0, duration=0), job("a", "", float("nan"), load=-1, gpus=0)]
    with pytest.raises(ScheduleError) as err:
        schedule(bad, uniform_inventory(1, 1), default=GroupSettings(batch_window_s=-1))
    text = str(err.value)
    for needle in ("duration_s", "group", "submit_s", "load_s", "gpus", "duplicate job id", "batch_window"):
        assert needle in text


def test_one_load_serves_a_warm_group() -> None:
    gpus = uniform_inventory(1, 2)
    jobs = [job("a", "m", 0), job("b", "m", 50), job("c", "m", 500)]
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    assert plan.loads == 1 and len(plan.epochs) == 1
    assert [p.start_s for p in plan.epochs[0].jobs] == [10, 50, 500]


def test_more_groups_than_gpus() -> None:
    gpus = uniform_inventory(2, 2)
    jobs = [job(f"j{i}", f"m{i % 5}", i * 30.0) for i in range(20)]
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    assert len(plan.placements()) == 20
    assert plan.loads >= 5


def test_hold_to_batch_shares_one_load() -> None:
    # g0 holds a busy model; three jobs of a cold model arrive within its window: one load.
    gpus = uniform_inventory(2, 4)
    jobs = [job("h1", "hot", 0, duration=5000), job("h2", "hot", 1, duration=5000)]
    jobs += [job("other", "o", 2, duration=100)]
    jobs += [job(f"c{i}", "cold", 300 + 100 * i, duration=60) for i in range(3)]
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    cold = [e for e in plan.epochs if e.group == "cold"]
    assert len(cold) == 1 and len(cold[0].jobs) == 3
    waits = [p.start_s - j.submit_s for j in jobs for p in cold[0].jobs if p.id == j.id]
    assert max(waits) <= 900


def test_a_batch_is_not_held_for_a_model_nobody_asks_for() -> None:
    # The one GPU holds "a", asked for once, hours ago: holding the new "b" batch would keep a
    # model that is probably not needed, so "b" loads at once instead of waiting 0.95 window.
    gpus = uniform_inventory(1, 4)
    jobs = [job("a1", "a", 0, duration=100), job("b1", "b", 10_000, duration=100)]
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    assert plan.placements()["b1"].start_s == 10_000 + 10.0  # submit + its load, no hold


def test_a_batch_is_held_while_the_idle_gpus_model_is_in_demand() -> None:
    # "a" is asked for every minute and its GPU is idle between its short jobs: taking it now
    # would cost a reload soon, so the new "b" batch is held (and gathers b2) as before.
    gpus = uniform_inventory(1, 4)
    jobs = [job(f"a{i}", "a", 60.0 * i, duration=10) for i in range(50)]
    jobs += [job("b1", "b", 3030, duration=100), job("b2", "b", 3300, duration=100)]
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    b = [e for e in plan.epochs if e.group == "b"]
    assert len(b) == 1 and {p.id for p in b[0].jobs} == {"b1", "b2"}
    assert plan.placements()["b1"].start_s - 3030 >= 800


def test_a_short_window_does_not_make_a_model_in_demand_look_unwanted() -> None:
    # "a" is asked for every 10 minutes; "b" may wait 2 minutes. Over b's short hold an "a" job is
    # unlikely, but within the next 15 minutes one is all but certain: b is held as before
    # (without the 15-minute floor it loaded at once).
    gpus = uniform_inventory(1, 4)
    jobs = [job(f"a{i}", "a", 600.0 * i, duration=10) for i in range(13)]
    jobs.append(job("b1", "b", 7300, duration=10))
    plan = schedule(jobs, gpus, groups={"b": GroupSettings(batch_window_s=120)})
    feasible(plan, jobs, gpus, groups={"b": GroupSettings(batch_window_s=120)})
    assert plan.placements()["b1"].start_s - 7300 == pytest.approx(0.95 * 120)


def test_group_larger_than_one_gpu_is_split() -> None:
    gpus = uniform_inventory(3, 2)
    jobs = [job(f"j{i}", "big", 0, duration=1000) for i in range(10)]
    plan = schedule(jobs, gpus, default=GroupSettings(batch_window_s=0))
    feasible(plan, jobs, gpus)
    assert len({e.gpu for e in plan.epochs}) == 3
    assert len(plan.placements()) == 10


def test_jobs_longer_than_the_window() -> None:
    gpus = uniform_inventory(1, 1)
    jobs = [job("long", "m", 0, duration=10_000), job("next", "m", 10)]
    plan = schedule(jobs, gpus, default=GroupSettings(batch_window_s=900))
    feasible(plan, jobs, gpus)
    p = plan.placements()
    assert p["long"].end_s == 10_010 and p["next"].start_s == 10_010
    assert plan.loads == 1


def test_gang_job_runs_on_several_gpus_at_once_or_is_deferred() -> None:
    gpus = uniform_inventory(3, 2)
    jobs = [job("g", "m", 0, gpus=2), job("solo", "m", 5), job("huge", "m", 0, gpus=4)]
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    gang = [e for e in plan.epochs if any(p.id == "g" for p in e.jobs)]
    assert len(gang) == 2 and len({e.gpu for e in gang}) == 2
    assert plan.deferred == (
        Deferred("huge", "needs 4 GPUs at once but the inventory has 3; add GPUs or lower gpus"),
    )


def test_gpu_types_are_respected() -> None:
    gpus = [Gpu("a0", gpu_type="A100", slots=1), Gpu("h0", gpu_type="H100", slots=1)]
    jobs = [job("x", "m", 0, gpu_type="H100"), job("y", "m", 0, gpu_type="A100"), job("z", "m", 0)]
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    where = {p.id: e.gpu for e in plan.epochs for p in e.jobs}
    assert where["x"] == "h0" and where["y"] == "a0"


def test_max_concurrent_jobs_caps_a_group() -> None:
    gpus = uniform_inventory(2, 4)
    settings = {"m": GroupSettings(batch_window_s=900, max_concurrent_jobs=1)}
    jobs = [job(f"j{i}", "m", 0, duration=100) for i in range(4)]
    plan = schedule(jobs, gpus, groups=settings)
    feasible(plan, jobs, gpus, groups=settings)
    starts = sorted(p.start_s for p in plan.placements().values())
    assert starts == [10, 110, 210, 310]


def test_daily_limit_defers_with_a_reason_and_never_overruns() -> None:
    gpus = uniform_inventory(1, 4)
    jobs = [job(f"j{i}", "m", i * 10.0, cost=Decimal("2.50")) for i in range(6)]
    plan = schedule(jobs, gpus, daily_limit=Decimal("10"))
    feasible(plan, jobs, gpus, daily_limit=Decimal("10"))
    assert len(plan.placements()) == 4
    assert [d.id for d in plan.deferred] == ["j4", "j5"]
    assert "daily limit 10" in plan.deferred[0].reason and "Next window starts at 86400 s" in plan.deferred[0].reason
    assert evaluate(plan, jobs, gpus, daily_limit=Decimal("10")).budget_overruns == 0
    cold = fifo_cold(jobs, gpus)
    assert evaluate(cold, jobs, gpus, daily_limit=Decimal("10")).budget_overruns == 2


def test_plans_are_deterministic_with_stable_ids() -> None:
    gpus = uniform_inventory(2, 2)
    jobs = [job(f"j{i}", f"m{i % 3}", float(i % 4) * 100) for i in range(12)]
    a = schedule(jobs, gpus)
    b = schedule(list(reversed(jobs)), list(reversed(gpus)))
    assert a == b
    assert [e.id for e in a.epochs][:2] == ["gpu00-e1", "gpu01-e1"]


def test_replan_keeps_started_epochs_and_extends_the_warm_one() -> None:
    gpus = uniform_inventory(1, 2)
    jobs = [job("a", "m", 0, duration=1000)]
    first = schedule(jobs, gpus)
    more = [*jobs, job("b", "m", 200, duration=100), job("c", "other", 300)]
    second = schedule(more, gpus, previous=first, now=250)
    feasible(second, more, gpus)
    assert check_stability(first, second, 250) == []
    kept = second.epochs[0]
    assert kept.id == first.epochs[0].id and kept.load_start_s == 0 and kept.start_s == 10
    assert [p.id for p in kept.jobs] == ["a", "b"]
    assert second.placements()["b"].start_s == 250  # no load: the GPU already holds the model
    assert second.epochs[-1].group == "other" and second.epochs[-1].load_start_s >= kept.end_s
    assert second.loads == 2


def test_replan_with_a_previous_plan_on_a_removed_gpu_plans_its_jobs_again() -> None:
    jobs = [job("a", "m", 0)]
    first = schedule(jobs, uniform_inventory(2, 1))
    gpus = [Gpu("other", slots=1)]
    second = schedule(jobs, gpus, previous=first, now=50)
    feasible(second, jobs, gpus)
    assert second.placements()["a"].start_s >= 50


def test_fifo_baselines() -> None:
    gpus = uniform_inventory(1, 2)
    jobs = [job("a", "m", 0), job("b", "m", 5), job("c", "n", 300)]
    cold = fifo_cold(jobs, gpus)
    feasible(cold, jobs, gpus, exclusive=False)
    assert cold.loads == 3 and cold.load_gpu_seconds == 30
    warm = fifo_warm(jobs, gpus)
    feasible(warm, jobs, gpus)
    assert warm.loads == 2
    assert warm.placements()["b"].start_s == 10  # joins the loading model: no second load
    # Cold plans share GPUs between models, so they fail the one-model-per-GPU check.
    mixed = fifo_cold([job("x", "m", 0), job("y", "n", 0)], gpus)
    assert check_plan(mixed, [job("x", "m", 0), job("y", "n", 0)], gpus, exclusive=True) != []


def test_lower_bounds() -> None:
    one = [Gpu("g", slots=1)]
    two = [Gpu("g", slots=2)]
    jobs = [job(f"j{i}", "m", 0, duration=1000) for i in range(10)]
    assert lower_bound_loads(jobs, one, None) == 1
    assert lower_bound_loads(jobs, one, 5000) == 3  # 10000 s of work, 4990 s per load
    assert lower_bound_loads(jobs, two, 5000) == 2
    assert lower_bound_loads(jobs, two, 5000, held={"m": 1}) == 0
    assert lower_bound_loads([job("z", "free", 0, load=0)], one, None) == 0
    assert lower_bound_loads([job("w", "m", 0, gpus=3)], one * 3, None) == 3
    # Two models take turns on one GPU, one job each per window: one load per turn.
    alt = [job(f"{g}{k}", g, k * 1000.0, duration=50) for k in range(5) for g in "ab"]
    settings = GroupSettings(batch_window_s=100)
    assert windowed_lower_bound_loads(alt, 1, default=settings) == 5
    plan = schedule(alt, one, default=settings)
    assert plan.loads >= 5
    assert makespan_lower_bound([job("a", "m", 0)], one) == 100
    assert makespan_lower_bound([job("a", "m", 0)], one, now=0) == 110
    assert makespan_lower_bound(jobs, two) == 5000


def test_percentile_is_nearest_rank() -> None:
    assert percentile([float(i) for i in range(1, 21)], 95) == 19
    assert percentile([5.0], 95) == 5 and percentile([], 95) == 0


def test_checker_finds_what_is_wrong() -> None:
    gpus = [Gpu("g", slots=1)]
    jobs = [job("a", "m", 100), job("b", "n", 0), job("c", "m", 0), job("d", "m", 0)]
    plan = Plan(
        gpus=tuple(gpus),
        epochs=(
            Epoch("e1", "g", "m", 0, 10, 10, 200, (Placement("a", 50, 150), Placement("c", 60, 160))),
            Epoch("e2", "g", "n", 100, 0, 100, 300, (Placement("b", 100, 150),)),
            Epoch("e3", "nowhere", "m", 0, 10, 10, 20, ()),
        ),
        deferred=(Deferred("c", "x"), Deferred("zz", "")),
    )
    problems = "\n".join(check_plan(plan, jobs, gpus))
    for needle in (
        "job a: starts at 50 before its submit 100",
        "epoch e2: loads 0 s but model 'n' takes 10.0 s and g did not hold it before",
        "starts loading at 100 while epoch e1",
        "gpu g: 3 jobs at once at t=100, it has 1 slots",
        "runs 50 s, its duration is 100.0 s",
        "unknown GPU 'nowhere'",
        "job c: both deferred and placed",
        "deferred job 'zz' is not a known job",
        "job d: neither placed nor deferred",
    ):
        assert needle in problems


def test_plan_json_round_trip() -> None:
    gpus = uniform_inventory(2, 2)
    jobs = [job(f"j{i}", f"m{i % 3}", i * 77.5) for i in range(9)] + [job("big", "m0", 0, gpus=3)]
    plan = schedule(jobs, gpus)
    data = plan.to_dict()
    assert set(data) == {"gpus", "epochs", "deferred"}
    assert data["gpus"][0] == {"id": "gpu00", "node": "node0", "gpu_type": "gpu", "slots": 2}
    assert set(data["epochs"][0]) == {"id", "gpu", "group", "load_start_s", "load_s", "start_s", "end_s", "jobs"}
    back = Plan.from_dict(data)
    assert back == plan
    assert check_plan(back, jobs) == []
    with pytest.raises(ScheduleError, match="not a plan"):
        Plan.from_dict({"epochs": [{"id": 1}]})


def test_assignments_pin_every_job_to_its_gpus_node_epoch_and_start() -> None:
    gpus = uniform_inventory(3, 2, gpus_per_node=2)
    jobs = [job("solo", "m", 0), job("gang", "m", 5, gpus=2), job("late", "n", 40)]
    plan = schedule(jobs, gpus)
    a = plan.assignments()
    assert set(a) == {"solo", "gang", "late"}
    for jid, where in a.items():
        placed = [(e.gpu, e.id, p) for e in plan.epochs for p in e.jobs if p.id == jid]
        assert where.gpus == tuple(sorted(g for g, _, _ in placed))
        assert len(where.epochs) == len(where.gpus) == len(where.nodes)
        assert (where.start_s, where.end_s) == (placed[0][2].start_s, placed[0][2].end_s)
    assert len(a["gang"].gpus) == 2
    assert all(n == {"gpu00": "node0", "gpu01": "node0", "gpu02": "node1"}[g] for g, n in zip(
        a["gang"].gpus, a["gang"].nodes, strict=True))
    assert Plan.from_dict(plan.to_dict()).assignments() == a


def test_load_times_per_gpu_type() -> None:
    # The model loads in 30 s on an A100 and 10 s on an H100.
    gpus = [Gpu("a0", gpu_type="A100", slots=1), Gpu("h0", gpu_type="H100", slots=1)]
    fast = (("H100", 10.0),)
    jobs = [job("x", "m", 0, load=30, gpu_type="A100", load_by_type=fast),
            job("y", "m", 0, load=30, gpu_type="H100", load_by_type=fast)]
    assert jobs[1].load_on("H100") == 10 and jobs[1].load_on("A100") == 30
    for plan in (schedule(jobs, gpus), fifo_warm(jobs, gpus)):
        feasible(plan, jobs, gpus)
        assert {e.gpu: e.load_s for e in plan.epochs} == {"a0": 30, "h0": 10}
    cold = fifo_cold(jobs, gpus)
    feasible(cold, jobs, gpus, exclusive=False)
    assert cold.load_gpu_seconds == 40
    # The checker holds an H100 epoch to the H100 load and an A100 epoch to the A100 one.
    bad = Plan(gpus=tuple(gpus), epochs=(Epoch("e", "a0", "m", 0, 10, 10, 110, (Placement("x", 10, 110),)),),
               deferred=(Deferred("y", "not now"),))
    assert "loads 10 s but model 'm' takes 30 s" in "\n".join(check_plan(bad, jobs, gpus))


def test_checker_holds_a_continued_epoch_to_the_load_its_gpu_kept() -> None:
    gpus = [Gpu("g", slots=2)]
    jobs = [job("small", "m", 0, load=8), job("big", "m", 200, load=84)]
    ok = Plan(gpus=tuple(gpus), epochs=(
        Epoch("e1", "g", "m", 0, 84, 84, 184, (Placement("small", 84, 184),)),
        Epoch("e2", "g", "m", 184, 0, 184, 300, (Placement("big", 200, 300),)),
    ))
    assert check_plan(ok, jobs, gpus) == []
    # Loaded for 8 s, the GPU does not hold the 84 s version: continuing with it is a violation.
    short = Plan(gpus=tuple(gpus), epochs=(
        Epoch("e1", "g", "m", 0, 8, 8, 108, (Placement("small", 8, 108),)),
        Epoch("e2", "g", "m", 108, 0, 108, 300, (Placement("big", 200, 300),)),
    ))
    assert "takes 84 s and g held it loaded for 8 s before" in "\n".join(check_plan(short, jobs, gpus))


def test_jobs_of_a_group_pay_their_own_load_not_the_groups_largest() -> None:
    # One GPU, one slot: m's small job loads 8 s; after another model's turn, its big job loads 84 s.
    gpus = uniform_inventory(1, 1)
    jobs = [job("a", "m", 0, load=8), job("x", "o", 1000, load=8), job("b", "m", 2000, load=84)]
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    assert [(e.group, e.load_s) for e in plan.epochs] == [("m", 8), ("o", 8), ("m", 84)]
    # A job whose load is larger than what its GPU loaded does not join that epoch.
    gpus2 = uniform_inventory(2, 2)
    jobs2 = [job("small", "m", 0, duration=1000, load=8), job("big", "m", 10, load=84)]
    plan2 = schedule(jobs2, gpus2, default=GroupSettings(batch_window_s=0))
    feasible(plan2, jobs2, gpus2)
    where = {p.id: e for e in plan2.epochs for p in e.jobs}
    assert where["small"].load_s == 8 and where["big"].load_s == 84 and where["big"] is not where["small"]


def _overloaded(n: int = 600, seed: int = 5) -> list[Job]:
    """A job every 20 s on average, 60-300 s each, over five models: far more than 2 x 2 slots run."""
    rng = random.Random(seed)
    jobs = []
    t = 0.0
    for i in range(n):
        t += rng.expovariate(1 / 20.0)
        g = rng.choices(["a", "b", "c", "d", "e"], weights=[5, 3, 2, 1, 1])[0]
        jobs.append(job(f"j{i:03d}", g, round(t), duration=float(rng.randint(60, 300)), load=30.0))
    return jobs


def test_under_backlog_a_loaded_models_queue_is_served_and_never_stranded() -> None:
    # The earlier scheduler took GPUs from models with queued work here: 54 loads, FIFO-warm 9.
    jobs = _overloaded()
    gpus = uniform_inventory(2, 2)
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    assert plan.loads <= fifo_warm(jobs, gpus).loads
    # Each model's jobs run in submit order on its GPUs: a queue is served oldest first.
    by_id = {j.id: j for j in jobs}
    for e in plan.epochs:
        starts = [(by_id[p.id].submit_s, p.start_s) for p in e.jobs]
        assert [s for _, s in sorted(starts)] == sorted(s for _, s in starts)


def test_an_idle_gpu_goes_to_the_queue_that_waited_longest() -> None:
    # One GPU of one slot, busy with "long" until 1010 s; queues of "b" (from 100 s) and "c" (from
    # 200 s) wait. At 1010 s the GPU goes to b, the older queue, then to c.
    gpus = uniform_inventory(1, 1)
    jobs = [job("long", "a", 0, duration=1000), job("c1", "c", 200, duration=50), job("b1", "b", 100, duration=50)]
    plan = schedule(jobs, gpus, default=GroupSettings(batch_window_s=60))
    feasible(plan, jobs, gpus)
    assert [e.group for e in plan.epochs] == ["a", "b", "c"]
    assert plan.placements()["b1"].start_s == 1020


def test_lower_bound_counts_only_jobs_that_need_a_load_and_their_own_load() -> None:
    # A 0 s job needs no load; the 5 s job one load: 1, not 2 (the group's largest load for both).
    gpus = [Gpu("g0", slots=1), Gpu("g1", slots=1)]
    jobs = [job("j0", "m0", 0, duration=1, load=0), job("j1", "m0", 0, duration=1, load=5)]
    plan = schedule(jobs, gpus)
    feasible(plan, jobs, gpus)
    assert plan.loads == 1
    assert lower_bound_loads(jobs, gpus, 6.0) == 1
    assert windowed_lower_bound_loads(jobs, 2) == 1


def test_windowed_bound_is_only_claimed_where_it_holds() -> None:
    # One GPU of one slot and four models taking turns: jobs wait far beyond the 60 s window.
    gpus = uniform_inventory(1, 1)
    jobs = [job(f"j{i}", f"m{i % 4}", i * 20.0, duration=100) for i in range(80)]
    settings = GroupSettings(batch_window_s=60)
    ours = schedule(jobs, gpus, default=settings)
    # The bound for waits within the window exceeds our plan's loads: it must not be claimed.
    assert windowed_lower_bound_loads(jobs, 1, default=settings) > ours.loads
    for plan in (ours, fifo_warm(jobs, gpus, default=settings)):
        m = evaluate(plan, jobs, gpus, default=settings)
        assert m.max_added_wait_s > 60
        assert m.windowed_bound_wait_s == m.max_added_wait_s and "does not apply" in m.bound_note
        assert m.windowed_lower_bound_loads <= plan.loads


def test_a_waiting_group_whose_next_job_needs_another_gpu_type_is_woken_by_that_type() -> None:
    """Found by the re-plan property test, where it ran forever: group m0 waited with a type-b job at
    its head, so only type-b GPUs were set to wake it; once that job ran, its next job (type a, a
    larger load than the a GPU had loaded) waited for an a GPU to go idle that nothing watched."""
    def job(i: str, g: str, sub: float, d: float, load: float, t: str | None = None) -> Job:
        return Job(id=i, group=g, submit_s=sub, duration_s=d, load_s=load, gpus=1, gpu_type=t)

    jobs = [job("j0", "m0", 0, 530, 0), job("j1", "m0", 344, 1, 0), job("j2", "m1", 112, 620, 0),
            job("j3", "m0", 830, 1, 5, "a"), job("j4", "m0", 0, 1, 0), job("j5", "m1", 0, 1, 0),
            job("j6", "m0", 0, 1, 0), job("j7", "m0", 216, 1, 0, "b")]
    gpus = [Gpu("g0", "n0", "a", 2), Gpu("g1", "n0", "b", 1)]
    first = schedule([j for j in jobs if j.submit_s <= 614], gpus, now=614.0)
    second = schedule(jobs, gpus, previous=first, now=1234.0)
    assert check_plan(second, jobs, gpus) == [] and check_stability(first, second, 1234.0) == []
    j3 = second.placements()["j3"]
    assert 1236.0 <= j3.start_s <= 1236.0 + 5  # when g0 goes idle, after loading its larger load


def test_a_replan_beside_a_model_with_a_batch_window_of_zero() -> None:
    """Found by the re-plan property test (ZeroDivisionError): at the re-plan's first instant, the
    arrival count of a model with a 0-second window had run for no time at all."""
    def job(i: str, g: str, sub: float) -> Job:
        return Job(id=i, group=g, submit_s=sub, duration_s=1.0, load_s=0.0)

    jobs = [job("j0", "m0", 0.0), job("j1", "m1", 1.0), job("j2", "m0", 0.0)]
    gpus = [Gpu("g0", "n0", "a", 1), Gpu("g1", "n0", "a", 1)]
    groups = {"m0": GroupSettings(batch_window_s=0.0)}
    first = schedule(jobs, gpus, groups=groups)
    second = schedule(jobs, gpus, groups=groups, previous=first, now=1.0)
    assert check_plan(second, jobs, gpus, groups=groups) == [] and check_stability(first, second, 1.0) == []


def test_jobs_per_gpu_caps_a_groups_jobs_on_each_gpu_not_in_all() -> None:
    """A datum's gpu_epoch.max_concurrent_jobs = 2 means 2 jobs on the same GPU at once: four jobs
    that come together use two GPUs (one load each), not one GPU's four slots or two at a time."""
    jobs = [Job(f"j{i}", "m", 0.0, 1200.0, 30.0) for i in range(4)]  # longer than the window: no waiting for a slot
    gpus = uniform_inventory(2, 4)
    capped = GroupSettings(batch_window_s=900.0, jobs_per_gpu=2)
    plan = schedule(jobs, gpus, groups={"m": capped})
    assert check_plan(plan, jobs, gpus, groups={"m": capped}) == []
    assert sorted(len(e.jobs) for e in plan.epochs) == [2, 2] and plan.loads == 2
    assert {p.start_s for p in plan.placements().values()} == {30.0}  # all at once, after the load
    # the same jobs without the cap share one GPU's four slots; with a group-wide cap of 2 they go two by two
    assert [len(e.jobs) for e in schedule(jobs, gpus).epochs] == [4]
    two_at_a_time = schedule(jobs, gpus, default=GroupSettings(batch_window_s=900.0, max_concurrent_jobs=2))
    assert sorted({p.start_s for p in two_at_a_time.placements().values()}) == [30.0, 1230.0]
    # the checker refuses a plan that puts three of them on one GPU at once
    crowded = schedule(jobs[:3], uniform_inventory(1, 4))
    problems = check_plan(crowded, jobs[:3], uniform_inventory(1, 4), groups={"m": capped})
    assert any("jobs_per_gpu is 2" in p for p in problems), problems


def test_jobs_per_gpu_must_be_a_positive_integer() -> None:
    with pytest.raises(ScheduleError, match="jobs_per_gpu"):
        schedule([Job("j", "m", 0.0, 60.0, 1.0)], uniform_inventory(1, 2),
                 groups={"m": GroupSettings(jobs_per_gpu=0)})
