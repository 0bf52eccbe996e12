"""Pictures of the scheduler benchmark (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.patches import Patch

from b00t_pulumi.epoch import Plan


def timeline(
    plan: Plan,
    path: Path,
    *,
    title: str,
    start_s: float | None = None,
    end_s: float | None = None,
    dpi: int = 110,
) -> None:
    """GPU lanes; each epoch a bar coloured by group, its load hatched dark; job count on top."""
    groups = sorted({e.group for e in plan.epochs})
    cmap = plt.get_cmap("tab20")
    colour = {g: cmap(i % 20) for i, g in enumerate(groups)}
    lanes = [g.id for g in plan.gpus]
    lane = {gid: i for i, gid in enumerate(lanes)}
    lo = start_s if start_s is not None else min((e.load_start_s for e in plan.epochs), default=0.0)
    hi = end_s if end_s is not None else max((e.end_s for e in plan.epochs), default=1.0)
    hours = (hi - lo) / 3600.0
    fig, ax = plt.subplots(figsize=(min(24.0, max(10.0, hours * 0.9)), 0.45 * len(lanes) + 1.8))
    for e in plan.epochs:
        if e.end_s < lo or e.load_start_s > hi:
            continue
        y = lane[e.gpu]
        if e.load_s > 0:
            ax.broken_barh([((e.load_start_s - lo) / 3600, e.load_s / 3600)], (y - 0.4, 0.8), color="black")
        ax.broken_barh(
            [((e.start_s - lo) / 3600, max(e.end_s - e.start_s, 1.0) / 3600)],
            (y - 0.4, 0.8),
            facecolor=colour[e.group],
            edgecolor="white",
            linewidth=0.4,
        )
    ax.set_yticks(range(len(lanes)), lanes)
    ax.invert_yaxis()
    ax.set_xlim(0, hours)
    ax.set_xlabel("hours since start")
    ax.set_title(title)
    handles = [Patch(color=colour[g], label=g) for g in groups] + [Patch(color="black", label="model load")]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=min(7, len(handles)), fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def saving_vs_density(rows: Sequence[dict[str, Any]], path: Path, *, dpi: int = 110) -> None:
    """Load GPU-seconds saved against one-load-per-job FIFO, and loads vs FIFO-warm, by density."""
    d = [r["density"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    a.plot(d, [100 * r["ours"]["saving_vs_fifo"] for r in rows], "o-", label="epoch scheduler")
    a.plot(d, [100 * r["warm"]["saving_vs_fifo"] for r in rows], "s--", label="FIFO keeping the last model warm")
    a.axhline(90, color="grey", linewidth=0.8, linestyle=":", label="target 90 %")
    a.set_xscale("log", base=2)
    a.set_xticks(d, [f"{x:g}" for x in d])
    a.set_xlabel("jobs per group per 15-min window")
    a.set_ylabel("% load GPU-seconds saved vs one load per job")
    a.set_ylim(0, 100)
    a.legend(fontsize=8, loc="lower right")
    b.plot(d, [r["ours"]["loads"] for r in rows], "o-", label="epoch scheduler")
    b.plot(d, [r["warm"]["loads"] for r in rows], "s--", label="FIFO-warm")
    b.plot(d, [r["ours"]["windowed_lower_bound_loads"] for r in rows], "v:", label="windowed lower bound")
    b.set_xscale("log", base=2)
    b.set_xticks(d, [f"{x:g}" for x in d])
    b.set_xlabel("jobs per group per 15-min window")
    b.set_ylabel("model loads in the day")
    b.legend(fontsize=8)
    fig.suptitle("12 models (Zipf), 8 GPUs x 4 slots, one day")
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
