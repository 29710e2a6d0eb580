"""Per-iteration metrics of an experiment: ``metrics.csv``, TensorBoard, ``report.md`` + plots."""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["plot_curves", "write_metrics", "write_report"]

log = logging.getLogger(__name__)

#: Panels of ``curves.png``: title and the metric keys drawn in it (those present).
PANELS = (
    ("success", ("eval/success_rate", "rollout/success")),
    ("reward per step", ("reward/total",)),
    ("policy loss", ("loss/policy", "loss/dpo")),
    ("value loss", ("loss/value",)),
    ("explained variance", ("train/explained_variance",)),
    ("KL", ("train/kl_ref", "train/approx_kl")),
    ("entropy (nats per token)", ("train/entropy",)),
    ("episode length", ("rollout/length", "eval/mean_steps")),
)
_TABLE = ("iteration", "env_steps", "rollout/success", "eval/success_rate", "reward/total",
          "loss/policy", "loss/value", "train/explained_variance", "train/kl_ref",
          "train/entropy")


def write_metrics(out: Path, rows: Sequence[dict[str, Any]]) -> None:
    """All rows to ``metrics.csv``; rows not yet logged to TensorBoard (``tb/``), if installed."""
    from agentgym.suites import write_csv

    write_csv(rows, out / "metrics.csv")
    try:
        from torch.utils.tensorboard import SummaryWriter
    except Exception:  # tensorboard is optional
        return
    marker = out / "tb" / "logged_until"
    logged = int(marker.read_text()) if marker.exists() else -1
    writer = SummaryWriter(str(out / "tb"))
    for row in rows:
        if row["iteration"] <= logged:
            continue
        for key, value in row.items():
            if key not in ("iteration", "env_steps") and isinstance(value, (int, float)):
                writer.add_scalar(key, value, row["env_steps"])
    writer.close()
    marker.write_text(str(max(row["iteration"] for row in rows)) if rows else "-1")


def plot_curves(rows: Sequence[dict[str, Any]], path: Path) -> Path | None:
    """Learning curves against environment steps, one panel per metric group, as a PNG.

    Returns ``None`` when matplotlib is missing or no panel has data.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log.warning("matplotlib is not installed: no learning-curve plot")
        return None
    panels = [(title, [k for k in keys if any(_number(r.get(k)) for r in rows)])
              for title, keys in PANELS]
    panels = [(t, ks) for t, ks in panels if ks]
    if not panels:
        return None
    cols = 4
    lines = math.ceil(len(panels) / cols)
    fig, axes = plt.subplots(lines, cols, figsize=(4 * cols, 3 * lines), squeeze=False)
    for ax, (title, keys) in zip(axes.flat, panels):
        for key in keys:
            points = [(r["env_steps"], r[key]) for r in rows if _number(r.get(key))]
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=key)
        ax.set_title(title)
        ax.set_xlabel("environment steps")
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(panels):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def write_report(out: Path, rows: Sequence[dict[str, Any]]) -> Path:
    """``report.md``: a table of the main metrics per iteration and the curves' PNG."""
    plot = plot_curves(rows, out / "curves.png")
    shown = [c for c in _TABLE if any(c in r for r in rows)]
    lines = [f"# {out.name}", "", f"{len(rows)} rows (row 0: the starting policy, where "
             "evaluated). All metrics are in `metrics.csv`.", ""]
    if plot is not None:
        lines += [f"![learning curves]({plot.name})", ""]
    lines += ["| " + " | ".join(shown) + " |", "|" + "---|" * len(shown)]
    for row in rows:
        lines.append("| " + " | ".join(_cell(row.get(c)) for c in shown) + " |")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value))


def _cell(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return "" if value is None else str(value)
