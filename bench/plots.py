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


def sweep_plot(rows: Sequence[dict[str, Any]], path: Path, *, window: float, dpi: int = 85) -> None:
    """Loads and p95 added wait against jobs per day, per group count; ours beside both FIFOs, for
    each inventory (colour). A hollow marker: ours does not dominate FIFO-warm at that point."""
    groups = sorted({r["groups"] for r in rows})
    counts = sorted({r["gpus"] for r in rows})
    palette = {4: "tab:red", 8: "tab:blue", 16: "tab:green"}
    colour = {n: palette.get(n, "tab:purple") for n in counts}
    fig, axes = plt.subplots(2, len(groups), figsize=(5.2 * len(groups), 8.2), squeeze=False)
    for col, g in enumerate(groups):
        for n in counts:
            pts = sorted((r for r in rows if r["groups"] == g and r["gpus"] == n), key=lambda r: r["jobs"])
            x = [r["jobs"] for r in pts]
            for row, key in ((0, "loads"), (1, "p95_added_wait_s")):
                ax = axes[row][col]
                ax.plot(x, [r["ours"][key] for r in pts], "o-", color=colour[n], label=f"ours, {n} GPUs")
                ax.plot(x, [r["warm"][key] for r in pts], "s--", color=colour[n], alpha=0.6, markersize=4,
                        label=f"FIFO-warm, {n} GPUs")
                ax.plot(x, [r["cold"][key] for r in pts], ":", color=colour[n], alpha=0.5,
                        label=f"FIFO-cold, {n} GPUs")
                bad = [r for r in pts if not r["dominates"]]
                if bad:
                    ax.plot([r["jobs"] for r in bad], [r["ours"][key] for r in bad], "o", markerfacecolor="white",
                            markeredgecolor="red", markersize=9, linestyle="none")
        for row in (0, 1):
            ax = axes[row][col]
            ax.set_xscale("log", base=2)
            xs = sorted({r["jobs"] for r in rows})
            ax.set_xticks(xs, [f"{v:,}" for v in xs], fontsize=7)
            ax.set_xlabel("jobs per day")
            ax.grid(True, which="major", linewidth=0.3)
        axes[0][col].set_yscale("log")
        axes[0][col].set_title(f"{g} groups (Zipf)")
        top = max(max(r["ours"]["p95_added_wait_s"], r["warm"]["p95_added_wait_s"]) for r in rows if r["groups"] == g)
        axes[1][col].set_yscale("symlog", linthresh=60)
        axes[1][col].set_ylim(0, max(top, window) * 2)
        axes[1][col].axhline(window, color="grey", linewidth=0.8, linestyle=":")
    axes[0][0].set_ylabel("model loads in the day")
    axes[1][0].set_ylabel("p95 added wait, s (dotted: one window)")
    handles, labels = axes[0][0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=len(counts) * 3 // 2 + 1, fontsize=8)
    fig.suptitle("Density sweep, one day, 4 slots per GPU, 15-min window; red ring: ours does not dominate FIFO-warm")
    fig.tight_layout(rect=(0, 0.08, 1, 0.97))
    fig.savefig(path, dpi=dpi)
    plt.close(fig)


def saturation_plot(points: Sequence[dict[str, Any]], path: Path, *, dpi: int = 90) -> None:
    """Each saturated (point, seed) pair: loads ours / FIFO-warm against p95 ours / FIFO-warm. Ours
    dominates in the shaded quadrant (both <= 1)."""
    fig, ax = plt.subplots(figsize=(7.5, 6.0))
    markers = {4: "o", 12: "s", 48: "^"}
    palette = {4: "tab:red", 8: "tab:blue", 16: "tab:green"}
    seen: set[tuple[int, int]] = set()
    for p in points:
        xs = [r["loads"] / max(1, r["warm_loads"]) for r in p["runs"]]
        ys = [r["p95"] / r["warm_p95"] if r["warm_p95"] else 1.0 for r in p["runs"]]
        key = (p["gpus"], p["groups"])
        label = f"{p['gpus']} GPUs, {p['groups']} groups" if key not in seen else None
        seen.add(key)
        ax.scatter(xs, ys, marker=markers.get(p["groups"], "x"), color=palette.get(p["gpus"], "tab:purple"),
                   alpha=0.7, s=28, label=label)
    lo_x, hi_x = ax.get_xlim()
    lo_y, hi_y = ax.get_ylim()
    ax.fill_between([min(lo_x, 0.5), 1.0], min(lo_y, 0.6), 1.0, color="tab:green", alpha=0.08, zorder=0)
    ax.axvline(1.0, color="grey", linewidth=0.8)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xlim(lo_x, hi_x)
    ax.set_ylim(lo_y, hi_y)
    ax.set_xlabel("model loads, ours / FIFO-warm")
    ax.set_ylabel("p95 added wait, ours / FIFO-warm")
    ax.set_title("Saturated sweep points on 8 seeds (shaded: ours dominates)")
    ax.legend(fontsize=7, loc="upper right")
    ax.grid(True, linewidth=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
