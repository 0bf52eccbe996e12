"""How long a fake Job pod runs on the local kwok cluster.

kwok's ``pod-complete`` stage completes a Job's pod after the delay in its annotations
``pod-complete.stage.kwok.x-k8s.io/delay`` and ``.../jitter-delay`` (both set and equal: kwok uses the
jitter when it is not above the delay, so the run takes exactly that long). The delay is the job's
``estimated_duration`` divided by ``b00t:simulation.timeScale``. The stages before it (create, init
containers, ready) default to 1-6 s each, a pod's start-up: for a simulated job they are set to 0, so
it holds its GPU slot for its scaled duration and nothing else (a plan replayed on the cluster is
then what the cluster does). Only environments with ``b00t:simulation`` get these annotations.
"""

from __future__ import annotations

from b00t_pulumi.settings.model import SimulationSettings

DELAY = "pod-complete.stage.kwok.x-k8s.io/delay"
JITTER = "pod-complete.stage.kwok.x-k8s.io/jitter-delay"
STARTUP_STAGES = ("pod-create", "pod-init-container-running", "pod-init-container-completed", "pod-ready")
DEFAULT_JOB_SECONDS = 1800  # a job without estimated_duration runs 30 simulated minutes


def simulated_seconds(duration_s: float | None, sim: SimulationSettings) -> float:
    return (duration_s if duration_s is not None else DEFAULT_JOB_SECONDS) / sim.time_scale


def pod_annotations(duration_s: float | None, sim: SimulationSettings | None) -> dict[str, str]:
    """The kwok stage annotations of a Job's pod template (none without ``b00t:simulation``)."""
    if sim is None:
        return {}
    d = f"{simulated_seconds(duration_s, sim):.3f}s"
    out = {DELAY: d, JITTER: d}
    for stage in STARTUP_STAGES:
        out[f"{stage}.stage.kwok.x-k8s.io/delay"] = "0s"
        out[f"{stage}.stage.kwok.x-k8s.io/jitter-delay"] = "0s"
    return out
